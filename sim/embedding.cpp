// Embedding block (see embedding.h).
#include "sim/embedding.h"

#include "model/golden_model.h"

namespace hw::sim {

Embedding::Embedding(sc_core::sc_module_name name, const BlockTiming& timing)
    : StaticBlock(name, timing) {}

void Embedding::compute(Token& t, int64_t) const {
  golden_->embed(t.input_id_, t.position_, *t.state_);
}

}  // namespace hw::sim
