// End-to-end tests of `hardwire emulate` and `hardwire quality`: runs the built binary on the
// llama.cpp oracle models and checks the JSON keys, determinism, the logits dump, the --bits
// curve, token files, and the errors for bad profiles, overrides and tokens.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/cli_test_util.h"
namespace hw {
namespace {

using test::RunResult;
using test::run_hardwire;

using ::testing::HasSubstr;

std::string oracle(const std::string& name) {
  return std::string(HARDWIRE_SHARED_DIR) + "/oracle/" + name + ".gguf";
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("hardwire_cli_numerics_" + name)).string();
}

TEST(CliEmulate, JsonGeneratedAndPerTokenFigures) {
  const RunResult r = run_hardwire("emulate --model " + oracle("tiny-mha") +
                                   " --numerics w8a8 --tokens 1,5,9 --n 6 --json");
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const nlohmann::json j = nlohmann::json::parse(r.output_);
  for (const char* key : {"model", "numerics", "prompt", "generated", "tokens", "mean_weight_bits",
                          "weight_value_bytes", "kv_bits", "activation_bits", "logits_shape",
                          "config"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  ASSERT_EQ(j["generated"].size(), 6u);
  ASSERT_EQ(j["tokens"].size(), 6u);
  EXPECT_EQ(j["prompt"], nlohmann::json({1, 5, 9}));
  for (size_t i = 0; i < 6; ++i) {
    const nlohmann::json& t = j["tokens"][i];
    EXPECT_EQ(t["token"], j["generated"][i]);
    EXPECT_EQ(t["position"], 2 + static_cast<int>(i));
    EXPECT_GE(t["margin"].get<double>(), 0.0);  // greedy: the chosen logit is the largest
    EXPECT_GT(t["probability"].get<double>(), 0.0);
    EXPECT_LE(t["probability"].get<double>(), 1.0);
  }
  EXPECT_EQ(j["logits_shape"], nlohmann::json({8, 260}));
  EXPECT_EQ(j["config"]["numerics"]["kv"]["bits"], 8);
}

TEST(CliEmulate, DeterministicWithLogitsDump) {
  const std::string f1 = temp_path("a.bin");
  const std::string f2 = temp_path("b.bin");
  const std::string base = "emulate --model " + oracle("tiny-gqa-s") +
                           " --numerics hc1-mix --tokens 3,1,4,1,5 --n 4 --json --dump-logits ";
  const RunResult a = run_hardwire(base + f1);
  const RunResult b = run_hardwire(base + f2);
  ASSERT_EQ(a.exit_code_, 0) << a.output_;
  ASSERT_EQ(b.exit_code_, 0);
  const nlohmann::json ja = nlohmann::json::parse(a.output_);
  const nlohmann::json jb = nlohmann::json::parse(b.output_);
  EXPECT_EQ(ja["generated"], jb["generated"]);
  EXPECT_EQ(ja["tokens"], jb["tokens"]);
  // 5 prompt rows + 3 fed-back tokens, float32 each.
  EXPECT_EQ(std::filesystem::file_size(f1), 8u * 300u * 4u);
  std::ifstream s1(f1, std::ios::binary);
  std::ifstream s2(f2, std::ios::binary);
  const std::string c1((std::istreambuf_iterator<char>(s1)), std::istreambuf_iterator<char>());
  const std::string c2((std::istreambuf_iterator<char>(s2)), std::istreambuf_iterator<char>());
  EXPECT_EQ(c1, c2);
  // The first generated token is the argmax of row 4 (after the last prompt token).
  std::vector<float> row(300);
  std::memcpy(row.data(), c1.data() + 4 * 300 * 4, 300 * 4);
  int best = 0;
  for (int v = 1; v < 300; ++v) {
    if (row[static_cast<size_t>(v)] > row[static_cast<size_t>(best)]) best = v;
  }
  EXPECT_EQ(ja["generated"][0], best);
  EXPECT_NEAR(ja["tokens"][0]["logit"].get<double>(), row[static_cast<size_t>(best)], 1e-4);
}

TEST(CliEmulate, HumanOutputAndSetOverride) {
  const RunResult r = run_hardwire("emulate --model " + oracle("tiny-mha") +
                                   " --tokens 1,5,9 --n 2 --set numerics.kv.bits=4");
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  EXPECT_THAT(r.output_, HasSubstr("int4 KV cache"));
  EXPECT_THAT(r.output_, HasSubstr("generated"));
  EXPECT_THAT(r.output_, HasSubstr("probability"));
}

TEST(CliEmulate, Errors) {
  RunResult r = run_hardwire("emulate --model " + oracle("tiny-mha") +
                                 " --numerics w8a9 --tokens 1 --n 1",
                             true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, HasSubstr("did you mean 'w8a8'"));
  r = run_hardwire("emulate --model " + oracle("tiny-mha") +
                       " --tokens 1 --n 1 --set numerics.kv.bitz=4",
                   true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, HasSubstr("did you mean 'numerics.kv.bits'"));
  r = run_hardwire("emulate --model " + oracle("tiny-mha") + " --tokens 1,260 --n 1", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, HasSubstr("outside the vocabulary"));
  r = run_hardwire("emulate --model " + oracle("tiny-mha") + " --tokens 1 --n 200", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, HasSubstr("positions"));
  r = run_hardwire("emulate --model " + oracle("tiny-mha") + " --tokens 1 --n 1 --set chip.x=1", true);
  EXPECT_EQ(r.exit_code_, 2);
}

TEST(CliQuality, JsonKeysAndW8a8Agreement) {
  const RunResult r =
      run_hardwire("quality --model " + oracle("tiny-gqa-s") + " --numerics w8a8 --json");
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const nlohmann::json j = nlohmann::json::parse(r.output_);
  for (const char* key : {"top1_agreement", "mean_kl", "max_logit_error", "perplexity_ratio",
                          "perplexity_float", "perplexity_chip", "mean_weight_bits", "n_tokens",
                          "tokens_source", "seed", "kv_bits", "config"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["n_tokens"], 128);
  EXPECT_EQ(j["tokens_source"], "seeded");
  EXPECT_GE(j["top1_agreement"].get<double>(), 0.95);
  EXPECT_FALSE(j.contains("curve"));
}

TEST(CliQuality, BitsCurveFallsWithWidth) {
  const RunResult r = run_hardwire("quality --model " + oracle("tiny-mha") +
                                   " --numerics w4a8 --bits 3..5 --json --n-tokens 48");
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const nlohmann::json j = nlohmann::json::parse(r.output_);
  ASSERT_EQ(j["curve"].size(), 3u);
  EXPECT_EQ(j["n_tokens"], 48);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(j["curve"][i]["weight_bits"], 3 + static_cast<int>(i));
  EXPECT_GT(j["curve"][0]["mean_kl"].get<double>(), j["curve"][2]["mean_kl"].get<double>());
  // The profile itself is all-int4: its row equals the curve's 4-bit row.
  EXPECT_EQ(j["mean_kl"], j["curve"][1]["mean_kl"]);

  const RunResult list = run_hardwire("quality --model " + oracle("tiny-mha") +
                                      " --bits 3,8 --n-tokens 16");
  ASSERT_EQ(list.exit_code_, 0) << list.output_;
  EXPECT_THAT(list.output_, HasSubstr("all int3"));
  EXPECT_THAT(list.output_, HasSubstr("all int8"));
  EXPECT_THAT(list.output_, HasSubstr("top-1 agreement"));
}

TEST(CliQuality, TokenSourcesAndErrors) {
  const std::string file = temp_path("tokens.txt");
  std::ofstream(file) << "1, 5 9\n42\n100 7";
  RunResult r = run_hardwire("quality --model " + oracle("tiny-mha") + " --tokens-file " + file + " --json");
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  nlohmann::json j = nlohmann::json::parse(r.output_);
  EXPECT_EQ(j["n_tokens"], 6);
  const RunResult same = run_hardwire("quality --model " + oracle("tiny-mha") + " --tokens 1,5,9,42,100,7 --json");
  ASSERT_EQ(same.exit_code_, 0);
  EXPECT_EQ(nlohmann::json::parse(same.output_)["mean_kl"], j["mean_kl"]);

  r = run_hardwire("quality --model " + oracle("tiny-mha") + " --tokens 1,2 --tokens-file " + file, true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, HasSubstr("cannot be combined"));
  r = run_hardwire("quality --model " + oracle("tiny-mha") + " --bits 1..8", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, HasSubstr("outside 2..8"));
  r = run_hardwire("quality --model " + oracle("tiny-mha") + " --n-tokens 500", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, HasSubstr("--n-tokens"));
  std::ofstream(file) << "1 x 3";
  r = run_hardwire("quality --model " + oracle("tiny-mha") + " --tokens-file " + file, true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, HasSubstr("item 2"));
}

}  // namespace
}  // namespace hw
