// Output projection to the vocabulary logits: a hardwired matrix block on the last die, run
// only by tokens whose output is needed (the last prompt token and every decode token).
#pragma once
#include "sim/block.h"

namespace hw::sim {

class LmHead : public StaticBlock {
 public:
  LmHead(sc_core::sc_module_name name, const BlockTiming& timing);
  void compute(Token& t, int64_t layer) const override;
};

}  // namespace hw::sim
