// The workload: how many users, how long their prompts and outputs are (fixed or drawn from a
// distribution), when they arrive (all at once, Poisson, or a trace file), and a shared prompt
// prefix (a system prompt common to many agents) whose KV is stored once and whose prefill later
// users skip. Declared as the "workload" parameter tree, read from a scenario YAML
// (configs/scenarios/<name>.yaml) and `--set workload.key=value`, then expanded into a
// deterministic, seeded list of requests that both the SystemC model and the estimator consume.
// The "workload.serving" keys say how the scheduler serves them (sim/scheduler.h): which of
// prefill and decode goes first, and in what chunks a prompt is fed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/param_tree.h"

namespace hw {

enum class LengthDist { kFixed, kUniform, kNormal };

// A token-count distribution. fixed: `tokens_`. uniform: integers in [min_tokens_, max_tokens_]
// inclusive. normal: round(mean + stddev * z), clamped to [min_tokens_, max_tokens_] (a max of
// 0 in the file means no upper clamp).
struct LengthDistribution {
  LengthDist kind_ = LengthDist::kFixed;
  int64_t tokens_ = 1;
  int64_t min_tokens_ = 1;
  int64_t max_tokens_ = 1;
  double mean_tokens_ = 1.0;
  double stddev_tokens_ = 0.0;

  int64_t lowest() const { return kind_ == LengthDist::kFixed ? tokens_ : min_tokens_; }
  int64_t highest() const { return kind_ == LengthDist::kFixed ? tokens_ : max_tokens_; }
};

enum class ArrivalKind { kAllAtOnce, kPoisson, kTrace };

// One row of a trace file (CSV with header `arrival_s,prompt_tokens,output_tokens`).
struct TraceRow {
  double arrival_s_ = 0.0;
  int64_t prompt_tokens_ = 0;  // total prompt, including the shared prefix
  int64_t output_tokens_ = 0;
};

// Which token the scheduler feeds the chip when both a decode token and a prompt token wait
// (docs/simulate.md "Serving"). decode_first: decode tokens first, oldest first (lowest
// inter-token latency). prefill_first: prompt tokens first (lowest time to first token; decode
// waits for the prefill queue, or for the end of a chunk). interleaved: one of each in turn.
enum class ServingPolicy { kDecodeFirst, kPrefillFirst, kInterleaved };
const char* serving_policy_name(ServingPolicy policy);

struct ServingConfig {
  ServingPolicy policy_ = ServingPolicy::kDecodeFirst;
  // A prompt is fed in chunks of this many tokens: after each chunk the user goes to the back
  // of the prefill queue, and under prefill_first the decode tokens waiting then go in before
  // the next chunk (Sarathi-style stall-free batching). 0 = a user's whole prompt in one run.
  int64_t prefill_chunk_tokens_ = 0;
};

// Resolved, validated workload. Trace files are read and checked at load time, so the struct
// holds everything generate_requests() needs.
struct WorkloadConfig {
  std::string name_;     // scenario stem, or "" when built from overrides only
  std::string source_;   // scenario file, or ""
  int64_t users_ = 1;    // for traces: 0 = every row, else the first users_ rows
  LengthDistribution prompt_;  // total prompt length, including the shared prefix
  LengthDistribution output_;  // generated tokens, including the first (produced by prefill)
  ArrivalKind arrival_ = ArrivalKind::kAllAtOnce;
  double arrival_rate_per_s_ = 0.0;  // poisson: mean arrivals per second
  std::string trace_path_;           // resolved path of the trace file
  std::vector<TraceRow> trace_;      // trace rows in file order
  int64_t shared_prefix_tokens_ = 0; // common to every request; every prompt is longer
  // Distinct shared prefixes of that length (system prompts of different agents); each user
  // draws one uniformly (seeded). Their KV stays cached after their users leave, until a user
  // needs the space (LRU eviction, sim/scheduler.h).
  int64_t shared_prefix_groups_ = 1;
  uint64_t seed_ = 0;
  ServingConfig serving_;

  // {"workload": {...}, "workload_units": {...}, "workload_source": file}.
  nlohmann::json to_json() const;

  ParamValues params_;
};

struct UserRequest {
  int64_t id_ = 0;                    // 0.. in arrival order
  double arrival_s_ = 0.0;
  int64_t prompt_tokens_ = 0;         // total, including the shared prefix
  int64_t output_tokens_ = 0;
  int64_t shared_prefix_tokens_ = 0;  // first tokens of the prompt, shared with its group
  int64_t prefix_group_ = 0;          // which shared prefix (0 .. shared_prefix_groups - 1)
};

ParamSchema workload_schema();

// `scenario`: "" (defaults and overrides only), a shipped name (configs/scenarios/<name>.yaml)
// or a YAML path; only its `workload:` block (and an optional `description:`) is read.
// Relative trace paths resolve against the scenario file's directory, or the working directory
// when given by --set. Throws hw::Error naming file, key or trace line.
WorkloadConfig load_workload(const std::string& scenario,
                             const std::vector<std::string>& overrides);
WorkloadConfig workload_from_yaml(const YAML::Node& root, const std::string& name,
                                  const std::string& file_name,
                                  const std::vector<std::string>& overrides);

// Parses trace CSV text; `file` names it in errors ("<file>:<line>: ...").
std::vector<TraceRow> parse_trace(const std::string& text, const std::string& file);

// Expands the workload into requests sorted by arrival (ties keep generation order), ids 0..n-1.
// Deterministic: the same config (seed included) gives the same list on every platform
// (own PRNG and transforms, not <random>'s distributions). Prompt, output and arrival draws use
// independent streams, so changing one distribution leaves the others' draws unchanged.
std::vector<UserRequest> generate_requests(const WorkloadConfig& workload);

// Names of the shipped scenarios (configs/scenarios/*.yaml), sorted.
std::vector<std::string> scenario_names();

}  // namespace hw
