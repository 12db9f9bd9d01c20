// Attention engine (see attention.h).
#include "sim/attention.h"

#include "model/golden_model.h"

namespace hw::sim {

Attention::Attention(sc_core::sc_module_name name) : BlockModule(name, "attention") {}

void Attention::compute(Token& t, int64_t layer) const {
  golden_->attention(layer, *t.state_, *t.cache_);
}

}  // namespace hw::sim
