// hw_rms_norm_core: RMSNorm feeding a matrix product (docs/numerics.md section 8): for an
// int32 Q.F vector x of N values and int16 gains g (Q.GF), outputs the int8 integers of
// QUANT(x * g) and the scale MUL(s_y, inv_rms), bit-identical to fx::rms_norm_quantize. The
// gains, the rsqrt seed table and the eps constants are constants held by a generated wrapper
// (`hardwire rtl generate`), answered through the rom_* ports combinationally.
//
// Interface (chunk valid/ready): in_data = LANES int32 (Q.F); out_data = LANES int8,
// out_scale_m / out_scale_e (the dyadic scale of the output integers) valid with every output
// chunk, out_last on the final chunk.
// Datapath: LOAD (NCH cycles: buffer x, max |x|), SUM (NCH cycles: sum of RS(x, sh)^2 and
// max |x g|, LANES squares and LANES gain products per cycle), RSQ0 (1 cycle: u = ss + eps,
// seed-table index), RSQ1 (1 cycle: seed, NEWTON Newton steps, times sqrt(N), and RATIO of
// max |x g|), EMIT (NCH cycles: LANES quantized outputs per cycle).
// Timing, NCH = ceil(N / LANES), consumer ready:
//   latency (last input chunk accepted -> last output chunk accepted) = 2 * NCH + 3 cycles
//   initiation interval = 3 * NCH + 3 cycles (one vector at a time)
module hw_rms_norm_core #(
    parameter int N = 64,
    parameter int LANES = 16,
    parameter int F = 12,
    parameter int GF = 14,
    parameter int T = 8,
    parameter int NEWTON = 1,
    parameter int QMAX = 127,
    parameter int SQRTN_M = 16384,
    parameter int SQRTN_E = 11,
    localparam int NCH = (N + LANES - 1) / LANES,
    localparam int CHW = NCH > 1 ? $clog2(NCH) : 1
) (
    input  logic                 clk,
    input  logic                 rst,
    input  logic                 in_valid,
    output logic                 in_ready,
    input  logic [LANES*32-1:0]  in_data,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic                 in_last,
    /* verilator lint_on UNUSEDSIGNAL */
    output logic                 out_valid,
    input  logic                 out_ready,
    output logic [LANES*8-1:0]   out_data,
    output logic [15:0]          out_scale_m,
    output logic [15:0]          out_scale_e,
    output logic                 out_last,
    output logic [CHW-1:0]       rom_gain_chunk,
    input  logic [LANES*16-1:0]  rom_gain,
    output logic [T-1:0]         rom_rsqrt_idx,
    input  logic [15:0]          rom_rsqrt,
    output logic [3:0]           rom_eps_shift,
    input  logic [63:0]          rom_eps
);
  `include "fx_functions.svh"

  typedef enum logic [2:0] {LOAD, SUM, RSQ0, RSQ1, EMIT} state_t;
  state_t state;
  logic [CHW-1:0] ch;
  logic [NCH*LANES*32-1:0] buffer;
  logic [63:0] amax_x, amax_y, ss, um;
  logic [5:0] sh;
  logic signed [31:0] sh2;
  logic [47:0] mk;  // RATIO(max |x g|, QMAX)

  assign in_ready = (state == LOAD);
  assign rom_gain_chunk = ch;
  assign rom_eps_shift = sh[3:0];

  // lanes of the current chunk: x, x * g
  logic [LANES*64-1:0] y_lanes;
  always_comb begin
    for (int i = 0; i < LANES; i++) begin
      y_lanes[i*64 +: 64] = 64'($signed(buffer[(32'(ch) * LANES + i) * 32 +: 32])) *
                            64'($signed(rom_gain[i*16 +: 16]));
    end
  end

  // rsqrt seed index of u = ss + eps (RSQ0)
  logic [63:0] u_c;
  logic signed [31:0] sh2_c;
  logic [63:0] um_c;
  always_comb begin
    u_c = ss + rom_eps;
    sh2_c = 32'(fx_bit_length(u_c)) - 32;
    if (sh2_c[0]) sh2_c = sh2_c + 1;
    um_c = (sh2_c >= 0) ? (u_c >> sh2_c) : (u_c << (-sh2_c));
  end
  logic [63:0] idx_full;
  assign idx_full = (um >> (32 - T)) - (64'd1 << (T - 2));
  assign rom_rsqrt_idx = idx_full[T-1:0];

  logic zero_u;
  logic [LANES*8-1:0] q_lanes;
  always_comb begin
    for (int i = 0; i < LANES; i++) begin
      q_lanes[i*8 +: 8] = (mk[14:0] == 0 || 32'(ch) * LANES + i >= N) ? 8'd0
          : fx_quant_one($signed(y_lanes[i*64 +: 64]), mk, QMAX);
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
          logic [63:0] m;
          m = (ch == '0) ? 64'd0 : amax_x;
          for (int i = 0; i < LANES; i++) begin
            logic [63:0] a;
            a = fx_abs_u64(64'($signed(in_data[i*32 +: 32])));
            if (32'(ch) * LANES + i < N && a > m) m = a;
          end
          amax_x <= m;
          buffer[32'(ch) * LANES * 32 +: LANES * 32] <= in_data;
          if (ch == CHW'(NCH - 1)) begin
            logic signed [31:0] s;
            s = 32'(fx_bit_length(m)) - 23;
            sh <= (s < 0) ? 6'd0 : 6'(s);
            ch <= '0;
            ss <= '0;
            amax_y <= '0;
            state <= SUM;
          end else ch <= ch + 1'b1;
        end
        SUM: begin
          logic [63:0] acc, m;
          acc = ss;
          m = amax_y;
          for (int i = 0; i < LANES; i++) begin
            if (32'(ch) * LANES + i < N) begin
              logic signed [63:0] xs, a;
              xs = fx_round_shift(64'($signed(buffer[(32'(ch) * LANES + i) * 32 +: 32])),
                                  32'(sh));
              acc = acc + 64'(xs * xs);
              a = $signed(fx_abs_u64($signed(y_lanes[i*64 +: 64])));
              if (64'(a) > m) m = 64'(a);
            end
          end
          ss <= acc;
          amax_y <= m;
          if (ch == CHW'(NCH - 1)) begin
            ch <= '0;
            state <= RSQ0;
          end else ch <= ch + 1'b1;
        end
        RSQ0: begin
          um <= um_c;
          sh2 <= sh2_c;
          zero_u <= (u_c == 0);
          state <= RSQ1;
        end
        RSQ1: begin
          logic [63:0] y, y2, xy2, t;
          logic [47:0] rs, inv, sy, sc;
          y = 64'(rom_rsqrt) << 14;
          for (int k = 0; k < NEWTON; k++) begin
            y2 = fx_round_shift_u(y * y, 30);
            xy2 = fx_round_shift_u(um * y2, 30);
            t = (64'd3 << 30) - xy2;
            y = fx_round_shift_u(y * t, 31);
          end
          rs = fx_dyadic_normalize(y, 45 + sh2 / 2);
          inv = zero_u ? 48'd0 : fx_dyadic_mul(rs, {32'(SQRTN_E), 1'b0, 15'(SQRTN_M)});
          if (inv[14:0] != 0) inv[47:16] = $signed(inv[47:16]) - (F - 32'(sh));
          sy = (amax_y == 0) ? 48'd0 : fx_dyadic_ratio(amax_y, 64'(QMAX));
          mk <= sy;
          if (sy[14:0] != 0) sy[47:16] = $signed(sy[47:16]) + F + GF;
          sc = fx_dyadic_mul(sy, inv);
          out_scale_m <= {1'b0, sc[14:0]};
          out_scale_e <= sc[31:16];
          state <= EMIT;
        end
        default: begin  // EMIT
          if (!out_valid || out_ready) begin
            out_valid <= 1'b1;
            out_data <= q_lanes;
            out_last <= (ch == CHW'(NCH - 1));
            if (ch == CHW'(NCH - 1)) begin
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
