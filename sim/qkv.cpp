// Fused q, k, v projection (see qkv.h).
#include "sim/qkv.h"

#include "model/golden_model.h"

namespace hw::sim {

Qkv::Qkv(sc_core::sc_module_name name, const BlockTiming& timing) : StaticBlock(name, timing) {}

void Qkv::compute(Token& t, int64_t layer) const { golden_->qkv(layer, *t.state_); }

}  // namespace hw::sim
