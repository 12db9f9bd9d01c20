// Fused q, k, v projection: a hardwired matrix block, busy `fold` cycles per token.
#pragma once
#include "sim/block.h"

namespace hw::sim {

class Qkv : public StaticBlock {
 public:
  Qkv(sc_core::sc_module_name name, const BlockTiming& timing);
  void compute(Token& t, int64_t layer) const override;
};

}  // namespace hw::sim
