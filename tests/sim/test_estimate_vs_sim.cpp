// Consistency of the analytic estimator (power/estimator.h) with the SystemC model (sim/) in
// steady-state decode, over a matrix of 28 configurations: users 1..256, contexts 128..8k (4k for Llama 3.1 8B on hc1-like,
// whose KV SRAM holds 4096 positions), two
// chips (KV in SRAM: hc1-like; KV in DRAM: kv-in-dram), two models (Llama 3.1 8B, 3.2 1B).
// Tokens/s per user and in total must agree within 3%, power within 5%; the worst case of each
// is printed.
//
// Steady-state decode: prompts are short next to the outputs (prompt <= 1/32 of the context),
// so prefill is a few percent of a run, and the user count is a multiple of the users the KV
// memory holds at once (no half-empty last wave). The simulator's total in steady state is its
// per-user decode rate times the users decoding together (peak_concurrent_users); its power is
// the run's activity through the same energy_j() (activity_power_json) over the run's time.
//
// SystemC elaborates once per process, so every configuration is simulated in a forked child
// that sends its result back as JSON through a pipe.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chip/chip_config.h"
#include "chip/mapping.h"
#include "chip/workload.h"
#include "model/model_config.h"
#include "power/energy.h"
#include "power/estimator.h"
#include "power/tech_table.h"
#include "sim/simulate.h"

namespace hw {
namespace {

constexpr double kWeightBits = 3.89;  // hc1-mix on Llama 3.1 8B (configs/numerics/hc1-mix.yaml)
constexpr int kKvBits = 8;
constexpr double kRateTolerance = 0.03;
constexpr double kPowerTolerance = 0.05;

struct Case {
  std::string model_;
  std::string chip_;
  int64_t users_;
  int64_t prompt_;
  int64_t output_;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  // (users, prompt, output): contexts 128, 512, 2k, and 8k (4k where 8k does not fit).
  for (const char* chip : {"hc1-like", "kv-in-dram"}) {
    for (const char* model : {"llama-3.1-8b", "llama-3.2-1b"}) {
      for (const auto& p : std::vector<std::array<int64_t, 3>>{
               {1, 4, 124}, {4, 4, 124}, {32, 4, 124}, {256, 4, 124}, {16, 16, 496},
               {2, 64, 1984}}) {
        out.push_back({model, chip, p[0], p[1], p[2]});
      }
      // hc1-like holds 4096 positions of Llama 3.1 8B: its longest point is 4k of context.
      const bool small_kv = std::string(chip) == "hc1-like" && std::string(model) == "llama-3.1-8b";
      out.push_back({model, chip, 1, small_kv ? 128 : 256, small_kv ? 3968 : 7936});
    }
  }
  return out;
}

WorkloadConfig workload_of(const Case& c) {
  return load_workload("", {"workload.users=" + std::to_string(c.users_),
                            "workload.prompt.tokens=" + std::to_string(c.prompt_),
                            "workload.output.tokens=" + std::to_string(c.output_)});
}

// Runs the simulation in a child process; returns its result JSON (null on failure).
nlohmann::json simulate_in_child(const Case& c, const TechTable& tech) {
  int fds[2];
  if (::pipe(fds) != 0) return nullptr;
  const pid_t pid = ::fork();
  if (pid < 0) return nullptr;
  if (pid == 0) {
    ::close(fds[0]);
    std::string text;
    try {
      const ModelConfig model = load_model_config(c.model_);
      const ChipConfig chip = load_chip_config(c.chip_, {});
      sim::SimOptions o;
      o.weight_bits_ = kWeightBits;
      o.kv_bits_ = kKvBits;
      const sim::SimResult r = sim::run_simulation(model, chip, workload_of(c), o);
      nlohmann::json j = r.to_json();
      const ChipMapping m = map_model(model, chip, kWeightBits, kKvBits);
      j["power"] = activity_power_json(m, tech, r.activity_, r.simulated_s_,
                                       double(r.tokens_generated_));
      text = j.dump();
    } catch (const std::exception& e) {
      text = nlohmann::json({{"error", e.what()}}).dump();
    }
    size_t off = 0;
    while (off < text.size()) {
      const ssize_t n = ::write(fds[1], text.data() + off, text.size() - off);
      if (n <= 0) break;
      off += size_t(n);
    }
    ::close(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[65536];
  ssize_t n = 0;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) text.append(buf, size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (text.empty()) return nullptr;
  return nlohmann::json::parse(text, nullptr, false);
}

double rel(double estimate, double simulated) {
  return simulated != 0 ? std::fabs(estimate - simulated) / std::fabs(simulated) : 1.0;
}

TEST(EstimateVsSim, SteadyStateDecodeAgrees) {
  const TechTable tech = load_tech("n6", {});
  struct Worst {
    double err_ = 0;
    std::string what_;
  } per_user, total, power;
  const std::vector<Case> all = cases();
  ASSERT_GE(all.size(), 20u);
  for (const Case& c : all) {
    const std::string name = c.model_ + " on " + c.chip_ + ", " + std::to_string(c.users_) +
                             " users, " + std::to_string(c.prompt_) + "+" +
                             std::to_string(c.output_);
    SCOPED_TRACE(name);
    const ChipMapping m =
        map_model(load_model_config(c.model_), load_chip_config(c.chip_, {}), kWeightBits, kKvBits);
    const Estimate e = estimate(m, tech, workload_point(workload_of(c)));
    const nlohmann::json s = simulate_in_child(c, tech);
    ASSERT_TRUE(s.is_object()) << "simulation produced no result";
    ASSERT_FALSE(s.contains("error")) << s["error"];
    const int64_t concurrent = s["peak_concurrent_users"].get<int64_t>();
    ASSERT_EQ(concurrent, e.point_.users_concurrent_);
    ASSERT_EQ(s["users_admitted"].get<int64_t>(), e.point_.users_admitted_);
    // Whole waves only (see the header).
    ASSERT_EQ(c.users_ % concurrent, 0) << "users must be a multiple of " << concurrent;

    const double sim_user = s["tokens_per_s_per_user"].get<double>();
    const double sim_total = sim_user * double(concurrent);
    const double sim_power = s["power"]["power_w"].get<double>();
    const double eu = rel(e.point_.tokens_per_s_per_user_, sim_user);
    const double et = rel(e.point_.tokens_per_s_total_, sim_total);
    const double ep = rel(e.point_.power_w_, sim_power);
    std::printf("  %-52s per user %9.0f / %9.0f (%5.2f%%)  total %10.0f / %10.0f (%5.2f%%)  "
                "power %7.2f / %7.2f W (%5.2f%%)  [sim run total %.0f]\n",
                name.c_str(), e.point_.tokens_per_s_per_user_, sim_user, 100 * eu,
                e.point_.tokens_per_s_total_, sim_total, 100 * et, e.point_.power_w_, sim_power,
                100 * ep, s["tokens_per_s_total"].get<double>());
    EXPECT_LE(eu, kRateTolerance) << "tokens/s per user";
    EXPECT_LE(et, kRateTolerance) << "tokens/s total";
    EXPECT_LE(ep, kPowerTolerance) << "power";
    if (eu > per_user.err_) per_user = {eu, name};
    if (et > total.err_) total = {et, name};
    if (ep > power.err_) power = {ep, name};
  }
  std::printf("worst tokens/s per user: %.2f%% (%s)\n", 100 * per_user.err_,
              per_user.what_.c_str());
  std::printf("worst tokens/s total:    %.2f%% (%s)\n", 100 * total.err_, total.what_.c_str());
  std::printf("worst power:             %.2f%% (%s)\n", 100 * power.err_, power.what_.c_str());
}

}  // namespace
}  // namespace hw
