// Attention output projection plus the residual add: a hardwired matrix block.
#pragma once
#include "sim/block.h"

namespace hw::sim {

class OProj : public StaticBlock {
 public:
  OProj(sc_core::sc_module_name name, const BlockTiming& timing);
  void compute(Token& t, int64_t layer) const override;
};

}  // namespace hw::sim
