// The analytic estimator: steady-state decode throughput, latency, power, energy per token,
// area and KV capacity of a model on a chip in a technology, in closed form.
//
// Two layers. make_plan() does the expensive part once per design (the chip mapping, area,
// per-event energies) and flattens it into EstimatorPlan, a plain struct of numbers;
// evaluate_point() is pure arithmetic on a plan and a workload point (no allocation, no strings,
// no exceptions), fast enough for sweeps of millions of points (bench/bench_estimator.cpp).
// The timing rules are chip/mapping.h's, evaluated in closed form: the plan keeps the blocks
// whose service time does not depend on the context as constants and re-evaluates only the
// attention block, so tests/power/test_estimator.cpp checks the plan against ChipMapping.
// estimate() wraps both and adds the per-block area and power splits for reports.
#pragma once
#include <cstdint>

#include <nlohmann/json.hpp>

#include "chip/chip_config.h"
#include "chip/mapping.h"
#include "chip/workload.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "power/area.h"
#include "power/cell_model.h"
#include "power/energy.h"
#include "power/tech_table.h"

namespace hw {

// One steady-state workload point: every user active at once with these mean lengths.
struct WorkloadPoint {
  int64_t users_ = 1;
  double prompt_tokens_ = 1;   // mean total prompt (shared prefix included)
  double output_tokens_ = 1;   // mean generated tokens
  int64_t max_context_tokens_ = 1;  // positions one user must be able to hold (admission)
  int64_t shared_prefix_tokens_ = 0;
};

// The design flattened to numbers. Cycle counts are the mapping's; energies in joules.
struct EstimatorPlan {
  double clock_hz_ = 0;
  double host_latency_s_ = 0;
  int64_t n_layers_ = 0;
  int64_t max_positions_ = 0;

  // Latency of one decode token excluding the attention blocks (sum of every other T).
  int64_t fixed_latency_cycles_ = 0;
  // Largest service time among the blocks other than attention (decode: every block and link;
  // prefill: embedding, forward link and the layer blocks).
  int64_t static_stage_cycles_ = 0;
  int64_t prefill_static_stage_cycles_ = 0;

  // Attention block (chip/mapping.h "KV SRAM rule" / "KV DRAM rule").
  bool kv_sram_ = true;
  int64_t attention_macs_per_position_ = 0;  // 2q
  int64_t attention_macs_per_cycle_ = 1;
  int64_t heads_ = 1;
  int64_t softmax_per_cycle_ = 1;
  int64_t kv_words_per_position_ = 0;        // Wp
  int64_t kv_words_per_cycle_ = 1;           // B * Pr
  int64_t query_tile_ = 1;                   // prefill queries per KV sweep (taken full)
  int64_t conflict_cycles_ = 0;              // added when a write conflict applies
  int64_t attention_extra_latency_cycles_ = 0;  // access latency + pipeline depth
  int64_t kv_bytes_per_position_layer_ = 0;  // 2R
  double kv_dram_bytes_per_cycle_ = 0;
  int64_t kv_dram_max_layers_ = 0;

  // Capacity.
  int64_t kv_positions_ = 0;              // per engine, binding die
  double kv_bytes_per_position_ = 0;      // all layers (SRAM: whole bank words)
  double kv_capacity_bytes_ = 0;          // declared KV memory over every die used

  // Energy: dynamic die joules per decode token = base + per_context * L (exactly affine in
  // L); card power = static_w_ (card, no tokens) + dynamic die power / vrm_efficiency_.
  double dynamic_j_base_ = 0;
  double dynamic_j_per_context_ = 0;
  double static_w_ = 0;
  double die_static_w_ = 0;
  double vrm_efficiency_ = 1;
  // Card TDP (chip.power.tdp, 0 = none): above it the token rate is throttled to fit.
  double tdp_w_ = 0;

  double area_mm2_ = 0;
  double transistors_ = 0;
};

// User counts follow the simulator's scheduler (sim/scheduler.h): a user whose context can
// never fit the KV memory (or exceeds the model's trained context) is rejected, the others are
// admitted, at most max_users_at_context_ at a time; the rest wait for KV to free.
struct EstimatePoint {
  int64_t users_admitted_ = 0;       // eventually (all users that can fit)
  int64_t users_rejected_ = 0;
  int64_t users_concurrent_ = 0;     // decoding together in steady state
  int64_t max_users_at_context_ = 0; // KV capacity in users at the point's max context
  int64_t max_context_tokens_ = 0;   // per user with the requested users (0: does not fit)
  int64_t max_context_tokens_1_user_ = 0;
  double mean_context_tokens_ = 0;
  double token_latency_cycles_ = 0;  // critical path of one decode token at the mean context
  double stage_cycles_ = 0;          // pipeline stage time at the mean context
  double tokens_per_s_per_user_ = 0;
  double tokens_per_s_total_ = 0;
  double ttft_p50_s_ = 0;
  double ttft_p99_s_ = 0;
  double itl_p50_s_ = 0;
  double itl_p99_s_ = 0;
  double kv_peak_bytes_ = 0;          // KV SRAM (or DRAM) holding the concurrent users
  double dynamic_j_per_token_ = 0;  // die, per token
  double power_w_ = 0;              // card, after throttling
  double die_power_w_ = 0;          // die, after throttling
  double energy_per_token_j_ = 0;   // card
  // TDP: when the requested load would exceed it, the rate (and power) are cut to fit it; the
  // unthrottled figures stay here.
  bool throttled_ = false;
  double unthrottled_power_w_ = 0;
  double unthrottled_tokens_per_s_total_ = 0;
};

// The mapping-derived plan; `tech` supplies energies and area; `widths` the per-tensor widths the
// fabric is built for (without it: the mapping's mean weight bits, the chip's activation width).
EstimatorPlan make_plan(const ChipMapping& mapping, const TechTable& tech,
                        const DesignWidths& widths);
EstimatorPlan make_plan(const ChipMapping& mapping, const TechTable& tech);

// Closed-form steady-state decode at one workload point: the users that fit the KV memory at
// the point's max context decode together; with none, rates are 0 and power is static only.
EstimatePoint evaluate_point(const EstimatorPlan& plan, const WorkloadPoint& point) noexcept;

// Attention service cycles at context L (prefix p, write conflict c), as ChipMapping::attention.
int64_t plan_attention_service_cycles(const EstimatorPlan& plan, int64_t context_tokens,
                                      int64_t shared_prefix_tokens, bool write_conflict) noexcept;
int64_t plan_token_latency_cycles(const EstimatorPlan& plan, int64_t context_tokens,
                                  int64_t shared_prefix_tokens, bool write_conflict) noexcept;
int64_t plan_stage_cycles(const EstimatorPlan& plan, int64_t context_tokens,
                          int64_t shared_prefix_tokens, bool write_conflict) noexcept;
// Prefill of one prompt (as ChipMapping::prefill_cycles, with the per-position ceilings of the
// attention terms replaced by their mean: within a cycle per position of the exact sum).
double plan_prefill_cycles(const EstimatorPlan& plan, int64_t prompt_tokens,
                           int64_t shared_prefix_tokens) noexcept;

// The steady-state workload point of a workload config (means of its length distributions;
// admission at the longest prompt + output).
WorkloadPoint workload_point(const WorkloadConfig& workload);

struct Estimate {
  EstimatePoint point_;
  EstimatorPlan plan_;
  ChipFabric fabric_;
  AreaBreakdown area_;
  EventEnergies events_;
  // Load: card power with no token moving, at the largest load the KV memory admits at the
  // point's lengths (unthrottled), and the most users at those lengths whose power fits the TDP
  // (the KV limit when there is no TDP; 0 when not even one fits).
  double power_idle_w_ = 0;
  double power_full_load_w_ = 0;
  int64_t max_users_under_tdp_ = 0;
  // Dies the design needs so that none exceeds the reticle limit (dies_used_ when it fits).
  int64_t dies_needed_for_reticle_ = 0;
  EnergyBreakdown per_token_;   // one decode token at the mean context, static share included
  int64_t dies_used_ = 0;
  double weight_bits_ = 0;
  int kv_bits_ = 0;

  // Metric keys shared with `hardwire simulate` plus power_w, energy_per_token_j, area_mm2,
  // area_breakdown_mm2, power_breakdown_w, transistors.
  nlohmann::json to_json() const;
};

Estimate estimate(const ModelConfig& model, const ChipConfig& chip, const TechTable& tech,
                  double weight_bits, int kv_bits, const WorkloadConfig& workload);
// With a numerics profile: its per-tensor widths, activation width and scale storage.
Estimate estimate(const ModelConfig& model, const ChipConfig& chip, const TechTable& tech,
                  const NumericsProfile& numerics, const WorkloadConfig& workload);
// The same from an existing mapping and point.
Estimate estimate(const ChipMapping& mapping, const TechTable& tech, const WorkloadPoint& point);
Estimate estimate(const ChipMapping& mapping, const TechTable& tech, const DesignWidths& widths,
                  const WorkloadPoint& point);

}  // namespace hw
