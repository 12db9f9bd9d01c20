// End-to-end tests of `hardwire allocate` and of the windowed, bootstrapped `hardwire quality`
// on tiny-trained-a (../shared/oracle): JSON keys, a written profile that `quality` accepts and
// that fits the budget, windows over a file longer than the context, and clear errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli/cli_test_util.h"

namespace hw {
namespace {

using ::testing::HasSubstr;
using test::RunResult;
using test::run_hardwire;

const std::string kOracle = std::string(HARDWIRE_SHARED_DIR) + "/oracle/";
const std::string kModel = kOracle + "tiny-trained-a.gguf";
const std::string kTokens = kOracle + "tiny-trained-a.eval.tokens";

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("hw_cli_alloc_" + name)).string();
}

TEST(CliAllocate, WritesAProfileThatFitsAndLoads) {
  const std::string out = temp_path("alloc.yaml");
  const RunResult r = run_hardwire("allocate --model " + kModel + " --rom-bits w4a8 --widths 3,8 --tokens-file " +
                                   kTokens + " --n-tokens 48 --out " + out + " --json");
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const nlohmann::json j = nlohmann::json::parse(r.output_);
  for (const char* key : {"budget_bits", "rom_bits", "fixed_bits", "widths", "reference_kl",
                          "predicted_delta_kl", "tensors", "calibration_tokens"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["budget_profile"], "w4a8");
  EXPECT_LE(j["rom_bits"].get<double>(), j["budget_bits"].get<double>());
  EXPECT_EQ(j["tensors"].size(), 30u);
  EXPECT_EQ(j["calibration_tokens"], 48);
  int wide = 0;
  for (const auto& t : j["tensors"]) wide += t["bits"] == 8 ? 1 : 0;
  EXPECT_GT(wide, 0);   // a 4-bit budget affords some 8-bit tensors ...
  EXPECT_LT(wide, 30);  // ... but not all

  // `quality` takes the written profile and reports the same ROM size.
  const RunResult q = run_hardwire("quality --model " + kModel + " --numerics " + out +
                                   " --tokens-file " + kTokens + " --skip-tokens 3900 --bootstrap 0 --json");
  ASSERT_EQ(q.exit_code_, 0) << q.output_;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(q.output_)["rom_bits"].get<double>(), j["rom_bits"].get<double>());
  std::filesystem::remove(out);
}

TEST(CliAllocate, Errors) {
  const std::string out = temp_path("bad.yaml");
  RunResult r = run_hardwire("allocate --model " + kModel + " --rom-bits 1000 --out " + out, true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, HasSubstr("below the smallest allocation"));
  r = run_hardwire("allocate --model " + kModel + " --rom-bits w4a8 --widths 3,9 --out " + out, true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, HasSubstr("outside 2..8"));
  r = run_hardwire("allocate --model " + kModel + " --rom-bits w9a9 --out " + out, true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, HasSubstr("no such numerics profile"));
}

TEST(CliQualityChipImage, ScoresTheImageLikeTheProfile) {
  const std::string image = temp_path("w4a8.hwchip");
  const RunResult qz = run_hardwire("quantize --model " + kModel + " --numerics w4a8 --out " + image);
  ASSERT_EQ(qz.exit_code_, 0) << qz.output_;
  const std::string stream = " --tokens-file " + kTokens + " --skip-tokens 3900 --bootstrap 0 --json";
  const RunResult a = run_hardwire("quality --model " + kModel + " --chip-image " + image + stream);
  ASSERT_EQ(a.exit_code_, 0) << a.output_;
  const RunResult b = run_hardwire("quality --model " + kModel + " --numerics w4a8" + stream);
  ASSERT_EQ(b.exit_code_, 0) << b.output_;
  const nlohmann::json ja = nlohmann::json::parse(a.output_);
  EXPECT_EQ(ja["mean_kl"], nlohmann::json::parse(b.output_)["mean_kl"]);
  EXPECT_EQ(ja["numerics"], "w4a8");
  const RunResult bad = run_hardwire("quality --model " + kOracle + "tiny-mha.gguf --chip-image " + image, true);
  EXPECT_EQ(bad.exit_code_, 2);
  EXPECT_THAT(bad.output_, HasSubstr("shape differs"));
  std::filesystem::remove(image);
}

TEST(CliQualityWindows, LongFileIsScoredInContextWindowsWithIntervals) {
  // 600 tokens of held-out text on a 256-token context: windows of 256, 256 and 88.
  const RunResult r = run_hardwire("quality --model " + kModel + " --tokens-file " + kTokens +
                                   " --skip-tokens 3496 --numerics w8a8 --compare w3a8 --bootstrap 200 --json");
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const nlohmann::json j = nlohmann::json::parse(r.output_);
  EXPECT_EQ(j["n_tokens"], 600);
  EXPECT_EQ(j["n_windows"], 3);
  EXPECT_EQ(j["window_tokens"], 256);
  EXPECT_EQ(j["n_scored"], 255 + 255 + 87);
  for (const char* key : {"perplexity_ratio", "mean_kl", "top1_agreement", "perplexity_float"}) {
    const double v = j[key].get<double>();
    const auto ci = j[std::string(key) + "_ci95"];
    EXPECT_LE(ci[0].get<double>(), v) << key;
    EXPECT_GE(ci[1].get<double>(), v) << key;
  }
  ASSERT_EQ(j["compare"].size(), 1u);
  EXPECT_GT(j["compare"][0]["mean_kl"].get<double>(), j["mean_kl"].get<double>());

  const RunResult half = run_hardwire("quality --model " + kModel + " --tokens-file " + kTokens +
                                      " --skip-tokens 3584 --second-half --window 128 --bootstrap 0 --json");
  ASSERT_EQ(half.exit_code_, 0) << half.output_;
  const nlohmann::json h = nlohmann::json::parse(half.output_);
  EXPECT_EQ(h["n_windows"], 4);
  EXPECT_EQ(h["n_scored"], 4 * 63);
  EXPECT_EQ(h["scoring"], "second_half");

  RunResult e = run_hardwire("quality --model " + kModel + " --tokens-file " + kTokens + " --window 300", true);
  EXPECT_EQ(e.exit_code_, 2);
  EXPECT_THAT(e.output_, HasSubstr("context"));
  e = run_hardwire("quality --model " + kModel + " --tokens-file " + kTokens + " --skip-tokens 5000", true);
  EXPECT_EQ(e.exit_code_, 2);
  EXPECT_THAT(e.output_, HasSubstr("--skip-tokens"));
  e = run_hardwire("quality --model " + kModel + " --numerics w8a8 --set numerics.activations.scales=static", true);
  EXPECT_EQ(e.exit_code_, 2);
  EXPECT_THAT(e.output_, HasSubstr("numerics.calibration.tokens_file"));
}

}  // namespace
}  // namespace hw
