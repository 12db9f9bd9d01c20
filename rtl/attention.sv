// hw_attention_core: the attention datapath of one query head over n cached positions
// (docs/numerics.md section 10), bit-identical to fx::attention_head:
//   z_j = SAT32(RS(dot(qq, k_j) * mk_j * c.m, ek_j + c.e - 16))     scores, Q.16
//   pi_j from hw_softmax (exp2 / normalise unit)
//   e* = min ev_j over mv_j != 0 and pi_j != 0;  a_j = RS(pi_j mv_j, ev_j - e*)
//   out_d = SAT32(RS(sum_j a_j v_jd, 30 + e* - F_OUT))                 Q.F_OUT
// K and V come from a KV SRAM bank (hw_kv_bank) through its read port, one line per position:
// {v_e, v_m, k_e, k_m, V[HD], K[HD]}; the V rows and scales are kept in a local buffer for the
// accumulation sweep.
//
// Interface (chunk valid/ready): in_q = one chunk of HD int8 (the quantized query head),
// in_c_m / in_c_e = its scale times log2(e)/sqrt(HD) (dyadic), in_n = number of keys
// (1..MAXK), in_base = bank address of key 0; out_data = HD int32 (Q.F_OUT) in one chunk.
// Phases: SCORE (n reads issued one per cycle, scores pushed into the softmax as the lines
// return RL cycles later), SOFTMAX (hw_softmax with 1 lane: 2 n + 2 cycles after the last
// score), ACC (n cycles: HD multiply-accumulates per cycle), OUT (1 cycle).
// Timing, consumer ready: latency (q accepted -> output accepted) = 4 n + RL + 4 cycles;
// initiation interval = latency + 1 cycles (one head at a time). tests/rtl measure both.
module hw_attention_core #(
    parameter int HD = 16,
    parameter int MAXK = 64,
    parameter int T = 7,
    parameter int F_OUT = 16,
    parameter int AW = 6,
    localparam int NW = $clog2(MAXK + 1),
    localparam int KW = MAXK > 1 ? $clog2(MAXK) : 1,
    localparam int LW = 2 * HD * 8 + 64
) (
    input  logic                 clk,
    input  logic                 rst,
    input  logic                 in_valid,
    output logic                 in_ready,
    input  logic [HD*8-1:0]      in_q,
    input  logic [15:0]          in_c_m,
    input  logic [15:0]          in_c_e,
    input  logic [NW-1:0]        in_n,
    input  logic [AW-1:0]        in_base,
    output logic                 out_valid,
    input  logic                 out_ready,
    output logic [HD*32-1:0]     out_data,
    output logic                 kv_rd_en,
    output logic [AW-1:0]        kv_rd_addr,
    input  logic                 kv_rd_valid,
    input  logic [LW-1:0]        kv_rd_data,
    output logic [2*(T+1)-1:0]   rom_exp2_idx,
    input  logic [2*32-1:0]      rom_exp2
);
  `include "fx_functions.svh"

  typedef enum logic [2:0] {IDLE, SCORE, PROB, ACC, OUT} state_t;
  state_t state;
  logic [HD*8-1:0] q;
  logic [15:0] c_m, c_e;
  logic [NW-1:0] n, issued, got, pcount;
  logic [AW-1:0] base;
  logic [MAXK*HD*8-1:0] vbuf;
  logic [MAXK*32-1:0] vscale;  // {e16, m16} per key
  logic [MAXK*32-1:0] pibuf;
  logic signed [31:0] e_min;
  logic [KW-1:0] j;
  logic [HD*64-1:0] acc;

  assign in_ready = (state == IDLE);
  assign kv_rd_en = (state == SCORE) && (issued < n);
  assign kv_rd_addr = base + AW'(issued);

  // score of the returned line
  logic signed [31:0] z_c;
  always_comb begin
    logic signed [31:0] dot;
    logic signed [63:0] t;
    logic signed [31:0] sh;
    dot = 0;
    for (int d = 0; d < HD; d++) begin
      dot = dot + 32'($signed(q[d*8 +: 8])) * 32'($signed(kv_rd_data[d*8 +: 8]));
    end
    t = 64'(dot) * 64'(kv_rd_data[2*HD*8 +: 16]) * 64'(c_m);
    sh = 32'($signed(kv_rd_data[2*HD*8+16 +: 16])) + 32'($signed(c_e)) - 16;
    z_c = fx_sat32(fx_round_shift(t, sh));
  end

  logic sm_in_ready, sm_out_valid, sm_out_last;
  logic [31:0] sm_out;
  hw_softmax #(.MAXK(MAXK), .LANES(1), .T(T)) u_softmax (
      .clk(clk), .rst(rst),
      .in_valid(state == SCORE && kv_rd_valid), .in_ready(sm_in_ready),
      .in_data(z_c), .in_n(n), .in_last(got == n - 1'b1),
      .out_valid(sm_out_valid), .out_ready(state == PROB), .out_data(sm_out),
      .out_last(sm_out_last), .rom_exp2_idx(rom_exp2_idx), .rom_exp2(rom_exp2));

  // weight of key j at the common exponent e*
  logic signed [63:0] a_c;
  always_comb begin
    logic [15:0] vm, ve;
    logic [31:0] p;
    vm = vscale[32'(j) * 32 +: 16];
    ve = vscale[32'(j) * 32 + 16 +: 16];
    p = pibuf[32'(j) * 32 +: 32];
    if (vm == 0 || p == 0) a_c = 0;
    else a_c = fx_round_shift(64'(p) * 64'(vm), 32'($signed(ve)) - e_min);
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      state <= IDLE;
      out_valid <= 1'b0;
    end else begin
      case (state)
        IDLE: if (in_valid) begin
          q <= in_q;
          c_m <= in_c_m;
          c_e <= in_c_e;
          n <= in_n;
          base <= in_base;
          issued <= '0;
          got <= '0;
          pcount <= '0;
          e_min <= 32'sh7FFF_FFFF;
          state <= SCORE;
        end
        SCORE: begin
          if (kv_rd_en) issued <= issued + 1'b1;
          if (kv_rd_valid) begin
            vbuf[32'(got) * HD * 8 +: HD * 8] <= kv_rd_data[HD*8 +: HD*8];
            vscale[32'(got) * 32 +: 32] <= kv_rd_data[2*HD*8+32 +: 32];
            got <= got + 1'b1;
            if (got == n - 1'b1) state <= PROB;
          end
        end
        PROB: if (sm_out_valid) begin
          logic [15:0] vm, ve;
          vm = vscale[32'(pcount) * 32 +: 16];
          ve = vscale[32'(pcount) * 32 + 16 +: 16];
          pibuf[32'(pcount) * 32 +: 32] <= sm_out;
          if (vm != 0 && sm_out != 0 && 32'($signed(ve)) < e_min) e_min <= 32'($signed(ve));
          pcount <= pcount + 1'b1;
          if (sm_out_last) begin
            j <= '0;
            acc <= '0;
            state <= ACC;
          end
        end
        ACC: begin
          for (int d = 0; d < HD; d++) begin
            acc[d*64 +: 64] <= $signed(acc[d*64 +: 64]) +
                               a_c * 64'($signed(vbuf[(32'(j) * HD + d) * 8 +: 8]));
          end
          j <= j + 1'b1;
          if (32'(j) == 32'(n) - 1) state <= OUT;
        end
        default: begin  // OUT
          if (!out_valid) begin
            for (int d = 0; d < HD; d++) begin
              out_data[d*32 +: 32] <= (e_min == 32'sh7FFF_FFFF) ? 32'd0
                  : fx_sat32(fx_round_shift($signed(acc[d*64 +: 64]), 30 + e_min - F_OUT));
            end
            out_valid <= 1'b1;
          end else if (out_ready) begin
            out_valid <= 1'b0;
            state <= IDLE;
          end
        end
      endcase
    end
  end
endmodule
