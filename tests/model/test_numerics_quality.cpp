// Quality on a really trained model (tiny-trained-a, ../shared/oracle): windowed perplexity as
// llama.cpp scores it, bootstrap intervals, KL rising as weight bits fall, the cost of w8a8,
// static activation scales and importance-weighted rounding at 3 bits. Streams are a few
// hundred tokens so the suite stays fast; docs/numerics.md has the full 4,096-token table.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/calibration.h"
#include "model/chip_image.h"
#include "model/float_ref.h"
#include "model/golden_model.h"
#include "model/numerics_profile.h"
#include "model/quality.h"
#include "model/quantizer.h"
#include "model/weights.h"

namespace hw {
namespace {

using ::testing::HasSubstr;

const std::string kOracle = std::string(HARDWIRE_SHARED_DIR) + "/oracle/";
const std::string kEvalTokens = kOracle + "tiny-trained-a.eval.tokens";

const ModelWeights& trained() {
  static const ModelWeights w = load_weights(kOracle + "tiny-trained-a.gguf");
  return w;
}

// Tokens [begin, end) of the held-out text.
std::vector<int32_t> eval_slice(int64_t begin, int64_t end) {
  static const std::vector<int32_t> all = read_token_ids(kEvalTokens, "eval tokens");
  return std::vector<int32_t>(all.begin() + begin, all.begin() + end);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Held-out scoring stream: tokens 2048..2304 (one 256-token window), away from the first
// 512 tokens that calibration uses.
struct Scored {
  std::vector<int32_t> tokens_ = eval_slice(2048, 2304);
  ScoreOptions options_;
  FloatWindows ref_ = float_windows(trained(), tokens_, options_);
  StreamQuality measure(const NumericsProfile& p) const {
    return measure_stream_quality(trained(), p, tokens_, ref_, options_);
  }
};
const Scored& scored() {
  static const Scored s;
  return s;
}

TEST(Windows, ConsecutiveContextSizedWindows) {
  const ModelConfig& c = trained().config_;  // context 256
  ScoreOptions o;
  Windows w = make_windows(600, c, o);
  EXPECT_EQ(w.window_tokens_, 256);
  ASSERT_EQ(w.spans_.size(), 3u);
  EXPECT_EQ(w.spans_[1], (std::pair<int64_t, int64_t>{256, 512}));
  EXPECT_EQ(w.spans_[2], (std::pair<int64_t, int64_t>{512, 600}));
  EXPECT_EQ(make_windows(513, c, o).spans_.size(), 2u);  // a 1-token remainder predicts nothing
  o.window_tokens_ = 100;
  EXPECT_EQ(make_windows(600, c, o).spans_.size(), 6u);
  o.window_tokens_ = 300;
  EXPECT_THAT(error_of([&] { make_windows(600, c, o); }), HasSubstr("context"));
}

TEST(Windows, EachWindowStartsFromAFreshCache) {
  // llama.cpp's perplexity rule: every window is evaluated from position 0 with an empty KV
  // cache; every position but the last predicts the next token (the full-file figure, 4.9734
  // over 16 windows of 256, is reproduced in docs/numerics.md).
  const std::vector<int32_t> t = eval_slice(0, 1024);
  const ScoreOptions o;
  const FloatWindows f = float_windows(trained(), t, o);
  ASSERT_EQ(f.windows_.spans_.size(), 4u);
  // The second window evaluated alone from position 0 gives the same logits.
  FloatReference r(trained(), 256);
  const std::vector<float> direct = r.forward(std::vector<int32_t>(t.begin() + 256, t.begin() + 512));
  ASSERT_EQ(direct.size(), f.logits_[1].size());
  for (size_t i = 0; i < direct.size(); i += 97) EXPECT_EQ(direct[i], f.logits_[1][i]);
  const QuantizedModel qm = quantize_model(trained(), load_numerics_profile("w8a8"));
  const PositionScores s = score_chip(qm, t, f, o);
  EXPECT_EQ(s.nll_float_.size(), 4u * 255u);
  ScoreOptions half = o;
  half.second_half_ = true;
  EXPECT_EQ(score_chip(qm, t, f, half).nll_float_.size(), 4u * 127u);
  const StreamQuality q = summarize_scores(s, o);
  EXPECT_GT(q.perplexity_float_, 4.0);  // trained: far below the 256 of a uniform guess
  EXPECT_LT(q.perplexity_float_, 6.5);
}

TEST(Bootstrap, IntervalsBracketTheEstimateAndAreDeterministic) {
  PositionScores s;
  for (int i = 0; i < 300; ++i) {
    s.nll_float_.push_back(1.0 + 0.5 * std::sin(i * 0.7));
    s.nll_chip_.push_back(s.nll_float_.back() + 0.01 * (i % 5));
    s.kl_.push_back(0.001 * (i % 7));
    s.agree_.push_back(i % 10 != 0);
  }
  ScoreOptions o;
  o.bootstrap_samples_ = 400;
  o.bootstrap_block_ = 16;
  const StreamQuality a = summarize_scores(s, o);
  const StreamQuality b = summarize_scores(s, o);
  EXPECT_EQ(a.perplexity_ratio_ci_.lo_, b.perplexity_ratio_ci_.lo_);
  for (auto [v, ci] : {std::pair{a.perplexity_float_, a.perplexity_float_ci_},
                       std::pair{a.perplexity_ratio_, a.perplexity_ratio_ci_},
                       std::pair{a.mean_kl_, a.mean_kl_ci_}, std::pair{a.top1_agreement_, a.top1_ci_}}) {
    EXPECT_LE(ci.lo_, v);
    EXPECT_GE(ci.hi_, v);
    EXPECT_LT(ci.lo_, ci.hi_);
  }
  // Paired resampling: the chip is float + 0.02 nats on average, so the ratio is pinned near
  // exp(0.02) much more tightly than either perplexity.
  EXPECT_NEAR(a.perplexity_ratio_, std::exp(0.02), 1e-9);
  EXPECT_LT(a.perplexity_ratio_ci_.hi_ - a.perplexity_ratio_ci_.lo_,
            0.2 * (a.perplexity_float_ci_.hi_ - a.perplexity_float_ci_.lo_));
}

TEST(TrainedQuality, KlRisesAsBitsFallAndW8a8CostsUnderOnePercent) {
  double previous_kl = -1.0;
  for (const char* name : {"w8a8", "w6a8", "w4a8", "w3a8"}) {
    const StreamQuality q = scored().measure(load_numerics_profile(name));
    EXPECT_GT(q.mean_kl_, previous_kl) << name;
    previous_kl = q.mean_kl_;
    if (std::string(name) == "w8a8") {
      EXPECT_LT(q.perplexity_ratio_, 1.01);
      EXPECT_LT(q.perplexity_ratio_ci_.hi_, 1.01);
      EXPECT_GT(q.top1_agreement_, 0.95);
    }
  }
}

TEST(StaticScales, NeedCalibrationTextAndStayCloseToDynamic) {
  EXPECT_THAT(error_of([] { load_numerics_profile("w8a8", {"numerics.activations.scales=static"}); }),
              HasSubstr("numerics.calibration.tokens_file"));
  EXPECT_THAT(error_of([] {
                load_numerics_profile("w8a8", {"numerics.activations.scales=static",
                                               "numerics.calibration.tokens_file=/nonexistent"});
              }),
              HasSubstr("not a readable file"));
  const std::vector<std::string> st = {"numerics.activations.scales=static",
                                       "numerics.calibration.tokens_file=" + kEvalTokens,
                                       "numerics.calibration.n_tokens=512"};
  const NumericsProfile p = load_numerics_profile("w8a8", st);
  const QuantizedModel qm = quantize_model(trained(), p);
  ASSERT_EQ(qm.act_scales_.size(), 4u);
  EXPECT_GT(qm.act_scales_[0].attn_in_.scale_.m_, 0);
  EXPECT_GT(qm.final_act_scale_.inv_.m_, 0);
  // A model quantized without calibration cannot run a static profile.
  QuantizedModel bare = qm;
  bare.act_scales_.clear();
  EXPECT_THAT(error_of([&] { GoldenModel g(bare); }), HasSubstr("static"));
  const double dynamic_kl = scored().measure(load_numerics_profile("w8a8")).mean_kl_;
  const StreamQuality s = scored().measure(p);
  EXPECT_GT(s.mean_kl_, dynamic_kl);  // a fixed scale cannot follow each token
  EXPECT_LT(s.perplexity_ratio_, 1.05);
  // Deterministic: the same calibration gives the same scales.
  const QuantizedModel again = quantize_model(trained(), p);
  EXPECT_EQ(again.act_scales_[3].ffn_hidden_.inv_.m_, qm.act_scales_[3].ffn_hidden_.inv_.m_);
  // A chip image stores the scales: the loaded model computes the same logits.
  const std::string path = (std::filesystem::temp_directory_path() / "hw_static_scales.hwchip").string();
  save_chip_image(path, qm);
  const QuantizedModel loaded = load_chip_image(path);
  std::filesystem::remove(path);
  ASSERT_EQ(loaded.act_scales_.size(), qm.act_scales_.size());
  EXPECT_EQ(loaded.final_act_scale_.scale_.e_, qm.final_act_scale_.scale_.e_);
  const std::vector<int32_t> t = eval_slice(2048, 2064);
  GoldenModel a(qm), b(loaded);
  EXPECT_EQ(a.forward(t), b.forward(t));
}

TEST(ImatrixRounding, BeatsRoundToNearestAtThreeBits) {
  const NumericsProfile rtn = load_numerics_profile("w3a8");
  const NumericsProfile imx = load_numerics_profile(
      "w3a8", {"numerics.weights.rounding=imatrix", "numerics.calibration.tokens_file=" + kEvalTokens,
               "numerics.calibration.n_tokens=512"});
  const StreamQuality a = scored().measure(rtn);
  const StreamQuality b = scored().measure(imx);
  EXPECT_LT(b.mean_kl_, a.mean_kl_);
}

}  // namespace
}  // namespace hw
