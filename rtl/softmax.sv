// hw_softmax: the exp2 / normalise unit of attention (docs/numerics.md section 10). Input: the
// scores z_j of one query head over n keys (int32, log2 domain, Q.16); output the
// probabilities pi_j (Q0.30):
//   zmax = max z_j;  p_j = EXP2(zmax - z_j);  R = RATIO(1, sum p_j);  pi_j = RS(p_j R.m, R.e - 30)
// EXP2 reads the 2^T + 1 entry table (a constant of the generated wrapper) through rom_exp2_*
// and interpolates linearly; bit-identical to fx::exp2_neg and the softmax of
// fx::attention_head.
//
// Interface (chunk valid/ready): in_data = LANES int32 scores, in_n = number of keys of the
// vector (1..MAXK, sampled with its first chunk); out_data = LANES uint32 probabilities, the
// lanes past n are 0, out_last on the final chunk.
// Phases: LOAD ceil(n/LANES) cycles (max on the fly), EXP ceil(n/LANES) cycles (LANES
// exponentials and the running sum per cycle), RATIO 1 cycle, EMIT ceil(n/LANES) cycles.
// Timing, K = ceil(n / LANES), consumer ready:
//   latency (last input chunk accepted -> last output chunk accepted) = 2 K + 2 cycles
//   initiation interval = 3 K + 2 cycles (one vector at a time)
module hw_softmax #(
    parameter int MAXK = 64,
    parameter int LANES = 1,
    parameter int T = 7,
    localparam int NCH = (MAXK + LANES - 1) / LANES,
    localparam int CHW = NCH > 1 ? $clog2(NCH) : 1,
    localparam int NW = $clog2(MAXK + 1)
) (
    input  logic                   clk,
    input  logic                   rst,
    input  logic                   in_valid,
    output logic                   in_ready,
    input  logic [LANES*32-1:0]    in_data,
    input  logic [NW-1:0]          in_n,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic                   in_last,
    /* verilator lint_on UNUSEDSIGNAL */
    output logic                   out_valid,
    input  logic                   out_ready,
    output logic [LANES*32-1:0]    out_data,
    output logic                   out_last,
    output logic [LANES*2*(T+1)-1:0] rom_exp2_idx,
    input  logic [LANES*2*32-1:0]  rom_exp2
);
  `include "fx_functions.svh"

  typedef enum logic [1:0] {LOAD, EXP, RATIO, EMIT} state_t;
  state_t state;
  logic [CHW-1:0] ch, nch;
  logic [NW-1:0] n;
  logic [NCH*LANES*32-1:0] zbuf, pbuf;
  logic signed [63:0] zmax;
  logic [63:0] sum;
  logic [47:0] rr;

  assign in_ready = (state == LOAD);

  // EXP2(zmax - z) of the lanes of chunk ch
  logic [LANES*32-1:0] p_lanes;
  logic [LANES*64-1:0] d_lanes;
  always_comb begin
    for (int i = 0; i < LANES; i++) begin
      logic signed [63:0] d;
      logic [63:0] f, j;
      d = zmax - 64'($signed(zbuf[(32'(ch) * LANES + i) * 32 +: 32]));
      d_lanes[i*64 +: 64] = d;
      f = d & 64'hFFFF;
      j = f >> (16 - T);
      rom_exp2_idx[(2*i)*(T+1) +: T+1] = (T+1)'(j);
      rom_exp2_idx[(2*i+1)*(T+1) +: T+1] = (T+1)'(j) + 1'b1;
    end
  end
  always_comb begin
    for (int i = 0; i < LANES; i++) begin
      logic signed [63:0] d, r, v, e0, e1, nn;
      logic [63:0] f;
      d = $signed(d_lanes[i*64 +: 64]);
      f = d & 64'hFFFF;
      r = $signed(f & ((64'd1 << (16 - T)) - 1));
      e0 = 64'($signed(rom_exp2[(2*i)*32 +: 32]));
      e1 = 64'($signed(rom_exp2[(2*i+1)*32 +: 32]));
      v = e0 - fx_round_shift((e0 - e1) * r, 16 - T);
      nn = d >>> 16;
      p_lanes[i*32 +: 32] = (nn >= 64) ? 32'd0 : 32'(fx_round_shift(v, 32'(nn)));
      if (32'(ch) * LANES + i >= 32'(n)) p_lanes[i*32 +: 32] = 32'd0;
    end
  end

  logic [LANES*32-1:0] pi_lanes;
  always_comb begin
    for (int i = 0; i < LANES; i++) begin
      logic signed [63:0] t;
      t = fx_round_shift(64'(pbuf[(32'(ch) * LANES + i) * 32 +: 32]) * 64'(rr[14:0]),
                         $signed(rr[47:16]) - 30);
      pi_lanes[i*32 +: 32] = (32'(ch) * LANES + i >= 32'(n)) ? 32'd0 : t[31:0];
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      state <= LOAD;
      ch <= '0;
      out_valid <= 1'b0;
      out_last <= 1'b0;
    end else begin
      case (state)
        LOAD: if (in_valid) begin
          logic signed [63:0] m;
          logic [NW-1:0] nn;
          logic [CHW-1:0] last;
          nn = (ch == '0) ? in_n : n;
          m = (ch == '0) ? -FX_I32_MAX : zmax;
          for (int i = 0; i < LANES; i++) begin
            logic signed [63:0] z;
            z = 64'($signed(in_data[i*32 +: 32]));
            if (32'(ch) * LANES + i < 32'(nn) && z > m) m = z;
          end
          last = CHW'((32'(nn) + LANES - 1) / LANES - 1);
          if (ch == '0) n <= in_n;
          nch <= last;
          zmax <= m;
          zbuf[32'(ch) * LANES * 32 +: LANES * 32] <= in_data;
          if (ch == last) begin
            ch <= '0;
            sum <= '0;
            state <= EXP;
          end else ch <= ch + 1'b1;
        end
        EXP: begin
          logic [63:0] s;
          s = sum;
          for (int i = 0; i < LANES; i++) s = s + 64'(p_lanes[i*32 +: 32]);
          sum <= s;
          pbuf[32'(ch) * LANES * 32 +: LANES * 32] <= p_lanes;
          if (ch == nch) begin
            ch <= '0;
            state <= RATIO;
          end else ch <= ch + 1'b1;
        end
        RATIO: begin
          rr <= fx_dyadic_ratio(64'd1, sum);
          state <= EMIT;
        end
        default: begin  // EMIT
          if (!out_valid || out_ready) begin
            out_valid <= 1'b1;
            out_data <= pi_lanes;
            out_last <= (ch == nch);
            if (ch == nch) begin
              ch <= '0;
              state <= LOAD;
            end else ch <= ch + 1'b1;
          end
        end
      endcase
      if (state != EMIT && out_valid && out_ready) out_valid <= 1'b0;
    end
  end
endmodule
