// Feed-forward blocks (see ffn.h).
#include "sim/ffn.h"

#include "model/golden_model.h"

namespace hw::sim {

FfnGateUp::FfnGateUp(sc_core::sc_module_name name, const BlockTiming& timing)
    : StaticBlock(name, timing) {}

Activation::Activation(sc_core::sc_module_name name, const BlockTiming& timing)
    : StaticBlock(name, timing) {}

FfnDown::FfnDown(sc_core::sc_module_name name, const BlockTiming& timing)
    : StaticBlock(name, timing) {}

void FfnDown::compute(Token& t, int64_t layer) const { golden_->ffn(layer, *t.state_); }

}  // namespace hw::sim
