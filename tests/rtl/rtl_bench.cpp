// The process-wide test bench of the Verilated blocks (rtl_bench.h).
#include "rtl_bench.h"

#include <cstdlib>
#include <string>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "verilated_vcd_sc.h"
#pragma GCC diagnostic pop

namespace hw::rtltest {

namespace {
template <typename Dut, typename P>
void bind_stream(Dut& d, P& p, sc_core::sc_signal<bool>& clk, sc_core::sc_signal<bool>& rst) {
  d.clk(clk);
  d.rst(rst);
  d.in_valid(p.in_valid);
  d.in_ready(p.in_ready);
  d.in_last(p.in_last);
  d.out_valid(p.out_valid);
  d.out_ready(p.out_ready);
  d.out_last(p.out_last);
  d.out_data(p.out_data);
}
template <typename Dut>
void bind_mv(Dut& d, Bench::Mv& s, sc_core::sc_signal<bool>& clk, sc_core::sc_signal<bool>& rst) {
  bind_stream(d, s.p, clk, rst);
  d.in_data(s.p.in_data);
  d.in_scale_m(s.scale_m);
  d.in_scale_e(s.scale_e);
}
}  // namespace

Bench::Bench() {
  rq = std::make_unique<Vhw_requant>("rq");
  bind_stream(*rq, rq_p, clk, rst);
  rq->in_acc(rq_p.in_data);
  rq->in_shift(rq_shift);
  rq->in_mult(rq_mult);

  qz = std::make_unique<Vhw_quantize>("qz");
  bind_stream(*qz, qz_p, clk, rst);
  qz->in_data(qz_p.in_data);
  qz->out_scale_m(qz_m);
  qz->out_scale_e(qz_e);

  mv_q = std::make_unique<Vhw_mv_l0_attn_q_r0_63>("mv_q");
  bind_mv(*mv_q, mv_q_s, clk, rst);
  mv_down = std::make_unique<Vhw_mv_l0_ffn_down_r0_63>("mv_down");
  bind_mv(*mv_down, mv_down_s, clk, rst);
  mv_down_cm = std::make_unique<Vhw_mv_l0_ffn_down_r0_15>("mv_down_cm");
  bind_mv(*mv_down_cm, mv_down_cm_s, clk, rst);

  norm = std::make_unique<Vhw_l0_attn_norm>("norm");
  bind_stream(*norm, norm_p, clk, rst);
  norm->in_data(norm_p.in_data);
  norm->out_scale_m(norm_m);
  norm->out_scale_e(norm_e);

  act = std::make_unique<Vhw_l0_activation>("act");
  bind_stream(*act, act_p, clk, rst);
  act->in_data(act_p.in_data);
  act->out_scale_m(act_m);
  act->out_scale_e(act_e);

  rope = std::make_unique<Vhw_l0_rope>("rope");
  bind_stream(*rope, rope_p, clk, rst);
  rope->in_data(rope_p.in_data);
  rope->in_pos(rope_pos);

  att = std::make_unique<Vhw_l0_attention>("att");
  att->clk(clk);
  att->rst(rst);
  att->in_valid(att_p.in_valid);
  att->in_ready(att_p.in_ready);
  att->in_q(att_p.in_data);
  att->in_c_m(att_c_m);
  att->in_c_e(att_c_e);
  att->in_n(att_n);
  att->out_valid(att_p.out_valid);
  att->out_ready(att_p.out_ready);
  att->out_data(att_p.out_data);
  att->kv_wr_en(att_wr_en);
  att->kv_wr_addr(att_wr_addr);
  att->kv_wr_data(att_wr_data);
}

void Bench::tick() {
  sc_core::sc_start(1, sc_core::SC_NS);
  clk.write(true);
  sc_core::sc_start(1, sc_core::SC_NS);
  clk.write(false);
  ++cycle_;
}

void Bench::reset() {
  rst.write(true);
  tick();
  tick();
  rst.write(false);
  tick();
}

// HARDWIRE_RTL_VCD=<file.vcd> writes a VCD of one block (HARDWIRE_RTL_VCD_BLOCK: mv_q (default),
// mv_down, mv_down_cm, norm, rope, activation, attention, quantize, requant) over the tests that run, to
// open in GTKWave (docs/rtl.md).
Bench& bench() {
  static Bench* b = [] {
    auto* x = new Bench();
    const char* vcd = std::getenv("HARDWIRE_RTL_VCD");
    if (vcd) Verilated::traceEverOn(true);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    if (vcd) {
      static VerilatedVcdSc trace;
      const char* which = std::getenv("HARDWIRE_RTL_VCD_BLOCK");
      const std::string w = which ? which : "mv_q";
      if (w == "mv_down") x->mv_down->trace(&trace, 99);
      else if (w == "mv_down_cm") x->mv_down_cm->trace(&trace, 99);
      else if (w == "norm") x->norm->trace(&trace, 99);
      else if (w == "rope") x->rope->trace(&trace, 99);
      else if (w == "activation") x->act->trace(&trace, 99);
      else if (w == "attention") x->att->trace(&trace, 99);
      else if (w == "quantize") x->qz->trace(&trace, 99);
      else if (w == "requant") x->rq->trace(&trace, 99);
      else x->mv_q->trace(&trace, 99);
      trace.open(vcd);
      std::atexit([] { trace.close(); });
    }
    return x;
  }();
  return *b;
}

}  // namespace hw::rtltest

// sc_main (which libsystemc wants defined) comes from hardwire_sim (sim/simulate.cpp): gtest_main
// drives, and the tests enter the SystemC kernel through sc_start.
