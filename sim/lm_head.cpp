// Output projection (see lm_head.h).
#include "sim/lm_head.h"

#include "model/golden_model.h"

namespace hw::sim {

LmHead::LmHead(sc_core::sc_module_name name, const BlockTiming& timing)
    : StaticBlock(name, timing) {}

void LmHead::compute(Token& t, int64_t) const { golden_->lm_head(*t.state_); }

}  // namespace hw::sim
