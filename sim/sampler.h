// Greedy sampler: argmax over the logits (lowest index among equals). Its output is the next
// input token of the same user, handed back to the scheduler when the token leaves the chip.
#pragma once
#include "sim/block.h"

namespace hw::sim {

class Sampler : public StaticBlock {
 public:
  Sampler(sc_core::sc_module_name name, const BlockTiming& timing);
  void compute(Token& t, int64_t layer) const override;
};

}  // namespace hw::sim
