// `hardwire simulate` with the serving keys and the power cap, run as a user runs it: the
// workload.serving.* and shared_prefix_groups keys reach the scheduler and come back in the
// JSON, the human table shows them, and chip.power.cap_w throttles a long prefill (the tech
// table is loaded without --power) whose window power agrees with --power's whole-run figure.
// Skipped when built without SystemC.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli/cli_test_util.h"

namespace hw {
namespace {

using test::RunResult;
using test::run_hardwire;
using ::testing::HasSubstr;

#ifdef HARDWIRE_HAVE_SYSTEMC
constexpr bool kHaveSystemC = true;
#else
constexpr bool kHaveSystemC = false;
#endif

class CliSimulateServing : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kHaveSystemC) GTEST_SKIP() << "built without SystemC";
  }
};

nlohmann::json json_of(const std::string& args) {
  const RunResult r = run_hardwire(args + " --json --no-progress", false);
  EXPECT_EQ(r.exit_code_, 0) << args << "\n" << r.output_;
  return nlohmann::json::parse(r.output_);
}

TEST_F(CliSimulateServing, ServingKeysReachTheRun) {
  const auto j = json_of(
      "simulate --model llama-3.2-1b --users 12 --prompt 200 --gen 8 "
      "--set workload.serving.policy=prefill_first --set workload.serving.prefill_chunk_tokens=64 "
      "--set workload.shared_prefix_tokens=100 --set workload.shared_prefix_groups=3");
  EXPECT_EQ(j["serving"]["policy"], "prefill_first");
  EXPECT_EQ(j["serving"]["prefill_chunk_tokens"], 64);
  const auto& pc = j["prefix_cache"];
  EXPECT_EQ(pc["shared_prefix_tokens"], 100);
  // 12 users, all admitted at once: one miss per group drawn, hits for the rest.
  EXPECT_EQ(pc["hits"].get<int64_t>() + pc["misses"].get<int64_t>(), 12);
  EXPECT_GE(pc["misses"].get<int64_t>(), 1);
  EXPECT_LE(pc["misses"].get<int64_t>(), 3);
  int64_t computed = 0;
  for (const auto& u : j["users"]) {
    EXPECT_TRUE(u.contains("prefix_group"));
    computed += u["prompt_tokens_computed"].get<int64_t>();
  }
  EXPECT_EQ(computed, 12 * 100 + pc["misses"].get<int64_t>() * 100);
  // No tech table, no cap: no window power.
  EXPECT_TRUE(j["power_cap"].is_null());
  const RunResult human = run_hardwire(
      "simulate --model llama-3.2-1b --users 2 --prompt 64 --gen 4 --no-progress "
      "--set workload.serving.policy=interleaved --set workload.shared_prefix_tokens=32");
  EXPECT_EQ(human.exit_code_, 0);
  EXPECT_THAT(human.output_, HasSubstr("serving policy"));
  EXPECT_THAT(human.output_, HasSubstr("interleaved, whole prompts"));
  EXPECT_THAT(human.output_, HasSubstr("shared prefix hits / misses / evictions"));
  const RunResult bad =
      run_hardwire("simulate --set workload.serving.policy=fifo --no-progress", true);
  EXPECT_NE(bad.exit_code_, 0);
  EXPECT_THAT(bad.output_, HasSubstr("workload.serving.policy"));
}

TEST_F(CliSimulateServing, PowerCapThrottlesALongPrefill) {
  const auto free = json_of("simulate --prompt 4000 --gen 1 --power");
  // The windows sum the same activity through the same energy function as --power.
  ASSERT_FALSE(free["power_cap"].is_null());
  EXPECT_NEAR(free["power_cap"]["average_power_w"].get<double>(), free["power_w"].get<double>(),
              1e-6 * free["power_w"].get<double>());
  EXPECT_GT(free["power_w"].get<double>(), 1.5 * 250.0);
  const auto capped = json_of("simulate --prompt 4000 --gen 1 --set chip.power.cap_w=250W");
  const auto& c = capped["power_cap"];
  EXPECT_TRUE(c["throttled"].get<bool>());
  EXPECT_EQ(c["cap_w"], 250.0);
  EXPECT_LE(c["average_power_w"].get<double>(), 250.0 * (1 + 1e-9));
  EXPECT_GT(c["throttled_s"].get<double>(), 0.5 * capped["simulated_s"].get<double>());
  EXPECT_FALSE(capped.contains("power_w"));  // --power's keys only with --power
  const RunResult human = run_hardwire(
      "simulate --prompt 4000 --gen 1 --set chip.power.cap_w=250W --no-progress");
  EXPECT_THAT(human.output_, HasSubstr("250.0 W over 100.00 us windows (chip.power.cap_w)"));
  EXPECT_THAT(human.output_, HasSubstr("throttled"));
  // A cap at or below the card's static power cannot be met.
  const RunResult low =
      run_hardwire("simulate --prompt 16 --gen 1 --set chip.power.cap_w=10W --no-progress", true);
  EXPECT_NE(low.exit_code_, 0);
  EXPECT_THAT(low.output_, HasSubstr("not above the card's static power"));
}

}  // namespace
}  // namespace hw
