// RTL co-simulation of one layer's attention unit (docs/rtl.md "Attention unit"): the Verilated
// hw_attention_unit (rtl/attention_unit.sv: KV write path, the layer's KV SRAM banks, attention
// engine) in place of the cycle-level chip's CycleKvWrite and CycleAttention processes
// (sim/cycle_block.h), on the same chunk channels.
//
// The unit has two streams, so it sits in the chip as two cycle-level processes: the kv_write
// face (qkv chunks in, q chunks out) and the attention face (q chunks in, attention output
// out), sharing one Verilated module and one clock. Whichever face runs first in chip cycle t
// does the cycle for both, in the kernel's deltas at t as rtl/cosim.h's matrix blocks do:
//   delta 0   output transfers of edge t (each face's out_ready when its channel has room; the
//             chunk is written into the channel at t);
//   delta 2   inputs: a chunk the channel held at t's edge is read at t and driven on the pins
//             when the unit is ready for it;
//   delta 3   the unit's rising clock edge (falling half a cycle later).
// Functional mode: the kv_write face drives the token's q, k and v (after RoPE) from its state
// and keeps the golden KV cache written (GoldenModel::kv_write); the attention face drives the q
// chunks as they left the unit's KV write path, and checks each output chunk of the unit against
// the golden model's attention over the golden KV cache, which its first chunk writes into the
// token's attn_ (o_proj reads the whole vector with its first chunk); a mismatch stops the run
// with the element and both values. Timing mode drives zeros.
// The unit's q queue holds 8 q vectors, CycleKvWrite's has no bound: a run that would fill it
// stops with an error (from there the timings would part).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "sim/rtl_cosim.h"

namespace hw::rtl {

using RtlAttentionRequest = sim::RtlAttentionRequest;
using RtlAttentionProcesses = sim::RtlAttentionProcesses;

// The Verilated attention units of this build, for messages ("tiny-mha on hc1-like (...)").
std::string attention_units_available();

// The two faces of a Verilated attention unit whose parameters equal the request's model and
// chip; throws hw::Error naming the chip or model key that differs (and the unit's value).
RtlAttentionProcesses make_rtl_attention(const RtlAttentionRequest& request);

// make_rtl_attention when a unit matches, else no processes (the co-simulation factory: other
// models and chips keep the SystemC KV write and attention).
RtlAttentionProcesses make_rtl_attention_if_built(const RtlAttentionRequest& request);

// Registers make_rtl_attention_if_built as the chip's attention factory
// (sim::set_rtl_attention_factory); rtl::register_rtl_cosim() calls it.
void register_rtl_attention_cosim();

}  // namespace hw::rtl
