// End-to-end tests of `hardwire estimate`: runs the built binary like a user would and checks
// the JSON metric keys, --out files, the human tables and the errors for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli/cli_test_util.h"
namespace hw {
namespace {

using test::RunResult;
using test::run_hardwire;

TEST(CliEstimate, JsonKeysForHc1) {
  const RunResult r = run_hardwire("estimate --scenario chat-1k-1k --json", false);
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const nlohmann::json j = nlohmann::json::parse(r.output_);
  for (const char* k :
       {"tokens_per_s_per_user", "tokens_per_s_total", "ttft_s", "inter_token_latency_s",
        "cycles_per_token", "users_admitted", "users_rejected", "peak_concurrent_users",
        "max_context_tokens", "kv_sram_peak_bytes", "power_w", "energy_per_token_j", "area_mm2",
        "area_breakdown_mm2", "power_breakdown_w", "transistors", "power_idle_w",
        "power_full_load_w", "max_users_under_tdp", "throttled", "die_power_w",
        "over_reticle", "widths"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  // The default numerics (hc1-mix) builds the fabric: int8 activations, its 3/6-bit mix.
  EXPECT_EQ(j["widths"]["activation_bits"], 8);
  EXPECT_EQ(j["widths"]["source"], "numerics hc1-mix");
  EXPECT_EQ(j["source"], "estimate");
  EXPECT_EQ(j["chip"], "hc1-like");
  EXPECT_EQ(j["tech"], "n6");
  EXPECT_EQ(j["model"], "llama-3.1-8b");
  EXPECT_EQ(j["users_admitted"], 64);
  EXPECT_GT(j["power_w"].get<double>(), 0.0);
}

TEST(CliEstimate, FlagsOverrideAndOutWritesFiles) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "hw_cli_estimate_out";
  std::filesystem::remove_all(dir);
  const RunResult r = run_hardwire(
      "estimate --weight-bits 4 --kv-bits 8 --users 3 --prompt 128 --gen 64 --tech n5 "
      "--set tech.scaling.vdd=0.7V --json --out '" + dir.string() + "'",
      false);
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const nlohmann::json j = nlohmann::json::parse(r.output_);
  EXPECT_EQ(j["users_admitted"], 3);
  EXPECT_DOUBLE_EQ(j["weight_bits"].get<double>(), 4.0);
  std::ifstream result(dir / "result.json");
  ASSERT_TRUE(result.good());
  EXPECT_EQ(nlohmann::json::parse(result)["tokens_per_s_total"], j["tokens_per_s_total"]);
  std::ifstream resolved(dir / "resolved_config.json");
  ASSERT_TRUE(resolved.good());
  const nlohmann::json c = nlohmann::json::parse(resolved);
  EXPECT_DOUBLE_EQ(c["tech"]["scaling"]["vdd"].get<double>(), 0.7);
  EXPECT_EQ(c["tech"]["name"], "n5");
  EXPECT_EQ(c["workload"]["users"], 3);
  EXPECT_TRUE(c.contains("chip"));
  std::filesystem::remove_all(dir);
}

TEST(CliEstimate, TdpThrottlesAndSensitivity) {
  // 32 users of 64/64 fill the pipeline; a 150 W card throttles them.
  RunResult r = run_hardwire(
      "estimate --users 32 --prompt 64 --gen 64 --set chip.power.tdp_w=150W --json", false);
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const nlohmann::json j = nlohmann::json::parse(r.output_);
  EXPECT_TRUE(j["throttled"].get<bool>());
  EXPECT_DOUBLE_EQ(j["power_w"].get<double>(), 150.0);
  EXPECT_LT(j["tokens_per_s_total"].get<double>(),
            j["unthrottled_tokens_per_s_total"].get<double>());
  EXPECT_LT(j["max_users_under_tdp"].get<int64_t>(), 32);
  r = run_hardwire("estimate --users 32 --prompt 64 --gen 64 --set chip.power.tdp_w=150W "
                   "--sensitivity",
                   false);
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  for (const char* s : {"THROTTLED", "sensitivity", "tech.leakage.temperature_c", "idle"}) {
    EXPECT_NE(r.output_.find(s), std::string::npos) << s;
  }
}

TEST(CliEstimate, HumanTables) {
  const RunResult r = run_hardwire("estimate --users 2 --prompt 1024 --gen 1024", false);
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  for (const char* s : {"tokens/s per user", "power", "matrix_fabric", "rom_weights", "kv_sram",
                        "energy per token", "transistors"}) {
    EXPECT_NE(r.output_.find(s), std::string::npos) << s;
  }
}

TEST(CliEstimate, ErrorsNameTheInput) {
  RunResult r = run_hardwire("estimate --tech n66 --weight-bits 4 --kv-bits 8", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_NE(r.output_.find("did you mean 'n6'?"), std::string::npos) << r.output_;
  r = run_hardwire("estimate --weight-bits 4 --kv-bits 8 --set power.x=1", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_NE(r.output_.find("unknown config tree 'power'"), std::string::npos) << r.output_;
  r = run_hardwire("estimate --weight-bits 4 --kv-bits 8 --set 'tech.scaling.vdd=3 GHz'", true);
  EXPECT_NE(r.output_.find("tech.scaling.vdd"), std::string::npos) << r.output_;
  EXPECT_EQ(r.exit_code_, 2);
  r = run_hardwire("estimate --model llama-3.1-70b --weight-bits 4 --kv-bits 8", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_NE(r.output_.find("chip.dies"), std::string::npos) << r.output_;
}

}  // namespace
}  // namespace hw
