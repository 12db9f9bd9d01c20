// RTL co-simulation (docs/rtl.md "Co-simulation"): the Verilated matrix blocks of one layer
// in place of the cycle-level chip's SystemC matrix blocks, on the same chunk channels.
//
// RtlMatrixBlock is a cycle-level block process (sim/cycle_block.h: same sc_fifo ports, same
// wake/sleep on the chip clock) whose work is done by one or more Verilated matrix modules
// (qkv = q, k and v modules side by side; ffn_gate_up = gate and up). Each chip cycle t, in the
// kernel's deltas at t:
//   delta 0   the output side: the module's registered out_valid/out_data are the transfer of
//             edge t when out_ready is driven (the output chunk being assembled has room, as
//             the SystemC block's output credit); a completed chunk (chip chunk width) is
//             written into the output channel at t, as the SystemC block writes it;
//   delta 2   the input side, once out_ready has rippled into in_ready: if every module is
//             ready, the next chunk is read from the input channel at t and driven on the pins;
//   delta 3   the module's rising clock edge (falling edge half a cycle later).
// So a chunk the SystemC block would read at cycle t enters the RTL's input register at edge t,
// and an output the RTL transfers at edge t leaves at cycle t as the SystemC block's would.
// Module outputs of a fused block leave in order (q rows, then k, then v): the later modules
// hold theirs in their hold registers, like the fused block's output registers.
//
// Functional mode: the RTL computes the matrix products; the block's inputs come from the
// token's golden-model state and its outputs go back there (docs/rtl.md lists what stays C++:
// the bias and residual adds, the activation quantization before o_proj and ffn_down). Every
// RTL output is also checked against the golden model's product of the same input (a
// scoreboard: a module holding other weights is an error naming the module and row).
//
// Which layers exist: a table in cosim.cpp (model, numerics, layer, shapes, modules), one row
// per layer verilated by rtl/CMakeLists.txt; a request for anything else is an error listing
// the table and saying how to generate and add a layer.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/rtl_cosim.h"

namespace hw::rtl {

// One layer whose matrix blocks this build's Verilated library holds (rtl/cosim.cpp's table).
struct CosimLayerInfo {
  std::string model_;     // the model's name: its GGUF file stem ("tiny-gqa-s")
  std::string numerics_;  // the profile the constants were quantized with ("w4a8")
  int64_t layer_ = 0;
  std::string dir_;       // rtl/gen/<dir_>: the generated sources
};
std::vector<CosimLayerInfo> cosim_layers();

// The same as text, for messages and docs: "tiny-mha w4a8 layer 0, tiny-gqa-s w4a8 layer 0, ...".
std::string cosim_available();

// Registers the co-simulation factories (sim::set_rtl_block_factory, and the attention unit's,
// cosim_attention.h). Call once before building a cycle-level chip with
// CycleChipOptions::rtl_layer_ set (the CLI does at start-up).
void register_rtl_cosim();

// The factory itself (for tests that build single blocks): the replacement of
// `request.block_`, nullptr for block kinds without RTL; throws hw::Error naming the model,
// numerics, layer or chip structure that does not match the Verilated RTL.
std::unique_ptr<sim::CycleProcess> make_rtl_block(const sim::RtlBlockRequest& request);

// Writes the VCD of every RTL block built so far with a vcd path (after sc_start returns).
void close_rtl_traces();

}  // namespace hw::rtl
