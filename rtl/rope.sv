// hw_rope_unit: the chip's RoPE block (sim/cycle_chip.cpp `rope`, docs/numerics.md section 9):
// a token's q, k and v after qkv, Q + 2 KV int32 values in LANES-wide chunks; q and k leave
// rotated at the token's position p, adjacent pairs per head of HD values: phase = p * STEP_i
// mod 2^32, sine and cosine from the 2^T + 1 entry sine table interpolated with the next 16
// phase bits, then
//   x0' = SAT32(RS(x0 c - x1 s, 30)),  x1' = SAT32(RS(x0 s + x1 c, 30)),
// bit-identical to fx::sin_q30 / fx::cos_q30 / fx::rope_rotate (hw_rope_rotate below); v leaves
// unchanged behind them. The per-pair steps and the sine table are constants of a generated
// wrapper, read through the rom_* ports combinationally. in_pos is sampled with each chunk.
//
// Timing: the phase structure of the cycle-level SystemC block (sim/cycle_block.h CycleBlock,
// the `rope` vector spec: work Q + KV through `LANES` lanes, v passed by the last step),
// register for register, so the two co-simulate cycle for cycle (tests/rtl/test_rtl_timing.cpp):
//   input register   one chunk, filled while the block cannot take it; a step takes the
//                    register's chunk (and the register the next one, unless the step then
//                    waits for output room) or, when it is empty, the chunk on the pins;
//   steps            NS = (Q + KV) / LANES, one per cycle: step s rotates chunk s; the last step
//                    also needs every v chunk (received one per cycle into the hold buffer, as
//                    the SystemC block's last step needs the whole input) and passes them on
//                    behind its rotated chunk; a chunk received while its step waits is held;
//   output pipeline  DEPTH registers (chip.rope.pipeline_depth): a step at edge t can leave at
//                    edge t + DEPTH + 1, one chunk per cycle; a step waits while the outputs not
//                    yet accepted and its own would exceed 2 LANES + KV values (the SystemC
//                    block's output buffer: its largest step, LANES + KV, plus a chunk).
// Consumer always ready, chunks one per cycle: the last step fires when the last v chunk is
// taken, so latency (last input chunk accepted -> last output chunk accepted) = DEPTH + 1 +
// KV / LANES cycles; initiation interval = (Q + 2 KV) / LANES cycles.
// Requires LANES even, Q, KV multiples of LANES, and HD a multiple of LANES or LANES of HD.
module hw_rope_unit #(
    parameter int Q = 64,
    parameter int KV = 64,
    parameter int HD = 16,
    parameter int LANES = 16,
    parameter int T = 10,
    parameter int DEPTH = 4,
    localparam int NP = LANES / 2,
    localparam int NS = (Q + KV) / LANES,
    localparam int NVK = KV / LANES,
    localparam int BUF = 2 * LANES + KV,
    localparam int QD = 1 << $clog2(BUF / LANES + 1),
    localparam int QW = $clog2(QD),
    localparam int PW = HD > 2 ? $clog2(HD / 2) : 1
) (
    input  logic                  clk,
    input  logic                  rst,
    input  logic                  in_valid,
    output logic                  in_ready,
    input  logic [LANES*32-1:0]   in_data,
    input  logic [31:0]           in_pos,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic                  in_last,
    /* verilator lint_on UNUSEDSIGNAL */
    output logic                  out_valid,
    input  logic                  out_ready,
    output logic [LANES*32-1:0]   out_data,
    output logic                  out_last,
    output logic [NP*PW-1:0]      rom_pair,
    input  logic [NP*32-1:0]      rom_step,
    output logic [NP*4*(T+1)-1:0] rom_sin_idx,
    input  logic [NP*4*32-1:0]    rom_sin
);
  typedef logic [LANES*32-1:0] chunk_t;

  // ---- input register
  logic r_valid;
  chunk_t r_data;
  logic [31:0] r_pos;
  chunk_t x_in;  // the chunk a receive takes
  logic [31:0] x_pos;
  assign x_in = r_valid ? r_data : in_data;
  assign x_pos = r_valid ? r_pos : in_pos;

  // ---- the current step: its index, the chunks received for it (the last step: its rotated
  // chunk and the v chunks), the token's position
  logic [15:0] k;
  logic [15:0] held;
  chunk_t [NVK:0] hold;
  logic [31:0] tok_pos;
  wire last_step = (k == 16'(NS - 1));
  wire [15:0] need = last_step ? 16'(NVK + 1) : 16'd1;
  wire recv = (held < need) && (r_valid || in_valid);
  wire [15:0] held_now = held + (recv ? 16'd1 : 16'd0);
  wire [15:0] outs = last_step ? 16'(LANES + KV) : 16'(LANES);

  // ---- output pipeline and buffer: QD chunks in order, each ready after DEPTH edges
  chunk_t q_data[QD];
  logic [31:0] q_wait[QD];
  logic q_lst[QD];
  logic [QW-1:0] head;
  logic [QW:0] count;
  logic [15:0] pending;  // values stepped into the pipeline and not yet accepted
  assign out_valid = (count != 0) && (q_wait[head] == 0);
  wire xfer = out_valid && out_ready;
  assign out_data = q_data[head];
  assign out_last = q_lst[head];
  // pending after this edge's output transfer, as the cycle-level block emits before it steps
  wire [15:0] pending_now = pending - (xfer ? 16'(LANES) : 16'd0);
  wire fire = (held_now >= need) && (32'(pending_now) + 32'(outs) <= BUF);
  // The register takes the next chunk in the edge its chunk is received, unless the step that
  // chunk completes waits for output room (the SystemC block then reads no chunk that cycle).
  wire refill = fire || (held_now < need);
  assign in_ready = !r_valid || ((held < need) && refill);

  // ---- rotation of the step's chunk (its first held chunk, or the one received now)
  chunk_t rot_in;
  logic [31:0] pos;
  assign rot_in = (held == 0) ? x_in : hold[0];
  assign pos = (held == 0) ? x_pos : tok_pos;
  chunk_t rot;
  hw_rope_rotate #(.HD(HD), .LANES(LANES), .T(T)) u_rotate (
      .ch(32'(k)), .pos(pos), .chunk(rot_in), .rot(rot), .rom_pair(rom_pair), .rom_step(rom_step),
      .rom_sin_idx(rom_sin_idx), .rom_sin(rom_sin));

  always_ff @(posedge clk) begin
    if (rst) begin
      r_valid <= 1'b0;
      k <= '0;
      held <= '0;
      head <= '0;
      count <= '0;
      pending <= '0;
      for (int s = 0; s < QD; s++) q_wait[s] <= '0;
    end else begin
      // the register: refilled in the edge its chunk is received (see `refill`); a chunk
      // received straight from the pins (empty register) does not enter it
      if (r_valid ? (recv && refill) : (in_valid && !recv)) begin
        r_valid <= in_valid;
        r_data <= in_data;
        r_pos <= in_pos;
      end else if (r_valid && recv) begin
        r_valid <= 1'b0;
      end
      for (int s = 0; s < QD; s++) begin
        if (q_wait[s] != 0) q_wait[s] <= q_wait[s] - 1;
      end
      if (fire) begin
        // the rotated chunk, then (last step) the v chunks: held ones, then the one received now
        for (int j = 0; j <= NVK; j++) begin
          if (j == 0 || last_step) begin
            logic [QW-1:0] slot;
            slot = head + QW'(count) + QW'(j);
            q_data[slot] <= (j == 0) ? rot : (32'(j) < 32'(held) ? hold[j] : x_in);
            q_wait[slot] <= 32'(DEPTH);
            q_lst[slot] <= last_step && j == NVK;
          end
        end
        held <= '0;
        k <= last_step ? '0 : k + 1'b1;
      end else if (recv) begin
        hold[held] <= x_in;
        held <= held_now;
      end
      if (recv) tok_pos <= x_pos;
      if (xfer) head <= head + 1'b1;
      count <= count + (fire ? (QW+1)'(last_step ? NVK + 1 : 1) : '0) - (xfer ? (QW+1)'(1) : '0);
      pending <= pending + (fire ? outs : 16'd0) - (xfer ? 16'(LANES) : 16'd0);
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
