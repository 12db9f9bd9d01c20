// Rotary position embedding (see rope.h).
#include "sim/rope.h"

#include "model/golden_model.h"

namespace hw::sim {

Rope::Rope(sc_core::sc_module_name name, const BlockTiming& timing) : StaticBlock(name, timing) {}

void Rope::compute(Token& t, int64_t layer) const { golden_->rope(layer, *t.state_); }

}  // namespace hw::sim
