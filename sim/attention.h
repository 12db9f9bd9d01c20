// Attention engine of a layer: sweeps the user's cached positions (the shared-prefix run, then
// the private run) at banks x read-ports words per cycle, with the q.k / p.v MACs and the
// softmax exponentials in parallel; the slowest of the three sets the service time, so it
// grows linearly with the context. The token carries its timing at its context
// (ChipMapping::attention), computed once for all layers. On single-ported banks a KV write
// that lands while the engine is sweeping steals its port: the pipeline charges the write
// wave's bank_conflict penalty (stall reason bank_conflict).
#pragma once
#include "sim/block.h"

namespace hw::sim {

class Attention : public BlockModule {
 public:
  explicit Attention(sc_core::sc_module_name name);
  BlockTiming timing(const Token& t) const override {
    return {"attention", t.attention_service_cycles_, t.attention_latency_cycles_,
            StreamBlock{}};
  }
  void compute(Token& t, int64_t layer) const override;
};

}  // namespace hw::sim
