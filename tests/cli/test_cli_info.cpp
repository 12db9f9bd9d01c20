// End-to-end tests of `hardwire info`: runs the built binary like a user would and checks the
// JSON keys and values, the human table and the errors for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/cli/cli_test_util.h"
#include "cli/output.h"

namespace hw {
namespace {

using test::RunResult;
using test::run_hardwire;

nlohmann::json info_json(const std::string& args) {
  const RunResult r = run_hardwire("info " + args + " --json", false);
  EXPECT_EQ(r.exit_code_, 0) << r.output_;
  return nlohmann::json::parse(r.output_);
}

TEST(CliInfo, JsonForLlama31_8b) {
  const nlohmann::json j = info_json("llama-3.1-8b");
  for (const char* key :
       {"name", "arch", "params", "layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "d_ff",
        "vocab", "tied_embeddings", "weight_bits", "kv_bits", "weight_bytes", "kv_bytes_per_token",
        "kv_bytes_per_1k_tokens", "params_per_layer", "layer_tensors", "global_tensors",
        "rope_theta", "rope_scaling", "max_positions"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["name"], "llama-3.1-8b");
  EXPECT_EQ(j["arch"], "llama");
  EXPECT_EQ(j["params"].get<int64_t>(), 8030261248LL);
  EXPECT_EQ(j["layers"], 32);
  EXPECT_EQ(j["d_model"], 4096);
  EXPECT_EQ(j["n_heads"], 32);
  EXPECT_EQ(j["n_kv_heads"], 8);
  EXPECT_EQ(j["head_dim"], 128);
  EXPECT_EQ(j["d_ff"], 14336);
  EXPECT_EQ(j["vocab"], 128256);
  EXPECT_EQ(j["max_positions"], 131072);
  EXPECT_EQ(j["tied_embeddings"], false);
  EXPECT_EQ(j["weight_bits"], 16);
  EXPECT_EQ(j["kv_bits"], 8);
  EXPECT_EQ(j["weight_bytes"].get<int64_t>(), 2 * 8030261248LL);
  EXPECT_EQ(j["kv_bytes_per_token"], 65536);
  EXPECT_EQ(j["kv_bytes_per_1k_tokens"], 65536000);
  EXPECT_DOUBLE_EQ(j["rope_theta"].get<double>(), 500000.0);
  EXPECT_EQ(j["rope_scaling"]["type"], "llama3");
  EXPECT_DOUBLE_EQ(j["rope_scaling"]["factor"].get<double>(), 8.0);
  EXPECT_EQ(j["rope_scaling"]["original_max_positions"], 8192);

  int64_t layer_sum = 0;
  for (const auto& t : j["layer_tensors"]) {
    EXPECT_EQ(t["params"].get<int64_t>(), t["rows"].get<int64_t>() * t["cols"].get<int64_t>());
    layer_sum += t["params"].get<int64_t>();
  }
  EXPECT_EQ(j["layer_tensors"].size(), 9u);
  EXPECT_EQ(layer_sum, j["params_per_layer"].get<int64_t>());
  int64_t global_sum = 0;
  for (const auto& t : j["global_tensors"]) global_sum += t["params"].get<int64_t>();
  EXPECT_EQ(layer_sum * 32 + global_sum, j["params"].get<int64_t>());
}

TEST(CliInfo, BitWidthOptions) {
  const nlohmann::json j = info_json("llama-3.2-1b --weight-bits 4 --kv-bits 16");
  EXPECT_EQ(j["weight_bits"], 4);
  EXPECT_EQ(j["kv_bits"], 16);
  EXPECT_EQ(j["params"].get<int64_t>(), 1235814400LL);
  EXPECT_EQ(j["weight_bytes"].get<int64_t>(), 1235814400LL / 2);
  EXPECT_EQ(j["kv_bytes_per_token"], 2 * 16 * 512 * 2);
  EXPECT_EQ(j["tied_embeddings"], true);
  EXPECT_EQ(j["global_tensors"].size(), 2u);
}

TEST(CliInfo, EveryPresetMatchesPublishedCount) {
  const std::pair<const char*, int64_t> presets[] = {
      {"llama-3.1-70b", 70553706496LL}, {"llama-3.2-3b", 3212749824LL},
      {"mistral-7b", 7241732096LL},     {"qwen2.5-7b", 7615616512LL},
      {"qwen3-8b", 8190735360LL},
  };
  for (const auto& [name, params] : presets) {
    EXPECT_EQ(info_json(name)["params"].get<int64_t>(), params) << name;
  }
  EXPECT_EQ(info_json("mistral-7b")["sliding_window_tokens"], 4096);
  EXPECT_TRUE(info_json("qwen2.5-7b")["sliding_window_tokens"].is_null());
}

TEST(CliInfo, HumanTable) {
  const RunResult r = run_hardwire("info llama-3.1-8b", false);
  ASSERT_EQ(r.exit_code_, 0);
  EXPECT_NE(r.output_.find("8,030,261,248"), std::string::npos) << r.output_;
  EXPECT_NE(r.output_.find("attn_q"), std::string::npos);
  EXPECT_NE(r.output_.find("4096 x 4096"), std::string::npos);
  EXPECT_NE(r.output_.find("token_embd"), std::string::npos);
  const size_t kv_line = r.output_.find("KV per token per user @8 bit");
  ASSERT_NE(kv_line, std::string::npos) << r.output_;
  const std::string line = r.output_.substr(kv_line, r.output_.find('\n', kv_line) - kv_line);
  EXPECT_NE(line.find(" 65,536  bytes"), std::string::npos) << line;
  EXPECT_NE(r.output_.find("14.96 GiB"), std::string::npos);
}

TEST(CliInfo, UnknownPresetFailsHelpfully) {
  const RunResult r = run_hardwire("info llama-3.1-9b", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_NE(r.output_.find("llama-3.1-9b"), std::string::npos) << r.output_;
  EXPECT_NE(r.output_.find("did you mean 'llama-3.1-8b'"), std::string::npos) << r.output_;
  EXPECT_NE(r.output_.find("presets:"), std::string::npos) << r.output_;
}

TEST(CliInfo, OutOfRangeBitsRejected) {
  EXPECT_NE(run_hardwire("info llama-3.1-8b --weight-bits 0", true).exit_code_, 0);
  EXPECT_NE(run_hardwire("info llama-3.1-8b --kv-bits 33", true).exit_code_, 0);
  EXPECT_NE(run_hardwire("info", true).exit_code_, 0);
}

TEST(CliOutput, WithCommas) {
  EXPECT_EQ(cli::with_commas(0), "0");
  EXPECT_EQ(cli::with_commas(999), "999");
  EXPECT_EQ(cli::with_commas(1000), "1,000");
  EXPECT_EQ(cli::with_commas(8030261248LL), "8,030,261,248");
  EXPECT_EQ(cli::with_commas(-1234567), "-1,234,567");
}

TEST(CliOutput, BinaryBytes) {
  EXPECT_EQ(cli::binary_bytes(512), "512 B");
  EXPECT_EQ(cli::binary_bytes(65536), "64.00 KiB");
  EXPECT_EQ(cli::binary_bytes(65536000), "62.50 MiB");
}

TEST(CliOutput, TableAlignsColumns) {
  cli::Table t({"name", "value"});
  t.add_row({"a", "1,000"});
  t.add_row({"longer", "7"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(),
            "name    value\n"
            "------  -----\n"
            "a       1,000\n"
            "longer      7\n");
}

}  // namespace
}  // namespace hw
