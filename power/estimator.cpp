// Closed-form steady-state decode estimate; see estimator.h for the structure and
// docs/estimator.md for the formulas. The hot path (evaluate_point and the plan_* timing
// functions) works on integers and doubles only.
#include "power/estimator.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace hw {
namespace {

// As chip/mapping.cpp: whole cycles covering x, tolerant of rounding noise.
int64_t ceil_cycles(double x) {
  if (x <= 0) return 0;
  return static_cast<int64_t>(std::ceil(x * (1.0 - 1e-12)));
}

// Mean of ceil(a*L/b) - a*L/b over consecutive integers L: with n = b / gcd(a, b) the
// remainders cycle through n equally spaced values, so the mean excess is (n - 1) / (2n).
double mean_ceil_excess(int64_t a, int64_t b) {
  if (a <= 0 || b <= 0) return 0.0;
  const int64_t n = b / std::gcd(a, b);
  return double(n - 1) / double(2 * n);
}

// Mean of ceil over real-valued slopes (DRAM bytes per cycle): half a cycle.
constexpr double kRealCeilExcess = 0.5;

struct Line {
  double slope_ = 0;
  double intercept_ = 0;
  double at(double x) const { return slope_ * x + intercept_; }
};

// Sum over integers L in [lo, hi] of max_k lines[k](L), exact for the piecewise-linear max.
double sum_of_max(const Line* lines, int n, int64_t lo, int64_t hi) {
  if (hi < lo) return 0.0;
  constexpr int kMaxBreaks = 16;
  double xs[kMaxBreaks + 2];
  int nx = 0;
  xs[nx++] = double(lo);
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      const double ds = lines[i].slope_ - lines[j].slope_;
      if (ds == 0.0) continue;
      const double x = (lines[j].intercept_ - lines[i].intercept_) / ds;
      if (x > double(lo) && x < double(hi) + 1.0 && nx < kMaxBreaks + 1) xs[nx++] = x;
    }
  }
  xs[nx++] = double(hi) + 1.0;
  std::sort(xs, xs + nx);
  double total = 0.0;
  for (int s = 0; s + 1 < nx; ++s) {
    const int64_t a = static_cast<int64_t>(std::ceil(xs[s]));
    const int64_t b = static_cast<int64_t>(std::ceil(xs[s + 1])) - 1;
    if (b < a) continue;
    const double mid = 0.5 * (double(a) + double(b));
    const Line* best = &lines[0];
    for (int k = 1; k < n; ++k) {
      if (lines[k].at(mid) > best->at(mid)) best = &lines[k];
    }
    const double count = double(b - a + 1);
    total += count * best->at(mid);
  }
  return total;
}

int64_t dram_bound_cycles(const EstimatorPlan& p, int64_t context_tokens) {
  if (p.kv_sram_) return 0;
  return ceil_cycles(double(p.kv_dram_max_layers_) * double(context_tokens + 1) *
                     double(p.kv_bytes_per_position_layer_) / p.kv_dram_bytes_per_cycle_);
}

// Value of an integer-context function at a fractional context: linear between neighbours.
template <typename F>
double at_fractional(double context, F f) {
  const double c = std::max(context, 1.0);
  const int64_t lo = static_cast<int64_t>(std::floor(c));
  const double t = c - double(lo);
  const double v_lo = double(f(lo));
  return t == 0.0 ? v_lo : (1.0 - t) * v_lo + t * double(f(lo + 1));
}

double mean_tokens(const LengthDistribution& d) {
  switch (d.kind_) {
    case LengthDist::kFixed: return double(d.tokens_);
    case LengthDist::kUniform: return 0.5 * double(d.min_tokens_ + d.max_tokens_);
    case LengthDist::kNormal:
      return std::clamp(d.mean_tokens_, double(d.min_tokens_), double(d.max_tokens_));
  }
  return double(d.tokens_);
}

EnergyBreakdown blend(const EnergyBreakdown& a, const EnergyBreakdown& b, double t) {
  auto mix = [t](double x, double y) { return (1.0 - t) * x + t * y; };
  EnergyBreakdown r;
  r.matrix_fabric_j_ = mix(a.matrix_fabric_j_, b.matrix_fabric_j_);
  r.attention_j_ = mix(a.attention_j_, b.attention_j_);
  r.kv_memory_j_ = mix(a.kv_memory_j_, b.kv_memory_j_);
  r.nonlinear_j_ = mix(a.nonlinear_j_, b.nonlinear_j_);
  r.interconnect_j_ = mix(a.interconnect_j_, b.interconnect_j_);
  r.clock_j_ = mix(a.clock_j_, b.clock_j_);
  r.clock_idle_j_ = mix(a.clock_idle_j_, b.clock_idle_j_);
  r.io_j_ = mix(a.io_j_, b.io_j_);
  r.leakage_j_ = mix(a.leakage_j_, b.leakage_j_);
  r.board_j_ = mix(a.board_j_, b.board_j_);
  return r;
}

}  // namespace

EstimatorPlan make_plan(const ChipMapping& m, const TechTable& tech) {
  return make_plan(m, tech, mapping_widths(m));
}

EstimatorPlan make_plan(const ChipMapping& m, const TechTable& tech, const DesignWidths& widths) {
  EstimatorPlan p;
  const ChipConfig& c = m.chip_;
  const AttentionConfig& a = c.attention_;
  p.clock_hz_ = c.clock_hz_;
  p.host_latency_s_ = c.host_latency_s_;
  p.n_layers_ = m.model_.n_layers_;
  p.max_positions_ = m.model_.max_positions_;

  const BlockTiming* layer_static[] = {&m.attn_norm_, &m.qkv_,      &m.qk_norm_,
                                       &m.rope_,      &m.kv_write_, &m.o_proj_,
                                       &m.ffn_norm_,  &m.ffn_gate_up_, &m.activation_,
                                       &m.ffn_down_};
  int64_t layer_latency = 0;
  int64_t layer_stage = 0;
  for (const BlockTiming* b : layer_static) {
    layer_latency += b->latency_cycles_;
    layer_stage = std::max(layer_stage, b->service_cycles_);
  }
  p.fixed_latency_cycles_ = m.embedding_.latency_cycles_ + p.n_layers_ * layer_latency +
                            m.final_norm_.latency_cycles_ + m.lm_head_.latency_cycles_ +
                            m.sampler_.latency_cycles_ +
                            (m.dies_used_ - 1) * m.link_forward_.latency_cycles_ +
                            m.link_return_.latency_cycles_;
  p.static_stage_cycles_ =
      std::max({m.embedding_.service_cycles_, layer_stage, m.final_norm_.service_cycles_,
                m.lm_head_.service_cycles_, m.sampler_.service_cycles_,
                m.link_forward_.service_cycles_, m.link_return_.service_cycles_});
  p.prefill_static_stage_cycles_ =
      std::max({m.embedding_.service_cycles_, m.link_forward_.service_cycles_, layer_stage});

  p.kv_sram_ = a.kv_memory_ == KvMemory::kSram;
  p.query_tile_ = a.query_tile_;
  p.attention_macs_per_position_ = 2 * m.model_.q_dim();
  p.attention_macs_per_cycle_ = a.macs_per_cycle_;
  p.heads_ = m.model_.n_heads_;
  p.softmax_per_cycle_ = a.softmax_elements_per_cycle_;
  p.kv_bytes_per_position_layer_ = m.kv_bytes_per_position_layer_;
  for (const auto& d : m.dies_) p.kv_dram_max_layers_ = std::max(p.kv_dram_max_layers_, d.layers_);
  if (p.kv_sram_) {
    p.kv_words_per_position_ = m.kv_words_per_position_;
    p.kv_words_per_cycle_ = a.kv_sram_.banks_ * m.kv_read_ports_;
    // The write-wave conflict and the fixed latency are the mapping's (chip/mapping.h "KV SRAM
    // rule"): read off it rather than re-derived, at a context where the sweep dominates.
    p.conflict_cycles_ = a.kv_sram_.ports_per_bank_ == 1
                             ? m.attention(1, 0, true).service_cycles_ -
                                   m.attention(1, 0, false).service_cycles_
                             : 0;
    p.kv_bytes_per_position_ = double(m.kv_words_per_position_) *
                               double(a.kv_sram_.bank_width_bytes_) * double(p.n_layers_);
    p.kv_capacity_bytes_ = double(a.kv_sram_.capacity_bytes_) * double(m.dies_used_);
  } else {
    p.kv_bytes_per_position_ =
        double(m.kv_bytes_per_position_layer_) * double(p.n_layers_);
    p.kv_capacity_bytes_ = double(a.kv_dram_.capacity_bytes_) * double(m.dies_used_);
    p.kv_dram_bytes_per_cycle_ = m.kv_dram_bytes_per_cycle_;
  }
  {
    const BlockTiming at = m.attention(1, 0, false);
    p.attention_extra_latency_cycles_ = at.latency_cycles_ - at.service_cycles_;
  }
  p.kv_positions_ = m.kv_positions_;

  const ChipFabric fabric = chip_fabric(m, tech, widths);
  const AreaBreakdown area = chip_area(m, tech, fabric);
  const EventEnergies events = event_energies(m, tech, fabric, area);
  // decode_activity is affine in the context (attention and KV terms scale with L), so two
  // contexts give the exact line.
  const double e1 = energy_j(m.decode_activity(1), events, 0.0).dynamic_j();
  const double e2 = energy_j(m.decode_activity(2), events, 0.0).dynamic_j();
  p.dynamic_j_per_context_ = e2 - e1;
  p.dynamic_j_base_ = e1 - p.dynamic_j_per_context_;
  p.static_w_ = events.static_w();
  p.die_static_w_ = events.die_static_w();
  p.vrm_efficiency_ = events.vrm_efficiency_;
  p.tdp_w_ = c.power_tdp_w_;
  p.area_mm2_ = area.total_mm2_;
  p.transistors_ = area.transistors_;
  return p;
}

int64_t plan_attention_service_cycles(const EstimatorPlan& p, int64_t L, int64_t prefix,
                                      bool write_conflict) noexcept {
  const int64_t macs = ceil_div(L * p.attention_macs_per_position_, p.attention_macs_per_cycle_);
  const int64_t softmax = ceil_div(L * p.heads_, p.softmax_per_cycle_);
  int64_t sweep = 0;
  int64_t conflict = 0;
  if (p.kv_sram_) {
    sweep = ceil_div(prefix * p.kv_words_per_position_, p.kv_words_per_cycle_) +
            ceil_div((L - prefix) * p.kv_words_per_position_, p.kv_words_per_cycle_);
    if (write_conflict) conflict = p.conflict_cycles_;
  } else {
    const double bpp = double(p.kv_bytes_per_position_layer_);
    sweep = ceil_cycles(double(prefix) * bpp / p.kv_dram_bytes_per_cycle_) +
            ceil_cycles(double(L - prefix) * bpp / p.kv_dram_bytes_per_cycle_);
  }
  return std::max({sweep, macs, softmax}) + conflict;
}

int64_t plan_token_latency_cycles(const EstimatorPlan& p, int64_t L, int64_t prefix,
                                  bool write_conflict) noexcept {
  return p.fixed_latency_cycles_ +
         p.n_layers_ * (plan_attention_service_cycles(p, L, prefix, write_conflict) +
                        p.attention_extra_latency_cycles_);
}

int64_t plan_stage_cycles(const EstimatorPlan& p, int64_t L, int64_t prefix,
                          bool write_conflict) noexcept {
  return std::max({p.static_stage_cycles_,
                   plan_attention_service_cycles(p, L, prefix, write_conflict),
                   dram_bound_cycles(p, L)});
}

double plan_prefill_cycles(const EstimatorPlan& p, int64_t prompt_tokens,
                           int64_t prefix) noexcept {
  // Stage of prompt position i (context L = i + 1) for L in [prefix + 1, prompt - 1]: the max
  // of the static stage and the attention terms (write conflict on), each attention term a
  // ceiling of a line in L replaced by the line plus its mean ceiling excess.
  Line lines[5];
  int n = 0;
  lines[n++] = {0.0, double(p.prefill_static_stage_cycles_)};
  const double conflict = double(p.conflict_cycles_);
  lines[n++] = {double(p.attention_macs_per_position_) / double(p.attention_macs_per_cycle_),
                mean_ceil_excess(p.attention_macs_per_position_, p.attention_macs_per_cycle_) +
                    (p.kv_sram_ ? conflict : 0.0)};
  lines[n++] = {double(p.heads_) / double(p.softmax_per_cycle_),
                mean_ceil_excess(p.heads_, p.softmax_per_cycle_) + (p.kv_sram_ ? conflict : 0.0)};
  // KV reads at full query tiles (ChipMapping::prefill_stage_cycles): a position's share of a
  // sweep is 1/T, as if the read rate were T times the memory's.
  const int64_t tile = std::max<int64_t>(1, p.query_tile_);
  if (p.kv_sram_) {
    const int64_t words_per_cycle = p.kv_words_per_cycle_ * tile;
    const double s = double(p.kv_words_per_position_) / double(words_per_cycle);
    const double prefix_cycles =
        double(ceil_div(prefix * p.kv_words_per_position_, words_per_cycle));
    lines[n++] = {s, prefix_cycles - s * double(prefix) +
                         mean_ceil_excess(p.kv_words_per_position_, words_per_cycle) + conflict};
  } else {
    const double s =
        double(p.kv_bytes_per_position_layer_) / (p.kv_dram_bytes_per_cycle_ * double(tile));
    lines[n++] = {s, double(ceil_cycles(double(prefix) * s)) - s * double(prefix) +
                         kRealCeilExcess};
    const double sb = double(p.kv_dram_max_layers_) * s;
    lines[n++] = {sb, sb + kRealCeilExcess};
  }
  const double stream = sum_of_max(lines, n, prefix + 1, prompt_tokens - 1);
  return stream + double(plan_token_latency_cycles(p, prompt_tokens, prefix, false));
}

EstimatePoint evaluate_point(const EstimatorPlan& p, const WorkloadPoint& w) noexcept {
  EstimatePoint r;
  const int64_t users = std::max<int64_t>(w.users_, 0);
  const int64_t prefix = std::max<int64_t>(w.shared_prefix_tokens_, 0);
  const int64_t need = std::max<int64_t>(w.max_context_tokens_, prefix + 1);
  const int64_t avail = p.kv_positions_ - prefix;

  if (need <= p.max_positions_ && avail > 0) r.max_users_at_context_ = avail / (need - prefix);
  const bool fits = r.max_users_at_context_ > 0;
  r.users_admitted_ = fits ? users : 0;
  r.users_rejected_ = users - r.users_admitted_;
  r.users_concurrent_ = std::min(users, r.max_users_at_context_);
  if (users >= 1 && avail >= users) {
    r.max_context_tokens_ = std::min(prefix + avail / users, p.max_positions_);
  }
  if (avail >= 1) r.max_context_tokens_1_user_ = std::min(prefix + avail, p.max_positions_);
  const double prompt = std::max(w.prompt_tokens_, double(prefix) + 1.0);
  const double output = std::max(w.output_tokens_, 1.0);
  r.mean_context_tokens_ = prompt + 0.5 * (output - 1.0);
  const int64_t concurrent = r.users_concurrent_;
  if (concurrent == 0) {
    r.power_w_ = p.static_w_;
    r.die_power_w_ = p.die_static_w_;
    r.unthrottled_power_w_ = p.static_w_;
    return r;
  }
  const bool conflict = concurrent > 1;
  auto latency = [&](int64_t L) { return plan_token_latency_cycles(p, L, prefix, conflict); };
  auto stage = [&](int64_t L) { return plan_stage_cycles(p, L, prefix, conflict); };
  r.token_latency_cycles_ = at_fractional(r.mean_context_tokens_, latency);
  r.stage_cycles_ = at_fractional(r.mean_context_tokens_, stage);
  const double per_user_alone = p.clock_hz_ / r.token_latency_cycles_;
  r.tokens_per_s_total_ =
      std::min(double(concurrent) * per_user_alone, p.clock_hz_ / r.stage_cycles_);
  r.tokens_per_s_per_user_ = r.tokens_per_s_total_ / double(concurrent);

  // Inter-token latency at a context: the critical path, or the user's turn in a saturated
  // pipeline (concurrent users share one stage slot per stage time).
  auto itl_s = [&](double L) {
    const double lat = at_fractional(L, latency);
    const double turn = double(concurrent) * at_fractional(L, stage);
    return std::max(lat, turn) / p.clock_hz_;
  };
  r.itl_p50_s_ = itl_s(prompt + 0.50 * (output - 1.0));
  r.itl_p99_s_ = itl_s(prompt + 0.99 * (output - 1.0));

  // Prompts arriving together stream through the pipeline entrance one after another: user k of
  // a wave starts after k earlier prompts; users beyond the concurrent ones wait whole waves
  // (a user's stay: its prefill plus output - 1 inter-token gaps). Nearest-rank percentiles over
  // the admitted users.
  const int64_t prompt_int = static_cast<int64_t>(std::llround(prompt));
  const double prefill = plan_prefill_cycles(p, prompt_int, prefix);
  const double stream = prefill - double(plan_token_latency_cycles(p, prompt_int, prefix, false));
  const double stay_s = prefill / p.clock_hz_ + (output - 1.0) / r.tokens_per_s_per_user_;
  auto ttft_s = [&](double q) {
    const int64_t k = std::max<int64_t>(
        static_cast<int64_t>(std::ceil(q * double(r.users_admitted_))) - 1, 0);
    const int64_t wave = k / concurrent;
    const int64_t slot = k % concurrent;
    return 2.0 * p.host_latency_s_ + double(wave) * stay_s +
           (double(slot) * stream + prefill) / p.clock_hz_;
  };
  r.ttft_p50_s_ = ttft_s(0.50);
  r.ttft_p99_s_ = ttft_s(0.99);

  r.kv_peak_bytes_ = double(prefix + concurrent * (need - prefix)) * p.kv_bytes_per_position_;
  r.dynamic_j_per_token_ = p.dynamic_j_base_ + p.dynamic_j_per_context_ * r.mean_context_tokens_;
  r.power_w_ = p.static_w_ + r.dynamic_j_per_token_ * r.tokens_per_s_total_ / p.vrm_efficiency_;
  r.unthrottled_power_w_ = r.power_w_;
  r.unthrottled_tokens_per_s_total_ = r.tokens_per_s_total_;
  if (p.tdp_w_ > 0 && r.power_w_ > p.tdp_w_) {
    // Throttle: the clock slows until the card fits its TDP; at a fixed supply the energy per
    // token is unchanged, so the rate scales by the dynamic headroom, and every time stretches.
    r.throttled_ = true;
    const double headroom = std::max(0.0, p.tdp_w_ - p.static_w_) * p.vrm_efficiency_;
    const double rate = r.dynamic_j_per_token_ > 0 ? headroom / r.dynamic_j_per_token_ : 0.0;
    const double slow = rate > 0 ? r.tokens_per_s_total_ / rate : 0.0;
    r.tokens_per_s_total_ = rate;
    r.tokens_per_s_per_user_ = rate / double(concurrent);
    r.itl_p50_s_ *= slow;
    r.itl_p99_s_ *= slow;
    r.ttft_p50_s_ = 2.0 * p.host_latency_s_ + (r.ttft_p50_s_ - 2.0 * p.host_latency_s_) * slow;
    r.ttft_p99_s_ = 2.0 * p.host_latency_s_ + (r.ttft_p99_s_ - 2.0 * p.host_latency_s_) * slow;
    r.power_w_ = std::max(p.static_w_, p.tdp_w_);
  }
  r.die_power_w_ = p.die_static_w_ + r.dynamic_j_per_token_ * r.tokens_per_s_total_;
  r.energy_per_token_j_ = r.tokens_per_s_total_ > 0 ? r.power_w_ / r.tokens_per_s_total_ : 0.0;
  return r;
}

WorkloadPoint workload_point(const WorkloadConfig& wl) {
  WorkloadPoint w;
  w.shared_prefix_tokens_ = wl.shared_prefix_tokens_;
  if (wl.arrival_ == ArrivalKind::kTrace && !wl.trace_.empty()) {
    const size_t rows = wl.users_ > 0 ? std::min(wl.trace_.size(), size_t(wl.users_))
                                      : wl.trace_.size();
    double prompt = 0, output = 0;
    int64_t need = 1;
    for (size_t i = 0; i < rows; ++i) {
      prompt += double(wl.trace_[i].prompt_tokens_);
      output += double(wl.trace_[i].output_tokens_);
      need = std::max(need, wl.trace_[i].prompt_tokens_ + wl.trace_[i].output_tokens_ - 1);
    }
    w.users_ = static_cast<int64_t>(rows);
    w.prompt_tokens_ = prompt / double(rows);
    w.output_tokens_ = output / double(rows);
    w.max_context_tokens_ = need;
    return w;
  }
  w.users_ = wl.users_;
  w.prompt_tokens_ = mean_tokens(wl.prompt_);
  w.output_tokens_ = mean_tokens(wl.output_);
  w.max_context_tokens_ = wl.prompt_.highest() + wl.output_.highest() - 1;
  return w;
}

namespace {

// Card power of `users` at the point's lengths, without a TDP.
double unthrottled_power(const EstimatorPlan& plan, WorkloadPoint w, int64_t users) {
  EstimatorPlan p = plan;
  p.tdp_w_ = 0;
  w.users_ = users;
  return evaluate_point(p, w).power_w_;
}

}  // namespace

Estimate estimate(const ChipMapping& m, const TechTable& tech, const DesignWidths& widths,
                  const WorkloadPoint& w) {
  Estimate e;
  e.fabric_ = chip_fabric(m, tech, widths);
  e.area_ = chip_area(m, tech, e.fabric_);
  // A die over the reticle cannot be exposed in one field: the design needs this many dies of
  // at most the limit each (reported; the power and timing figures stay those of the design as
  // described, docs/estimator.md).
  e.dies_needed_for_reticle_ =
      e.area_.fits_reticle()
          ? m.dies_used_
          : m.dies_used_ * static_cast<int64_t>(
                               std::ceil(e.area_.largest_die_mm2_ / e.area_.reticle_limit_mm2_));
  e.plan_ = make_plan(m, tech, widths);
  e.point_ = evaluate_point(e.plan_, w);
  e.events_ = event_energies(m, tech, e.fabric_, e.area_);
  e.dies_used_ = m.dies_used_;
  e.weight_bits_ = m.weight_bits_;
  e.kv_bits_ = m.kv_bits_;
  e.power_idle_w_ = e.plan_.static_w_;
  const int64_t max_users = e.point_.max_users_at_context_;
  e.power_full_load_w_ = max_users > 0 ? unthrottled_power(e.plan_, w, max_users) : e.power_idle_w_;
  if (e.plan_.tdp_w_ <= 0) {
    e.max_users_under_tdp_ = max_users;
  } else {
    // Power does not fall with users: bisect for the largest that fits.
    int64_t lo = 0, hi = max_users;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo + 1) / 2;
      if (unthrottled_power(e.plan_, w, mid) <= e.plan_.tdp_w_) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    e.max_users_under_tdp_ = lo;
  }
  const double total = e.point_.tokens_per_s_total_;
  if (total > 0) {
    const double L = std::max(e.point_.mean_context_tokens_, 1.0);
    const int64_t lo = static_cast<int64_t>(std::floor(L));
    const double t = L - double(lo);
    const double per_token_s = 1.0 / total;
    const EnergyBreakdown a = energy_j(m.decode_activity(lo), e.events_, per_token_s);
    const EnergyBreakdown b = t > 0 ? energy_j(m.decode_activity(lo + 1), e.events_, per_token_s)
                                    : a;
    e.per_token_ = blend(a, b, t);
  }
  return e;
}

Estimate estimate(const ChipMapping& m, const TechTable& tech, const WorkloadPoint& w) {
  return estimate(m, tech, mapping_widths(m), w);
}

Estimate estimate(const ModelConfig& model, const ChipConfig& chip, const TechTable& tech,
                  double weight_bits, int kv_bits, const WorkloadConfig& workload) {
  const ChipMapping m = map_model(model, chip, weight_bits, kv_bits);
  return estimate(m, tech, workload_point(workload));
}

Estimate estimate(const ModelConfig& model, const ChipConfig& chip, const TechTable& tech,
                  const NumericsProfile& numerics, const WorkloadConfig& workload) {
  const ChipMapping m =
      map_model(model, chip, numerics.mean_weight_bits(model), numerics.kv_bits());
  return estimate(m, tech, profile_widths(numerics, model), workload_point(workload));
}

nlohmann::json Estimate::to_json() const {
  const EstimatePoint& r = point_;
  const double total = r.tokens_per_s_total_;
  nlohmann::json power = per_token_.power_json(total > 0 ? 1.0 / total : 0.0);
  if (total <= 0) {
    const double die = events_.die_static_w();
    power = {{"matrix_fabric", 0.0},
             {"attention", 0.0},
             {"kv_memory", 0.0},
             {"nonlinear", 0.0},
             {"interconnect", 0.0},
             {"clock", events_.clock_spine_w_},
             {"io", events_.io_w_},
             {"leakage", events_.leakage_w_},
             {"board", die * (1.0 / events_.vrm_efficiency_ - 1.0) + events_.board_w_}};
  }
  return {
      {"tokens_per_s_per_user", r.tokens_per_s_per_user_},
      {"tokens_per_s_total", total},
      {"ttft_s", {{"p50", r.ttft_p50_s_}, {"p99", r.ttft_p99_s_}}},
      {"inter_token_latency_s", {{"p50", r.itl_p50_s_}, {"p99", r.itl_p99_s_}}},
      {"cycles_per_token", r.token_latency_cycles_},
      {"stage_cycles", r.stage_cycles_},
      {"prefill_queries_per_sweep", plan_.query_tile_},
      {"mean_context_tokens", r.mean_context_tokens_},
      {"users_requested", r.users_admitted_ + r.users_rejected_},
      {"users_admitted", r.users_admitted_},
      {"users_rejected", r.users_rejected_},
      {"peak_concurrent_users", r.users_concurrent_},
      {"max_users_at_context", r.max_users_at_context_},
      {"max_context_tokens", r.max_context_tokens_},
      {"max_context_tokens_1_user", r.max_context_tokens_1_user_},
      {"kv_memory", plan_.kv_sram_ ? "sram" : "dram"},
      {"kv_capacity_positions_per_layer", plan_.kv_positions_},
      {"kv_capacity_bytes", plan_.kv_capacity_bytes_},
      {"kv_sram_peak_bytes", plan_.kv_sram_ ? r.kv_peak_bytes_ : 0.0},
      {"kv_dram_peak_bytes", plan_.kv_sram_ ? 0.0 : r.kv_peak_bytes_},
      {"power_w", r.power_w_},
      {"die_power_w", r.die_power_w_},
      {"dynamic_power_w", r.die_power_w_ - plan_.die_static_w_},
      {"static_power_w", plan_.static_w_},
      {"power_idle_w", power_idle_w_},
      {"power_full_load_w", power_full_load_w_},
      {"tdp_w", plan_.tdp_w_},
      {"max_users_under_tdp", max_users_under_tdp_},
      {"throttled", r.throttled_},
      {"unthrottled_power_w", r.unthrottled_power_w_},
      {"unthrottled_tokens_per_s_total", r.unthrottled_tokens_per_s_total_},
      {"energy_per_token_j", r.energy_per_token_j_},
      {"area_mm2", area_.total_mm2_},
      {"die_area_mm2", area_.largest_die_mm2_},
      {"dies_used", dies_used_},
      {"area_breakdown_mm2", area_.breakdown_json()},
      {"power_breakdown_w", power},
      {"transistors", area_.transistors_},
      {"transistors_breakdown", area_.transistors_json()},
      {"flops", area_.flops_},
      {"reticle_limit_mm2", area_.reticle_limit_mm2_},
      {"over_reticle", !area_.fits_reticle()},
      {"dies_needed_for_reticle", dies_needed_for_reticle_},
      {"fabric_timing_met", fabric_.timing_met_},
      {"fabric_blocks", fabric_.blocks_json()},
      {"widths", fabric_.widths_.to_json()},
      {"weight_bits", weight_bits_},
      {"kv_bits", kv_bits_},
      {"event_energies", events_.to_json()},
  };
}

}  // namespace hw
