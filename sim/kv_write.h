// KV write: stores the new position's K and V rows into its layer's KV memory (one write per
// bank per cycle in SRAM; a DRAM transfer on the die's shared channel with kv_memory = dram).
// Its cycles are remembered on the token so the attention of the same layer can tell whether
// this write collided with the previous token's read sweep on single-ported banks.
#pragma once
#include "sim/block.h"

namespace hw::sim {

class KvWrite : public StaticBlock {
 public:
  KvWrite(sc_core::sc_module_name name, const BlockTiming& timing);
  void compute(Token& t, int64_t layer) const override;
};

}  // namespace hw::sim
