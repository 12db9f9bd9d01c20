// hw_requant: the requantization unit (docs/numerics.md section 5). Per lane
//   out = SAT32(RS(acc * mult, shift))
// with acc an int64 accumulator, mult the 15-bit mantissa of the input scale and shift
// (signed) = s.e + E[r] - f_out. Bit-identical to fx::requantize (model/fixed_point.h).
//
// Interface: chunk valid/ready (docs/rtl.md, "Blocks"; sim/chunk.h):
//   in_valid/in_ready, in_acc [LANES x int64], in_shift [LANES x int16], in_mult (vector-wide,
//   sampled with each chunk), in_last; out_valid/out_ready, out_data [LANES x int32], out_last.
// Pipeline: stage A multiplies (acc * mult, 64-bit), stage B rounds, shifts and saturates.
// Latency: 2 cycles (chunk accepted at edge k is accepted downstream at edge k+2 when the
// consumer is ready). Initiation interval: 1 chunk per cycle. Back-pressure stalls the stages.
module hw_requant #(
    parameter int LANES = 4
) (
    input  logic                  clk,
    input  logic                  rst,
    input  logic                  in_valid,
    output logic                  in_ready,
    input  logic [LANES*64-1:0]   in_acc,
    input  logic [LANES*16-1:0]   in_shift,
    input  logic [15:0]           in_mult,
    input  logic                  in_last,
    output logic                  out_valid,
    input  logic                  out_ready,
    output logic [LANES*32-1:0]   out_data,
    output logic                  out_last
);
  `include "fx_functions.svh"

  logic                 a_valid, a_last;
  logic [LANES*64-1:0]  a_prod;
  logic [LANES*16-1:0]  a_shift;

  wire b_free = !out_valid || out_ready;
  wire a_free = !a_valid || b_free;
  assign in_ready = a_free;

  always_ff @(posedge clk) begin
    if (rst) begin
      a_valid <= 1'b0;
      a_last <= 1'b0;
      out_valid <= 1'b0;
      out_last <= 1'b0;
    end else begin
      if (b_free) begin
        out_valid <= a_valid;
        out_last <= a_last;
        if (a_valid) begin
          for (int i = 0; i < LANES; i++) begin
            out_data[i*32 +: 32] <= fx_sat32(fx_round_shift($signed(a_prod[i*64 +: 64]),
                                                            32'($signed(a_shift[i*16 +: 16]))));
          end
        end
      end
      if (a_free) begin
        a_valid <= in_valid;
        a_last <= in_last;
        if (in_valid) begin
          for (int i = 0; i < LANES; i++) begin
            a_prod[i*64 +: 64] <= $signed(in_acc[i*64 +: 64]) * $signed({48'd0, in_mult});
          end
          a_shift <= in_shift;
        end
      end
    end
  end
endmodule
