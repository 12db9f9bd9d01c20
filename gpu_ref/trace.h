// Block-by-block comparison of a functional run of the chip (the SystemC model's functional mode)
// with a reference forward pass: `hardwire simulate --functional --check-against cpu|cuda`.
// The simulator reports, after each block, the integer state of the token that block just
// transformed (TraceChecker::observe); the checker runs the same token (same user, position and
// input id) through the reference block by block, compares every output element of each block
// and keeps the first divergence: user, position, layer, block, field, element, both values.
// The reference is a TokenRunner: the CPU golden model (cpu_token_runner, here) or the CUDA one
// (cuda_token_runner, gpu_ref/chip_model.h). Plain C++: the CPU tests cover all of it.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/golden_model.h"

namespace hw::gpu {

// After each block of a reference token: the golden model's block name ("embed", "attn_norm",
// "qkv", "rope", "kv_write", "attention", "o_proj", "ffn_norm", "ffn", "final_norm",
// "lm_head"), the layer (-1 outside the layers) and the token's state after it.
using TraceCallback = std::function<void(const char* block, int64_t layer, const TokenState&)>;
// Runs `token` of `user` at `position` through a reference, block by block, calling
// on_block after each; returns the greedy next token. Positions of a user come in order
// 0, 1, 2, ... (the checker guarantees it).
using TokenRunner = std::function<int32_t(int64_t user, int32_t token, int64_t position,
                                          const TraceCallback& on_block)>;

// The CPU golden model as a reference: one KV cache per user, every block called in turn.
// `model` must outlive the runner.
TokenRunner cpu_token_runner(const QuantizedModel& model, int64_t capacity_positions);

// The golden block a simulator block applies ("embedding" -> "embed", "ffn_down" -> "ffn",
// "sampler" -> "sample", same name for the others); "" for blocks that leave the data as is
// (qk_norm, ffn_gate_up, activation, links: the golden model folds them into a neighbour).
std::string golden_block_of(const std::string& sim_block);

// The integers a golden block writes, by field: embed/o_proj -> residual; attn_norm, ffn_norm,
// final_norm -> x_q (d_model values), x_scale (m, e); qkv -> q, k, v; rope -> q, k; attention ->
// attn; ffn -> hidden, residual; lm_head -> logits; kv_write -> none (its effect shows in
// attention).
struct BlockField {
  std::string name_;
  std::vector<int64_t> values_;
};
std::vector<BlockField> block_fields(const std::string& golden_block, const TokenState& s,
                                     const ModelConfig& config);

struct Divergence {
  int64_t user_ = 0;
  int64_t position_ = 0;
  int64_t layer_ = -1;
  std::string block_;   // the simulator's block name
  std::string field_;   // e.g. "attn", or "token" for a sampled id
  int64_t element_ = 0;
  int64_t simulated_ = 0;
  int64_t reference_ = 0;
};

class TraceChecker {
 public:
  // prompts: user u's prompt is prompts[u % n] (as the simulator's functional mode assigns them;
  // needed to replay shared-prefix positions the simulator copied instead of computing).
  TraceChecker(const ModelConfig& config, std::string reference_name, TokenRunner runner,
               std::vector<std::vector<int32_t>> prompts);

  // The simulator applied `sim_block` (at `layer`, -1 outside the layers) to the token of `user`
  // at `position` whose input id is `input_id`; `state` is its data now; `output_id` the id it
  // sampled (read at the sampler only).
  void observe(int64_t user, int64_t position, int32_t input_id, const std::string& sim_block,
               int64_t layer, const TokenState& state, int32_t output_id);

  bool ok() const { return !first_.has_value(); }
  const std::optional<Divergence>& first_divergence() const { return first_; }
  int64_t blocks_compared() const { return blocks_compared_; }
  int64_t tokens_compared() const { return tokens_compared_; }
  int64_t elements_compared() const { return elements_compared_; }
  const std::string& reference_name() const { return reference_name_; }

  // Stable keys: reference, match, tokens_compared, blocks_compared, elements_compared,
  // first_divergence (null or {user, position, layer, block, field, element, simulated,
  // reference}).
  nlohmann::json to_json() const;
  // One human line: "check against cuda: match (N tokens, M blocks)" or the divergence.
  std::string summary() const;

 private:
  struct TokenTrace {
    std::map<std::pair<std::string, int64_t>, std::vector<BlockField>> blocks_;
    int32_t next_token_ = -1;
  };
  // Runs the reference for `user` up to and including `position` (replaying prompt positions
  // the simulator did not compute) and returns the trace of `position`.
  TokenTrace& trace_of(int64_t user, int64_t position, int32_t input_id);
  void diverge(Divergence d);

  ModelConfig config_;
  std::string reference_name_;
  TokenRunner runner_;
  std::vector<std::vector<int32_t>> prompts_;
  std::map<int64_t, int64_t> next_position_;                       // per user
  std::map<std::pair<int64_t, int64_t>, TokenTrace> traces_;       // (user, position)
  std::optional<Divergence> first_;
  int64_t blocks_compared_ = 0;
  int64_t tokens_compared_ = 0;
  int64_t elements_compared_ = 0;
};

}  // namespace hw::gpu
