// Attention output projection (see o_proj.h).
#include "sim/o_proj.h"

#include "model/golden_model.h"

namespace hw::sim {

OProj::OProj(sc_core::sc_module_name name, const BlockTiming& timing) : StaticBlock(name, timing) {}

void OProj::compute(Token& t, int64_t layer) const { golden_->o_proj(layer, *t.state_); }

}  // namespace hw::sim
