// KV write (see kv_write.h).
#include "sim/kv_write.h"

#include "model/golden_model.h"

namespace hw::sim {

KvWrite::KvWrite(sc_core::sc_module_name name, const BlockTiming& timing)
    : StaticBlock(name, timing) {}

void KvWrite::compute(Token& t, int64_t layer) const {
  golden_->kv_write(layer, *t.state_, *t.cache_);
}

}  // namespace hw::sim
