// run_simulation(): mapping, elaboration, the kernel run and the results (see simulate.h).
#include "sim/simulate.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>

#include <systemc>

#include "common/error.h"
#include "sim/chip_top.h"
#include "sim/cycle_chip.h"

// libsystemc.so's own main() calls sc_main(), so the symbol must exist to link. hardwire has its
// own main() and starts the kernel from run_simulation(); this one only runs if something calls
// the library's main, and says so.
int sc_main(int, char**) {
  std::cerr << "hardwire: the SystemC model is started by hw::sim::run_simulation(), not sc_main\n";
  return 1;
}

namespace hw::sim {
namespace {

bool g_elaborated = false;

// SystemC's default report handler prints infos and warnings on stdout, where they would mix
// with the results (and break `--json`). This one keeps SystemC's actions (stop, abort, throw)
// but writes every message to stderr.
void report_to_stderr(const sc_core::sc_report& report, const sc_core::sc_actions& actions) {
  if (actions & (sc_core::SC_DISPLAY | sc_core::SC_LOG)) {
    std::cerr << sc_core::sc_report_compose_message(report) << "\n";
  }
  sc_core::sc_report_handler::default_handler(report,
                                              actions & ~(sc_core::SC_DISPLAY | sc_core::SC_LOG));
}

// Seconds between two progress reports.
constexpr double kProgressPeriodS = 1.0;

nlohmann::json percentiles_json(const Percentiles& p) {
  return {{"p50", p.p50_}, {"p99", p.p99_}, {"mean", p.mean_}, {"count", p.count_}};
}

void check_functional(const ModelConfig& model, const SimOptions& options,
                      std::vector<UserRequest>& requests) {
  const ModelConfig& fm = options.functional_model_->config_;
  if (fm.n_layers_ != model.n_layers_ || fm.d_model_ != model.d_model_ ||
      fm.n_heads_ != model.n_heads_ || fm.n_kv_heads_ != model.n_kv_heads_ ||
      fm.d_ff_ != model.d_ff_ || fm.vocab_ != model.vocab_) {
    throw make_error("functional mode", "the quantized model (" + fm.name_ +
                                            ") is not the simulated model (" + model.name_ + ")");
  }
  if (options.prompts_.empty()) {
    throw make_error("functional mode", "no prompt given", "pass --tokens, e.g. --tokens 1,5,9");
  }
  for (auto& r : requests) {
    if (r.prefix_group_ != 0) {
      throw make_error("functional mode", "shared prefix groups are timing-only",
                       "leave workload.shared_prefix_groups at 1 with --functional");
    }
    const auto& prompt = options.prompts_[static_cast<size_t>(r.id_) % options.prompts_.size()];
    r.prompt_tokens_ = static_cast<int64_t>(prompt.size());
    const int64_t p = r.shared_prefix_tokens_;
    if (p >= r.prompt_tokens_) {
      throw make_error("functional mode",
                       "user " + std::to_string(r.id_) + "'s prompt of " +
                           std::to_string(r.prompt_tokens_) +
                           " tokens is not longer than the shared prefix of " + std::to_string(p),
                       "lower workload.shared_prefix_tokens or give longer prompts");
    }
    const auto& first = options.prompts_[0];
    if (p > 0 && !std::equal(prompt.begin(), prompt.begin() + p, first.begin())) {
      throw make_error("functional mode",
                       "user " + std::to_string(r.id_) + "'s prompt does not start with the " +
                           std::to_string(p) + " shared-prefix tokens of the first prompt",
                       "give prompts that share their first workload.shared_prefix_tokens ids");
    }
  }
}


// Window power and the power cap (power_cap.h): with the design's event energies; the cap is
// chip.power.cap_w, else chip.power.tdp_w.
std::unique_ptr<PowerCap> make_power_cap(const ChipConfig& chip, const SimOptions& options) {
  const double cap_w = chip.power_cap_effective_w();
  if (!options.event_energies_) {
    if (cap_w > 0) {
      throw make_error(chip.power_cap_w_ > 0 ? "chip.power.cap_w" : "chip.power.tdp_w",
                       "the simulator's power cap needs the design's event energies",
                       "give SimOptions::event_energies_ (hardwire simulate loads the tech "
                       "table: --tech)");
    }
    return nullptr;
  }
  const auto window = static_cast<Cycle>(
      std::llround(chip.power_cap_window_us_ * 1e-6 * chip.clock_hz_));
  return std::make_unique<PowerCap>(*options.event_energies_, cap_w, window, chip.clock_hz_);
}

void fill_power_cap(SimResult& res, const PowerCap* cap, const ChipConfig& chip) {
  if (!cap) return;
  res.power_measured_ = true;
  res.power_cap_ = cap->result(res.simulated_s_);
  res.power_cap_.cap_source_ = chip.power_cap_w_ > 0   ? "chip.power.cap_w"
                               : chip.power_tdp_w_ > 0 ? "chip.power.tdp_w"
                                                       : "none";
}

void fill_run_results(SimResult& res, const Scheduler& sched, const KvSram& kv,
                      const ChipMapping& mapping, const ChipConfig& chip,
                      const std::vector<UserRequest>& requests, const TokenPath& path) {
  res.tokens_generated_ = sched.tokens_generated();
  res.prompt_tokens_computed_ = sched.prompt_tokens_computed();
  res.users_requested_ = static_cast<int64_t>(requests.size());
  res.peak_concurrent_users_ = sched.peak_active_users();
  res.activity_ = sched.activity();
  // The KV reads the sweeps made (query tiles read their context once), not one per token.
  mapping.set_kv_read_bits(res.activity_, double(path.kv_positions_read()));
  res.shared_prefix_tokens_ = requests.front().shared_prefix_tokens_;
  res.prefix_cache_ = sched.prefix_cache();

  std::vector<double> ttfts;
  double rate_sum = 0.0;
  int64_t rate_users = 0;
  for (const UserRun& u : sched.users()) {
    UserResult ur;
    const UserRequest& r = u.request_;
    ur.id_ = r.id_;
    ur.arrival_s_ = r.arrival_s_;
    ur.prompt_tokens_ = r.prompt_tokens_;
    ur.output_tokens_ = r.output_tokens_;
    ur.rejected_ = u.rejected_;
    ur.rejected_reason_ = u.reject_reason_;
    ur.prefix_group_ = r.prefix_group_;
    ur.prefix_hit_ = u.prefix_hit_;
    if (u.rejected_) {
      ++res.users_rejected_;
    } else {
      ++res.users_admitted_;
      ur.prompt_tokens_computed_ = r.prompt_tokens_ - u.first_position_;
      // Times through the scheduler's clock (throttled under a power cap).
      ur.admitted_s_ = sched.seconds_at(u.admitted_cycle_);
      ur.ttft_s_ = sched.seconds_at(u.first_token_cycle_) + chip.host_latency_s_ - r.arrival_s_;
      ur.finished_s_ = sched.seconds_at(u.last_token_cycle_);
      ttfts.push_back(ur.ttft_s_);
      if (u.generated_ >= 2) {
        ur.decode_tokens_per_s_ =
            double(u.generated_ - 1) /
            (sched.seconds_at(u.last_token_cycle_) - sched.seconds_at(u.first_token_cycle_));
        rate_sum += ur.decode_tokens_per_s_;
        ++rate_users;
      }
      ur.generated_ = u.generated_ids_;
    }
    res.users_.push_back(std::move(ur));
  }
  res.tokens_per_s_per_user_ = rate_users ? rate_sum / double(rate_users) : 0.0;
  res.tokens_per_s_total_ =
      res.simulated_s_ > 0 ? double(res.tokens_generated_) / res.simulated_s_ : 0.0;
  const Scheduler::SteadyWindow w = sched.steady_window();
  if (w.end_ > w.start_) {
    res.steady_window_start_s_ = sched.seconds_at(w.start_);
    res.steady_window_end_s_ = sched.seconds_at(w.end_);
    res.steady_tokens_per_s_ =
        double(w.tokens_) / (res.steady_window_end_s_ - res.steady_window_start_s_);
  }
  res.ttft_s_.count_ = static_cast<int64_t>(ttfts.size());
  for (double v : ttfts) res.ttft_s_.mean_ += v / double(ttfts.size());
  res.ttft_s_.p50_ = percentile_of(ttfts, 50);
  res.ttft_s_.p99_ = percentile_of(ttfts, 99);
  const CycleHistogram& itl = sched.inter_token_cycles();
  res.inter_token_latency_s_.count_ = itl.count();
  res.inter_token_latency_s_.mean_ = itl.mean() / chip.clock_hz_;
  res.inter_token_latency_s_.p50_ = itl.percentile(50) / chip.clock_hz_;
  res.inter_token_latency_s_.p99_ = itl.percentile(99) / chip.clock_hz_;

  const UserRequest& first = requests.front();
  const int64_t prefix = first.shared_prefix_tokens_;
  res.max_context_tokens_ = mapping.max_context_tokens(res.users_requested_, prefix);
  res.max_context_tokens_1_user_ = mapping.max_context_tokens(1, prefix);
  res.max_users_at_context_ =
      mapping.max_users(first.prompt_tokens_ + first.output_tokens_ - 1, prefix);
  res.kv_in_dram_ = kv.dram();
  res.kv_capacity_positions_ = kv.capacity_positions();
  res.kv_peak_positions_ = kv.peak_positions();
  res.kv_capacity_bytes_ = kv.capacity_bytes();
  res.kv_peak_bytes_ = kv.peak_bytes();

}

void fill_utilization(SimResult& res) {
  // The bottleneck is the block whose instances could least often take a new token for reasons
  // of their own: busy, or stretched by bank conflicts, or waiting for the DRAM channel (not
  // waiting for input or held by a full output, which are other blocks' doing).
  double best = -1.0;
  for (auto& br : res.blocks_) {
    const double capacity = double(br.instances_) * double(res.cycles_);
    br.utilization_ = capacity > 0 ? double(br.busy_cycles_) / capacity : 0.0;
    const double occupied =
        capacity > 0
            ? double(br.busy_cycles_ +
                     br.stall_cycles_[size_t(StallReason::kBankConflict)] +
                     br.stall_cycles_[size_t(StallReason::kDramBandwidth)]) /
                  capacity
            : 0.0;
    if (occupied > best) {
      best = occupied;
      res.bottleneck_block_ = br.name_;
    }
  }

}

void fill_analytic(SimResult& res, const ChipMapping& mapping, const ModelConfig& model,
                   const std::vector<UserRequest>& requests) {
  const UserRequest& first = requests.front();
  const int64_t prefix = first.shared_prefix_tokens_;
  const int64_t mid_context = first.prompt_tokens_ + first.output_tokens_ / 2;
  const int64_t resident = std::max<int64_t>(1, res.peak_concurrent_users_);
  const BlockTiming stage = mapping.bottleneck(first.prompt_tokens_, 0, resident > 1);
  res.analytic_ = {
      {"prompt_tokens", first.prompt_tokens_},
      {"output_tokens", first.output_tokens_},
      {"token_latency_s_at_prompt", mapping.token_latency_s(first.prompt_tokens_)},
      {"decode_tokens_per_s_per_user",
       mapping.decode_tokens_per_s(first.prompt_tokens_, first.output_tokens_)},
      {"ttft_s_one_user", mapping.time_to_first_token_s(first.prompt_tokens_, 0)},
      {"stage_cycles_at_prompt", stage.service_cycles_},
      {"stage_block_at_prompt", stage.name_},
      {"aggregate_tokens_per_s_at_mid_context",
       mapping.aggregate_tokens_per_s(resident, std::min(mid_context, model.max_positions_),
                                      prefix < mid_context ? prefix : 0)},
      {"resident_users", resident},
  };
}


// The cycle level (cycle_chip.h): the same scheduler and KV admission, every block a clocked
// process.
SimResult run_cycle_level(const ModelConfig& model, const ChipConfig& chip,
                          const ChipMapping& mapping, const std::vector<UserRequest>& requests,
                          FunctionalData* functional, const SimOptions& options) {
  ClockBase clock(chip.clock_hz_);
  const int64_t prefix = requests.front().shared_prefix_tokens_;
  auto kv = std::make_unique<KvSram>("kv_sram", mapping);
  CycleChipOptions chip_options;
  chip_options.rtl_layer_ = options.rtl_layer_;
  chip_options.rtl_vcd_path_ = options.rtl_vcd_path_;
  chip_options.vcd_path_ = options.vcd_path_;
  chip_options.timeline_max_events_ =
      options.timeline_path_.empty() ? 0 : std::max<int64_t>(1, options.timeline_max_events_);
  auto top = std::make_unique<CycleChip>("chip", mapping, clock, functional, prefix, chip_options);
  auto sched = std::make_unique<Scheduler>("scheduler", mapping, requests, clock, *top, *kv,
                                           functional);
  top->set_scheduler(sched.get());
  sched->set_serving(options.serving_);
  const std::unique_ptr<PowerCap> cap = make_power_cap(chip, options);
  sched->set_power_cap(cap.get());
  const auto t0 = std::chrono::steady_clock::now();
  if (options.progress_) {
    auto last = std::make_shared<double>(0.0);
    auto report = options.progress_;
    sched->set_progress([t0, last, report](const SimProgress& p) {
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (wall - *last >= kProgressPeriodS) {
        *last = wall;
        report(p, wall);
      }
    });
  }
  sc_core::sc_start();
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  SimResult res;
  res.level_ = SimLevel::kCycle;
  top->finish_traces(options.timeline_path_, chip.clock_hz_,
                     {{"model", model.name_}, {"chip", chip.name_}, {"level", "cycle"}});
  if (!options.timeline_path_.empty()) res.timeline_file_ = options.timeline_path_;
  if (!options.vcd_path_.empty()) {
    std::string base = options.vcd_path_;
    if (base.size() < 4 || base.compare(base.size() - 4, 4, ".vcd") != 0) base += ".vcd";
    res.vcd_file_ = base;
  }
  res.model_ = model.name_;
  res.chip_ = chip.name_;
  res.functional_ = functional != nullptr;
  res.weight_bits_ = options.weight_bits_;
  res.kv_bits_ = options.kv_bits_;
  res.clock_hz_ = chip.clock_hz_;
  Cycle end = 0;
  for (const UserRun& u : sched->users()) end = std::max(end, u.last_token_cycle_);
  res.cycles_ = end;
  sched->finish(res.cycles_);
  res.simulated_s_ = sched->seconds_at(res.cycles_);
  res.wall_s_ = wall_s;
  res.serving_ = options.serving_;
  fill_run_results(res, *sched, *kv, mapping, chip, requests, *top);
  fill_power_cap(res, cap.get(), chip);

  const std::map<std::string, const BlockTiming*> fixed = {
      {"embedding", &mapping.embedding_}, {"attn_norm", &mapping.attn_norm_},
      {"qkv", &mapping.qkv_},             {"qk_norm", &mapping.qk_norm_},
      {"rope", &mapping.rope_},           {"kv_write", &mapping.kv_write_},
      {"o_proj", &mapping.o_proj_},       {"ffn_norm", &mapping.ffn_norm_},
      {"ffn_gate_up", &mapping.ffn_gate_up_}, {"activation", &mapping.activation_},
      {"ffn_down", &mapping.ffn_down_},   {"final_norm", &mapping.final_norm_},
      {"lm_head", &mapping.lm_head_},     {"sampler", &mapping.sampler_},
      {"link", &mapping.link_forward_},   {"link_return", &mapping.link_return_}};
  std::map<std::string, size_t> index;
  for (const CycleProcess* p : top->processes()) {
    const std::string& name = p->block_name();
    if (name == "host") continue;
    auto it = index.find(name);
    if (it == index.end()) {
      it = index.emplace(name, res.blocks_.size()).first;
      BlockResult br;
      br.name_ = name;
      auto f = fixed.find(name);
      if (f != fixed.end()) {
        br.service_cycles_ = f->second->service_cycles_;
        br.latency_cycles_ = f->second->latency_cycles_;
      }
      res.blocks_.push_back(br);
    }
    BlockResult& br = res.blocks_[it->second];
    const CycleBlockStats& st = p->stats();
    ++br.instances_;
    br.tokens_ += st.tokens_;
    br.busy_cycles_ += std::min<Cycle>(st.busy_cycles_, res.cycles_);
    Cycle stalled = 0;
    for (int r = 1; r < kStallReasonCount; ++r) {
      br.stall_cycles_[size_t(r)] += st.stall_cycles_[size_t(r)];
      stalled += st.stall_cycles_[size_t(r)];
    }
    br.stall_cycles_[0] += std::max<Cycle>(0, res.cycles_ - st.busy_cycles_ - stalled);
    br.fifo_peak_tokens_ = std::max(br.fifo_peak_tokens_, st.channel_peak_chunks_);
    br.kv_sweeps_ += st.kv_sweeps_;
  }
  fill_utilization(res);
  fill_analytic(res, mapping, model, requests);
  if (!kv->dram()) {
    // Per bank index over the pools (one per layer, or one per die with bank_scope = die).
    size_t banks = 0;
    for (const auto& e : top->kv_engines()) banks = std::max(banks, size_t(e->banks()));
    res.kv_bank_reads_.assign(banks, 0);
    res.kv_bank_writes_.assign(banks, 0);
    res.kv_bank_conflicts_.assign(banks, 0);
    res.kv_bank_read_conflicts_.assign(banks, 0);
    for (const auto& e : top->kv_engines()) {
      for (size_t b = 0; b < size_t(e->banks()); ++b) {
        res.kv_bank_reads_[b] += e->reads()[b];
        res.kv_bank_writes_[b] += e->writes()[b];
        res.kv_bank_conflicts_[b] += e->conflicts()[b];
        res.kv_bank_read_conflicts_[b] += e->read_conflicts()[b];
      }
    }
    res.kv_bank_scope_ = chip.attention_.kv_sram_.shared_across_layers_ ? "die" : "layer";
  } else {
    // Per channel of every die (die-major), refreshes counted up to the end of the run.
    nlohmann::json& k = res.kv_dram_;
    const char* keys[] = {"reads", "writes", "row_hits", "row_misses", "refreshes"};
    nlohmann::json per = nlohmann::json::object();
    for (const char* key : keys) per[key] = nlohmann::json::array();
    per["busy_cycles"] = nlohmann::json::array();
    int64_t totals[5] = {0, 0, 0, 0, 0};
    double busy = 0;
    for (const auto& d : top->dram_channels()) {
      d->finish(res.cycles_);
      res.kv_dram_bytes_ += d->bytes_requested();
      for (int64_t ch = 0; ch < d->channels(); ++ch) {
        const KvDramChannelStats& s = d->channel_stats(ch);
        const int64_t values[5] = {s.reads_, s.writes_, s.row_hits_, s.row_misses_, s.refreshes_};
        for (int i = 0; i < 5; ++i) {
          per[keys[i]].push_back(values[i]);
          totals[i] += values[i];
        }
        per["busy_cycles"].push_back(d->busy_cycles(ch));
        busy += d->busy_cycles(ch);
      }
    }
    for (int i = 0; i < 5; ++i) k[keys[i]] = totals[i];
    k["busy_cycles"] = busy;
    k["channels"] = per["reads"].size();
    k["burst_bytes"] = top->dram_channels().empty() ? 0 : top->dram_channels()[0]->burst_bytes();
    k["per_channel"] = per;
  }
  res.engine_state_bytes_ = top->state_bytes() + kv->state_bytes() + sched->state_bytes();
  return res;
}

}  // namespace

const char* sim_level_name(SimLevel level) {
  return level == SimLevel::kCycle ? "cycle" : "token";
}

nlohmann::json SimResult::to_json() const {
  nlohmann::json utilization = nlohmann::json::object();
  nlohmann::json stalls = nlohmann::json::object();
  nlohmann::json blocks = nlohmann::json::object();
  for (const auto& b : blocks_) {
    utilization[b.name_] = b.utilization_;
    nlohmann::json reasons = nlohmann::json::object();
    for (int r = 0; r < kStallReasonCount; ++r) {
      reasons[stall_reason_name(static_cast<StallReason>(r))] = b.stall_cycles_[size_t(r)];
    }
    stalls[b.name_] = reasons;
    blocks[b.name_] = {
        {"instances", b.instances_},
        {"service_cycles", b.service_cycles_ >= 0 ? nlohmann::json(b.service_cycles_) : nullptr},
        {"latency_cycles", b.latency_cycles_ >= 0 ? nlohmann::json(b.latency_cycles_) : nullptr},
        {"tokens", b.tokens_},
        {"busy_cycles", b.busy_cycles_},
        {"fifo_peak_tokens", b.fifo_peak_tokens_}};
    if (b.kv_sweeps_ > 0) {
      // Query tiling's effect: prompt queries per KV sweep (1 untiled, up to query_tile).
      blocks[b.name_]["kv_sweeps"] = b.kv_sweeps_;
      blocks[b.name_]["queries_per_sweep"] = double(b.tokens_) / double(b.kv_sweeps_);
    }
  }
  nlohmann::json users = nlohmann::json::array();
  for (const auto& u : users_) {
    nlohmann::json j = {{"id", u.id_},
                        {"arrival_s", u.arrival_s_},
                        {"prompt_tokens", u.prompt_tokens_},
                        {"output_tokens", u.output_tokens_},
                        {"prompt_tokens_computed", u.prompt_tokens_computed_},
                        {"rejected", u.rejected_}};
    if (u.rejected_) j["rejected_reason"] = u.rejected_reason_;
    if (shared_prefix_tokens_ > 0) {
      j["prefix_group"] = u.prefix_group_;
      if (!u.rejected_) j["prefix_hit"] = u.prefix_hit_;
    }
    if (!u.rejected_) {
      j["admitted_s"] = u.admitted_s_;
      j["ttft_s"] = u.ttft_s_;
      j["finished_s"] = u.finished_s_;
      j["decode_tokens_per_s"] = u.decode_tokens_per_s_;
    }
    if (functional_) j["generated"] = u.generated_;
    users.push_back(j);
  }
  const double processed = double(tokens_generated_ + prompt_tokens_computed_);
  nlohmann::json j = {
      {"model", model_},
      {"chip", chip_},
      {"level", sim_level_name(level_)},
      {"mode", functional_ ? "functional" : "timing"},
      {"weight_bits", weight_bits_},
      {"kv_bits", kv_bits_},
      {"users_requested", users_requested_},
      {"users_admitted", users_admitted_},
      {"users_rejected", users_rejected_},
      {"peak_concurrent_users", peak_concurrent_users_},
      {"tokens_generated", tokens_generated_},
      {"prompt_tokens_computed", prompt_tokens_computed_},
      {"clock_hz", clock_hz_},
      {"cycles", cycles_},
      {"simulated_s", simulated_s_},
      {"tokens_per_s_per_user", tokens_per_s_per_user_},
      {"tokens_per_s_total", tokens_per_s_total_},
      {"steady_tokens_per_s", steady_tokens_per_s_},
      {"steady_window_s", {steady_window_start_s_, steady_window_end_s_}},
      {"serving",
       {{"policy", serving_policy_name(serving_.policy_)},
        {"prefill_chunk_tokens", serving_.prefill_chunk_tokens_}}},
      {"prefix_cache",
       {{"shared_prefix_tokens", shared_prefix_tokens_},
        {"groups", prefix_cache_.groups_},
        {"hits", prefix_cache_.hits_},
        {"misses", prefix_cache_.misses_},
        {"evictions", prefix_cache_.evictions_},
        {"evicted_positions_per_layer", prefix_cache_.evicted_positions_},
        {"evicted_groups", prefix_cache_.evicted_groups_}}},
      {"power_cap", power_measured_ ? power_cap_.to_json() : nlohmann::json(nullptr)},
      {"ttft_s", percentiles_json(ttft_s_)},
      {"inter_token_latency_s", percentiles_json(inter_token_latency_s_)},
      {"max_context_tokens", max_context_tokens_},
      {"max_context_tokens_1_user", max_context_tokens_1_user_},
      {"max_users_at_context", max_users_at_context_},
      {"kv_memory", kv_in_dram_ ? "dram" : "sram"},
      {"kv_capacity_positions_per_layer", kv_capacity_positions_},
      {"kv_peak_positions_per_layer", kv_peak_positions_},
      {"kv_capacity_bytes", kv_capacity_bytes_},
      {"kv_sram_peak_bytes", kv_in_dram_ ? 0 : kv_peak_bytes_},
      {"kv_dram_peak_bytes", kv_in_dram_ ? kv_peak_bytes_ : 0},
      {"utilization", utilization},
      {"stall_cycles", stalls},
      {"blocks", blocks},
      {"bottleneck_block", bottleneck_block_},
      {"activity", activity_.to_json()},
      {"analytic", analytic_},
      {"users", users},
      {"wall_s", wall_s_},
      {"sim_tokens_per_wall_s", wall_s_ > 0 ? double(tokens_generated_) / wall_s_ : 0.0},
      {"sim_token_passes_per_wall_s", wall_s_ > 0 ? processed / wall_s_ : 0.0},
      {"sim_cycles_per_wall_s", wall_s_ > 0 ? double(cycles_) / wall_s_ : 0.0},
      {"engine_state_bytes", engine_state_bytes_},
      {"vcd_file", vcd_file_},
      {"timeline_file", timeline_file_},
  };
  if (functional_ && users_.size() == 1) j["generated"] = users_[0].generated_;
  if (level_ == SimLevel::kCycle && !kv_in_dram_) {
    int64_t reads = 0, writes = 0, conflicts = 0;
    for (int64_t v : kv_bank_reads_) reads += v;
    for (int64_t v : kv_bank_writes_) writes += v;
    for (int64_t v : kv_bank_conflicts_) conflicts += v;
    j["kv_banks"] = {{"reads", reads},
                     {"writes", writes},
                     {"conflicts", conflicts},
                     {"reads_per_bank", kv_bank_reads_},
                     {"writes_per_bank", kv_bank_writes_},
                     {"conflicts_per_bank", kv_bank_conflicts_}};
    int64_t read_conflicts = 0;
    for (int64_t v : kv_bank_read_conflicts_) read_conflicts += v;
    j["kv_banks"]["scope"] = kv_bank_scope_;
    j["kv_banks"]["read_conflicts"] = read_conflicts;
    j["kv_banks"]["read_conflicts_per_bank"] = kv_bank_read_conflicts_;
  }
  if (level_ == SimLevel::kCycle && kv_in_dram_) {
    j["kv_dram_bytes"] = kv_dram_bytes_;
    j["kv_dram"] = kv_dram_;
  }
  return j;
}

SimResult run_simulation(const ModelConfig& model, const ChipConfig& chip,
                         const WorkloadConfig& workload, const SimOptions& options) {
  SimOptions with_serving = options;
  with_serving.serving_ = workload.serving_;
  return run_simulation(model, chip, generate_requests(workload), with_serving);
}

SimResult run_simulation(const ModelConfig& model, const ChipConfig& chip,
                         const std::vector<UserRequest>& requests_in, const SimOptions& options) {
  if (g_elaborated) {
    throw make_error("run_simulation",
                     "this process already ran a simulation and SystemC elaborates once per "
                     "process",
                     "run one simulation per process (the hardwire CLI does; tests fork)");
  }
  if (requests_in.empty()) throw make_error("workload", "no users to simulate");
  std::vector<UserRequest> requests = requests_in;
  if (options.functional_model_) check_functional(model, options, requests);
  const ChipMapping mapping = map_model(model, chip, options.weight_bits_, options.kv_bits_);

  std::unique_ptr<FunctionalData> functional;
  if (options.functional_model_) {
    int64_t capacity = 1;
    for (const auto& r : requests) {
      capacity = std::max(capacity, r.prompt_tokens_ + r.output_tokens_ - 1);
    }
    capacity = std::min(capacity, model.max_positions_);
    functional = std::make_unique<FunctionalData>(*options.functional_model_, options.prompts_,
                                                  capacity);
    functional->set_block_hook(options.on_block_);
  }

  g_elaborated = true;
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  sc_core::sc_report_handler::set_handler(report_to_stderr);
  if (options.level_ == SimLevel::kCycle) {
    return run_cycle_level(model, chip, mapping, requests, functional.get(), options);
  }
  ChipTopOptions top_options;
  top_options.vcd_path_ = options.vcd_path_;
  top_options.timeline_max_events_ =
      options.timeline_path_.empty() ? 0 : std::max<int64_t>(1, options.timeline_max_events_);
  auto top = std::make_unique<ChipTop>("chip", mapping, requests, functional.get(), top_options);
  top->scheduler().set_serving(options.serving_);
  const std::unique_ptr<PowerCap> cap = make_power_cap(chip, options);
  top->scheduler().set_power_cap(cap.get());

  const auto t0 = std::chrono::steady_clock::now();
  if (options.progress_) {
    auto last = std::make_shared<double>(0.0);
    auto report = options.progress_;
    top->scheduler().set_progress([t0, last, report](const SimProgress& p) {
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (wall - *last >= kProgressPeriodS) {
        *last = wall;
        report(p, wall);
      }
    });
  }
  sc_core::sc_start();
  top->pipeline().expect_drained();
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (top->vcd()) {
    // SystemC's tracer writes a time step's values when the kernel leaves it; a run that ends by
    // running out of events never leaves its last one, so step one more cycle before closing.
    sc_core::sc_start(top->clock().time_of(1));
    top->vcd()->close();
  }

  SimResult res;
  Scheduler& sched = top->scheduler();
  const Pipeline& pipe = top->pipeline();
  const KvSram& kv = top->kv();
  res.model_ = model.name_;
  res.chip_ = chip.name_;
  res.functional_ = options.functional_model_ != nullptr;
  res.weight_bits_ = options.weight_bits_;
  res.kv_bits_ = options.kv_bits_;
  res.clock_hz_ = chip.clock_hz_;
  res.cycles_ = pipe.last_cycle();
  sched.finish(res.cycles_);
  res.simulated_s_ = sched.seconds_at(res.cycles_);
  res.wall_s_ = wall_s;
  res.serving_ = options.serving_;
  fill_run_results(res, sched, kv, mapping, chip, requests, pipe);
  fill_power_cap(res, cap.get(), chip);

  std::map<const BlockModule*, size_t> index;
  for (const BlockModule* b : top->blocks()) {
    index[b] = res.blocks_.size();
    BlockResult br;
    br.name_ = b->block_name();
    if (b->block_name() != "attention") {
      const BlockTiming t = b->timing(Token{});
      br.service_cycles_ = t.service_cycles_;
      br.latency_cycles_ = t.latency_cycles_;
    }
    res.blocks_.push_back(br);
  }
  for (const Stage& s : pipe.stages()) {
    BlockResult& br = res.blocks_[index.at(s.block_)];
    ++br.instances_;
    br.tokens_ += s.tokens_;
    br.busy_cycles_ += s.busy_cycles_;
    Cycle stalled = 0;
    for (int r = 1; r < kStallReasonCount; ++r) {
      br.stall_cycles_[size_t(r)] += s.stall_cycles_[size_t(r)];
      stalled += s.stall_cycles_[size_t(r)];
    }
    br.stall_cycles_[0] += std::max<Cycle>(0, res.cycles_ - s.busy_cycles_ - stalled);
    br.fifo_peak_tokens_ = std::max(br.fifo_peak_tokens_, s.input_.peak_occupancy());
    br.kv_sweeps_ += s.kv_sweeps_;
  }
  fill_utilization(res);

  fill_analytic(res, mapping, model, requests);
  res.engine_state_bytes_ = top->state_bytes();

  if (!options.timeline_path_.empty()) {
    top->timeline()->write(options.timeline_path_, pipe.stages(), chip.clock_hz_,
                           {{"model", model.name_}, {"chip", chip.name_}});
    res.timeline_file_ = options.timeline_path_;
  }
  if (!options.vcd_path_.empty()) {
    std::string base = options.vcd_path_;
    if (base.size() < 4 || base.compare(base.size() - 4, 4, ".vcd") != 0) base += ".vcd";
    res.vcd_file_ = base;
  }
  return res;
}

}  // namespace hw::sim
