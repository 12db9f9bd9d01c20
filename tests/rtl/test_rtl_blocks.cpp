// Verilated RTL blocks against the golden model (docs/rtl.md "Verification"): every block's
// outputs are compared bit for bit with the golden model's function for that block (random
// vectors, zeros, int8/int32 extremes, extreme scales, back-pressure), and the matrix block's
// measured latency and initiation interval with the formulas its header states.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <random>

#include "model/fixed_point.h"
#include "rtl_bench.h"
#include "rtl_models.h"

namespace hw::rtltest {
namespace {

using std::vector;

#define NEED_MODEL(var, numerics)                                                        \
  const LoadedModel* var = tiny_mha(numerics);                                           \
  if (!var) GTEST_SKIP() << "oracle model " << oracle_path("tiny-mha.gguf") << " missing"

int64_t rand_in(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

// ---- requantization unit

TEST(RtlRequant, RandomAndEdgeVectorsBitExact) {
  Bench& b = bench();
  b.reset();
  std::mt19937_64 rng(7);
  struct Vec {
    vector<int64_t> acc, shift;
    int64_t mult;
  };
  vector<Vec> vecs;
  const int64_t kAccMax = (int64_t{1} << 45) - 1;
  for (int i = 0; i < 300; ++i) {
    Vec v;
    v.mult = i % 10 == 0 ? 0 : rand_in(rng, 1 << 14, (1 << 15) - 1);
    for (int l = 0; l < 4; ++l) {
      const int mag_bits = static_cast<int>(rand_in(rng, 0, 45));
      int64_t a = rand_in(rng, -((int64_t{1} << mag_bits) - 1), (int64_t{1} << mag_bits) - 1);
      if (i % 7 == 1) a = (l & 1) ? kAccMax : -kAccMax;
      v.acc.push_back(a);
      v.shift.push_back(i % 5 == 2 ? rand_in(rng, -80, 0) : rand_in(rng, -20, 90));
    }
    vecs.push_back(v);
  }
  vector<vector<int32_t>> got;
  run_stream(
      b, b.rq_p, static_cast<int64_t>(vecs.size()),
      [&](int64_t k) {
        b.rq_p.in_data.write(pack<256>(vecs[k].acc, 64));
        b.rq_shift.write(static_cast<uint64_t>(pack<64>(vecs[k].shift, 16).to_uint64()));
        b.rq_mult.write(static_cast<uint32_t>(vecs[k].mult));
        b.rq_p.in_last.write(true);
      },
      static_cast<int64_t>(vecs.size()),
      [&](int64_t) {
        vector<int32_t> o;
        for (int l = 0; l < 4; ++l) o.push_back(static_cast<int32_t>(lane(b.rq_p.out_data.read(), l, 32, true)));
        got.push_back(o);
      },
      [](int64_t c) { return c % 3 != 0; });
  ASSERT_EQ(got.size(), vecs.size());
  int saturated = 0;
  for (size_t i = 0; i < vecs.size(); ++i) {
    for (int l = 0; l < 4; ++l) {
      const int32_t want = fx::requantize(vecs[i].acc[l], {static_cast<int32_t>(vecs[i].mult),
                                                           static_cast<int32_t>(vecs[i].shift[l])}, 0);
      saturated += std::abs(int64_t{want}) == fx::kInt32Max;
      ASSERT_EQ(got[i][l], want) << "vector " << i << " lane " << l << " acc " << vecs[i].acc[l]
                                 << " mult " << vecs[i].mult << " shift " << vecs[i].shift[l];
    }
  }
  EXPECT_GT(saturated, 10);  // the extreme vectors did reach both saturation limits
}

// ---- dynamic quantization unit

TEST(RtlQuantize, RandomZeroAndExtremeVectorsBitExact) {
  Bench& b = bench();
  b.reset();
  std::mt19937_64 rng(11);
  vector<vector<int32_t>> vecs;
  vecs.push_back(vector<int32_t>(64, 0));
  vecs.push_back(vector<int32_t>(64, fx::kInt32Max));
  {
    vector<int32_t> v(64, 0);
    v[37] = -fx::kInt32Max;
    vecs.push_back(v);
  }
  {
    vector<int32_t> v(64, 0);
    v[5] = 1;
    v[6] = -1;
    vecs.push_back(v);
  }
  for (int i = 0; i < 60; ++i) {
    const int bits = static_cast<int>(rand_in(rng, 1, 31));
    vector<int32_t> v(64);
    for (int32_t& x : v) x = static_cast<int32_t>(rand_in(rng, -((int64_t{1} << bits) - 1), (int64_t{1} << bits) - 1));
    vecs.push_back(v);
  }
  for (const vector<int32_t>& v : vecs) {
    vector<int8_t> want(64);
    const fx::Dyadic ws = fx::quantize_dynamic(v.data(), 64, 16, 127, want.data());
    vector<int64_t> in(v.begin(), v.end());
    vector<int8_t> got;
    uint32_t gm = 0, ge = 0;
    const StreamLog log = run_stream(
        b, b.qz_p, 4,
        [&](int64_t k) {
          b.qz_p.in_data.write(pack<512>(vector<int64_t>(in.begin() + 16 * k, in.begin() + 16 * k + 16), 32));
          b.qz_p.in_last.write(k == 3);
        },
        4,
        [&](int64_t) {
          for (int l = 0; l < 16; ++l) got.push_back(static_cast<int8_t>(lane(b.qz_p.out_data.read(), l, 8, true)));
          gm = b.qz_m.read();
          ge = b.qz_e.read();
        });
    ASSERT_EQ(got.size(), 64u);
    for (int i = 0; i < 64; ++i) ASSERT_EQ(got[i], want[i]) << "element " << i;
    EXPECT_EQ(static_cast<int32_t>(gm), ws.m_);
    EXPECT_EQ(sext(ge, 16), ws.e_);
    // rtl/quantize.sv: latency NCH + 2 cycles with NCH = 4.
    EXPECT_EQ(log.out_cycles.back() - log.in_cycles.back(), 4 + 2);
  }
}

// ---- hardwired matrix blocks

struct MvCase {
  vector<int8_t> x;
  fx::Dyadic scale;
};

vector<MvCase> matvec_cases(int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  vector<MvCase> cases;
  auto vec = [&](int kind) {
    vector<int8_t> x(static_cast<size_t>(cols));
    for (int64_t c = 0; c < cols; ++c) {
      switch (kind) {
        case 0: x[c] = static_cast<int8_t>(rand_in(rng, -127, 127)); break;
        case 1: x[c] = 0; break;
        case 2: x[c] = (c % 2) ? 127 : -127; break;
        case 3: x[c] = 127; break;
        default: x[c] = c == cols - 1 ? -127 : 0; break;
      }
    }
    return x;
  };
  for (int i = 0; i < 24; ++i) {
    const int kind = i < 4 ? i + 1 : 0;
    fx::Dyadic s{static_cast<int32_t>(rand_in(rng, 1 << 14, (1 << 15) - 1)),
                 static_cast<int32_t>(rand_in(rng, 10, 40))};
    if (i == 5) s.e_ = -60;   // extreme scale: every output saturates
    if (i == 6) s.e_ = 120;   // extreme scale: everything rounds to 0
    if (i == 7) s = {0, 0};   // zero scale (all-zero input vector's scale)
    cases.push_back({vec(kind), s});
  }
  return cases;
}

// Runs `cases` back to back through a 16-in / 4-out matrix block; returns the outputs.
template <typename Mv>
vector<vector<int32_t>> run_matvec(Bench& b, Mv& m, const vector<MvCase>& cases, int64_t cols,
                                   int64_t rows, StreamLog* log_out,
                                   const std::function<bool(int64_t)>& ready = nullptr) {
  const int64_t nch = (cols + 15) / 16, noc = (rows + 3) / 4;
  vector<vector<int32_t>> out(cases.size());
  StreamLog log = run_stream(
      b, m.p, nch * static_cast<int64_t>(cases.size()),
      [&](int64_t k) {
        const MvCase& c = cases[static_cast<size_t>(k / nch)];
        vector<int64_t> lanes(16, 0);
        for (int i = 0; i < 16; ++i) {
          const int64_t col = (k % nch) * 16 + i;
          if (col < cols) lanes[i] = c.x[static_cast<size_t>(col)];
        }
        m.p.in_data.write(pack<128>(lanes, 8));
        m.p.in_last.write(k % nch == nch - 1);
        m.scale_m.write(static_cast<uint32_t>(c.scale.m_));
        m.scale_e.write(static_cast<uint32_t>(c.scale.e_) & 0xFFFFu);
      },
      noc * static_cast<int64_t>(cases.size()),
      [&](int64_t o) {
        vector<int32_t>& v = out[static_cast<size_t>(o / noc)];
        for (int l = 0; l < 4; ++l) {
          if (static_cast<int64_t>(v.size()) < rows) {
            v.push_back(static_cast<int32_t>(lane(m.p.out_data.read(), l, 32, true)));
          }
        }
      },
      ready);
  if (log_out) *log_out = log;
  return out;
}

vector<int32_t> golden_project(const QuantizedMatrix& w, int64_t r0, int64_t r1, const MvCase& c,
                               int out_frac) {
  vector<int64_t> acc(static_cast<size_t>(w.rows_));
  gemv(w, c.x.data(), acc.data());
  vector<int32_t> out;
  for (int64_t r = r0; r < r1; ++r) {
    out.push_back(fx::requantize(acc[static_cast<size_t>(r)],
                                 {c.scale.m_, c.scale.e_ + w.row_exp_[static_cast<size_t>(r)]},
                                 out_frac));
  }
  return out;
}

TEST(RtlMatvec, AttnQProductSelectEqualsGoldenQkv) {
  NEED_MODEL(m, "w4a8");
  Bench& b = bench();
  b.reset();
  const vector<MvCase> cases = matvec_cases(64, 3);
  StreamLog log;
  const auto got = run_matvec(b, b.mv_q_s, cases, 64, 64, &log);
  // Against the golden model's qkv block (its q output) for the ordinary cases, and against
  // gemv + requantize for all of them (extreme and zero scales included).
  const QuantizedMatrix& wq = m->qm.layers_[0].wq_;
  for (size_t i = 0; i < cases.size(); ++i) {
    TokenState s = m->golden->make_state();
    std::copy(cases[i].x.begin(), cases[i].x.end(), s.x_q_.begin());
    s.x_scale_ = cases[i].scale;
    m->golden->qkv(0, s);
    ASSERT_EQ(got[i].size(), 64u);
    for (int r = 0; r < 64; ++r) ASSERT_EQ(got[i][r], s.q_[r]) << "case " << i << " row " << r;
  }
  const vector<int32_t> sat = golden_project(wq, 0, 64, cases[5], 16);
  EXPECT_TRUE(std::any_of(sat.begin(), sat.end(), [](int32_t v) { return std::abs(int64_t{v}) == fx::kInt32Max; }));

  // Timing of the header's formulas: 4 input chunks, 16 output chunks.
  const int64_t nch = 4, noc = 16;
  ASSERT_GE(log.in_cycles.size(), static_cast<size_t>(2 * nch));
  const int64_t latency = log.out_cycles[noc - 1] - log.in_cycles[nch - 1];
  // Steady state (the first vector's chunks meet empty registers): vectors 2 -> 3.
  const int64_t interval = log.in_cycles[3 * nch] - log.in_cycles[2 * nch];
  EXPECT_EQ(latency, noc + 4);
  EXPECT_EQ(interval, std::max(nch, noc));
}

TEST(RtlMatvec, FfnDownGroupsAndPartialChunkEqualGolden) {
  NEED_MODEL(m, "w4a8");
  Bench& b = bench();
  b.reset();
  const QuantizedMatrix& w = m->qm.layers_[0].w_down_;  // 64 x 172, groups of 32 (last 12)
  const vector<MvCase> cases = matvec_cases(172, 5);
  StreamLog log;
  const auto got = run_matvec(b, b.mv_down_s, cases, 172, 64, &log);
  for (size_t i = 0; i < cases.size(); ++i) {
    const vector<int32_t> want = golden_project(w, 0, 64, cases[i], m->qm.profile_.residual_frac_bits_);
    for (int r = 0; r < 64; ++r) ASSERT_EQ(got[i][r], want[r]) << "case " << i << " row " << r;
  }
  // 11 chunks in, 16 out -> interval max(11, 16).
  EXPECT_EQ(log.in_cycles[33] - log.in_cycles[22], 16);
  EXPECT_EQ(log.out_cycles[15] - log.in_cycles[10], 20);
}

TEST(RtlMatvec, ConstantMultiplierFabricPerChannelUnderBackPressure) {
  NEED_MODEL(m, "w8a8");
  Bench& b = bench();
  b.reset();
  const QuantizedMatrix& w = m->qm.layers_[0].w_down_;  // per channel, 8-bit
  const vector<MvCase> cases = matvec_cases(172, 9);
  std::mt19937 rng(2);
  vector<bool> ready(100000);
  for (size_t i = 0; i < ready.size(); ++i) ready[i] = rng() % 4 != 0;
  const auto got = run_matvec(b, b.mv_down_cm_s, cases, 172, 16, nullptr,
                              [&](int64_t c) { return bool(ready[static_cast<size_t>(c) % ready.size()]); });
  for (size_t i = 0; i < cases.size(); ++i) {
    const vector<int32_t> want = golden_project(w, 0, 16, cases[i], m->qm.profile_.residual_frac_bits_);
    for (int r = 0; r < 16; ++r) ASSERT_EQ(got[i][r], want[r]) << "case " << i << " row " << r;
  }
}

// ---- RMSNorm

TEST(RtlRmsNorm, AttnNormEqualsGoldenAttnNorm) {
  NEED_MODEL(m, "w4a8");
  Bench& b = bench();
  b.reset();
  std::mt19937_64 rng(13);
  vector<vector<int32_t>> xs;
  xs.push_back(vector<int32_t>(64, 0));
  xs.push_back(vector<int32_t>(64, fx::kInt32Max));
  {
    vector<int32_t> v(64, 3);
    v[10] = -fx::kInt32Max;
    xs.push_back(v);
  }
  for (int i = 0; i < 40; ++i) {
    const int bits = static_cast<int>(rand_in(rng, 1, 31));
    vector<int32_t> v(64);
    for (int32_t& x : v) x = static_cast<int32_t>(rand_in(rng, -((int64_t{1} << bits) - 1), (int64_t{1} << bits) - 1));
    xs.push_back(v);
  }
  for (size_t t = 0; t < xs.size(); ++t) {
    TokenState s = m->golden->make_state();
    std::copy(xs[t].begin(), xs[t].end(), s.residual_.begin());
    m->golden->attn_norm(0, s);
    vector<int8_t> got;
    uint32_t gm = 0, ge = 0;
    vector<int64_t> in(xs[t].begin(), xs[t].end());
    StreamLog log = run_stream(
        b, b.norm_p, 4,
        [&](int64_t k) {
          b.norm_p.in_data.write(pack<512>(vector<int64_t>(in.begin() + 16 * k, in.begin() + 16 * k + 16), 32));
          b.norm_p.in_last.write(k == 3);
        },
        4,
        [&](int64_t) {
          for (int l = 0; l < 16; ++l) got.push_back(static_cast<int8_t>(lane(b.norm_p.out_data.read(), l, 8, true)));
          gm = b.norm_m.read();
          ge = b.norm_e.read();
        });
    for (int i = 0; i < 64; ++i) ASSERT_EQ(got[i], s.x_q_[i]) << "vector " << t << " element " << i;
    EXPECT_EQ(static_cast<int32_t>(gm), s.x_scale_.m_) << "vector " << t;
    EXPECT_EQ(sext(ge, 16), s.x_scale_.e_) << "vector " << t;
    // rtl/rms_norm.sv, NCH = 4, DEPTH 4: latency 2 + floor((NCH - 1) / 2) * (DEPTH + 1) +
    // (NCH - 1) % 2 + DEPTH cycles (two output chunks in flight).
    EXPECT_EQ(log.out_cycles.back() - log.in_cycles.back(), 2 + 1 * 5 + 1 + 4);
  }
}

// ---- SwiGLU activation + quantization before ffn_down

// One vector through hw_l0_activation (tiny-mha d_ff 172, 16 lanes: 22 input chunks, gate then
// up, one chunk holding the last 12 gate and the first 4 up values; 11 output chunks, the last
// with 12 values) against fx::swiglu_fixed + fx::quantize_dynamic as GoldenModel::ffn runs them.
void expect_activation_bit_exact(const LoadedModel& m, const vector<int32_t>& gate,
                                 const vector<int32_t>& up, const std::function<bool(int64_t)>& ready,
                                 const std::string& what) {
  const int64_t f = 172;
  const NumericsProfile& p = m.golden->profile();
  const int af = p.activation_frac_bits_;
  const int32_t qmax = (int32_t{1} << (p.activation_bits_ - 1)) - 1;
  vector<int32_t> h(static_cast<size_t>(f));
  for (int64_t i = 0; i < f; ++i) {
    h[size_t(i)] = fx::swiglu_fixed(gate[size_t(i)], up[size_t(i)], af,
                                    m.golden->tables().sigmoid_.data(), p.silu_table_bits_);
  }
  vector<int8_t> want(static_cast<size_t>(f));
  const fx::Dyadic ws = fx::quantize_dynamic(h.data(), f, af, qmax, want.data());
  vector<int64_t> in(gate.begin(), gate.end());
  in.insert(in.end(), up.begin(), up.end());
  in.resize(22 * 16, 0);
  Bench& b = bench();
  vector<int8_t> got;
  vector<std::pair<uint32_t, uint32_t>> scales;
  vector<bool> lasts;
  const StreamLog log = run_stream(
      b, b.act_p, 22,
      [&](int64_t k) {
        b.act_p.in_data.write(pack<512>(vector<int64_t>(in.begin() + 16 * k, in.begin() + 16 * k + 16), 32));
        b.act_p.in_last.write(k == 21);
      },
      11,
      [&](int64_t) {
        for (int l = 0; l < 16; ++l) got.push_back(static_cast<int8_t>(lane(b.act_p.out_data.read(), l, 8, true)));
        scales.emplace_back(b.act_m.read(), b.act_e.read());
        lasts.push_back(b.act_p.out_last.read());
      },
      ready);
  ASSERT_EQ(got.size(), 11u * 16) << what << ": the block did not emit 11 chunks";
  for (int64_t i = 0; i < f; ++i) {
    ASSERT_EQ(got[size_t(i)], want[size_t(i)])
        << what << " element " << i << " gate " << gate[size_t(i)] << " up " << up[size_t(i)]
        << " h " << h[size_t(i)];
  }
  for (size_t i = size_t(f); i < got.size(); ++i) EXPECT_EQ(got[i], 0) << what << " lane beyond d_ff";
  for (size_t c = 0; c < scales.size(); ++c) {
    EXPECT_EQ(static_cast<int32_t>(scales[c].first), ws.m_) << what << " chunk " << c;
    EXPECT_EQ(sext(scales[c].second, 16), ws.e_) << what << " chunk " << c;
    EXPECT_EQ(lasts[c], c + 1 == scales.size()) << what << " chunk " << c;
  }
  ASSERT_EQ(log.in_cycles.size(), 22u);
  if (!ready) {
    // rtl/activation.sv, NO = 11, DEPTH 4: latency 2 + floor(10 / 2) * 5 + 0 + 4 cycles.
    EXPECT_EQ(log.out_cycles.back() - log.in_cycles.back(), 2 + 5 * 5 + 4) << what;
  }
}

TEST(RtlActivation, SwigluQuantizeEqualsGolden) {
  NEED_MODEL(m, "w4a8");
  Bench& b = bench();
  b.reset();
  std::mt19937_64 rng(19);
  const int64_t f = 172;
  const int af = m->golden->profile().activation_frac_bits_;
  const int32_t edge = int32_t{1} << (af + 4);  // |gate| >= 16.0: sigmoid 1 (or 0)
  auto all = [&](int32_t v) { return vector<int32_t>(size_t(f), v); };
  struct Case {
    std::string what;
    vector<int32_t> gate, up;
  };
  vector<Case> cases;
  cases.push_back({"zeros (scale 0)", all(0), all(0)});
  cases.push_back({"gate and up +INT32_MAX (h saturates)", all(fx::kInt32Max), all(fx::kInt32Max)});
  cases.push_back({"gate -INT32_MAX (silu ~ 0)", all(-fx::kInt32Max), all(fx::kInt32Max)});
  {
    Case c{"gate at the sigmoid table's edge", all(0), all(int32_t{3} << af)};
    const int32_t g[] = {edge - 1, edge, edge + 1, -(edge - 1), -edge, -(edge + 1), 1, -1};
    for (int64_t i = 0; i < f; ++i) c.gate[size_t(i)] = g[i % 8] - int32_t(i / 8);
    cases.push_back(c);
  }
  {
    Case c{"one nonzero value", all(0), all(0)};
    c.gate[100] = int32_t{5} << af;
    c.up[100] = -(int32_t{7} << af);
    cases.push_back(c);
  }
  {
    Case c{"up extremes, alternating signs", all(0), all(0)};
    for (int64_t i = 0; i < f; ++i) {
      c.gate[size_t(i)] = static_cast<int32_t>(rand_in(rng, -(int64_t{20} << af), int64_t{20} << af));
      c.up[size_t(i)] = (i & 1) ? fx::kInt32Max : -fx::kInt32Max;
    }
    cases.push_back(c);
  }
  for (int v = 0; v < 30; ++v) {
    Case c{"random " + std::to_string(v), all(0), all(0)};
    const int gb = static_cast<int>(rand_in(rng, 1, 31)), ub = static_cast<int>(rand_in(rng, 1, 31));
    for (int64_t i = 0; i < f; ++i) {
      c.gate[size_t(i)] = static_cast<int32_t>(rand_in(rng, -((int64_t{1} << gb) - 1), (int64_t{1} << gb) - 1));
      c.up[size_t(i)] = static_cast<int32_t>(rand_in(rng, -((int64_t{1} << ub) - 1), (int64_t{1} << ub) - 1));
    }
    cases.push_back(c);
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    // Every third vector with the consumer ready one cycle in three (back-pressure).
    std::function<bool(int64_t)> ready;
    if (i % 3 == 2) ready = [](int64_t c) { return c % 3 == 0; };
    expect_activation_bit_exact(*m, cases[i].gate, cases[i].up, ready, cases[i].what);
  }
}

// ---- RoPE

// The rope block (hw_l0_rope: q 64, k 64, v 64 as 12 chunks): q and k rotated as the golden
// model's rope, v unchanged, at positions up to 2^31 - 1, with int32 extremes (saturation).
TEST(RtlRope, QkvEqualsGoldenRope) {
  NEED_MODEL(m, "w4a8");
  Bench& b = bench();
  b.reset();
  std::mt19937_64 rng(17);
  const vector<int64_t> positions = {0, 1, 2, 7, 100, 127, 4095, 65537, 2147483647};
  for (size_t t = 0; t < positions.size() * 3; ++t) {
    TokenState s = m->golden->make_state();
    auto fill = [&](std::vector<int32_t>& x) {
      for (int32_t& v : x) {
        v = t % 3 == 2 ? (rng() & 1 ? fx::kInt32Max : -fx::kInt32Max)
                       : static_cast<int32_t>(rand_in(rng, -(1 << 24), 1 << 24));
      }
    };
    fill(s.q_);
    fill(s.k_);
    fill(s.v_);
    s.position_ = positions[t % positions.size()];
    vector<int64_t> in(s.q_.begin(), s.q_.end());
    in.insert(in.end(), s.k_.begin(), s.k_.end());
    in.insert(in.end(), s.v_.begin(), s.v_.end());
    ASSERT_EQ(in.size(), 192u);
    m->golden->rope(0, s);
    vector<int32_t> want(s.q_.begin(), s.q_.end());
    want.insert(want.end(), s.k_.begin(), s.k_.end());
    want.insert(want.end(), s.v_.begin(), s.v_.end());
    vector<int32_t> got;
    const StreamLog log = run_stream(
        b, b.rope_p, 12,
        [&](int64_t k) {
          b.rope_p.in_data.write(pack<512>(vector<int64_t>(in.begin() + 16 * k, in.begin() + 16 * k + 16), 32));
          b.rope_p.in_last.write(k == 11);
          b.rope_pos.write(static_cast<uint32_t>(positions[t % positions.size()]));
        },
        12,
        [&](int64_t) {
          for (int l = 0; l < 16; ++l) got.push_back(static_cast<int32_t>(lane(b.rope_p.out_data.read(), l, 32, true)));
        });
    for (int i = 0; i < 192; ++i) ASSERT_EQ(got[i], want[size_t(i)]) << "case " << t << " element " << i;
    // rtl/rope.sv, DEPTH 4, 16 lanes, KV 64: latency DEPTH + 1 + KV / LANES = 9 cycles; one
    // chunk per cycle in.
    EXPECT_EQ(log.out_cycles.back() - log.in_cycles.back(), 9);
    EXPECT_EQ(log.in_cycles.back() - log.in_cycles.front(), 11);
  }
}

// ---- attention datapath with its KV bank

TEST(RtlAttention, HeadsEqualGoldenAttention) {
  NEED_MODEL(m, "w4a8");
  Bench& b = bench();
  b.reset();
  const ModelConfig& c = m->qm.config_;
  const int64_t hd = c.head_dim_, kv_dim = c.kv_dim();
  std::mt19937_64 rng(19);
  for (int trial = 0; trial < 6; ++trial) {
    const int64_t n = trial == 0 ? 1 : (trial == 5 ? c.max_positions_ : rand_in(rng, 2, 40));
    KvCache cache = m->golden->make_cache();
    TokenState s = m->golden->make_state();
    for (int64_t j = 0; j < n; ++j) {
      s.position_ = j;
      for (int32_t& x : s.k_) x = static_cast<int32_t>(rand_in(rng, -(1 << 20), 1 << 20));
      for (int32_t& x : s.v_) x = static_cast<int32_t>(rand_in(rng, -(1 << 20), 1 << 20));
      if (trial == 3 && j % 3 == 0) std::fill(s.v_.begin(), s.v_.end(), 0);  // zero V scales
      m->golden->kv_write(0, s, cache);
    }
    s.position_ = n - 1;
    for (int32_t& x : s.q_) {
      x = trial == 4 ? static_cast<int32_t>(rand_in(rng, -fx::kInt32Max, fx::kInt32Max))
                     : static_cast<int32_t>(rand_in(rng, -(1 << 18), 1 << 18));
    }
    m->golden->attention(0, s, cache);
    const KvLayer& kv = cache.layers_[0];
    for (int64_t h = 0; h < c.n_heads_; ++h) {
      const int64_t g = h / c.group_size();
      // KV lines of kv head g into the bank, one write per cycle.
      for (int64_t j = 0; j < n; ++j) {
        vector<int64_t> line;
        for (int64_t d = 0; d < hd; ++d) line.push_back(kv.k_[static_cast<size_t>(j * kv_dim + g * hd + d)]);
        Bv<320> bv = pack<320>(line, 8);
        line.clear();
        for (int64_t d = 0; d < hd; ++d) line.push_back(kv.v_[static_cast<size_t>(j * kv_dim + g * hd + d)]);
        bv.range(255, 128) = pack<128>(line, 8);
        const fx::Dyadic ks = kv.k_scale_[static_cast<size_t>(j * c.n_kv_heads_ + g)];
        const fx::Dyadic vs = kv.v_scale_[static_cast<size_t>(j * c.n_kv_heads_ + g)];
        bv.range(319, 256) = pack<64>({ks.m_, ks.e_, vs.m_, vs.e_}, 16);
        b.att_wr_en.write(true);
        b.att_wr_addr.write(static_cast<uint32_t>(j));
        b.att_wr_data.write(bv);
        b.tick();
      }
      b.att_wr_en.write(false);
      vector<int8_t> qq(static_cast<size_t>(hd));
      const fx::Dyadic qs = fx::quantize_dynamic(s.q_.data() + h * hd, hd,
                                                 m->qm.profile_.activation_frac_bits_, 127, qq.data());
      const fx::Dyadic qc = fx::dyadic_mul(qs, m->golden->tables().score_scale_);
      vector<int32_t> got;
      StreamLog log = run_stream(
          b, b.att_p, 1,
          [&](int64_t) {
            b.att_p.in_data.write(pack<128>(vector<int64_t>(qq.begin(), qq.end()), 8));
            b.att_c_m.write(static_cast<uint32_t>(qc.m_));
            b.att_c_e.write(static_cast<uint32_t>(qc.e_) & 0xFFFFu);
            b.att_n.write(static_cast<uint32_t>(n));
          },
          1,
          [&](int64_t) {
            for (int l = 0; l < hd; ++l) got.push_back(static_cast<int32_t>(lane(b.att_p.out_data.read(), l, 32, true)));
          });
      ASSERT_EQ(got.size(), static_cast<size_t>(hd));
      for (int64_t d = 0; d < hd; ++d) {
        ASSERT_EQ(got[d], s.attn_[static_cast<size_t>(h * hd + d)])
            << "trial " << trial << " n " << n << " head " << h << " dim " << d;
      }
      // rtl/attention.sv: latency 4 n + RL + 4 cycles with the bank's RL = 2.
      EXPECT_EQ(log.out_cycles[0] - log.in_cycles[0], 4 * n + 6) << "n " << n;
    }
  }
}

}  // namespace
}  // namespace hw::rtltest
