// hw_quantize: dynamic quantization QUANT(v, F, QMAX) of one vector (docs/numerics.md
// section 4): the int32 values of a Q.F vector become integers in [-QMAX, QMAX] with one dyadic
// scale (m, e): real = q * m * 2^-e. Bit-identical to fx::quantize_dynamic. Used before o_proj
// and ffn_down, for the attention query and for K/V going into the cache.
//
// Interface (chunk valid/ready): in_data = LANES int32 per chunk, N values per vector (the
// last chunk's unused lanes are ignored); out_data = LANES int8 per chunk (lanes beyond N are
// 0), out_scale_m / out_scale_e valid with every output chunk of the vector, out_last on the
// final chunk. One vector at a time: the buffer is filled, then the scale computed, then read.
// Timing, NCH = ceil(N / LANES), consumer ready:
//   phases: load NCH cycles (max |v| on the fly), 1 cycle RATIO(max, QMAX), emit NCH cycles.
//   latency (last input chunk accepted -> last output chunk accepted) = NCH + 2 cycles
//   initiation interval = 2 * NCH + 2 cycles
module hw_quantize #(
    parameter int N = 64,
    parameter int LANES = 16,
    parameter int F = 16,
    parameter int QMAX = 127,
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
    output logic                 out_last
);
  `include "fx_functions.svh"

  typedef enum logic [1:0] {LOAD, RATIO, EMIT} state_t;
  state_t state;
  logic [CHW-1:0] ch;
  logic [NCH*LANES*32-1:0] buffer;
  logic [63:0] amax;
  logic [47:0] mk;

  assign in_ready = (state == LOAD);

  // lane values of the chunk being emitted, quantized combinationally
  logic [LANES*8-1:0] q_lanes;
  always_comb begin
    for (int i = 0; i < LANES; i++) begin
      logic signed [63:0] v;
      v = 64'($signed(buffer[(32'(ch) * LANES + i) * 32 +: 32]));
      q_lanes[i*8 +: 8] = (mk[14:0] == 0 || 32'(ch) * LANES + i >= N) ? 8'd0
                                                                      : fx_quant_one(v, mk, QMAX);
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      state <= LOAD;
      ch <= '0;
      amax <= '0;
      out_valid <= 1'b0;
      out_last <= 1'b0;
    end else begin
      case (state)
        LOAD: if (in_valid) begin
          logic [63:0] m;
          m = (ch == '0) ? 64'd0 : amax;
          for (int i = 0; i < LANES; i++) begin
            logic [63:0] a;
            a = fx_abs_u64(64'($signed(in_data[i*32 +: 32])));
            if (32'(ch) * LANES + i < N && a > m) m = a;
          end
          amax <= m;
          buffer[32'(ch) * LANES * 32 +: LANES * 32] <= in_data;
          if (ch == CHW'(NCH - 1)) begin
            ch <= '0;
            state <= RATIO;
          end else ch <= ch + 1'b1;
        end
        RATIO: begin
          logic [47:0] r;
          r = (amax == 0) ? 48'd0 : fx_dyadic_ratio(amax, 64'(QMAX));
          mk <= r;
          out_scale_m <= {1'b0, r[14:0]};
          out_scale_e <= (amax == 0) ? 16'd0 : 16'($signed(r[47:16]) + F);
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
