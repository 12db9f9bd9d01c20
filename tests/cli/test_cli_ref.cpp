// End-to-end tests of `hardwire ref`: runs the built binary on the llama.cpp oracle model and
// checks the written logits and the greedy continuation against llama.cpp's, plus the errors
// for bad token lists and oversized synthetic models; and unit tests of parse_token_list.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/cli_test_util.h"
#include "cli/cli_util.h"
#include "common/error.h"

namespace hw {
namespace {

using test::RunResult;
using test::run_hardwire;

namespace fs = std::filesystem;

const fs::path kOracleDir = fs::path(HARDWIRE_SHARED_DIR) / "oracle";

nlohmann::json oracle_meta(const std::string& model) {
  std::ifstream in(kOracleDir / (model + ".logits.json"));
  EXPECT_TRUE(in.good()) << "missing oracle " << model;
  return nlohmann::json::parse(in);
}

std::string token_arg(const std::vector<int32_t>& tokens) {
  std::string s;
  for (size_t i = 0; i < tokens.size(); ++i) s += (i ? "," : "") + std::to_string(tokens[i]);
  return s;
}

std::vector<float> read_floats(const fs::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  EXPECT_TRUE(in.good()) << path;
  const auto bytes = static_cast<size_t>(in.tellg());
  std::vector<float> v(bytes / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(bytes));
  return v;
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("hardwire-test-cli-ref-" +
                                                  std::to_string(::getpid()))) {
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(CliRef, LogitsMatchOracle) {
  const nlohmann::json meta = oracle_meta("tiny-mha");
  const std::vector<int32_t> tokens = meta.at("token_ids").get<std::vector<int32_t>>();
  const int64_t n_vocab = meta.at("n_vocab").get<int64_t>();
  TempDir tmp;
  const fs::path out = tmp.path() / "logits.bin";
  const RunResult r = run_hardwire("ref logits --model '" + (kOracleDir / "tiny-mha.gguf").string() +
                                       "' --tokens " + token_arg(tokens) + " --out '" +
                                       out.string() + "'",
                                   true);
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const std::string shape = "[" + std::to_string(tokens.size()) + " x " + std::to_string(n_vocab) + "]";
  EXPECT_NE(r.output_.find(shape), std::string::npos) << r.output_;
  const int32_t last = meta.at("argmax_next_token_batched").back().get<int32_t>();
  EXPECT_NE(r.output_.find("argmax of last row: " + std::to_string(last)), std::string::npos)
      << r.output_;

  const std::vector<float> ours = read_floats(out);
  const std::vector<float> oracle = read_floats(kOracleDir / "tiny-mha.logits.bin");
  ASSERT_EQ(ours.size(), tokens.size() * static_cast<size_t>(n_vocab));
  ASSERT_EQ(ours.size(), oracle.size());
  double max_diff = 0.0;
  for (size_t i = 0; i < ours.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(ours[i]) - oracle[i]));
  }
  EXPECT_LE(max_diff, 1e-4);
}

TEST(CliRef, GenerateJsonStartsWithOracleArgmax) {
  const nlohmann::json meta = oracle_meta("tiny-gqa-s");
  const std::vector<int32_t> tokens = meta.at("token_ids").get<std::vector<int32_t>>();
  const RunResult r = run_hardwire("ref generate --model '" +
                                       (kOracleDir / "tiny-gqa-s.gguf").string() + "' --tokens " +
                                       token_arg(tokens) + " --n 4 --json",
                                   false);
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const nlohmann::json j = nlohmann::json::parse(r.output_);
  ASSERT_TRUE(j.contains("generated"));
  const std::vector<int32_t> gen = j["generated"].get<std::vector<int32_t>>();
  ASSERT_EQ(gen.size(), 4u);
  EXPECT_EQ(gen[0], meta.at("argmax_next_token_batched").back().get<int32_t>());
  EXPECT_EQ(j["prompt"].get<std::vector<int32_t>>(), tokens);
}

TEST(CliRef, RejectsBadTokens) {
  const std::string model = "--model '" + (kOracleDir / "tiny-mha.gguf").string() + "'";
  RunResult r = run_hardwire("ref generate " + model + " --tokens 1,260 --n 1", true);
  EXPECT_EQ(r.exit_code_, 2) << r.output_;
  EXPECT_NE(r.output_.find("outside the vocabulary"), std::string::npos) << r.output_;
  EXPECT_NE(r.output_.find("0..259"), std::string::npos) << r.output_;
  r = run_hardwire("ref generate " + model + " --tokens 1,,2 --n 1", true);
  EXPECT_EQ(r.exit_code_, 2) << r.output_;
  EXPECT_NE(r.output_.find("--tokens"), std::string::npos) << r.output_;
}

TEST(CliRef, SyntheticWeights) {
  // A full-size preset is refused with the size it would need.
  RunResult r = run_hardwire(
      "ref generate --model llama-3.1-8b --synthetic-seed 1 --tokens 1 --n 1", true);
  EXPECT_EQ(r.exit_code_, 2) << r.output_;
  EXPECT_NE(r.output_.find("GiB"), std::string::npos) << r.output_;
  EXPECT_NE(r.output_.find("8 GiB"), std::string::npos) << r.output_;

  // A tiny HF config.json gives deterministic seeded weights.
  TempDir tmp;
  const nlohmann::json config = {{"architectures", {"LlamaForCausalLM"}},
                                 {"model_type", "llama"},
                                 {"hidden_size", 64},
                                 {"intermediate_size", 96},
                                 {"num_attention_heads", 4},
                                 {"num_key_value_heads", 2},
                                 {"num_hidden_layers", 2},
                                 {"vocab_size", 50},
                                 {"max_position_embeddings", 32},
                                 {"rms_norm_eps", 1e-5},
                                 {"rope_theta", 10000.0},
                                 {"tie_word_embeddings", false}};
  const fs::path config_path = tmp.path() / "config.json";
  std::ofstream(config_path) << config.dump(2);
  const std::string args = "ref generate --model '" + config_path.string() +
                           "' --synthetic-seed 7 --tokens 3,1,4 --n 5 --json";
  const RunResult a = run_hardwire(args, false);
  const RunResult b = run_hardwire(args, false);
  ASSERT_EQ(a.exit_code_, 0) << run_hardwire(args, true).output_;
  EXPECT_EQ(a.output_, b.output_);
  const std::vector<int32_t> gen =
      nlohmann::json::parse(a.output_)["generated"].get<std::vector<int32_t>>();
  ASSERT_EQ(gen.size(), 5u);
  for (int32_t t : gen) {
    EXPECT_GE(t, 0);
    EXPECT_LT(t, 50);
  }
  // More tokens than the model's context are refused.
  r = run_hardwire("ref generate --model '" + config_path.string() +
                       "' --synthetic-seed 7 --tokens 3,1,4 --n 40",
                   true);
  EXPECT_EQ(r.exit_code_, 2) << r.output_;
  EXPECT_NE(r.output_.find("need 42 positions"), std::string::npos) << r.output_;
  EXPECT_NE(r.output_.find("context of 32"), std::string::npos) << r.output_;
}

TEST(CliUtil, ParseTokenList) {
  EXPECT_EQ(cli::parse_token_list("1,5,9"), (std::vector<int32_t>{1, 5, 9}));
  EXPECT_EQ(cli::parse_token_list(" 7 , 0,2147483647"),
            (std::vector<int32_t>{7, 0, 2147483647}));
  EXPECT_EQ(cli::parse_token_list("42"), (std::vector<int32_t>{42}));
  for (const char* bad : {"", ",", "1,", "1,,2", "-1", "1.5", "a", "2147483648", "1 2"}) {
    EXPECT_THROW(cli::parse_token_list(bad), Error) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace hw
