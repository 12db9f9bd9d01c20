// RTL co-simulation of the vector units (docs/rtl.md "Co-simulation"): the Verilated SwiGLU
// activation block (rtl/activation.sv) in place of the cycle-level chip's SystemC activation
// block, on the same chunk channels, with the adapter protocol of the matrix blocks
// (rtl/cosim.h): at chip cycle t the output transfer of edge t is written into the output
// channel at t, then the input chunk the block takes at t is driven on its pins, then the
// module's clock rises. Its phase structure (input register, take pass, emit pass, output
// pipeline) is the SystemC block's (sim/cycle_chip.h activation_block_spec), so the chip's
// cycles do not change (tests/rtl/test_rtl_timing.cpp, test_rtl_cosim.cpp).
//
// Functional mode: the block's inputs are the token state's gate_ and up_ (written by
// ffn_gate_up as its chunks leave), its outputs the int8 x_q_ and scale x_scale_ that ffn_down
// takes, written chunk by chunk as they leave; at the last chunk the values are checked against
// the golden model's fx::swiglu_fixed + fx::quantize_dynamic (a mismatch stops the run).
#pragma once
#include <memory>

#include "sim/rtl_cosim.h"

namespace hw::rtl {

// Whether this build has RTL for vector unit `block` of the request's model and layer (the
// activation of tiny-mha layer 0); without it the block stays the SystemC one.
bool has_rtl_vector_block(const sim::RtlBlockRequest& request, const std::string& block);

// The RTL replacement of the request's vector unit, nullptr where has_rtl_vector_block is
// false; throws hw::Error when the chip's vector unit is not the RTL's structure (lanes = chunk
// elements = 16, pipeline_depth 4) or the numerics are not the RTL's, naming the fix.
std::unique_ptr<sim::CycleProcess> make_rtl_vector_block(const sim::RtlBlockRequest& request);

}  // namespace hw::rtl
