// hw_attention_unit: one layer's attention engine on KV SRAM with the KV write path and the KV
// SRAM banks it owns, cycle for cycle the cycle-level SystemC processes CycleKvWrite and
// CycleAttention (sim/cycle_block.h) of the same configuration (query_tile = 1, ports_per_bank
// >= 2, one bank word per K row and per V row of a position), and bit for bit the golden
// model's kv_write and attention (docs/numerics.md sections 4, 10, 12: fx::quantize_dynamic,
// fx::attention_head).
//
// KV SRAM: B banks (hw_kv_bank, one write and one read port each, ROWS words), the cycle-level
// address map: word k in bank k mod B, row k / B. A position takes Wp = 2 consecutive words, its
// K row then its V row: KV int8 values and, in side bits above them, the HKV per-head dyadic
// scales {e[15:0], m[15:0]} (the chip's word width counts the data bytes; the scales are the
// extra bits of the macro).
//
// KV write path (kw_*): a token's q, k, v after RoPE, Q + 2 KV int32 values in LANES-wide
// chunks through a one-chunk input register, kw_in_addr = word address of the position's K
// word (sampled with chunk 0). The q chunks go through a queue of QVEC q vectors plus a chunk
// (CycleKvWrite's q buffer: QVEC = chip.attention.query_tile) to kw_out from the cycle after they
// are taken; a q chunk waits in the input register while the queue is full. When the last chunk
// of k (of v) is taken, the row
// is quantized per kv head (QUANT, KVQMAX) and its word is written one cycle later (the bank
// writes it WL cycles after that); the position is readable by the engine from WL + 1 cycles
// after its last chunk was taken. One chunk per cycle.
//
// Attention engine (at_*): a token's q (Q int32) in chunks through a one-chunk input register
// (a chunk waits there while the engine sweeps), at_in_base = word address of position 0,
// at_in_n = positions L (sampled with chunk 0). In the cycle its last q chunk is taken (or the
// first cycle after it in which the previous token's outputs have all left) the sweep starts:
//   reads   each cycle up to B consecutive words from base + issued (one per bank), the token's
//           own position only once it is readable; the words return RL cycles later;
//   rate    each cycle MAC and exp credits grow by MACS and EXPS (capped at one position's
//           worth above a cycle's), and every returned position that both credits cover is
//           taken (2 Q MACs, H exps each); the scores of the positions taken in a cycle are
//           computed from their K rows in the next (q quantized per head, one cycle after its
//           last chunk: QUANT, QMAX, times the score scale);
//   end     in the cycle the L-th position is taken.
// After the sweep the back end works on the held scores and V rows, EXPS / H positions per cycle
// (all heads) for the exponentials (EXP2 table, 2^T + 1 entries on `tab`) and for the
// normalisation (one RATIO per head, 1 cycle), MACS / Q positions per cycle for the weighted
// sum, then one cycle for the outputs: 2 ceil(L / (EXPS/H)) + ceil(L / (MACS/Q)) + 4 cycles
// after the sweep's end. The output (Q int32, Q.F) leaves in Q / LANES chunks, one per cycle,
// from ODEPTH + 1 cycles after the sweep's end (the cycle-level engine's pipeline_depth +
// exp_latency), or when the back end is done if that is later (then the SystemC engine, which
// assumes the depth covers it, is early).
// Latency (decode, own position readable, consumer ready): sweep ceil(2L/B) + RL cycles
// bounded by the credits, plus ODEPTH + 1 + Q/LANES - 1 cycles; one token sweeps at a time.
module hw_attention_unit #(
    parameter int H = 4,
    parameter int HKV = 4,
    parameter int HD = 16,
    parameter int LANES = 16,
    parameter int B = 128,
    parameter int ROWS = 16,
    parameter int RL = 2,
    parameter int WL = 1,
    parameter int MACS = 32768,
    parameter int EXPS = 128,
    parameter int ODEPTH = 16,
    parameter int MAXK = 128,
    parameter int T = 7,
    parameter int F = 16,
    parameter int QMAX = 127,
    parameter int KVQMAX = 127,
    parameter int QVEC = 1,
    localparam int Q = H * HD,
    localparam int KV = HKV * HD,
    localparam int QCH = Q / LANES,
    localparam int KVCH = KV / LANES,
    localparam int TCH = QCH + 2 * KVCH,
    localparam int QFIFO = QVEC * QCH + 1,
    localparam int CW = LANES * 32,
    localparam int WBITS = KV * 8 + HKV * 32,
    localparam int AW = $clog2(B * ROWS),
    localparam int NW = $clog2(MAXK + 1),
    localparam int MPP = 2 * Q,
    localparam int EPP = H,
    localparam int PE0 = EXPS / H,
    localparam int PE = PE0 < 1 ? 1 : (PE0 > MAXK ? MAXK : PE0),
    localparam int PA0 = MACS / Q,
    localparam int PA = PA0 < 1 ? 1 : (PA0 > MAXK ? MAXK : PA0),
    localparam int KM0 = (EXPS + EPP) / EPP < (MACS + MPP) / MPP ? (EXPS + EPP) / EPP
                                                                 : (MACS + MPP) / MPP,
    localparam int KMAX = KM0 > MAXK ? MAXK : KM0,
    localparam int GRP = H / HKV,
    localparam int NTAB = (1 << T) + 1,
    localparam int OPW = $clog2(QCH + 1)
) (
    input  logic              clk,
    input  logic              rst,
    // KV write path
    input  logic              kw_in_valid,
    output logic              kw_in_ready,
    input  logic [CW-1:0]     kw_in_data,
    input  logic [AW-1:0]     kw_in_addr,
    output logic              kw_out_valid,
    input  logic              kw_out_ready,
    output logic [CW-1:0]     kw_out_data,
    // attention engine
    input  logic              at_in_valid,
    output logic              at_in_ready,
    input  logic [CW-1:0]     at_in_data,
    input  logic [AW-1:0]     at_in_base,
    input  logic [NW-1:0]     at_in_n,
    output logic              at_out_valid,
    input  logic              at_out_ready,
    output logic [CW-1:0]     at_out_data,
    output logic              at_busy,     // the previous cycle was a sweep cycle
    // constants of the model: the EXP2 table and the score scale log2(e)/sqrt(HD) (dyadic)
    input  logic [NTAB*32-1:0] tab,
    input  logic [15:0]       score_m,
    input  logic [31:0]       score_e
);
  `include "fx_functions.svh"

  // Element types of the packed arrays below (yosys 0.23 reads a multi-dimensional packed array
  // only through a typedef; Verilator 5.006 needs them packed to assign them in loops).
  typedef logic [7:0] w8_t;
  typedef logic [31:0] w32_t;
  typedef logic [47:0] w48_t;
  typedef logic [63:0] w64_t;
  typedef logic [AW-1:0] addr_t;
  typedef logic [WBITS-1:0] word_t;

  // ---------------------------------------------------------------- KV SRAM banks
  logic          bk_wr_en [B];
  logic [AW-1:0] bk_wr_row;
  logic [WBITS-1:0] bk_wr_data;
  logic          bk_rd_en [B];
  logic [AW-1:0] bk_rd_row [B];
  logic          bk_rd_valid [B];
  logic [WBITS-1:0] bk_rd_data [B];
  localparam int RW = ROWS > 1 ? $clog2(ROWS) : 1;
  for (genvar b = 0; b < B; b++) begin : g_bank
    hw_kv_bank #(.DEPTH(ROWS), .WIDTH(WBITS), .RL(RL), .WL(WL)) u_bank (
        .clk(clk), .rst(rst), .wr_en(bk_wr_en[b]), .wr_addr(RW'(bk_wr_row)),
        .wr_data(bk_wr_data), .rd_en(bk_rd_en[b]), .rd_addr(RW'(bk_rd_row[b])),
        .rd_valid(bk_rd_valid[b]), .rd_data(bk_rd_data[b]));
  end

  // QUANT of one K or V row per kv head, packed as a bank word.
  function automatic logic [WBITS-1:0] kv_word(input logic [KV*32-1:0] row);
    logic [WBITS-1:0] w;
    w = '0;
    for (int g = 0; g < HKV; g++) begin
      logic [63:0] amax, a;
      logic [47:0] s;
      amax = 0;
      for (int d = 0; d < HD; d++) begin
        a = fx_abs_u64(64'($signed(row[(g * HD + d) * 32 +: 32])));
        if (a > amax) amax = a;
      end
      if (amax != 0) begin
        s = fx_dyadic_ratio(amax, 64'(KVQMAX));
        for (int d = 0; d < HD; d++) begin
          w[(g * HD + d) * 8 +: 8] = fx_quant_one(64'($signed(row[(g * HD + d) * 32 +: 32])), s,
                                                  KVQMAX);
        end
        w[KV * 8 + g * 32 +: 16] = {1'b0, s[14:0]};
        w[KV * 8 + g * 32 + 16 +: 16] = 16'($signed(s[47:16]) + F);
      end
    end
    kv_word = w;
  endfunction

  // ---------------------------------------------------------------- KV write path
  logic [$clog2(TCH + 1)-1:0] kw_cnt;
  logic [AW-1:0] kw_addr;
  logic [KV*32-1:0] kw_row;
  logic [CW-1:0] qf [QFIFO];
  logic [$clog2(QFIFO + 1)-1:0] qf_count;
  logic [$clog2(QFIFO)-1:0] qf_head, qf_tail;
  logic kw_wr_v;
  logic [AW-1:0] kw_wr_addr;
  logic [WBITS-1:0] kw_wr_word;
  logic [WL-1:0] kw_done_pipe;
  logic [15:0] kv_readable;  // tokens whose K and V the engine may read

  // input register: a chunk waits there while the q queue is full
  logic kir_v;
  logic [CW-1:0] kir_data;
  logic [AW-1:0] kir_addr;
  logic kav_v, kconsume, qpop;
  logic [CW-1:0] kav_data;
  logic [AW-1:0] kav_addr;
  assign kav_v = kir_v || kw_in_valid;
  assign kav_data = kir_v ? kir_data : kw_in_data;
  assign kav_addr = kir_v ? kir_addr : kw_in_addr;
  assign qpop = kw_out_valid && kw_out_ready;
  assign kconsume = kav_v && !(32'(kw_cnt) < QCH && 32'(qf_count) - (qpop ? 1 : 0) >= QFIFO);
  assign kw_in_ready = !kir_v || kconsume;
  assign kw_out_valid = qf_count != 0;
  assign kw_out_data = qf[qf_head];
  assign bk_wr_row = AW'(32'(kw_wr_addr) / B);
  assign bk_wr_data = kw_wr_word;
  always_comb begin
    for (int b = 0; b < B; b++) bk_wr_en[b] = kw_wr_v && (32'(kw_wr_addr) % B == b);
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      kw_cnt <= '0;
      kir_v <= 1'b0;
      qf_count <= '0;
      qf_head <= '0;
      qf_tail <= '0;
      kw_wr_v <= 1'b0;
      kw_done_pipe <= '0;
      kv_readable <= '0;
    end else begin
      logic push, pop, done;
      push = 1'b0;
      done = 1'b0;
      pop = qpop;
      kw_wr_v <= 1'b0;
      if (kir_v) begin
        if (kconsume) begin
          kir_v <= kw_in_valid;
          kir_data <= kw_in_data;
          kir_addr <= kw_in_addr;
        end
      end else if (kw_in_valid && !kconsume) begin
        kir_v <= 1'b1;
        kir_data <= kw_in_data;
        kir_addr <= kw_in_addr;
      end
      if (kconsume) begin
        logic [AW-1:0] addr;
        addr = (kw_cnt == 0) ? kav_addr : kw_addr;
        kw_addr <= addr;
        if (32'(kw_cnt) < QCH) begin
          push = 1'b1;
          qf[qf_tail] <= kav_data;
          qf_tail <= (32'(qf_tail) + 1 == QFIFO) ? '0 : qf_tail + 1'b1;
        end else begin
          logic [KV*32-1:0] row;
          int c;
          c = 32'(kw_cnt) - QCH;
          if (c >= KVCH) c = c - KVCH;
          row = kw_row;
          row[c * CW +: CW] = kav_data;
          kw_row <= row;
          if (c == KVCH - 1) begin
            kw_wr_v <= 1'b1;
            kw_wr_addr <= (32'(kw_cnt) == TCH - 1) ? addr + 1'b1 : addr;
            kw_wr_word <= kv_word(row);
            done = 32'(kw_cnt) == TCH - 1;
          end
        end
        kw_cnt <= (32'(kw_cnt) == TCH - 1) ? '0 : kw_cnt + 1'b1;
      end
      if (pop) qf_head <= (32'(qf_head) + 1 == QFIFO) ? '0 : qf_head + 1'b1;
      qf_count <= qf_count + $bits(qf_count)'(push) - $bits(qf_count)'(pop);
      // readable WL + 1 cycles after the last chunk: the word is written WL cycles after the
      // write request of the next cycle.
      kw_done_pipe[0] <= done;
      for (int i = 1; i < WL; i++) kw_done_pipe[i] <= kw_done_pipe[i - 1];
      if (kw_done_pipe[WL - 1]) kv_readable <= kv_readable + 1'b1;
    end
  end

  // ---------------------------------------------------------------- attention: input register
  typedef enum logic [1:0] {GATHER, WAITOUT, SWEEP} mode_t;
  mode_t mode;
  logic ir_v;
  logic [CW-1:0] ir_data;
  logic [AW-1:0] ir_base;
  logic [NW-1:0] ir_n;
  logic [$clog2(QCH + 1)-1:0] g_cnt;
  logic [Q*32-1:0] qbuf;
  logic [AW-1:0] tok_base;
  logic [NW-1:0] tok_n;
  logic [15:0] at_seq;  // tokens swept so far

  logic av_v;
  logic [CW-1:0] av_data;
  logic [AW-1:0] av_base;
  logic [NW-1:0] av_n;
  logic consume;
  assign av_v = ir_v || at_in_valid;
  assign av_data = ir_v ? ir_data : at_in_data;
  assign av_base = ir_v ? ir_base : at_in_base;
  assign av_n = ir_v ? ir_n : at_in_n;
  assign consume = (mode == GATHER) && av_v;
  assign at_in_ready = !ir_v || consume;

  // ---------------------------------------------------------------- sweep control
  logic [31:0] issued, returned, computed, mac_cr, exp_cr;
  logic [RL-1:0] ret_v;
  addr_t [RL-1:0] ret_a0;
  w32_t [RL-1:0] ret_n, ret_i;
  logic [OPW-1:0] o_pend;
  logic [31:0] o_wait;
  logic be_done;

  logic q_last, start_now, sweeping, end_now, out_fire;
  logic [NW-1:0] cur_n;
  logic [AW-1:0] cur_base;
  logic [31:0] iss_e, comp_e, mac_e, exp_e, ret_new, nrd, k_take, mac_n, exp_n, L;
  logic [AW-1:0] a0;
  assign out_fire = at_out_valid && at_out_ready;
  assign q_last = consume && 32'(g_cnt) == QCH - 1;
  always_comb begin
    logic [31:0] want, own_first, ready, mc, ec, kk;
    cur_n = (consume && g_cnt == 0) ? av_n : tok_n;
    cur_base = (consume && g_cnt == 0) ? av_base : tok_base;
    start_now = (q_last || mode == WAITOUT) &&
                (32'(o_pend) - (out_fire ? 1 : 0)) == 0;
    sweeping = (mode == SWEEP) || start_now;
    L = 32'(cur_n);
    iss_e = start_now ? 0 : issued;
    comp_e = start_now ? 0 : computed;
    mac_e = start_now ? 0 : mac_cr;
    exp_e = start_now ? 0 : exp_cr;
    a0 = AW'(32'(cur_base) + iss_e);
    want = 2 * L - iss_e;
    own_first = 2 * (L - 1);
    if (kv_readable == at_seq) want = (own_first > iss_e) ? (want < own_first - iss_e ? want
                                                                : own_first - iss_e) : 0;
    nrd = sweeping ? (want < B ? want : B) : 0;
    ret_new = ret_v[RL - 1] ? ret_i[RL - 1] + ret_n[RL - 1] : (start_now ? 0 : returned);
    ready = ret_new / 2;
    mc = mac_e + MACS;
    if (mc > MACS + MPP) mc = MACS + MPP;
    ec = exp_e + EXPS;
    if (ec > EXPS + EPP) ec = EXPS + EPP;
    kk = ready - comp_e;
    if (mc / MPP < kk) kk = mc / MPP;
    if (ec / EPP < kk) kk = ec / EPP;
    if (!sweeping) kk = 0;
    k_take = kk;
    mac_n = mc - kk * MPP;
    exp_n = ec - kk * EPP;
    end_now = sweeping && comp_e + kk == L;
  end

  always_comb begin
    for (int b = 0; b < B; b++) begin
      logic [31:0] i;
      i = (32'(b) + B - (32'(a0) % B)) % B;
      bk_rd_en[b] = i < nrd;
      bk_rd_row[b] = AW'((32'(a0) + i) / B);
    end
  end

  // ---------------------------------------------------------------- datapath state
  word_t [MAXK-1:0] kline, vline;
  w8_t [Q-1:0] qq;
  w48_t [H-1:0] qc;
  logic qz_pend;
  logic sc_v;
  logic [31:0] sc_start, sc_k;
  w32_t [H*MAXK-1:0] zb, pb;  // head h, position j at h MAXK + j
  w32_t [H-1:0] zmax, emin;
  w64_t [H-1:0] sum;
  w48_t [H-1:0] inv;
  w64_t [Q-1:0] acc;
  logic [Q*32-1:0] o_data;
  logic [OPW-1:0] o_idx;
  typedef enum logic [2:0] {BE_IDLE, BE_WAIT, BE_EXP, BE_RATIO, BE_NORM, BE_ACC, BE_OUT} be_t;
  be_t be;
  logic [31:0] be_i, be_n;

  assign at_out_valid = o_pend != 0 && o_wait == 0 && be_done;
  assign at_out_data = o_data[32'(o_idx) * CW +: CW];

  // EXP2(d) of a score difference d >= 0 (Q.16) into Q0.30 (fx::exp2_neg).
  function automatic logic [31:0] exp2n(input logic signed [63:0] d);
    logic [63:0] f, j;
    logic signed [63:0] r, v, e0, e1, nn;
    f = d & 64'hFFFF;
    j = f >> (16 - T);
    r = $signed(f & ((64'd1 << (16 - T)) - 1));
    e0 = 64'($signed(tab[32'(j) * 32 +: 32]));
    e1 = 64'($signed(tab[(32'(j) + 1) * 32 +: 32]));
    v = e0 - fx_round_shift((e0 - e1) * r, 16 - T);
    nn = d >>> 16;
    exp2n = (nn >= 64) ? 32'd0 : 32'(fx_round_shift(v, 32'(nn)));
  endfunction

  always_ff @(posedge clk) begin
    if (rst) begin
      mode <= GATHER;
      ir_v <= 1'b0;
      at_busy <= 1'b0;
      g_cnt <= '0;
      at_seq <= '0;
      issued <= '0;
      returned <= '0;
      computed <= '0;
      mac_cr <= '0;
      exp_cr <= '0;
      ret_v <= '0;
      o_pend <= '0;
      o_wait <= '0;
      o_idx <= '0;
      be_done <= 1'b0;
      be <= BE_IDLE;
      qz_pend <= 1'b0;
      sc_v <= 1'b0;
    end else begin
      // input register
      if (ir_v) begin
        if (consume) begin
          ir_v <= at_in_valid;
          ir_data <= at_in_data;
          ir_base <= at_in_base;
          ir_n <= at_in_n;
        end
      end else if (at_in_valid && !consume) begin
        ir_v <= 1'b1;
        ir_data <= at_in_data;
        ir_base <= at_in_base;
        ir_n <= at_in_n;
      end
      qz_pend <= 1'b0;
      at_busy <= sweeping;
      if (consume) begin
        qbuf[32'(g_cnt) * CW +: CW] <= av_data;
        if (g_cnt == 0) begin
          tok_base <= av_base;
          tok_n <= av_n;
        end
        g_cnt <= q_last ? '0 : g_cnt + 1'b1;
        if (q_last) begin
          qz_pend <= 1'b1;
          mode <= WAITOUT;
        end
      end
      // q quantized per head, one cycle after its last chunk
      if (qz_pend) begin
        for (int h = 0; h < H; h++) begin
          logic [63:0] amax, a;
          logic [47:0] s;
          amax = 0;
          for (int d = 0; d < HD; d++) begin
            a = fx_abs_u64(64'($signed(qbuf[(h * HD + d) * 32 +: 32])));
            if (a > amax) amax = a;
          end
          if (amax == 0) begin
            for (int d = 0; d < HD; d++) qq[h * HD + d] <= 8'd0;
            qc[h] <= 48'd0;
          end else begin
            s = fx_dyadic_ratio(amax, 64'(QMAX));
            for (int d = 0; d < HD; d++) begin
              qq[h * HD + d] <= fx_quant_one(64'($signed(qbuf[(h * HD + d) * 32 +: 32])), s, QMAX);
            end
            qc[h] <= fx_dyadic_mul({$signed(s[47:16]) + 32'(F), 1'b0, s[14:0]},
                                   {score_e, 1'b0, score_m[14:0]});
          end
        end
      end
      // sweep
      if (sweeping) begin
        if (start_now) begin
          mode <= SWEEP;
          for (int h = 0; h < H; h++) zmax[h] <= -32'sh7FFF_FFFF;
        end
        issued <= iss_e + nrd;
        returned <= ret_new;
        computed <= comp_e + k_take;
        mac_cr <= mac_n;
        exp_cr <= exp_n;
        if (end_now) begin
          mode <= GATHER;
          at_seq <= at_seq + 1'b1;
          o_pend <= OPW'(QCH);
          o_wait <= ODEPTH;
          o_idx <= '0;
          be <= BE_WAIT;
          be_n <= L;
        end
      end
      ret_v[0] <= nrd != 0;
      ret_a0[0] <= a0;
      ret_n[0] <= nrd;
      ret_i[0] <= iss_e;
      for (int i = 1; i < RL; i++) begin
        ret_v[i] <= ret_v[i - 1];
        ret_a0[i] <= ret_a0[i - 1];
        ret_n[i] <= ret_n[i - 1];
        ret_i[i] <= ret_i[i - 1];
      end
      // returned words into the line buffers (word w: position w / 2, K if even, V if odd)
      if (ret_v[RL - 1]) begin
        for (int i = 0; i < B; i++) begin
          if (32'(i) < ret_n[RL - 1]) begin
            logic [31:0] w;
            w = ret_i[RL - 1] + 32'(i);
            if (w[0]) vline[w >> 1] <= bk_rd_data[(32'(ret_a0[RL - 1]) + 32'(i)) % B];
            else kline[w >> 1] <= bk_rd_data[(32'(ret_a0[RL - 1]) + 32'(i)) % B];
          end
        end
      end
      // score stage: the positions taken in the previous cycle
      sc_v <= k_take != 0;
      sc_start <= comp_e;
      sc_k <= k_take;
      if (sc_v) begin
        for (int h = 0; h < H; h++) begin
          logic signed [31:0] m;
          w48_t qh;
          m = $signed(zmax[h]);
          qh = qc[h];
          for (int i = 0; i < KMAX; i++) begin
            if (32'(i) < sc_k) begin
              logic [31:0] j;
              logic signed [31:0] dot, z;
              logic signed [63:0] t;
              logic [15:0] km, ke;
              word_t kw;
              int g;
              j = sc_start + 32'(i);
              kw = kline[j];
              g = h / GRP;
              dot = 0;
              for (int d = 0; d < HD; d++) begin
                dot = dot + 32'($signed(qq[h * HD + d])) *
                            32'($signed(kw[(g * HD + d) * 8 +: 8]));
              end
              km = kw[KV * 8 + g * 32 +: 16];
              ke = kw[KV * 8 + g * 32 + 16 +: 16];
              t = 64'(dot) * 64'(km) * 64'(qh[14:0]);
              z = fx_sat32(fx_round_shift(t, 32'($signed(ke)) + $signed(qh[47:16]) - 16));
              zb[h * MAXK + 32'(j)] <= z;
              if (z > m) m = z;
            end
          end
          zmax[h] <= m;
        end
      end
      // back end
      case (be)
        BE_WAIT: begin  // the last scores are registered at this edge
          be <= BE_EXP;
          be_i <= '0;
          for (int h = 0; h < H; h++) begin
            sum[h] <= '0;
            emin[h] <= 32'sh7FFF_FFFF;
          end
        end
        BE_EXP: begin
          for (int h = 0; h < H; h++) begin
            logic [63:0] s;
            s = sum[h];
            for (int i = 0; i < PE; i++) begin
              logic [31:0] j, p;
              j = be_i + 32'(i);
              if (j < be_n) begin
                p = exp2n(64'($signed(zmax[h])) - 64'($signed(zb[h * MAXK + 32'(j)])));
                pb[h * MAXK + 32'(j)] <= p;
                s = s + 64'(p);
              end
            end
            sum[h] <= s;
          end
          if (be_i + PE >= be_n) begin
            be <= BE_RATIO;
            be_i <= '0;
          end else be_i <= be_i + PE;
        end
        BE_RATIO: begin
          for (int h = 0; h < H; h++) inv[h] <= fx_dyadic_ratio(64'd1, sum[h]);
          be <= BE_NORM;
        end
        BE_NORM: begin
          for (int h = 0; h < H; h++) begin
            logic signed [31:0] em;
            w48_t ih;
            int g;
            g = h / GRP;
            em = $signed(emin[h]);
            ih = inv[h];
            for (int i = 0; i < PE; i++) begin
              logic [31:0] j, pi;
              logic signed [63:0] t;
              logic [15:0] vm, ve;
              word_t vw;
              j = be_i + 32'(i);
              vw = vline[j];
              if (j < be_n) begin
                t = fx_round_shift(64'(pb[h * MAXK + 32'(j)]) * 64'(ih[14:0]), $signed(ih[47:16]) - 30);
                pi = t[31:0];
                pb[h * MAXK + 32'(j)] <= pi;
                vm = vw[KV * 8 + g * 32 +: 16];
                ve = vw[KV * 8 + g * 32 + 16 +: 16];
                if (vm != 0 && pi != 0 && 32'($signed(ve)) < em) em = 32'($signed(ve));
              end
            end
            emin[h] <= em;
          end
          if (be_i + PE >= be_n) begin
            be <= BE_ACC;
            be_i <= '0;
            for (int i = 0; i < Q; i++) acc[i] <= '0;
          end else be_i <= be_i + PE;
        end
        BE_ACC: begin
          for (int h = 0; h < H; h++) begin
            int g;
            g = h / GRP;
            for (int d = 0; d < HD; d++) begin
              logic signed [63:0] a;
              a = $signed(acc[h * HD + d]);
              for (int i = 0; i < PA; i++) begin
                logic [31:0] j;
                logic [15:0] vm, ve;
                logic signed [63:0] w;
                word_t vw;
                j = be_i + 32'(i);
                vw = vline[j];
                if (j < be_n && emin[h] != 32'sh7FFF_FFFF) begin
                  vm = vw[KV * 8 + g * 32 +: 16];
                  ve = vw[KV * 8 + g * 32 + 16 +: 16];
                  if (vm == 0 || pb[h * MAXK + 32'(j)] == 0) w = 0;
                  else w = fx_round_shift(64'(pb[h * MAXK + 32'(j)]) * 64'(vm),
                                          32'($signed(ve)) - $signed(emin[h]));
                  a = a + w * 64'($signed(vw[(g * HD + d) * 8 +: 8]));
                end
              end
              acc[h * HD + d] <= a;
            end
          end
          if (be_i + PA >= be_n) be <= BE_OUT;
          else be_i <= be_i + PA;
        end
        BE_OUT: begin
          for (int h = 0; h < H; h++) begin
            for (int d = 0; d < HD; d++) begin
              o_data[(h * HD + d) * 32 +: 32] <= (emin[h] == 32'sh7FFF_FFFF) ? 32'd0
                  : fx_sat32(fx_round_shift($signed(acc[h * HD + d]), 30 + $signed(emin[h]) - F));
            end
          end
          be_done <= 1'b1;
          be <= BE_IDLE;
        end
        default: ;
      endcase
      // output: Q / LANES chunks from ODEPTH + 1 cycles after the sweep's end
      if (!(sweeping && end_now) && o_wait != 0) o_wait <= o_wait - 1;
      if (out_fire) begin
        o_idx <= o_idx + 1'b1;
        o_pend <= o_pend - 1'b1;
        if (o_pend == 1) be_done <= 1'b0;
      end
    end
  end
endmodule
