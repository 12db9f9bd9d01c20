// End-to-end tests of `hardwire simulate`: runs the built binary like a user would and checks the
// JSON keys, --out files, functional mode against `hardwire emulate` (one user, several users),
// the human tables, --power against `hardwire estimate` and the errors for bad input. Skipped
// when built without SystemC.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

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

nlohmann::json json_of(const std::string& args) {
  const RunResult r = run_hardwire(args + " --json", false);
  EXPECT_EQ(r.exit_code_, 0) << args << "\n" << r.output_;
  return nlohmann::json::parse(r.output_);
}

std::string oracle(const std::string& file) {
  return std::string(HARDWIRE_SHARED_DIR) + "/oracle/" + file;
}

#ifdef HARDWIRE_HAVE_SYSTEMC
constexpr bool kHaveSystemC = true;
#else
constexpr bool kHaveSystemC = false;
#endif

class CliSimulate : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kHaveSystemC) GTEST_SKIP() << "built without SystemC";
  }
};

TEST_F(CliSimulate, JsonHasTheDocumentedKeys) {
  const nlohmann::json j = json_of(
      "simulate --model llama-3.1-8b --chip hc1-like --users 2 --prompt 64 --gen 16 "
      "--no-progress");
  for (const char* key :
       {"tokens_per_s_per_user", "tokens_per_s_total", "ttft_s", "inter_token_latency_s",
        "cycles", "simulated_s", "users_admitted", "users_rejected", "max_context_tokens",
        "kv_sram_peak_bytes", "utilization", "stall_cycles", "activity", "blocks", "users",
        "sim_tokens_per_wall_s", "sim_cycles_per_wall_s", "analytic"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  for (const char* key : {"p50", "p99"}) {
    EXPECT_TRUE(j["ttft_s"].contains(key));
    EXPECT_TRUE(j["inter_token_latency_s"].contains(key));
  }
  for (const char* key : {"weight_macs", "attention_macs", "kv_sram_read_bits",
                          "kv_sram_write_bits", "link_bits"}) {
    EXPECT_TRUE(j["activity"].contains(key)) << key;
  }
  for (const char* reason : {"input_empty", "output_full", "bank_conflict", "dram_bandwidth"}) {
    EXPECT_TRUE(j["stall_cycles"]["attention"].contains(reason)) << reason;
  }
  EXPECT_EQ(j["tokens_generated"], 32);
  EXPECT_EQ(j["users_admitted"], 2);
  EXPECT_EQ(j["mode"], "timing");
  EXPECT_EQ(j["blocks"]["qkv"]["instances"], 32);
  // Llama 3.1 8B on hc1-like is calibrated to ~17k tokens/s per user (chip/mapping.h).
  EXPECT_GT(j["tokens_per_s_per_user"].get<double>(), 14000.0);
  EXPECT_LT(j["tokens_per_s_per_user"].get<double>(), 25000.0);
}

TEST_F(CliSimulate, OutWritesResultAndResolvedConfig) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("hw_cli_sim_" + std::to_string(::getpid()));
  const RunResult r = run_hardwire(
      "simulate --model llama-3.2-1b --users 3 --prompt 32 --gen 8 --no-progress --set "
      "chip.buffers.fifo_depth=3 --out '" + dir.string() + "'",
      true);
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  std::ifstream rf(dir / "result.json");
  std::ifstream cf(dir / "resolved_config.json");
  ASSERT_TRUE(rf && cf);
  const nlohmann::json result = nlohmann::json::parse(rf);
  const nlohmann::json config = nlohmann::json::parse(cf);
  EXPECT_EQ(result["tokens_generated"], 24);
  EXPECT_EQ(config["chip"]["buffers"]["fifo_depth"], 3);
  EXPECT_EQ(config["workload"]["users"], 3);
  EXPECT_TRUE(config.contains("numerics"));
  EXPECT_TRUE(config.contains("mapping"));
  std::filesystem::remove_all(dir);
}

// --power: the run's activity x the tech table's energies (power/energy.h). The reported figures
// must be one consistent account (energy per token x tokens/s = power; dynamic + static = power;
// the breakdown sums to the power), and for steady-state decode of one user (a short prompt, many
// outputs) they must match `hardwire estimate` on the same design point, which uses the same
// per-event energies on the mapping's closed-form activity.
TEST_F(CliSimulate, PowerIsActivityTimesTechEnergiesAndMatchesEstimate) {
  const std::string point = "--model llama-3.2-1b --chip hc1-like --users 1 --prompt 8 --gen 256";
  const nlohmann::json sim = json_of("simulate " + point + " --power --no-progress");
  const nlohmann::json est = json_of("estimate " + point);
  const double power_w = sim["power_w"].get<double>();
  ASSERT_GT(power_w, 0.0);
  EXPECT_EQ(sim["tech"], "n6");
  EXPECT_GT(sim["dynamic_power_w"].get<double>(), 0.0);
  EXPECT_NEAR(sim["energy_per_token_j"].get<double>() * sim["tokens_per_s_total"].get<double>(),
              power_w, 1e-9 * power_w);
  // power_w is card power: die dynamic power through the regulators plus the static card power.
  EXPECT_NEAR(sim["dynamic_power_w"].get<double>() /
                      sim["event_energies"]["vrm_efficiency"].get<double>() +
                  sim["static_power_w"].get<double>(),
              power_w, 1e-9 * power_w);
  double parts_w = 0;
  for (const auto& [key, v] : sim["power_breakdown_w"].items()) parts_w += v.get<double>();
  EXPECT_NEAR(parts_w, power_w, 1e-9 * power_w);
  for (const auto& [key, v] : est["power_breakdown_w"].items()) {
    EXPECT_TRUE(sim["power_breakdown_w"].contains(key)) << key;
  }
  EXPECT_EQ(sim["static_power_w"], est["static_power_w"]);
  EXPECT_NEAR(power_w / est["power_w"].get<double>(), 1.0, 0.05);
  EXPECT_NEAR(sim["energy_per_token_j"].get<double>() / est["energy_per_token_j"].get<double>(),
              1.0, 0.05);
}

TEST_F(CliSimulate, PowerTakesTechOverridesAndRecordsThem) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("hw_cli_sim_pw_" + std::to_string(::getpid()));
  const std::string point = "--model llama-3.2-1b --users 1 --prompt 8 --gen 8 --no-progress";
  const nlohmann::json base = json_of("simulate " + point + " --power --tech n5");
  const RunResult r = run_hardwire("simulate " + point +
                                       " --power --tech n5 --set tech.io.host_phy_power=7W --json --out '" +
                                       dir.string() + "'",
                                   false);
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const nlohmann::json j = nlohmann::json::parse(r.output_);
  EXPECT_EQ(j["tech"], "n5");
  // One die: the I/O power is the override, and only the static part moves.
  EXPECT_DOUBLE_EQ(j["power_breakdown_w"]["io"].get<double>(), 7.0);
  EXPECT_NEAR(j["static_power_w"].get<double>() - base["static_power_w"].get<double>(),
              2.0 / j["event_energies"]["vrm_efficiency"].get<double>(), 1e-9);
  EXPECT_DOUBLE_EQ(j["dynamic_power_w"].get<double>(), base["dynamic_power_w"].get<double>());
  std::ifstream cf(dir / "resolved_config.json");
  ASSERT_TRUE(cf);
  const nlohmann::json config = nlohmann::json::parse(cf);
  EXPECT_EQ(config["tech"]["name"], "n5");
  EXPECT_DOUBLE_EQ(config["tech"]["io"]["host_phy_power"].get<double>(), 7.0);
  std::filesystem::remove_all(dir);
  // Without --power the tech is not part of the run.
  const nlohmann::json plain = json_of("simulate " + point);
  EXPECT_FALSE(plain.contains("power_w"));
}

TEST_F(CliSimulate, PowerHumanOutputHasThePowerTable) {
  const RunResult r = run_hardwire(
      "simulate --model llama-3.2-1b --users 1 --prompt 8 --gen 8 --power --no-progress", false);
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  EXPECT_THAT(r.output_, ::testing::HasSubstr("power (n6)"));
  EXPECT_THAT(r.output_, ::testing::HasSubstr("energy per token"));
  EXPECT_THAT(r.output_, ::testing::HasSubstr("matrix_fabric"));
}

TEST_F(CliSimulate, FunctionalOneUserEqualsEmulate) {
  const std::string model = "--model '" + oracle("tiny-mha.gguf") + "' --numerics w8a8";
  const nlohmann::json sim = json_of("simulate " + model +
                                     " --chip hc1-like --functional --tokens 1,5,9 --gen 10 "
                                     "--no-progress");
  const nlohmann::json emu = json_of("emulate " + model + " --tokens 1,5,9 --n 10");
  EXPECT_EQ(sim["mode"], "functional");
  EXPECT_EQ(sim["generated"], emu["generated"]);
  EXPECT_EQ(sim["users"][0]["generated"], emu["generated"]);
}

TEST_F(CliSimulate, FunctionalSeveralUsersEachEqualEmulate) {
  const std::string model = "--model '" + oracle("tiny-gqa-s.gguf") + "' --numerics hc1-mix";
  const nlohmann::json sim = json_of("simulate " + model +
                                     " --functional --tokens '1,5,9;7,3,250' --gen 6 "
                                     "--no-progress");
  ASSERT_EQ(sim["users"].size(), 2u);
  EXPECT_EQ(sim["users"][0]["generated"],
            json_of("emulate " + model + " --tokens 1,5,9 --n 6")["generated"]);
  EXPECT_EQ(sim["users"][1]["generated"],
            json_of("emulate " + model + " --tokens 7,3,250 --n 6")["generated"]);
}

TEST_F(CliSimulate, HumanOutputHasTables) {
  const RunResult r =
      run_hardwire("simulate --users 1 --prompt 16 --gen 4 --no-progress", false);
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  EXPECT_THAT(r.output_, ::testing::HasSubstr("tokens/s per user (decode)"));
  EXPECT_THAT(r.output_, ::testing::HasSubstr("inter-token latency p50 / p99"));
  EXPECT_THAT(r.output_, ::testing::HasSubstr("attention"));
  EXPECT_THAT(r.output_, ::testing::HasSubstr("output_full"));
}

TEST_F(CliSimulate, ErrorsNameTheOptionAndTheFix) {
  RunResult r = run_hardwire("simulate --tokens 1,2 --gen 2", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, ::testing::HasSubstr("--functional"));
  r = run_hardwire("simulate --set tech.node=5 --gen 2", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, ::testing::HasSubstr("tech"));
  EXPECT_THAT(r.output_, ::testing::HasSubstr("--power"));
  r = run_hardwire("simulate --power --tech no-such-node --users 1 --prompt 4 --gen 2", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, ::testing::HasSubstr("no-such-node"));
  r = run_hardwire("simulate --model llama-3.1-70b --users 1 --prompt 8 --gen 2", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, ::testing::HasSubstr("chip.dies="));
  r = run_hardwire("simulate --trace x.csv --users 3", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_THAT(r.output_, ::testing::HasSubstr("--trace"));
}

TEST_F(CliSimulate, VcdWithJsonKeepsStdoutParseable) {
  // SystemC's reports (Info I702 on the trace time unit among them) go to stderr, not into the
  // JSON on stdout.
  const std::string vcd = ::testing::TempDir() + "/cli_sim_" + std::to_string(::getpid()) + ".vcd";
  const RunResult r = run_hardwire(
      "simulate --model llama-3.2-1b --chip hc1-like --users 1 --prompt 4 --gen 4 --no-progress "
      "--json --vcd " + vcd,
      false);
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const nlohmann::json j = nlohmann::json::parse(r.output_, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.output_.substr(0, 400);
  EXPECT_EQ(j["vcd_file"], vcd);
  std::filesystem::remove(vcd);
}

TEST_F(CliSimulate, PromptTooLongForKvIsRejectedWithReasonAndExitCode) {
  // hc1-like holds 4096 positions per layer: 8000 + 16 - 1 cannot fit.
  const RunResult r = run_hardwire(
      "simulate --model llama-3.1-8b --chip hc1-like --users 1 --prompt 8000 --gen 16 "
      "--no-progress",
      true);
  EXPECT_NE(r.exit_code_, 0);
  EXPECT_THAT(r.output_, ::testing::HasSubstr("no user could run"));
  EXPECT_THAT(r.output_, ::testing::HasSubstr("8015 positions"));
  EXPECT_THAT(r.output_, ::testing::HasSubstr("4096 positions per layer"));
}

TEST_F(CliSimulate, CycleLevelSaysItsLevel) {
  const nlohmann::json j = json_of(
      "simulate --model llama-3.2-1b --chip hc1-like --users 1 --prompt 4 --gen 4 "
      "--no-progress --level cycle");
  EXPECT_EQ(j["level"], "cycle");
  EXPECT_EQ(j["tokens_generated"], 4);
  EXPECT_TRUE(j.contains("kv_banks"));
  EXPECT_EQ(json_of("simulate --model llama-3.2-1b --chip hc1-like --users 1 --prompt 4 --gen 4 "
                    "--no-progress")["level"],
            "token");
}

}  // namespace
}  // namespace hw
