// The feed-forward network as the chip builds it: three blocks in a row, each with its own
// instances and service time: the gate and up projections side by side (FfnGateUp), the
// SiLU(gate) * up unit (Activation), and the down projection with the residual add (FfnDown).
// The golden model evaluates the whole FFN in one function; FfnDown applies it, when the last
// of the three blocks completes.
#pragma once
#include "sim/block.h"

namespace hw::sim {

class FfnGateUp : public StaticBlock {
 public:
  FfnGateUp(sc_core::sc_module_name name, const BlockTiming& timing);
};

class Activation : public StaticBlock {
 public:
  Activation(sc_core::sc_module_name name, const BlockTiming& timing);
};

class FfnDown : public StaticBlock {
 public:
  FfnDown(sc_core::sc_module_name name, const BlockTiming& timing);
  void compute(Token& t, int64_t layer) const override;
};

}  // namespace hw::sim
