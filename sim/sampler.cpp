// Greedy sampler (see sampler.h).
#include "sim/sampler.h"

#include "model/golden_model.h"

namespace hw::sim {

Sampler::Sampler(sc_core::sc_module_name name, const BlockTiming& timing)
    : StaticBlock(name, timing) {}

void Sampler::compute(Token& t, int64_t) const {
  t.output_id_ = GoldenModel::sample(t.state_->logits_);
}

}  // namespace hw::sim
