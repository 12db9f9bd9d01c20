// Tests of the closed-form estimator against the mapping it flattens: the plan's latency, stage
// time and attention cycles equal ChipMapping's for every shipped chip over contexts, prefixes
// and conflicts; prefill agrees within a cycle per position; the per-token energy is exactly
// affine in the context; throughput, admission and power follow the documented formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "chip/chip_config.h"
#include "chip/mapping.h"
#include "chip/workload.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "power/estimator.h"
#include "power/tech_table.h"

namespace hw {
namespace {

struct Design {
  std::string model_;
  std::string chip_;
  std::vector<std::string> sets_;
};

std::vector<Design> designs() {
  return {
      {"llama-3.1-8b", "hc1-like", {}},
      {"llama-3.1-8b", "hc1-like", {"chip.attention.kv_sram.ports_per_bank=1"}},
      {"llama-3.1-8b", "hc1-like", {"chip.attention.macs_per_cycle=3000",
                                    "chip.attention.softmax_elements_per_cycle=7"}},
      {"qwen3-8b", "hc1-like", {"chip.rom.capacity=40 Gbit"}},
      {"llama-3.1-8b", "kv-in-dram", {}},
      {"llama-3.1-70b", "multi-die-70b", {}},
  };
}

TEST(Estimator, PlanTimingEqualsMapping) {
  const TechTable t = load_tech("n6", {});
  for (const Design& d : designs()) {
    const ChipMapping m = map_model(load_model_config(d.model_),
                                    load_chip_config(d.chip_, d.sets_), 3.5, 8);
    const EstimatorPlan p = make_plan(m, t);
    for (int64_t L : {1, 2, 3, 17, 128, 1000, 1024, 1537, 4095}) {
      for (int64_t prefix : {int64_t{0}, L / 2, L - 1}) {
        for (bool conflict : {false, true}) {
          SCOPED_TRACE(d.model_ + " on " + d.chip_ + " L=" + std::to_string(L) +
                       " p=" + std::to_string(prefix) + (conflict ? " conflict" : ""));
          EXPECT_EQ(plan_attention_service_cycles(p, L, prefix, conflict),
                    m.attention(L, prefix, conflict).service_cycles_);
          EXPECT_EQ(plan_token_latency_cycles(p, L, prefix, conflict),
                    m.token_latency_cycles(L, prefix, conflict));
          EXPECT_EQ(plan_stage_cycles(p, L, prefix, conflict),
                    m.stage_service_cycles(L, prefix, conflict));
        }
      }
    }
  }
}

TEST(Estimator, PrefillWithinACyclePerPosition) {
  const TechTable t = load_tech("n6", {});
  for (const Design& d : designs()) {
    const ChipMapping m = map_model(load_model_config(d.model_),
                                    load_chip_config(d.chip_, d.sets_), 3.5, 8);
    const EstimatorPlan p = make_plan(m, t);
    for (int64_t P : {1, 2, 50, 1024, 3000}) {
      for (int64_t prefix : {int64_t{0}, P / 3}) {
        if (prefix >= P) continue;
        const double exact = double(m.prefill_cycles(P, prefix));
        const double fast = plan_prefill_cycles(p, P, prefix);
        EXPECT_NEAR(fast, exact, double(P - prefix))
            << d.model_ << " on " << d.chip_ << " P=" << P << " p=" << prefix;
      }
    }
  }
}

TEST(Estimator, EnergyIsAffineInContext) {
  const TechTable t = load_tech("n6", {});
  const ChipMapping m = map_model(load_model_config("llama-3.1-8b"),
                                  load_chip_config("hc1-like", {}), 3.89, 8);
  const EstimatorPlan p = make_plan(m, t);
  const EventEnergies e = event_energies(m, t, chip_area(m, t));
  for (int64_t L : {5, 1000, 4096}) {
    const double exact = energy_j(m.decode_activity(L), e, 0).dynamic_j();
    EXPECT_NEAR(p.dynamic_j_base_ + p.dynamic_j_per_context_ * double(L), exact, 1e-9 * exact);
  }
  EXPECT_GT(p.dynamic_j_per_context_, 0.0);
}

TEST(Estimator, ThroughputAdmissionAndPower) {
  const TechTable t = load_tech("n6", {});
  const ChipMapping m = map_model(load_model_config("llama-3.1-8b"),
                                  load_chip_config("hc1-like", {}), 3.89, 8);
  const EstimatorPlan p = make_plan(m, t);
  for (int64_t users : {1, 2, 3, 64}) {
    WorkloadPoint w;
    w.users_ = users;
    w.prompt_tokens_ = 1024;
    w.output_tokens_ = 1024;
    w.max_context_tokens_ = 2047;
    const EstimatePoint r = evaluate_point(p, w);
    const int64_t fit = m.max_users(2047);
    ASSERT_GE(fit, 1);
    SCOPED_TRACE("users " + std::to_string(users));
    // As the simulator's scheduler: everyone who can ever fit is admitted, `fit` at a time.
    EXPECT_EQ(r.users_admitted_, users);
    EXPECT_EQ(r.users_rejected_, 0);
    EXPECT_EQ(r.max_users_at_context_, fit);
    EXPECT_EQ(r.users_concurrent_, std::min(users, fit));
    EXPECT_EQ(r.max_context_tokens_, m.max_context_tokens(users));
    EXPECT_EQ(r.max_context_tokens_1_user_, m.max_context_tokens(1));
    // Mean decode context 1024 + 1023 / 2 = 1535.5: half way between the 1535 and 1536 rates.
    EXPECT_DOUBLE_EQ(r.mean_context_tokens_, 1535.5);
    const double lat = 0.5 * (m.token_latency_s(1535, 0, r.users_concurrent_ > 1) +
                              m.token_latency_s(1536, 0, r.users_concurrent_ > 1));
    const double stage =
        0.5 * double(m.stage_service_cycles(1535, 0, r.users_concurrent_ > 1) +
                     m.stage_service_cycles(1536, 0, r.users_concurrent_ > 1)) /
        m.chip_.clock_hz_;
    const double total = std::min(double(r.users_concurrent_) / lat, 1.0 / stage);
    EXPECT_NEAR(r.tokens_per_s_total_, total, 1e-9 * total);
    EXPECT_NEAR(r.tokens_per_s_per_user_, total / double(r.users_concurrent_), 1e-6);
    // Single user: the mapping's own decode rate over contexts 1024..2047 (the latency is
    // affine in the context up to per-block ceilings: within 0.1%).
    if (users == 1) {
      EXPECT_NEAR(r.tokens_per_s_per_user_, m.decode_tokens_per_s(1024, 1024),
                  1e-3 * r.tokens_per_s_per_user_);
    }
    const double dyn = p.dynamic_j_base_ + p.dynamic_j_per_context_ * 1535.5;
    EXPECT_NEAR(r.power_w_, dyn * total / p.vrm_efficiency_ + p.static_w_, 1e-9 * r.power_w_);
    EXPECT_NEAR(r.die_power_w_, dyn * total + p.die_static_w_, 1e-9 * r.die_power_w_);
    EXPECT_FALSE(r.throttled_);
    EXPECT_NEAR(r.energy_per_token_j_, r.power_w_ / total, 1e-15);
    EXPECT_NEAR(r.kv_peak_bytes_,
                double(r.users_concurrent_) * 2047 * double(m.kv_words_per_position_) * 64 * 32,
                1.0);
    EXPECT_GE(r.ttft_p99_s_, r.ttft_p50_s_);
    EXPECT_GE(r.itl_p99_s_, r.itl_p50_s_);
  }
  // Nobody can ever fit: all rejected, static power only, no throughput.
  WorkloadPoint huge;
  huge.users_ = 4;
  huge.prompt_tokens_ = 100000;
  huge.output_tokens_ = 1;
  huge.max_context_tokens_ = 100000;
  const EstimatePoint none = evaluate_point(p, huge);
  EXPECT_EQ(none.users_admitted_, 0);
  EXPECT_EQ(none.users_rejected_, 4);
  EXPECT_DOUBLE_EQ(none.tokens_per_s_total_, 0.0);
  EXPECT_DOUBLE_EQ(none.power_w_, p.static_w_);
}

TEST(Estimator, TdpThrottlesAndBoundsTheUsers) {
  // 32 users of 64/64 on hc1-like fill the pipeline: unthrottled that draws far more than a
  // 200 W card; with chip.power.tdp_w = 200 W the rate is cut until the card fits.
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const NumericsProfile mix = load_numerics_profile("hc1-mix", {});
  const std::vector<std::string> load = {"workload.users=32", "workload.prompt.tokens=64",
                                         "workload.output.tokens=64"};
  const Estimate free = estimate(model, load_chip_config("hc1-like", {}), load_tech("n6", {}),
                                 mix, load_workload("chat-1k-1k", load));
  std::vector<std::string> capped = load;
  capped.push_back("chip.power.tdp_w=200 W");
  const Estimate tdp = estimate(model, load_chip_config("hc1-like", capped), load_tech("n6", {}),
                                mix, load_workload("chat-1k-1k", capped));
  ASSERT_GT(free.point_.power_w_, 200.0);
  EXPECT_FALSE(free.point_.throttled_);
  EXPECT_TRUE(tdp.point_.throttled_);
  EXPECT_NEAR(tdp.point_.power_w_, 200.0, 1e-9);
  EXPECT_NEAR(tdp.point_.unthrottled_power_w_, free.point_.power_w_, 1e-9);
  EXPECT_NEAR(tdp.point_.unthrottled_tokens_per_s_total_, free.point_.tokens_per_s_total_, 1e-6);
  // Energy per token is unchanged by a clock throttle at fixed supply: the rate is the dynamic
  // headroom over the dynamic energy per token.
  const double headroom = (200.0 - tdp.plan_.static_w_) * tdp.plan_.vrm_efficiency_;
  EXPECT_NEAR(tdp.point_.tokens_per_s_total_, headroom / tdp.point_.dynamic_j_per_token_,
              1e-6 * tdp.point_.tokens_per_s_total_);
  EXPECT_LT(tdp.point_.tokens_per_s_total_, free.point_.tokens_per_s_total_);
  EXPECT_GT(tdp.point_.itl_p50_s_, free.point_.itl_p50_s_);
  // Idle and full load do not depend on the TDP; the largest user count that fits is the
  // largest whose unthrottled power stays under it.
  EXPECT_DOUBLE_EQ(tdp.power_idle_w_, free.power_idle_w_);
  EXPECT_DOUBLE_EQ(tdp.power_full_load_w_, free.power_full_load_w_);
  EXPECT_LT(free.power_idle_w_, free.point_.power_w_);
  const int64_t n = tdp.max_users_under_tdp_;
  ASSERT_GT(n, 0);
  ASSERT_LT(n, 32);
  auto power_at = [&](int64_t users) {
    std::vector<std::string> sets = capped;
    sets.push_back("workload.users=" + std::to_string(users));
    return estimate(model, load_chip_config("hc1-like", sets), load_tech("n6", {}), mix,
                    load_workload("chat-1k-1k", sets))
        .point_.unthrottled_power_w_;
  };
  EXPECT_LE(power_at(n), 200.0);
  EXPECT_GT(power_at(n + 1), 200.0);
  EXPECT_EQ(free.max_users_under_tdp_, free.point_.max_users_at_context_);
  const auto j = tdp.to_json();
  for (const char* k : {"power_idle_w", "power_full_load_w", "max_users_under_tdp", "throttled",
                        "tdp_w", "die_power_w", "unthrottled_tokens_per_s_total"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_TRUE(j["throttled"].get<bool>());
}

TEST(Estimator, PowerRisesWithLoad) {
  // Load-dependent power: more users decoding, more tokens per second, more power; idle is the
  // floor (before: the clock dominated and power hardly moved).
  const ModelConfig model = load_model_config("llama-3.1-8b");
  const NumericsProfile mix = load_numerics_profile("hc1-mix", {});
  double previous = 0;
  for (int users : {1, 4, 16, 32}) {
    const std::vector<std::string> sets = {"workload.users=" + std::to_string(users),
                                           "workload.prompt.tokens=64",
                                           "workload.output.tokens=64"};
    const Estimate e = estimate(model, load_chip_config("hc1-like", {}), load_tech("n6", {}), mix,
                                load_workload("chat-1k-1k", sets));
    EXPECT_GT(e.point_.power_w_, previous) << users;
    EXPECT_GT(e.point_.power_w_, e.power_idle_w_);
    previous = e.point_.power_w_;
  }
}

TEST(Estimator, WorkloadPointFromScenario) {
  const WorkloadConfig wl = load_workload("chat-1k-1k", {});
  const WorkloadPoint w = workload_point(wl);
  EXPECT_EQ(w.users_, wl.users_);
  EXPECT_DOUBLE_EQ(w.prompt_tokens_, 1024);
  EXPECT_DOUBLE_EQ(w.output_tokens_, 1024);
  EXPECT_EQ(w.max_context_tokens_, 2047);
  const WorkloadConfig uni = load_workload(
      "", {"workload.prompt.dist=uniform", "workload.prompt.min=100", "workload.prompt.max=300"});
  const WorkloadPoint wu = workload_point(uni);
  EXPECT_DOUBLE_EQ(wu.prompt_tokens_, 200);
  EXPECT_EQ(wu.max_context_tokens_, 300 + uni.output_.highest() - 1);
}

TEST(Estimator, JsonHasTheSharedMetricKeys) {
  const Estimate e =
      estimate(load_model_config("llama-3.1-8b"), load_chip_config("hc1-like", {}),
               load_tech("n6", {}), 3.89, 8, load_workload("chat-1k-1k", {}));
  const nlohmann::json j = e.to_json();
  for (const char* k :
       {"tokens_per_s_per_user", "tokens_per_s_total", "ttft_s", "inter_token_latency_s",
        "cycles_per_token", "users_admitted", "users_rejected", "max_context_tokens",
        "kv_sram_peak_bytes", "power_w", "energy_per_token_j", "area_mm2", "area_breakdown_mm2",
        "power_breakdown_w", "transistors"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_TRUE(j["ttft_s"].contains("p50"));
  EXPECT_TRUE(j["inter_token_latency_s"].contains("p99"));
  double parts = 0;
  for (const auto& [k, v] : j["power_breakdown_w"].items()) parts += v.get<double>();
  EXPECT_NEAR(parts, j["power_w"].get<double>(), 1e-6 * parts);
  double area = 0;
  for (const auto& [k, v] : j["area_breakdown_mm2"].items()) area += v.get<double>();
  EXPECT_NEAR(area, j["area_mm2"].get<double>(), 1e-9 * area);
  // The fabric's timing per block: busy cycles (the slowest width's uses x cycles per
  // product) within the fold when the block's timing is met (hc1-like's trees sized from the
  // timing on n6: every width's U x P is the fold).
  const ChipMapping m = map_model(load_model_config("llama-3.1-8b"),
                                  load_chip_config("hc1-like", {}), 3.89, 8);
  ASSERT_EQ(j["fabric_blocks"].size(), 5u);
  for (const nlohmann::json& f : j["fabric_blocks"]) {
    const std::string b = f["block"].get<std::string>();
    EXPECT_EQ(f["product_bits_per_cycle"].get<int>(), 1) << b;
    EXPECT_TRUE(f["timing_met"].get<bool>()) << b;
    if (b == "qkv" || b == "ffn_down") {
      const int64_t fold = b == "qkv" ? m.chip_.qkv_.fold_cycles_ : m.chip_.ffn_down_.fold_cycles_;
      EXPECT_NEAR(f["busy_cycles_per_token"].get<double>(), double(fold), 1e-6) << b;
    }
  }
}

}  // namespace
}  // namespace hw
