// hw_activation_core: the SwiGLU activation and the dynamic quantization before ffn_down
// (docs/numerics.md sections 4 and 7): for the int32 Q.F outputs of ffn_gate_up (FF gate values,
// then FF up values, as the fused matrix block streams them) it computes
//   h_i = SAT32(RS(silu(gate_i) * up_i, F))      (fx::swiglu_fixed, sigmoid table interpolated)
// and emits QUANT(h, F, QMAX): int8 integers and one dyadic scale (m, e), bit-identical to
// fx::swiglu_fixed followed by fx::quantize_dynamic (GoldenModel::ffn). The sigmoid table
// (2^(TS+4) + 1 entries, Q30) is a constant of a generated wrapper (`hardwire rtl generate`),
// read through the rom_* ports combinationally (two entries per lane).
//
// Why two passes: up_i arrives FF values after gate_i, and the quantization needs max |h| over
// the whole vector before it can emit anything, so the block holds the vector: the gate values
// are buffered, each up value turns its gate slot into h (and updates max |h|), then h is read
// out quantized.
//
// Interface (chunk valid/ready): in_data = LANES int32 (element e of the 2 FF-vector in lane
// e % LANES; a chunk may hold the last gate values and the first up values); out_data = LANES
// int8 (lanes beyond FF are 0), out_scale_m / out_scale_e valid with every output chunk,
// out_last on the final chunk. Requires FF >= LANES.
//
// Timing: the phase structure of the cycle-level SystemC block (sim/cycle_block.h CycleBlock,
// the `activation` spec of sim/cycle_chip.cpp), register for register, so the two co-simulate
// cycle for cycle (tests/rtl/test_rtl_timing.cpp):
//   input register   one chunk, filled while the block cannot take it (emit pass); a take
//                    step takes the register's chunk (and the register the next one) or,
//                    when it is empty, the chunk on the pins;
//   take pass        NI = ceil(2 FF / LANES) steps, one per cycle, each taking the register's
//                    chunk (gate: buffered; up: h computed into the gate's slot, max |h|);
//   emit pass        NO = ceil(FF / LANES) steps, one per cycle, each quantizing LANES values of
//                    h (the scale RATIO(max |h|, QMAX) is formed from the held maximum) into the
//                    output pipeline; a step waits while the pipeline and the output buffer hold
//                    2 LANES values (elements not yet accepted downstream);
//   output pipeline  DEPTH registers (chip.activation.pipeline_depth): a chunk stepped at
//                    edge t can leave at edge t + DEPTH + 1.
//   The next vector's first take step follows the last emit step.
// Consumer always ready: the emit steps go two per DEPTH + 1 cycles (two chunks in
// flight), so latency (last input chunk accepted -> last output chunk accepted) =
// 2 + floor((NO - 1) / 2) * (DEPTH + 1) + (NO - 1) % 2 + DEPTH cycles, initiation interval =
// NI + 1 + floor((NO - 1) / 2) * (DEPTH + 1) + (NO - 1) % 2 cycles.
module hw_activation_core #(
    parameter int FF = 172,
    parameter int LANES = 16,
    parameter int F = 16,
    parameter int TS = 6,
    parameter int QMAX = 127,
    parameter int DEPTH = 4,
    localparam int NI = (2 * FF + LANES - 1) / LANES,
    localparam int NO = (FF + LANES - 1) / LANES,
    localparam int TI = TS + 5,
    localparam int QD = 4
) (
    input  logic                  clk,
    input  logic                  rst,
    input  logic                  in_valid,
    output logic                  in_ready,
    input  logic [LANES*32-1:0]   in_data,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic                  in_last,
    /* verilator lint_on UNUSEDSIGNAL */
    output logic                  out_valid,
    input  logic                  out_ready,
    output logic [LANES*8-1:0]    out_data,
    output logic [15:0]           out_scale_m,
    output logic [15:0]           out_scale_e,
    output logic                  out_last,
    output logic [LANES*2*TI-1:0] rom_sig_idx,
    input  logic [LANES*2*32-1:0] rom_sig
);
  `include "fx_functions.svh"

  localparam int RB = F - TS;        // low bits of |gate| interpolated between table entries
  localparam int BUF = 2 * LANES;    // output values in flight before an emit step waits

  // ---- input register
  logic r_valid;
  logic [LANES*32-1:0] r_data;
  wire [LANES*32-1:0] x_in = r_valid ? r_data : in_data;  // the take step's chunk

  // ---- the held vector: gate values, then h in their place; max |h|
  logic emit_phase;
  logic [15:0] k;  // step of the current pass
  logic [FF*32-1:0] buffer;
  logic [63:0] amax;

  // ---- output pipeline and buffer: QD entries in order, each ready after DEPTH edges
  logic [LANES*8-1:0] q_data[QD];
  logic [15:0] q_n[QD], q_m[QD], q_e[QD];
  logic [31:0] q_wait[QD];
  logic q_lst[QD];
  logic [$clog2(QD)-1:0] head;
  logic [$clog2(QD):0] count;
  logic [15:0] pending;  // values stepped into the pipeline and not yet accepted

  // ---- step decisions of this cycle (the cycle-level block's tick)
  wire take_fire = !emit_phase && (r_valid || in_valid);  // the chunk in the register, else on the pins
  wire [15:0] outs = (k == 16'(NO - 1)) ? 16'(FF - (NO - 1) * LANES) : 16'(LANES);
  // pending after this edge's output transfer, as the cycle-level block emits before it steps
  wire [15:0] pending_now = pending - (xfer ? q_n[head] : 16'd0);
  wire emit_fire = emit_phase && (32'(pending_now) + 32'(outs) <= BUF);
  assign in_ready = !r_valid || !emit_phase;
  assign out_valid = (count != 0) && (q_wait[head] == 0);
  wire xfer = out_valid && out_ready;
  assign out_data = q_data[head];
  assign out_last = q_lst[head];
  assign out_scale_m = q_m[head];
  assign out_scale_e = q_e[head];
  
  // ---- take step: h of the up lanes of the register's chunk
  function automatic logic signed [31:0] silu(input logic signed [31:0] x,
                                              input logic signed [31:0] t0,
                                              input logic signed [31:0] t1);
    logic [63:0] mag;
    logic signed [63:0] sig;
    mag = fx_abs_u64(64'(x));
    sig = 64'sd1 <<< 30;
    if (mag < (64'd1 << (F + 4))) begin
      sig = 64'(t0) + fx_round_shift((64'(t1) - 64'(t0)) * $signed(mag & ((64'd1 << RB) - 1)),
                                     RB);
    end
    if (x < 0) sig = (64'sd1 <<< 30) - sig;
    silu = fx_sat32(fx_round_shift(64'(x) * sig, 30));
  endfunction

  // gate of each lane's up value (from the buffer) and its two table entries
  logic [LANES*32-1:0] g_lanes;
  always_comb begin
    for (int i = 0; i < LANES; i++) begin
      int e, j;
      logic [63:0] idx;
      e = 32'(k) * LANES + i;
      j = (e >= FF && e < 2 * FF) ? e - FF : 0;
      g_lanes[i * 32 +: 32] = buffer[j * 32 +: 32];
      idx = fx_abs_u64(64'($signed(buffer[j * 32 +: 32]))) >> RB;
      rom_sig_idx[(2 * i) * TI +: TI] = TI'(idx);
      rom_sig_idx[(2 * i + 1) * TI +: TI] = TI'(idx + 1);
    end
  end
  logic [LANES*32-1:0] h_lanes;
  always_comb begin
    for (int i = 0; i < LANES; i++) begin
      logic signed [31:0] a;
      a = silu(g_lanes[i * 32 +: 32], rom_sig[(2 * i) * 32 +: 32], rom_sig[(2 * i + 1) * 32 +: 32]);
      h_lanes[i * 32 +: 32] = fx_sat32(fx_round_shift(64'(a) * 64'($signed(x_in[i * 32 +: 32])),
                                                      F));
    end
  end

  // ---- emit step: QUANT of LANES values of h with the held maximum's scale
  logic [47:0] mk;
  logic [LANES*8-1:0] q_lanes;
  always_comb begin
    mk = (amax == 0) ? 48'd0 : fx_dyadic_ratio(amax, 64'(QMAX));
    for (int i = 0; i < LANES; i++) begin
      int j;
      j = 32'(k) * LANES + i;
      q_lanes[i * 8 +: 8] = (mk[14:0] == 0 || j >= FF) ? 8'd0
          : fx_quant_one(64'($signed(buffer[(j < FF ? j : 0) * 32 +: 32])), mk, QMAX);
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      r_valid <= 1'b0;
      emit_phase <= 1'b0;
      k <= '0;
      amax <= '0;
      head <= '0;
      count <= '0;
      pending <= '0;
      for (int s = 0; s < QD; s++) q_wait[s] <= '0;
    end else begin
      // the register: refilled in the edge its chunk is taken; a chunk taken straight from the
      // pins (empty register) does not enter it
      if (r_valid ? take_fire : (in_valid && !take_fire)) begin
        r_valid <= in_valid;
        r_data <= in_data;
      end
      if (take_fire) begin
        logic [63:0] m;
        m = (k == 0) ? 64'd0 : amax;
        for (int i = 0; i < LANES; i++) begin
          int e;
          e = 32'(k) * LANES + i;
          if (e < FF) begin
            buffer[e * 32 +: 32] <= x_in[i * 32 +: 32];
          end else if (e < 2 * FF) begin
            logic [63:0] a;
            buffer[(e - FF) * 32 +: 32] <= h_lanes[i * 32 +: 32];
            a = fx_abs_u64(64'($signed(h_lanes[i * 32 +: 32])));
            if (a > m) m = a;
          end
        end
        amax <= m;
        if (k == 16'(NI - 1)) begin
          emit_phase <= 1'b1;
          k <= '0;
        end else k <= k + 1'b1;
      end
      for (int s = 0; s < QD; s++) begin
        if (q_wait[s] != 0) q_wait[s] <= q_wait[s] - 1;
      end
      if (emit_fire) begin
        logic [$clog2(QD)-1:0] slot;
        slot = head + ($clog2(QD))'(count);
        q_data[slot] <= q_lanes;
        q_n[slot] <= outs;
        q_m[slot] <= {1'b0, mk[14:0]};
        q_e[slot] <= (amax == 0) ? 16'd0 : 16'($signed(mk[47:16]) + F);
        q_lst[slot] <= (k == 16'(NO - 1));
        q_wait[slot] <= 32'(DEPTH);
        if (k == 16'(NO - 1)) begin
          emit_phase <= 1'b0;
          k <= '0;
        end else k <= k + 1'b1;
      end
      if (xfer) head <= head + 1'b1;
      count <= count + (emit_fire ? ($clog2(QD)+1)'(1) : '0) - (xfer ? ($clog2(QD)+1)'(1) : '0);
      pending <= pending + (emit_fire ? outs : 16'd0) - (xfer ? q_n[head] : 16'd0);
    end
  end
endmodule
