// RMSNorm unit (see rms_norm.h).
#include "sim/rms_norm.h"

#include "model/golden_model.h"

namespace hw::sim {

RmsNorm::RmsNorm(sc_core::sc_module_name name, const BlockTiming& timing, NormPlace place)
    : StaticBlock(name, timing), place_(place) {}

void RmsNorm::compute(Token& t, int64_t layer) const {
  switch (place_) {
    case NormPlace::kAttention: golden_->attn_norm(layer, *t.state_); break;
    case NormPlace::kFfn: golden_->ffn_norm(layer, *t.state_); break;
    case NormPlace::kFinal: golden_->final_norm(*t.state_); break;
    case NormPlace::kQk:
      // The golden model applies the per-head q/k norm inside rope(); the Rope block runs it.
      break;
  }
}

}  // namespace hw::sim
