// Embedding block: token id -> d_model vector, one ROM row read (chip.embedding.lookup_cycles).
// First block of every token's pass; its input FIFO is where the scheduler injects tokens.
#pragma once
#include "sim/block.h"

namespace hw::sim {

class Embedding : public StaticBlock {
 public:
  Embedding(sc_core::sc_module_name name, const BlockTiming& timing);
  void compute(Token& t, int64_t layer) const override;
};

}  // namespace hw::sim
