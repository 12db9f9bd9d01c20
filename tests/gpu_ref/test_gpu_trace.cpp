// The block-trace comparison behind `simulate --check-against` (gpu_ref/trace.h) with the CPU
// reference: a functional run reported block by block in the simulator's order (interleaved
// users, a shared prefix the second user does not compute, pipelined prompt positions) matches;
// one altered integer, or one altered sampled id, is reported at exactly its user, position,
// layer, block, field and element.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "common/error.h"
#include "gpu_ref/trace.h"
#include "gpu_test_util.h"
#include "model/golden_model.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"

namespace hw::gpu {
namespace {

// A stand-in for the simulator's functional mode: per user a KV cache, every block applied with
// the golden model and reported under the simulator's block names. `tamper` may alter the
// state before a report (the bug under test).
class FakeSim {
 public:
  using Tamper = std::function<void(int64_t user, int64_t position, const std::string& block,
                                    int64_t layer, TokenState& s, int32_t& output)>;
  FakeSim(const QuantizedModel& qm, TraceChecker& checker) : golden_(qm, 64), checker_(checker) {}

  // One token; returns the sampled id (or -1 for a prompt position that produces none).
  int32_t token(int64_t user, int64_t position, int32_t id, bool produces_output, bool report = true) {
    KvCache& cache = cache_of(user);
    TokenState s = golden_.make_state();
    int32_t out = -1;
    auto report_block = [&](const std::string& block, int64_t layer) {
      if (!report) return;
      if (tamper_) tamper_(user, position, block, layer, s, out);
      checker_.observe(user, position, id, block, layer, s, out);
    };
    golden_.embed(id, position, s);
    report_block("embedding", -1);
    for (int64_t l = 0; l < golden_.config().n_layers_; ++l) {
      golden_.attn_norm(l, s);
      report_block("attn_norm", l);
      golden_.qkv(l, s);
      report_block("qkv", l);
      report_block("qk_norm", l);
      golden_.rope(l, s);
      report_block("rope", l);
      golden_.kv_write(l, s, cache);
      report_block("kv_write", l);
      golden_.attention(l, s, cache);
      report_block("attention", l);
      golden_.o_proj(l, s);
      report_block("o_proj", l);
      golden_.ffn_norm(l, s);
      report_block("ffn_norm", l);
      report_block("ffn_gate_up", l);
      report_block("activation", l);
      golden_.ffn(l, s);
      report_block("ffn_down", l);
    }
    if (!produces_output) return -1;
    golden_.final_norm(s);
    report_block("final_norm", -1);
    golden_.lm_head(s);
    report_block("lm_head", -1);
    out = GoldenModel::sample(s.logits_);
    report_block("sampler", -1);
    return out;
  }
  KvCache& cache_of(int64_t user) {
    auto it = caches_.find(user);
    if (it == caches_.end()) it = caches_.emplace(user, golden_.make_cache()).first;
    return it->second;
  }
  Tamper tamper_;

 private:
  GoldenModel golden_;
  TraceChecker& checker_;
  std::map<int64_t, KvCache> caches_;
};

struct Fixture {
  Fixture()
      : weights_(test::oracle_model("tiny-gqa-s")),
        qm_(quantize_model(weights_, load_numerics_profile("w8a8"))),
        checker_(weights_.config_, "cpu", cpu_token_runner(qm_, 64), prompts_),
        sim_(qm_, checker_) {}
  // Two users sharing the prefix 1, 5: user 1 copies it and computes from position 2.
  // Returns the ids generated per user.
  std::vector<std::vector<int32_t>> run(int n_new) {
    std::vector<std::vector<int32_t>> out(2);
    sim_.token(0, 0, 1, false);
    sim_.token(0, 1, 5, false);
    sim_.token(1, 0, 1, false, /*report=*/false);  // the shared prefix, copied in the simulator
    sim_.token(1, 1, 5, false, /*report=*/false);
    int32_t next0 = sim_.token(0, 2, 9, true);
    int32_t next1 = sim_.token(1, 2, 7, true);
    out[0].push_back(next0);
    out[1].push_back(next1);
    for (int i = 0; i < n_new - 1; ++i) {
      next1 = sim_.token(1, 3 + i, next1, true);
      next0 = sim_.token(0, 3 + i, next0, true);
      out[0].push_back(next0);
      out[1].push_back(next1);
    }
    return out;
  }
  const ModelWeights& weights_;
  QuantizedModel qm_;
  std::vector<std::vector<int32_t>> prompts_{{1, 5, 9}, {1, 5, 7}};
  TraceChecker checker_;
  FakeSim sim_;
};

TEST(Trace, FaithfulRunMatches) {
  Fixture f;
  f.run(4);
  EXPECT_TRUE(f.checker_.ok()) << f.checker_.summary();
  // 3 + 1 computed prompt positions (user 1's prefix is replayed, not compared) + 2 x 3 decodes.
  EXPECT_EQ(f.checker_.tokens_compared(), 4 + 6);
  const int64_t layers = f.weights_.config_.n_layers_;
  // Per token: embedding + 8 golden blocks per layer (+ final_norm, lm_head, sampler).
  EXPECT_EQ(f.checker_.blocks_compared(), 10 * (1 + 8 * layers) + 8 * 3);
  EXPECT_GT(f.checker_.elements_compared(), 1000);
  const nlohmann::json j = f.checker_.to_json();
  EXPECT_EQ(j["match"], true);
  EXPECT_TRUE(j["first_divergence"].is_null());
  EXPECT_NE(f.checker_.summary().find("match"), std::string::npos);
}

TEST(Trace, AlteredIntegerIsLocated) {
  Fixture f;
  f.sim_.tamper_ = [](int64_t user, int64_t position, const std::string& block, int64_t layer,
                      TokenState& s, int32_t&) {
    if (user == 1 && position == 3 && block == "attention" && layer == 1) s.attn_[5] += 1;
  };
  f.run(3);
  ASSERT_FALSE(f.checker_.ok());
  const Divergence& d = *f.checker_.first_divergence();
  EXPECT_EQ(d.user_, 1);
  EXPECT_EQ(d.position_, 3);
  EXPECT_EQ(d.layer_, 1);
  EXPECT_EQ(d.block_, "attention");
  EXPECT_EQ(d.field_, "attn");
  EXPECT_EQ(d.element_, 5);
  EXPECT_EQ(d.simulated_, d.reference_ + 1);
  EXPECT_NE(f.checker_.summary().find("MISMATCH at user 1, position 3, layer 1, block attention, attn[5]"),
            std::string::npos)
      << f.checker_.summary();
  EXPECT_EQ(f.checker_.to_json()["first_divergence"]["field"], "attn");
}

TEST(Trace, AlteredScaleAndTokenAreLocated) {
  {
    Fixture f;
    f.sim_.tamper_ = [](int64_t, int64_t position, const std::string& block, int64_t,
                        TokenState& s, int32_t&) {
      if (position == 2 && block == "final_norm") s.x_scale_.e_ += 1;
    };
    f.run(1);
    ASSERT_FALSE(f.checker_.ok());
    EXPECT_EQ(f.checker_.first_divergence()->field_, "x_scale");
    EXPECT_EQ(f.checker_.first_divergence()->element_, 1);
    EXPECT_EQ(f.checker_.first_divergence()->user_, 0);
  }
  {
    Fixture f;
    f.sim_.tamper_ = [](int64_t user, int64_t position, const std::string& block, int64_t,
                        TokenState&, int32_t& out) {
      if (user == 0 && position == 2 && block == "sampler") out = out + 1;
    };
    f.run(1);
    ASSERT_FALSE(f.checker_.ok());
    EXPECT_EQ(f.checker_.first_divergence()->field_, "token");
    EXPECT_EQ(f.checker_.first_divergence()->block_, "sampler");
    EXPECT_EQ(f.checker_.first_divergence()->layer_, -1);
  }
}

TEST(Trace, SimulatorBlockNames) {
  EXPECT_EQ(golden_block_of("embedding"), "embed");
  EXPECT_EQ(golden_block_of("ffn_down"), "ffn");
  EXPECT_EQ(golden_block_of("sampler"), "sample");
  EXPECT_EQ(golden_block_of("attention"), "attention");
  EXPECT_EQ(golden_block_of("qk_norm"), "");
  EXPECT_EQ(golden_block_of("ffn_gate_up"), "");
  EXPECT_EQ(golden_block_of("link"), "");
}

TEST(Trace, SkippedDecodePositionIsAnError) {
  Fixture f;
  // Position 5 of user 0 without 3 and 4: not prompt positions, so not replayable.
  EXPECT_THROW(f.sim_.token(0, 5, 2, true), Error);
}

}  // namespace
}  // namespace hw::gpu
