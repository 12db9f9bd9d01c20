// RMSNorm unit (two passes over the vector: sum of squares, then scale). One module per place
// the norm appears in the dataflow, since each is a separate physical unit with its own
// instances: attn_norm and ffn_norm in every layer, qk_norm in every layer of models that have
// it (Qwen3), final_norm once before the LM head.
#pragma once
#include "sim/block.h"

namespace hw::sim {

enum class NormPlace { kAttention, kQk, kFfn, kFinal };

class RmsNorm : public StaticBlock {
 public:
  RmsNorm(sc_core::sc_module_name name, const BlockTiming& timing, NormPlace place);
  void compute(Token& t, int64_t layer) const override;

 private:
  NormPlace place_;
};

}  // namespace hw::sim
