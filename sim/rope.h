// Rotary position embedding of q and k at the token's position (and, for Qwen3, the per-head
// q/k norm before it, which the golden model evaluates in the same function).
#pragma once
#include "sim/block.h"

namespace hw::sim {

class Rope : public StaticBlock {
 public:
  Rope(sc_core::sc_module_name name, const BlockTiming& timing);
  void compute(Token& t, int64_t layer) const override;
};

}  // namespace hw::sim
