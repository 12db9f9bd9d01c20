// hw_rope_core: RoPE on a q or k vector (docs/numerics.md section 9), adjacent pairs per head
// of HD values, at the token's position p: phase = p * STEP_i mod 2^32, sine and cosine from
// the 2^T + 1 entry sine table interpolated with the next 16 phase bits, then
//   x0' = SAT32(RS(x0 c - x1 s, 30)),  x1' = SAT32(RS(x0 s + x1 c, 30)).
// Bit-identical to fx::sin_q30 / fx::cos_q30 / fx::rope_rotate. The per-pair steps and the
// sine table are constants of a generated wrapper, read through rom_* ports combinationally.
//
// Interface (chunk valid/ready): in_data = LANES int32 (LANES even, HD a multiple of LANES or
// LANES a multiple of HD), in_pos (position, sampled with each chunk); out_data = LANES int32.
// Pipeline: stage A registers the chunk, stage B holds the rotated chunk.
// Latency: 2 cycles. Initiation interval: 1 chunk per cycle, i.e. ceil(NV / LANES) cycles per
// vector of NV values.
module hw_rope_core #(
    parameter int HD = 16,
    parameter int LANES = 8,
    parameter int NV = 64,
    parameter int T = 10,
    localparam int NP = LANES / 2,
    localparam int NCH = (NV + LANES - 1) / LANES,
    localparam int CHW = NCH > 1 ? $clog2(NCH) : 1,
    localparam int PW = HD > 2 ? $clog2(HD / 2) : 1
) (
    input  logic                 clk,
    input  logic                 rst,
    input  logic                 in_valid,
    output logic                 in_ready,
    input  logic [LANES*32-1:0]  in_data,
    input  logic [31:0]          in_pos,
    input  logic                 in_last,
    output logic                 out_valid,
    input  logic                 out_ready,
    output logic [LANES*32-1:0]  out_data,
    output logic                 out_last,
    output logic [NP*PW-1:0]     rom_pair,
    input  logic [NP*32-1:0]     rom_step,
    output logic [NP*4*(T+1)-1:0] rom_sin_idx,
    input  logic [NP*4*32-1:0]   rom_sin
);
  `include "fx_functions.svh"

  logic a_valid, a_last;
  logic [LANES*32-1:0] a_x;
  logic [31:0] a_pos;
  logic [CHW-1:0] a_ch, in_ch;

  wire b_free = !out_valid || out_ready;
  wire a_free = !a_valid || b_free;
  assign in_ready = a_free;

  logic [LANES*32-1:0] rot;
  hw_rope_rotate #(.HD(HD), .LANES(LANES), .T(T)) u_rotate (
      .ch(32'(a_ch)), .pos(a_pos), .chunk(a_x), .rot(rot), .rom_pair(rom_pair), .rom_step(rom_step),
      .rom_sin_idx(rom_sin_idx), .rom_sin(rom_sin));

  always_ff @(posedge clk) begin
    if (rst) begin
      a_valid <= 1'b0;
      a_last <= 1'b0;
      out_valid <= 1'b0;
      out_last <= 1'b0;
      in_ch <= '0;
    end else begin
      if (b_free) begin
        out_valid <= a_valid;
        out_last <= a_last;
        if (a_valid) out_data <= rot;
      end
      if (a_free) begin
        a_valid <= in_valid;
        if (in_valid) begin
          a_x <= in_data;
          a_pos <= in_pos;
          a_ch <= in_ch;
          a_last <= in_last;
          in_ch <= (in_ch == CHW'(NCH - 1)) ? '0 : in_ch + 1'b1;
        end
      end
    end
  end
endmodule

// hw_rope_rotate: the rotation of one chunk (`chunk`, number `ch` of a q or k vector, LANES
// values, at position `pos`), combinational: pair index of each lane, phases, sine-table
// indices out on rom_pair / rom_sin_idx, then the interpolated sine and cosine and the rotated
// pairs.
module hw_rope_rotate #(
    parameter int HD = 16,
    parameter int LANES = 8,
    parameter int T = 10,
    localparam int NP = LANES / 2,
    localparam int PW = HD > 2 ? $clog2(HD / 2) : 1
) (
    input  logic [31:0]           ch,
    input  logic [31:0]           pos,
    input  logic [LANES*32-1:0]   chunk,
    output logic [LANES*32-1:0]   rot,
    output logic [NP*PW-1:0]      rom_pair,
    input  logic [NP*32-1:0]      rom_step,
    output logic [NP*4*(T+1)-1:0] rom_sin_idx,
    input  logic [NP*4*32-1:0]    rom_sin
);
  `include "fx_functions.svh"

  logic [NP*32-1:0] sin_phase, cos_phase;
  always_comb begin
    for (int p = 0; p < NP; p++) begin
      int e;
      e = 32'(ch) * LANES + 2 * p;
      rom_pair[p*PW +: PW] = PW'((e % HD) / 2);
    end
  end
  always_comb begin
    for (int p = 0; p < NP; p++) begin
      logic [31:0] ph, phc;
      ph = pos * rom_step[p*32 +: 32];
      phc = ph + 32'h4000_0000;
      sin_phase[p*32 +: 32] = ph;
      cos_phase[p*32 +: 32] = phc;
      rom_sin_idx[(p*4+0)*(T+1) +: T+1] = (T+1)'(ph >> (32 - T));
      rom_sin_idx[(p*4+1)*(T+1) +: T+1] = (T+1)'(ph >> (32 - T)) + 1'b1;
      rom_sin_idx[(p*4+2)*(T+1) +: T+1] = (T+1)'(phc >> (32 - T));
      rom_sin_idx[(p*4+3)*(T+1) +: T+1] = (T+1)'(phc >> (32 - T)) + 1'b1;
    end
  end
  always_comb begin
    for (int p = 0; p < NP; p++) begin
      logic signed [63:0] s, c, x0, x1;
      s = fx_sine_interp(rom_sin[(p*4+0)*32 +: 32], rom_sin[(p*4+1)*32 +: 32],
                         sin_phase[p*32 +: 32], T);
      c = fx_sine_interp(rom_sin[(p*4+2)*32 +: 32], rom_sin[(p*4+3)*32 +: 32],
                         cos_phase[p*32 +: 32], T);
      // sin_q30 returns int32: truncate as the C cast does
      s = 64'($signed(s[31:0]));
      c = 64'($signed(c[31:0]));
      x0 = 64'($signed(chunk[(2*p)*32 +: 32]));
      x1 = 64'($signed(chunk[(2*p+1)*32 +: 32]));
      rot[(2*p)*32 +: 32] = fx_sat32(fx_round_shift(x0 * c - x1 * s, 30));
      rot[(2*p+1)*32 +: 32] = fx_sat32(fx_round_shift(x0 * s + x1 * c, 30));
    end
  end
endmodule
