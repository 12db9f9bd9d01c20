// Test bench for the Verilated RTL blocks (tests/rtl/): every block under test is instantiated
// once per process in one SystemC design (SystemC elaborates once per process), all on one
// hand-driven clock, so any test may run alone (ctest) or after others (the whole binary).
// Helpers pack lanes into Verilator's port types and run a valid/ready stream cycle by cycle,
// recording the cycle of every transfer for the latency / initiation-interval checks.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

// Verilator's headers have unused parameters: keep the project's warning flags quiet on them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "Vhw_l0_activation.h"
#include "Vhw_l0_attention.h"
#include "Vhw_l0_attn_norm.h"
#include "Vhw_l0_rope.h"
#include "Vhw_mv_l0_attn_q_r0_63.h"
#include "Vhw_mv_l0_ffn_down_r0_15.h"
#include "Vhw_mv_l0_ffn_down_r0_63.h"
#include "Vhw_quantize.h"
#include "Vhw_requant.h"
#pragma GCC diagnostic pop

namespace hw::rtltest {

template <int N>
using Bv = sc_dt::sc_bv<N>;

// Lanes of `w` bits (lane 0 in the LSBs) <-> integers.
template <int N>
Bv<N> pack(const std::vector<int64_t>& v, int w) {
  Bv<N> bv(0);
  for (size_t i = 0; i < v.size(); ++i) {
    const uint64_t mask = w >= 64 ? ~uint64_t{0} : ((uint64_t{1} << w) - 1);
    bv.range(static_cast<int>(i) * w + w - 1, static_cast<int>(i) * w) =
        static_cast<uint64_t>(v[i]) & mask;
  }
  return bv;
}
template <int N>
int64_t lane(const Bv<N>& bv, int i, int w, bool is_signed) {
  const uint64_t u = bv.range(i * w + w - 1, i * w).to_uint64();
  if (!is_signed || w >= 64) return static_cast<int64_t>(u);
  const uint64_t sign = uint64_t{1} << (w - 1);
  return static_cast<int64_t>((u ^ sign) - sign);
}
inline int64_t sext(uint64_t u, int w) {
  const uint64_t sign = uint64_t{1} << (w - 1);
  return static_cast<int64_t>(((u & ((sign << 1) - 1)) ^ sign) - sign);
}

// Signals of one DUT, bound once.
template <typename Dut, typename InT, typename OutT>
struct StreamPorts {
  explicit StreamPorts(const std::string& n)
      : in_valid((n + "_in_valid").c_str()), in_ready((n + "_in_ready").c_str()),
        in_last((n + "_in_last").c_str()), out_valid((n + "_out_valid").c_str()),
        out_ready((n + "_out_ready").c_str()), out_last((n + "_out_last").c_str()),
        in_data((n + "_in_data").c_str()), out_data((n + "_out_data").c_str()) {}
  sc_core::sc_signal<bool> in_valid, in_ready, in_last;
  sc_core::sc_signal<bool> out_valid, out_ready, out_last;
  sc_core::sc_signal<InT> in_data;
  sc_core::sc_signal<OutT> out_data;
};

struct Bench {
  sc_core::sc_signal<bool> clk{"clk"}, rst{"rst"};
  int64_t cycle_ = 0;

  // hw_requant (LANES 4)
  std::unique_ptr<Vhw_requant> rq;
  StreamPorts<Vhw_requant, Bv<256>, Bv<128>> rq_p{"rq"};
  sc_core::sc_signal<uint64_t> rq_shift{"rq_shift"};
  sc_core::sc_signal<uint32_t> rq_mult{"rq_mult"};

  // hw_quantize (N 64, LANES 16, F 16, QMAX 127)
  std::unique_ptr<Vhw_quantize> qz;
  StreamPorts<Vhw_quantize, Bv<512>, Bv<128>> qz_p{"qz"};
  sc_core::sc_signal<uint32_t> qz_m{"qz_m"}, qz_e{"qz_e"};

  // matrix blocks: 16 int8 lanes in, 4 int32 lanes out
  struct Mv {
    explicit Mv(const std::string& n)
        : p(n), scale_m((n + "_scale_m").c_str()), scale_e((n + "_scale_e").c_str()) {}
    StreamPorts<int, Bv<128>, Bv<128>> p;
    sc_core::sc_signal<uint32_t> scale_m, scale_e;
  };
  std::unique_ptr<Vhw_mv_l0_attn_q_r0_63> mv_q;
  std::unique_ptr<Vhw_mv_l0_ffn_down_r0_63> mv_down;
  std::unique_ptr<Vhw_mv_l0_ffn_down_r0_15> mv_down_cm;
  Mv mv_q_s{"mv_q"}, mv_down_s{"mv_down"}, mv_down_cm_s{"mv_down_cm"};

  // attn_norm: 16 int32 lanes in, 16 int8 lanes out + scale
  std::unique_ptr<Vhw_l0_attn_norm> norm;
  StreamPorts<int, Bv<512>, Bv<128>> norm_p{"norm"};
  sc_core::sc_signal<uint32_t> norm_m{"norm_m"}, norm_e{"norm_e"};

  // SwiGLU activation + quantization (tiny-mha d_ff 172): 16 int32 lanes in (gate, then up),
  // 16 int8 lanes out + scale
  std::unique_ptr<Vhw_l0_activation> act;
  StreamPorts<int, Bv<512>, Bv<128>> act_p{"act"};
  sc_core::sc_signal<uint32_t> act_m{"act_m"}, act_e{"act_e"};

  // rope: 16 int32 lanes
  std::unique_ptr<Vhw_l0_rope> rope;
  StreamPorts<int, Bv<512>, Bv<512>> rope_p{"rope"};
  sc_core::sc_signal<uint32_t> rope_pos{"rope_pos"};

  // attention unit: q head in, head out, KV bank write port
  std::unique_ptr<Vhw_l0_attention> att;
  StreamPorts<int, Bv<128>, Bv<512>> att_p{"att"};
  sc_core::sc_signal<uint32_t> att_c_m{"att_c_m"}, att_c_e{"att_c_e"}, att_n{"att_n"};
  sc_core::sc_signal<bool> att_wr_en{"att_wr_en"};
  sc_core::sc_signal<uint32_t> att_wr_addr{"att_wr_addr"};
  sc_core::sc_signal<Bv<320>> att_wr_data{"att_wr_data"};

  Bench();
  // One clock cycle: inputs settle, then the rising edge.
  void tick();
  void reset();
};

// The process-wide bench (constructed before the first sc_start).
Bench& bench();

// Drives `chunks` into a stream (set(k) writes chunk k's data and sideband and in_last) and
// collects outputs (get() reads one output chunk) until `n_out` chunks came out. The consumer
// is ready except in cycles where ready_pattern(cycle) is false. Records transfer cycles.
struct StreamLog {
  std::vector<int64_t> in_cycles, out_cycles;
};
template <typename P>
StreamLog run_stream(Bench& b, P& p, int64_t n_in, const std::function<void(int64_t)>& set,
                     int64_t n_out, const std::function<void(int64_t)>& get,
                     const std::function<bool(int64_t)>& ready_pattern = nullptr,
                     int64_t max_cycles = 200000) {
  StreamLog log;
  int64_t k = 0, o = 0;
  const int64_t start = b.cycle_;
  while (o < n_out) {
    if (b.cycle_ - start > max_cycles) break;
    p.in_valid.write(k < n_in);
    if (k < n_in) set(k);
    const bool ready = ready_pattern ? ready_pattern(b.cycle_) : true;
    p.out_ready.write(ready);
    sc_core::sc_start(1, sc_core::SC_NS);  // settle combinational outputs with clk low
    const bool in_fire = k < n_in && p.in_ready.read();
    const bool out_fire = p.out_valid.read() && ready;
    if (out_fire) {
      get(o);
      log.out_cycles.push_back(b.cycle_);
      ++o;
    }
    if (in_fire) {
      log.in_cycles.push_back(b.cycle_);
      ++k;
    }
    b.clk.write(true);
    sc_core::sc_start(1, sc_core::SC_NS);
    b.clk.write(false);
    ++b.cycle_;
  }
  p.in_valid.write(false);
  p.out_ready.write(false);
  return log;
}

}  // namespace hw::rtltest
