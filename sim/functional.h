// The data side of functional mode: the golden model (model/golden_model.h) the block modules
// call, the integer state of the token being evaluated, each user's KV cache and prompt. The
// pipeline evaluates one token at a time, so one TokenState serves every token; caches are per
// user, sized for the longest context, and freed when the user leaves. The shared prompt
// prefix is computed once: its K/V rows are kept when the first user has written them and
// copied into every later user's cache instead of being recomputed (as the chip stores it once).
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "model/golden_model.h"
#include "sim/token.h"

namespace hw::sim {

class FunctionalData {
 public:
  // `prompts`: user i's prompt is prompts[i % prompts.size()]. `capacity_positions`: the
  // longest context any user reaches.
  FunctionalData(const QuantizedModel& model, std::vector<std::vector<int32_t>> prompts,
                 int64_t capacity_positions);

  const GoldenModel& golden() const { return golden_; }
  // Called after every block's golden function (SimOptions::on_block_).
  void set_block_hook(BlockHook hook) { hook_ = std::move(hook); }
  const BlockHook* block_hook() const { return &hook_; }
  TokenState* state() { return &state_; }
  KvCache* cache(int64_t user);
  void release(int64_t user);
  const std::vector<int32_t>& prompt(int64_t user) const;

  // Keeps positions [0, positions) of `user`'s cache as the shared prefix.
  void save_prefix(int64_t user, int64_t positions);
  // Copies the kept prefix into `user`'s cache.
  void load_prefix(int64_t user, int64_t positions);

 private:
  GoldenModel golden_;
  BlockHook hook_;
  std::vector<std::vector<int32_t>> prompts_;
  TokenState state_;
  std::map<int64_t, KvCache> caches_;
  KvCache prefix_;
};

}  // namespace hw::sim
