// Entry point of the SystemC chip model: maps the model onto the chip (chip/mapping.h), expands
// the workload into user requests, elaborates the chip module (chip_top.h), runs the kernel to
// the end of the workload and returns every metric: throughput per user and in total, time to
// first token and inter-token latency percentiles, admission and KV-memory figures, per-block
// utilization and stall cycles by reason, and the activity counts the power model consumes.
// Timing-only by default; with SimOptions::functional_model_ the tokens carry the golden
// model's integer data and the generated ids are returned per user.
//
// SystemC elaborates once per process: run_simulation() may be called once (a second call
// throws); sweep by running one process per point (the CLI, or fork()).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chip/chip_config.h"
#include "chip/mapping.h"
#include "chip/workload.h"
#include "model/model_config.h"
#include "model/quantizer.h"
#include "power/energy.h"
#include "sim/power_cap.h"
#include "sim/scheduler.h"
#include "sim/token.h"

namespace hw::sim {

// Token level: the tandem-line model of pipeline.h (fast, for sweeps). Cycle level: every block
// instance a clocked process streaming chunks, KV as addressed bank traffic (cycle_chip.h).
enum class SimLevel { kToken, kCycle };
const char* sim_level_name(SimLevel level);

struct SimOptions {
  SimLevel level_ = SimLevel::kToken;
  double weight_bits_ = 0.0;  // mean stored bits per weight (the ROM fit); required
  int kv_bits_ = 0;           // bits per K/V value; required
  // Functional mode: the quantized model whose golden functions the blocks apply (its config
  // must be the simulated model) and the prompts; user i's prompt is prompts_[i % n] and its
  // length overrides the workload's prompt length.
  const QuantizedModel* functional_model_ = nullptr;
  // Functional mode: called after each block applied its golden function to a token's data
  // (simulate --check-against, gpu_ref/trace.h).
  BlockHook on_block_;
  std::vector<std::vector<int32_t>> prompts_;
  std::string vcd_path_;                // "" = none
  // Cycle level: the layer whose matrix blocks are the Verilated RTL (docs/rtl.md
  // "Co-simulation"; needs a build with Verilator), -1 = none; and the VCD of their pins.
  int64_t rtl_layer_ = -1;
  std::string rtl_vcd_path_;
  std::string timeline_path_;           // "" = none
  int64_t timeline_max_events_ = 2000000;
  // Serving policy and prefill chunks (the requests overload; the workload overload takes the
  // workload's).
  ServingConfig serving_;
  // Per-event energies of the design (power/energy.h): with them the run measures card power
  // over windows of chip.power.cap_window_us and throttles the clock above the power cap
  // (chip.power.cap_w, else chip.power.tdp_w); a cap without them is an error.
  std::optional<EventEnergies> event_energies_;
  // Called about once per wall-clock second while the kernel runs.
  std::function<void(const SimProgress&, double wall_s)> progress_;
};

struct Percentiles {
  double p50_ = 0.0;
  double p99_ = 0.0;
  double mean_ = 0.0;
  int64_t count_ = 0;
};

struct BlockResult {
  std::string name_;
  int64_t instances_ = 0;
  int64_t service_cycles_ = -1;  // per token, -1 when it depends on the token (attention)
  int64_t latency_cycles_ = -1;
  int64_t tokens_ = 0;           // token visits over all instances
  Cycle busy_cycles_ = 0;        // over all instances
  double utilization_ = 0.0;     // busy / (instances * cycles)
  std::array<Cycle, kStallReasonCount> stall_cycles_{};  // over all instances
  int64_t fifo_peak_tokens_ = 0;  // fullest input FIFO of any instance
  int64_t kv_sweeps_ = 0;         // attention: KV sweeps over all instances (a query tile is one)
};

struct UserResult {
  int64_t id_ = 0;
  double arrival_s_ = 0.0;
  int64_t prompt_tokens_ = 0;
  int64_t output_tokens_ = 0;
  int64_t prompt_tokens_computed_ = 0;  // prompt minus the shared prefix another user stored
  bool rejected_ = false;
  std::string rejected_reason_;   // why it could never run
  int64_t prefix_group_ = 0;
  bool prefix_hit_ = false;       // its shared prefix was cached (its prefill skipped it)
  double admitted_s_ = 0.0;
  double ttft_s_ = 0.0;           // request sent -> first token at the host
  double finished_s_ = 0.0;       // last token left the chip
  double decode_tokens_per_s_ = 0.0;  // (outputs - 1) / (last - first token), 0 with 1 output
  std::vector<int32_t> generated_;    // functional mode
};

struct SimResult {
  SimLevel level_ = SimLevel::kToken;
  std::string model_;
  std::string chip_;
  bool functional_ = false;
  double weight_bits_ = 0.0;
  int kv_bits_ = 0;
  int64_t users_requested_ = 0;
  int64_t users_admitted_ = 0;
  int64_t users_rejected_ = 0;
  int64_t peak_concurrent_users_ = 0;
  int64_t tokens_generated_ = 0;
  int64_t prompt_tokens_computed_ = 0;
  double clock_hz_ = 0.0;
  Cycle cycles_ = 0;
  double simulated_s_ = 0.0;
  double tokens_per_s_per_user_ = 0.0;  // decode, mean over users with >= 2 outputs
  double tokens_per_s_total_ = 0.0;     // generated tokens / simulated time
  // Outputs between the 10% and 90% marks of all outputs over the time between them: the rate
  // without the prefill ramp and the drain tail (docs/simulate.md).
  double steady_tokens_per_s_ = 0.0;
  double steady_window_start_s_ = 0.0;
  double steady_window_end_s_ = 0.0;
  ServingConfig serving_;
  int64_t shared_prefix_tokens_ = 0;
  PrefixCacheStats prefix_cache_;
  bool power_measured_ = false;   // event energies given: power_cap_ holds the window figures
  PowerCapResult power_cap_;
  Percentiles ttft_s_;
  Percentiles inter_token_latency_s_;
  int64_t max_context_tokens_ = 0;        // per user with the workload's users all resident
  int64_t max_context_tokens_1_user_ = 0;
  int64_t max_users_at_context_ = 0;      // at the first user's prompt + output
  int64_t kv_capacity_positions_ = 0;     // per layer engine
  int64_t kv_peak_positions_ = 0;
  bool kv_in_dram_ = false;
  int64_t kv_capacity_bytes_ = 0;
  int64_t kv_peak_bytes_ = 0;
  std::vector<BlockResult> blocks_;
  // Cycle level: KV bank traffic summed over the layer engines, per bank index.
  std::vector<int64_t> kv_bank_reads_, kv_bank_writes_, kv_bank_conflicts_;
  // Of the conflicts, reads that found the bank's read ports taken by another layer's sweep
  // (bank_scope = die); the bank scope.
  std::vector<int64_t> kv_bank_read_conflicts_;
  std::string kv_bank_scope_ = "layer";
  double kv_dram_bytes_ = 0.0;            // cycle level, kv_memory = dram
  // Cycle level, kv_memory = dram: bursts, row hits/misses, refreshes, data-bus busy cycles,
  // totals and per channel (sim/kv_dram.h).
  nlohmann::json kv_dram_;
  std::string bottleneck_block_;          // most occupied: busy + bank conflict + DRAM wait
  ActivityCounts activity_;
  nlohmann::json analytic_;               // the mapping's closed-form figures, for comparison
  std::vector<UserResult> users_;
  double wall_s_ = 0.0;
  int64_t engine_state_bytes_ = 0;        // model state (not recorders): flat in tokens
  std::string vcd_file_;
  std::string timeline_file_;

  // Stable keys, units in names (docs/simulate.md).
  nlohmann::json to_json() const;
};

SimResult run_simulation(const ModelConfig& model, const ChipConfig& chip,
                         const WorkloadConfig& workload, const SimOptions& options);
// With the requests already expanded (tests, traces built in code).
SimResult run_simulation(const ModelConfig& model, const ChipConfig& chip,
                         const std::vector<UserRequest>& requests, const SimOptions& options);

}  // namespace hw::sim
