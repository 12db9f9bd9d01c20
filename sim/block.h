// Base of every hardware block of the SystemC chip model. A block module (Qkv, Attention, ...)
// models one block TYPE: all its per-layer instances are stages of the pipeline (pipeline.h)
// that point at it, so the design has one sc_module per block kind rather than one per layer
// (a token visits ~12 blocks in each of 32-80 layers; per-instance modules exchanging kernel
// events would make the simulation slower than the chip). The module states the block's
// service and latency for a token (the formulas of chip/mapping.h) and, in functional mode,
// applies the golden model's function for that block to the token's data. Its signals are the
// VCD view of the block: how many of its instances are busy, how many tokens wait at them.
#pragma once
#include <string>

#include <systemc>

#include "chip/mapping.h"
#include "sim/token.h"

namespace hw {
class GoldenModel;
}

namespace hw::sim {

class BlockModule : public sc_core::sc_module {
 public:
  BlockModule(sc_core::sc_module_name name, std::string block_name);

  // The block's key in results ("qkv", "attn_norm", "link", ...): the mapping's block name.
  const std::string& block_name() const { return block_name_; }
  // Service (busy cycles, the initiation interval) and latency (input complete -> output
  // complete) of this block for token `t`.
  virtual BlockTiming timing(const Token& t) const = 0;
  // Functional mode: the golden model's function of this block on t's data at `layer` (-1 for
  // blocks outside the layers). Blocks whose arithmetic the golden model folds into a
  // neighbour's function (qk_norm into rope, the FFN halves into ffn) leave the data as is.
  virtual void compute(Token& t, int64_t layer) const;
  void set_golden(const GoldenModel* golden) { golden_ = golden; }
  // compute(), then the functional-mode hook if one is set (simulate --check-against).
  void apply(Token& t, int64_t layer) const {
    compute(t, layer);
    if (hook_ && *hook_) (*hook_)(t, block_name_, layer);
  }
  void set_hook(const BlockHook* hook) { hook_ = hook; }

  // VCD probes, driven by the VcdProbe module (vcd.h).
  sc_core::sc_signal<int> busy_;    // instances serving a token
  sc_core::sc_signal<int> queued_;  // tokens waiting in the input FIFOs of its instances

 protected:
  const GoldenModel* golden_ = nullptr;
  const BlockHook* hook_ = nullptr;

 private:
  std::string block_name_;
};

// A block whose timing does not depend on the token (matrix blocks, vector units, links):
// the mapping's BlockTiming, fixed at construction.
class StaticBlock : public BlockModule {
 public:
  StaticBlock(sc_core::sc_module_name name, const BlockTiming& timing);
  BlockTiming timing(const Token&) const override { return timing_; }

 private:
  BlockTiming timing_;
};

}  // namespace hw::sim
