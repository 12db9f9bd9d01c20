// hw_matvec_core: datapath of a hardwired matrix-vector block (docs/numerics.md section 5,
// docs/rtl.md "Matrix block"). The weights are NOT here: a generated wrapper
// (`hardwire rtl generate`, rtl/rtl_gen.cpp) holds them as constants and answers the three
// constant-ROM ports combinationally (codes of one input chunk, group scales of one group,
// row exponents of one output chunk), so every weight of the block is a literal in the RTL.
//
// Structure: column-serial, all R rows in parallel. Each cycle one input chunk of LI int8
// activations is multiplied by the LI weights of every row (product fabric, FABRIC):
//   FABRIC = 0 product-select: per lane the multiples x*0..x*QMAX are formed once and shared by
//              all rows; each weight code selects one multiple (|w|) and negates it (w < 0),
//              as a ROM-cell-selects-product fabric (HC1 style);
//   FABRIC = 1 constant multipliers: each weight code multiplies its lane (a constant
//              multiplier when the block is fully parallel, NCH = 1).
// Both give the same bits. The LI products of a row go through an adder tree into an int32
// chunk sum (register s1), then into the int32 group sum; at the end of each group of G
// columns the group scale M[r][g] multiplies it into the int64 row accumulator. After the last
// chunk the accumulators move to the hold registers and stream out through hw_requant, LO rows
// per output chunk: out[r] = SAT32(RS(acc[r] * s.m, s.e + E[r] - F_OUT)).
//
// Interface (chunk valid/ready): in_data = LI int8 (lane 0 in the LSBs), in_scale_m/e = the
// input vector's dyadic scale, sampled with its first chunk; out_data = LO int32 in Q.F_OUT.
// Requires G to be a multiple of LI (group boundaries on chunk boundaries).
// Pipeline: input register (one chunk, as every cycle-level block has: sim/cycle_block.h) ->
// products and adder tree -> tree register s1 -> accumulate (group scale, row accumulators,
// hold registers) -> hw_requant (2 stages) -> out. These are the registers the cycle-level
// matrix block declares (docs/chip.md: input register, fold step, tree_registers 1,
// accumulate_stages 1, requant_stages 2), so the two have the same timing
// (tests/rtl/test_rtl_timing.cpp runs both on one channel and compares cycle by cycle).
// Timing, NCH = ceil(C/LI) input chunks, NOC = ceil(R/LO) output chunks, consumer ready:
//   latency (last input chunk accepted -> last output chunk accepted) = NOC + 4 cycles
//   initiation interval = max(NCH, NOC) cycles (the hold registers take the next vector's
//   accumulators in the cycle their last output chunk leaves)
// tests/rtl/test_rtl_matvec.cpp measures both and checks them against these formulas.
module hw_matvec_core #(
    parameter int R = 16,
    parameter int C = 64,
    parameter int LI = 16,
    parameter int LO = 4,
    parameter int B = 8,
    parameter int G = 64,
    parameter int F_OUT = 16,
    parameter int FABRIC = 0,
    localparam int NCH = (C + LI - 1) / LI,
    localparam int NG = (C + G - 1) / G,
    localparam int NOC = (R + LO - 1) / LO,
    localparam int CHW = NCH > 1 ? $clog2(NCH) : 1,
    localparam int GW = NG > 1 ? $clog2(NG) : 1,
    localparam int OCW = NOC > 1 ? $clog2(NOC) : 1
) (
    input  logic                 clk,
    input  logic                 rst,
    input  logic                 in_valid,
    output logic                 in_ready,
    input  logic [LI*8-1:0]      in_data,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic                 in_last,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic [15:0]          in_scale_m,
    input  logic [15:0]          in_scale_e,
    output logic                 out_valid,
    input  logic                 out_ready,
    output logic [LO*32-1:0]     out_data,
    output logic                 out_last,
    output logic [CHW-1:0]       rom_chunk,
    input  logic [R*LI*B-1:0]    rom_codes,
    output logic [GW-1:0]        rom_group,
    input  logic [R*16-1:0]      rom_gscale,
    output logic [OCW-1:0]       rom_out_chunk,
    input  logic [LO*16-1:0]     rom_row_exp
);
  localparam int CPG = NG == 1 ? NCH : G / LI;  // chunks per group

  // ---- input register: one chunk and the vector's scale
  logic x_valid;
  logic [LI*8-1:0] x_data;
  logic [15:0] x_m, x_e;

  // ---- stage 0: products of the registered chunk, adder tree into one int32 per row
  logic [CHW-1:0] in_ch;  // chunk number of the vector in the input register
  logic [R*32-1:0] psum;
  assign rom_chunk = in_ch;

  hw_matvec_fabric #(.R(R), .LI(LI), .B(B), .FABRIC(FABRIC)) u_fabric (
      .codes(rom_codes), .x(x_data), .psum(psum));

  // ---- stage 1 register (adder tree output) and vector scale
  logic s1_valid;
  logic [CHW-1:0] s1_ch;
  logic [R*32-1:0] s1_psum;
  logic [15:0] cur_m, cur_e;

  // ---- stage 2: group sums and row accumulators; hold registers for the output stream
  logic [R*32-1:0] gsum;
  logic [R*64-1:0] acc;
  logic [NOC*LO*64-1:0] hold;
  logic [15:0] hold_m, hold_e;
  logic hold_busy;
  logic [OCW-1:0] oc;

  wire s1_is_last = (s1_ch == CHW'(NCH - 1));
  wire s1_gend = s1_is_last || ((32'(s1_ch) % CPG) == CPG - 1);
  // The last chunk may hand its accumulators over in the cycle the previous vector's last
  // output chunk leaves the hold registers (issue_last), so the hold registers never idle.
  wire issue_last;
  wire advance_s1 = s1_valid && !(s1_is_last && hold_busy && !issue_last);
  wire x_take = !s1_valid || advance_s1;  // s1 takes the input register's chunk
  assign in_ready = !x_valid || x_take;
  assign rom_group = GW'(32'(s1_ch) / CPG);

  // requantization of the held accumulators, LO rows per output chunk
  logic rq_ready;
  logic [LO*64-1:0] rq_acc;
  logic [LO*16-1:0] rq_shift;
  assign rom_out_chunk = oc;
  always_comb begin
    for (int i = 0; i < LO; i++) begin
      rq_acc[i*64 +: 64] = hold[(32'(oc) * LO + i) * 64 +: 64];
      rq_shift[i*16 +: 16] = hold_e + rom_row_exp[i*16 +: 16] - 16'(F_OUT);
    end
  end
  wire issue = hold_busy && rq_ready;
  assign issue_last = issue && (oc == OCW'(NOC - 1));

  hw_requant #(.LANES(LO)) u_requant (
      .clk(clk), .rst(rst),
      .in_valid(hold_busy), .in_ready(rq_ready), .in_acc(rq_acc), .in_shift(rq_shift),
      .in_mult(hold_m), .in_last(oc == OCW'(NOC - 1)),
      .out_valid(out_valid), .out_ready(out_ready), .out_data(out_data), .out_last(out_last));

  always_ff @(posedge clk) begin
    if (rst) begin
      x_valid <= 1'b0;
      in_ch <= '0;
      s1_valid <= 1'b0;
      s1_ch <= '0;
      hold_busy <= 1'b0;
      oc <= '0;
    end else begin
      if (in_ready) begin
        x_valid <= in_valid;
        if (in_valid) begin
          x_data <= in_data;
          x_m <= in_scale_m;
          x_e <= in_scale_e;
        end
      end
      if (x_valid && x_take) begin
        if (in_ch == '0) begin
          cur_m <= x_m;
          cur_e <= x_e;
        end
        in_ch <= (in_ch == CHW'(NCH - 1)) ? '0 : in_ch + 1'b1;
        s1_psum <= psum;
        s1_ch <= in_ch;
      end
      if (x_take) s1_valid <= x_valid;

      if (advance_s1) begin
        for (int r = 0; r < R; r++) begin
          logic signed [31:0] gs;
          logic signed [63:0] a;
          gs = $signed(gsum[r*32 +: 32]) + $signed(s1_psum[r*32 +: 32]);
          a = (rom_group == '0) ? 64'sd0 : $signed(acc[r*64 +: 64]);
          if (s1_gend) begin
            a = a + 64'(gs) * $signed({48'd0, rom_gscale[r*16 +: 16]});
            gsum[r*32 +: 32] <= '0;
            acc[r*64 +: 64] <= a;
            if (s1_is_last) hold[r*64 +: 64] <= a;
          end else begin
            gsum[r*32 +: 32] <= gs;
          end
        end
        if (s1_is_last) begin
          for (int r = R; r < NOC * LO; r++) hold[r*64 +: 64] <= '0;
          hold_m <= cur_m;
          hold_e <= cur_e;
          hold_busy <= 1'b1;
        end
      end
      if (issue) begin
        if (oc == OCW'(NOC - 1)) begin
          oc <= '0;
          // freed, unless the next vector's accumulators move in at this same edge
          if (!(advance_s1 && s1_is_last)) hold_busy <= 1'b0;
        end else begin
          oc <= oc + 1'b1;
        end
      end
    end
  end
endmodule

// hw_matvec_fabric: the weight-carrying part of a matrix block, one input chunk: per row the
// LI products of the row's weight codes with the chunk's activations, summed by an adder tree
// into an int32 (combinational; hw_matvec_core registers it). FABRIC 0 = product-select, 1 =
// constant multipliers (see hw_matvec_core). `hardwire rtl synth` synthesizes this module with
// the generated weight ROM to count cells per weight bit without the block's fixed datapath.
module hw_matvec_fabric #(
    parameter int R = 16,
    parameter int LI = 16,
    parameter int B = 8,
    parameter int FABRIC = 0
) (
    input  logic [R*LI*B-1:0] codes,
    input  logic [LI*8-1:0]   x,
    output logic [R*32-1:0]   psum
);
  localparam int QMAX = (1 << (B - 1)) - 1;
  logic [LI*8-1:0] in_data;
  assign in_data = x;
  logic [R*LI*B-1:0] rom_codes;
  assign rom_codes = codes;
  // Per lane, the multiples x*0 .. x*QMAX (shared by every row): the product-select lines.
  logic [LI*(QMAX+1)*16-1:0] mults;
  always_comb begin
    for (int i = 0; i < LI; i++) begin
      for (int k = 0; k <= QMAX; k++) begin
        mults[(i * (QMAX + 1) + k) * 16 +: 16] = 16'($signed(in_data[i*8 +: 8])) * 16'(k);
      end
    end
  end

  always_comb begin
    for (int r = 0; r < R; r++) begin
      logic signed [31:0] s;
      s = 0;
      for (int i = 0; i < LI; i++) begin
        logic signed [B-1:0] w;
        logic signed [15:0] p;
        logic [B-1:0] sel;
        w = rom_codes[(r * LI + i) * B +: B];
        if (FABRIC == 0) begin
          // product select: the weight code picks multiple |w| and negates it for w < 0
          sel = w[B-1] ? -w : w;
          p = mults[(i * (QMAX + 1) + 32'(sel)) * 16 +: 16];
          if (w[B-1]) p = -p;
        end else begin
          sel = '0;
          p = 16'($signed(in_data[i*8 +: 8])) * 16'(w);
        end
        s = s + 32'(p);
      end
      psum[r*32 +: 32] = s;
    end
  end

endmodule
