// hw_rms_norm_core: RMSNorm feeding a matrix product (docs/numerics.md section 8): for an
// int32 Q.F vector x of N values and int16 gains g (Q.GF), outputs the int8 integers of
// QUANT(x * g) and the scale MUL(s_y, inv_rms), bit-identical to fx::rms_norm_quantize. The
// gains, the rsqrt seed table and the eps constants are constants held by a generated wrapper
// (`hardwire rtl generate`), answered through the rom_* ports combinationally.
//
// Interface (chunk valid/ready): in_data = LANES int32 (Q.F); out_data = LANES int8,
// out_scale_m / out_scale_e (the dyadic scale of the output integers) valid with every output
// chunk, out_last on the final chunk.
//
// Two passes, as the cycle-level SystemC norm (sim/cycle_block.h CycleBlock, norm_spec of
// sim/cycle_chip.cpp), register for register, so the two co-simulate cycle for cycle:
//   input register   one chunk, filled while the block cannot take it (emit pass); a take
//                    step takes the register's chunk (and the register the next one) or,
//                    when it is empty, the chunk on the pins;
//   take pass        NCH = ceil(N / LANES) steps, one per cycle, each taking the register's
//                    chunk: buffer x, max |x|, max |x g|, and the sum of squares RS(x, s)^2 for
//                    every pre-shift s = 0..9 at once (the golden sum uses s = max(0,
//                    bitlen(max |x|) - 23), known only after the last value: accumulating all
//                    ten candidates keeps it bit-exact without a third pass over the buffer);
//   emit pass        NCH steps, one per cycle: u = ss[s] + eps[s], the rsqrt seed, NEWTON
//                    Newton steps, times sqrt(N), RATIO(max |x g|, QMAX) (combinational from
//                    the held sums), LANES quantized outputs per step into the output pipeline;
//                    a step waits while the pipeline and the output buffer hold 2 LANES values;
//   output pipeline  DEPTH registers (chip.norm.pipeline_depth): a chunk stepped at edge t can
//                    leave at edge t + DEPTH + 1.
//   The next vector's first take step follows the last emit step.
// Consumer always ready: the emit steps go two per DEPTH + 1 cycles (two chunks in
// flight), so latency (last input chunk accepted -> last output chunk accepted) =
// 2 + floor((NCH - 1) / 2) * (DEPTH + 1) + (NCH - 1) % 2 + DEPTH cycles, initiation interval
// = NCH + 1 + floor((NCH - 1) / 2) * (DEPTH + 1) + (NCH - 1) % 2 cycles.
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
    parameter int DEPTH = 4,
    localparam int NCH = (N + LANES - 1) / LANES,
    localparam int CHW = NCH > 1 ? $clog2(NCH) : 1,
    localparam int NS = 10,
    localparam int QD = 4
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

  localparam int BUF = 2 * LANES;  // output values in flight before an emit step waits

  // ---- input register
  logic r_valid;
  logic [LANES*32-1:0] r_data;
  wire [LANES*32-1:0] x_in = r_valid ? r_data : in_data;  // the take step's chunk

  // ---- the held vector and its sums
  logic emit_phase;
  logic [CHW-1:0] ch;  // step of the current pass
  logic [NCH*LANES*32-1:0] buffer;
  logic [63:0] amax_x, amax_y;
  logic [NS*64-1:0] ss;  // sum of RS(x, s)^2 for s = 0..NS-1

  // ---- output pipeline and buffer: QD entries in order, each ready after DEPTH edges
  logic [LANES*8-1:0] q_data[QD];
  logic [15:0] q_n[QD], q_m[QD], q_e[QD];
  logic [31:0] q_wait[QD];
  logic q_lst[QD];
  logic [$clog2(QD)-1:0] head;
  logic [$clog2(QD):0] count;
  logic [15:0] pending;

  wire last_step = (ch == CHW'(NCH - 1));
  wire take_fire = !emit_phase && (r_valid || in_valid);  // the chunk in the register, else on the pins
  wire [15:0] outs = last_step ? 16'(N - (NCH - 1) * LANES) : 16'(LANES);
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
    assign rom_gain_chunk = ch;

  // x of the step's chunk (take: the input register; emit: the buffer) times its gains
  logic [LANES*32-1:0] x_lanes;
  logic [LANES*64-1:0] y_lanes;
  always_comb begin
    x_lanes = emit_phase ? buffer[32'(ch) * LANES * 32 +: LANES * 32] : x_in;
    for (int i = 0; i < LANES; i++) begin
      y_lanes[i*64 +: 64] = 64'($signed(x_lanes[i*32 +: 32])) * 64'($signed(rom_gain[i*16 +: 16]));
    end
  end

  // pre-shift of the held vector and its eps
  logic [5:0] sh;
  always_comb begin
    logic signed [31:0] s;
    s = 32'(fx_bit_length(amax_x)) - 23;
    sh = (s < 0) ? 6'd0 : 6'(s);
  end
  assign rom_eps_shift = sh[3:0];

  // u = ss + eps, its even normalization and the rsqrt seed index
  logic [63:0] u_c, um_c;
  logic signed [31:0] sh2_c;
  always_comb begin
    u_c = ss[32'(sh) * 64 +: 64] + rom_eps;
    sh2_c = 32'(fx_bit_length(u_c)) - 32;
    if (sh2_c[0]) sh2_c = sh2_c + 1;
    um_c = (sh2_c >= 0) ? (u_c >> sh2_c) : (u_c << (-sh2_c));
  end
  logic [63:0] idx_full;
  assign idx_full = (um_c >> (32 - T)) - (64'd1 << (T - 2));
  assign rom_rsqrt_idx = idx_full[T-1:0];

  // Newton steps, inv_rms, the quantization ratio and the output scale
  logic [47:0] mk, sc;
  always_comb begin
    logic [63:0] y, y2, xy2, t;
    logic [47:0] rs, inv, sy;
    y = 64'(rom_rsqrt) << 14;
    for (int k = 0; k < NEWTON; k++) begin
      y2 = fx_round_shift_u(y * y, 30);
      xy2 = fx_round_shift_u(um_c * y2, 30);
      t = (64'd3 << 30) - xy2;
      y = fx_round_shift_u(y * t, 31);
    end
    rs = fx_dyadic_normalize(y, 45 + sh2_c / 2);
    inv = (u_c == 0) ? 48'd0 : fx_dyadic_mul(rs, {32'(SQRTN_E), 1'b0, 15'(SQRTN_M)});
    if (inv[14:0] != 0) inv[47:16] = $signed(inv[47:16]) - (F - 32'(sh));
    sy = (amax_y == 0) ? 48'd0 : fx_dyadic_ratio(amax_y, 64'(QMAX));
    mk = sy;
    if (sy[14:0] != 0) sy[47:16] = $signed(sy[47:16]) + F + GF;
    sc = fx_dyadic_mul(sy, inv);
  end

  logic [LANES*8-1:0] q_lanes;
  always_comb begin
    for (int i = 0; i < LANES; i++) begin
      q_lanes[i*8 +: 8] = (mk[14:0] == 0 || 32'(ch) * LANES + i >= N) ? 8'd0
          : fx_quant_one($signed(y_lanes[i*64 +: 64]), mk, QMAX);
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      r_valid <= 1'b0;
      emit_phase <= 1'b0;
      ch <= '0;
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
        logic [63:0] mx, my;
        logic [NS*64-1:0] acc;
        mx = (ch == '0) ? 64'd0 : amax_x;
        my = (ch == '0) ? 64'd0 : amax_y;
        acc = (ch == '0) ? '0 : ss;
        for (int i = 0; i < LANES; i++) begin
          if (32'(ch) * LANES + i < N) begin
            logic [63:0] a, b;
            logic signed [63:0] xv;
            xv = 64'($signed(x_in[i*32 +: 32]));
            a = fx_abs_u64(xv);
            if (a > mx) mx = a;
            b = fx_abs_u64($signed(y_lanes[i*64 +: 64]));
            if (b > my) my = b;
            for (int s = 0; s < NS; s++) begin
              logic signed [63:0] xs;
              xs = fx_round_shift(xv, 32'(s));
              acc[s*64 +: 64] = acc[s*64 +: 64] + 64'(xs * xs);
            end
          end
        end
        amax_x <= mx;
        amax_y <= my;
        ss <= acc;
        buffer[32'(ch) * LANES * 32 +: LANES * 32] <= x_in;
        if (last_step) begin
          emit_phase <= 1'b1;
          ch <= '0;
        end else ch <= ch + 1'b1;
      end
      for (int s = 0; s < QD; s++) begin
        if (q_wait[s] != 0) q_wait[s] <= q_wait[s] - 1;
      end
      if (emit_fire) begin
        logic [$clog2(QD)-1:0] slot;
        slot = head + ($clog2(QD))'(count);
        q_data[slot] <= q_lanes;
        q_n[slot] <= outs;
        q_m[slot] <= {1'b0, sc[14:0]};
        q_e[slot] <= sc[31:16];
        q_lst[slot] <= last_step;
        q_wait[slot] <= 32'(DEPTH);
        if (last_step) begin
          emit_phase <= 1'b0;
          ch <= '0;
        end else ch <= ch + 1'b1;
      end
      if (xfer) head <= head + 1'b1;
      count <= count + (emit_fire ? ($clog2(QD)+1)'(1) : '0) - (xfer ? ($clog2(QD)+1)'(1) : '0);
      pending <= pending + (emit_fire ? outs : 16'd0) - (xfer ? q_n[head] : 16'd0);
    end
  end
endmodule
