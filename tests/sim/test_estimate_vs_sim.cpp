// Consistency of the analytic estimator (power/estimator.h) with the SystemC model (sim/) in
// steady-state decode, over a matrix of 36 configurations: users 1..256, contexts 128..8k (4k
// for Llama 3.1 8B on hc1-like, whose KV SRAM holds 4096 positions), two chips (KV in SRAM:
// hc1-like; KV in DRAM: kv-in-dram), two models (Llama 3.1 8B, 3.2 1B). Every configuration is
// checked against the bound of its regime; the worst case of each check is printed. Also: the
// TTFT of a prefill with query tiles lies between the estimate's full-tile and untiled figures.
//
// Each configuration's regime is decided from the estimate alone, before simulating:
// - exact: the pipeline is latency-bound (the estimate's stage-slot load < 1) and no two users
//   share a DRAM channel (KV in SRAM, or one user decoding). Tokens/s per user and in total must
//   agree within 3%, power within 5%; at least 20 configurations are in this regime.
// - shared DRAM channel: KV in DRAM, several users decoding, latency-bound. The estimate has no
//   queueing at the channel, so it is the upper bound of the per-user rate. The lower bound
//   follows from how the simulator's channel works (sim/kv_sram.h): a token reserves all its
//   channel time (a KV write and a sweep per layer) when it enters, in entry order, taking the
//   first free cycles from each transfer's earliest one (work-conserving). So a token is delayed
//   only by channel time reserved before it, which belongs to the other K - 1 users' tokens in
//   flight (one each in decode): at most their channel time of one round, (K - 1) x C. The check
//   allows three times that (the bound from when a transfer needed one whole free gap and could
//   skip shorter ones): period <= P0 + 3 (K - 1) x C, with P0 the estimate's period. With the
//   estimate's own channel load rho = K x C / P0 this is rate >= estimate / (1 + 3 rho (K - 1) /
//   K). The simulated rate must lie in that bracket (each side 3% wide).
// - saturated: the estimate's stage-slot load is 1 (the pipeline or the DRAM channel is the
//   limit). The estimate's total is the pipeline's capacity, so it bounds the simulated run's
//   total from above; per user the two do not describe the same thing (the estimate shares the
//   slots equally among all admitted users, the simulator's decode-first scheduler lets the
//   users already decoding keep them and starves the waiting prompts).
// In every regime the dynamic energy per token (activity x the same per-event energies) must
// agree within 5%: the activity per token does not depend on queueing or scheduling, but for
// the prefill's KV reads where query tiles form (the simulator counts its sweeps' reads), a few
// percent of these decode-heavy runs.
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
constexpr size_t kMinExactCases = 20;
// Shared DRAM channel: a token waits at most for the others' channel time of one round; the
// check allows three times that (see the header).
constexpr double kChannelWaitFactor = 3.0;

struct Case {
  std::string model_;
  std::string chip_;
  int64_t users_;
  int64_t prompt_;
  int64_t output_;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  // (users, prompt, output): contexts 128, 256, 512, 1k, 2k, and 8k (4k where 8k does not fit);
  // 129 positions per user at the shortest, so 256 users are whole waves on every chip.
  for (const char* chip : {"hc1-like", "kv-in-dram"}) {
    for (const char* model : {"llama-3.1-8b", "llama-3.2-1b"}) {
      for (const auto& p : std::vector<std::array<int64_t, 3>>{
               {1, 4, 125}, {4, 4, 125}, {32, 4, 125}, {256, 4, 125}, {8, 8, 248},
               {16, 16, 496}, {64, 8, 1016}, {2, 64, 1984}}) {
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

// The estimate's own utilizations: pipeline stage slots and (KV in DRAM) the DRAM channel.
struct Loads {
  double pipeline_ = 0;
  double dram_channel_ = 0;
};

Loads loads_of(const Estimate& e) {
  const EstimatorPlan& p = e.plan_;
  const EstimatePoint& r = e.point_;
  Loads l;
  l.pipeline_ = r.tokens_per_s_total_ * r.stage_cycles_ / p.clock_hz_;
  if (!p.kv_sram_) {
    const double bytes = double(p.kv_dram_max_layers_) * (r.mean_context_tokens_ + 1.0) *
                         double(p.kv_bytes_per_position_layer_);
    l.dram_channel_ = r.tokens_per_s_total_ * bytes / p.kv_dram_bytes_per_cycle_ / p.clock_hz_;
  }
  return l;
}

enum class Regime { kExact, kSharedChannel, kSaturated };

const char* regime_name(Regime r) {
  switch (r) {
    case Regime::kExact:
      return "";
    case Regime::kSharedChannel:
      return "channel";
    case Regime::kSaturated:
      return "saturated";
  }
  return "";
}

// Decided from the estimate alone (see the header).
Regime regime_of(const Estimate& e, const Loads& load) {
  if (load.pipeline_ >= 1.0 - 1e-9) return Regime::kSaturated;
  if (!e.plan_.kv_sram_ && e.point_.users_concurrent_ > 1) return Regime::kSharedChannel;
  return Regime::kExact;
}

struct Worst {
  double err_ = 0;
  std::string what_;
  void note(double err, const std::string& what) {
    if (err >= err_) *this = {err, what};
  }
};

TEST(EstimateVsSim, SteadyStateDecodeAgrees) {
  const TechTable tech = load_tech("n6", {});
  Worst per_user, total, power, channel_low, energy;
  const std::vector<Case> all = cases();
  size_t exact = 0;
  for (const Case& c : all) {
    const std::string name = c.model_ + " on " + c.chip_ + ", " + std::to_string(c.users_) +
                             " users, " + std::to_string(c.prompt_) + "+" +
                             std::to_string(c.output_);
    SCOPED_TRACE(name);
    const ChipMapping m =
        map_model(load_model_config(c.model_), load_chip_config(c.chip_, {}), kWeightBits, kKvBits);
    const Estimate e = estimate(m, tech, workload_point(workload_of(c)));
    const Loads load = loads_of(e);
    const Regime regime = regime_of(e, load);

    const nlohmann::json s = simulate_in_child(c, tech);
    if (!s.is_object() || s.contains("error")) {
      ADD_FAILURE() << "simulation failed: " << (s.is_object() ? s["error"].dump() : "no result");
      continue;
    }
    const int64_t concurrent = s["peak_concurrent_users"].get<int64_t>();
    EXPECT_EQ(concurrent, e.point_.users_concurrent_);
    EXPECT_EQ(s["users_admitted"].get<int64_t>(), e.point_.users_admitted_);
    // Whole waves only (see the header).
    if (concurrent < 1 || c.users_ % concurrent != 0) {
      ADD_FAILURE() << "users must be a multiple of the " << concurrent << " decoding together";
      continue;
    }

    const double sim_user = s["tokens_per_s_per_user"].get<double>();
    const double sim_total = sim_user * double(concurrent);
    const double sim_run_total = s["tokens_per_s_total"].get<double>();
    const double sim_power = s["power"]["power_w"].get<double>();
    const double sim_dynamic_j = s["power"]["dynamic_power_w"].get<double>() *
                                 s["simulated_s"].get<double>() /
                                 s["tokens_generated"].get<double>();
    const double eu = rel(e.point_.tokens_per_s_per_user_, sim_user);
    const double et = rel(e.point_.tokens_per_s_total_, sim_total);
    const double ep = rel(e.point_.power_w_, sim_power);
    const double ee = rel(e.point_.dynamic_j_per_token_, sim_dynamic_j);
    std::printf("  %-48s %-9s per user %6.0f / %6.0f (%5.2f%%)  total %8.0f / %8.0f (%5.2f%%)  "
                "power %6.1f / %6.1f W (%5.2f%%)  dyn J/token %5.2f%%  loads %.2f %.2f  "
                "sim run total %.0f\n",
                name.c_str(), regime_name(regime), e.point_.tokens_per_s_per_user_, sim_user,
                100 * eu, e.point_.tokens_per_s_total_, sim_total, 100 * et, e.point_.power_w_,
                sim_power, 100 * ep, 100 * ee, load.pipeline_, load.dram_channel_, sim_run_total);
    EXPECT_LE(ee, kPowerTolerance) << "dynamic energy per token";
    energy.note(ee, name);
    switch (regime) {
      case Regime::kExact:
        ++exact;
        EXPECT_LE(eu, kRateTolerance) << "tokens/s per user";
        EXPECT_LE(et, kRateTolerance) << "tokens/s total";
        EXPECT_LE(ep, kPowerTolerance) << "power";
        per_user.note(eu, name);
        total.note(et, name);
        power.note(ep, name);
        break;
      case Regime::kSharedChannel: {
        const double k = double(concurrent);
        const double low =
            e.point_.tokens_per_s_per_user_ /
            (1.0 + kChannelWaitFactor * load.dram_channel_ * (k - 1.0) / k);
        EXPECT_LE(sim_user, e.point_.tokens_per_s_per_user_ * (1.0 + kRateTolerance))
            << "the estimate (no queueing) bounds the per-user rate from above";
        EXPECT_GE(sim_user, low * (1.0 - kRateTolerance))
            << "a token waits at most for the other users' channel time";
        // How far inside the bracket: 0 at the estimate, 1 at the lower bound.
        channel_low.note((e.point_.tokens_per_s_per_user_ - sim_user) /
                             (e.point_.tokens_per_s_per_user_ - low),
                         name);
        break;
      }
      case Regime::kSaturated:
        EXPECT_LE(sim_run_total, e.point_.tokens_per_s_total_ * (1.0 + kRateTolerance))
            << "the pipeline's capacity bounds the simulated throughput from above";
        break;
    }
  }
  EXPECT_GE(exact, kMinExactCases);
  std::printf("%zu of %zu configurations in the exact regime (3%% rate, 5%% power)\n", exact,
              all.size());
  std::printf("worst tokens/s per user: %.2f%% (%s)\n", 100 * per_user.err_,
              per_user.what_.c_str());
  std::printf("worst tokens/s total:    %.2f%% (%s)\n", 100 * total.err_, total.what_.c_str());
  std::printf("worst power:             %.2f%% (%s)\n", 100 * power.err_, power.what_.c_str());
  std::printf("worst dynamic J/token:   %.2f%% (%s, all regimes)\n", 100 * energy.err_,
              energy.what_.c_str());
  std::printf("shared DRAM channel: deepest into the bracket %.2f of the way to the lower bound "
              "(%s)\n",
              channel_low.err_, channel_low.what_.c_str());
}

// Prefill query tiles (kv-in-dram, T = 8): the estimate takes every prompt sweep's tile full,
// the least KV traffic the tiles allow, and with query_tile = 1 sweeps every prompt token's
// context. The simulated TTFT (token level), whose tiles hold only the queries already waiting,
// lies between the two where the prefill's KV reads load the DRAM.
TEST(EstimateVsSim, TiledPrefillLiesBetweenFullTilesAndUntiled) {
  const TechTable tech = load_tech("n6", {});
  for (const Case& c : {Case{"llama-3.1-8b", "kv-in-dram", 1, 256, 4},
                        Case{"llama-3.1-8b", "kv-in-dram", 1, 1024, 4},
                        Case{"llama-3.1-8b", "kv-in-dram", 4, 256, 4}}) {
    SCOPED_TRACE(c.model_ + " on " + c.chip_ + ", " + std::to_string(c.users_) + " x " +
                 std::to_string(c.prompt_));
    const ModelConfig model = load_model_config(c.model_);
    const WorkloadPoint w = workload_point(workload_of(c));
    const auto ttft_p50_s = [&](const std::vector<std::string>& sets) {
      const ChipMapping m = map_model(model, load_chip_config(c.chip_, sets), kWeightBits, kKvBits);
      const Estimate e = estimate(m, tech, w);
      EXPECT_EQ(e.to_json()["prefill_queries_per_sweep"].get<int64_t>(),
                sets.empty() ? 8 : 1);
      return e.point_.ttft_p50_s_;
    };
    const double full = ttft_p50_s({});
    const double untiled = ttft_p50_s({"chip.attention.query_tile=1"});
    const nlohmann::json s = simulate_in_child(c, tech);
    ASSERT_TRUE(s.is_object() && !s.contains("error")) << s.dump();
    const double simulated = s["ttft_s"]["p50"].get<double>();
    EXPECT_LT(full, simulated);
    EXPECT_GT(untiled, simulated);
    // Full tiles cut the DRAM-bound prefill by more than half here (T = 8).
    EXPECT_LT(full, 0.5 * untiled);
  }
}

}  // namespace
}  // namespace hw
