// Hook for RTL co-simulation in the cycle-level chip (docs/rtl.md "Co-simulation"): the
// Verilated blocks live in rtl/ (hardwire_rtl_cosim, built only with Verilator), so the chip
// asks a process-wide factory, registered by that library (rtl/cosim.h register_rtl_cosim()),
// for a process to put in place of one block of one layer. Without a registered factory a
// request for RTL blocks is an error that says how to build them.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "chip/mapping.h"
#include "sim/clock.h"
#include "sim/cycle_block.h"
#include "sim/functional.h"

namespace hw::sim {

// One block the chip wants from RTL. `functional`: the token states' golden model (nullptr in
// timing mode, where only the cycles matter and the RTL computes on zeros).
struct RtlBlockRequest {
  const ChipMapping* mapping_ = nullptr;
  const ClockBase* clock_ = nullptr;
  const FunctionalData* functional_ = nullptr;
  std::string block_;      // qkv, o_proj, ffn_gate_up, ffn_down
  std::string instance_;   // sc_module name ("L00_qkv")
  int64_t layer_ = 0;
  int64_t chunk_elements_ = 0;
  std::string vcd_path_;   // "" = no trace of the RTL's pins
};

// Returns the replacement process, or nullptr when the block kind has no RTL (it stays a
// SystemC block). Throws hw::Error when the model, numerics or layer have no Verilated RTL in
// this build.
using RtlBlockFactory = std::function<std::unique_ptr<CycleProcess>(const RtlBlockRequest&)>;

void set_rtl_block_factory(RtlBlockFactory factory);
const RtlBlockFactory* rtl_block_factory();

// The layer's KV write path and attention engine as one RTL unit (it owns the layer's KV SRAM
// banks), in the chip as two processes: kv_write (qkv chunks in, q chunks out) and attention
// (q chunks in, attention output out), chained in place of CycleKvWrite and CycleAttention.
struct RtlAttentionRequest {
  const ChipMapping* mapping_ = nullptr;
  const ClockBase* clock_ = nullptr;
  const FunctionalData* functional_ = nullptr;  // nullptr: timing mode
  int64_t layer_ = 0;
  int64_t chunk_elements_ = 0;
  std::string kv_write_instance_ = "kv_write";
  std::string attention_instance_ = "attention";
  std::string vcd_path_;  // "" = no trace of the unit
  // The chip's KV address map (CycleChip::address_of): word addresses of a token's KV.
  std::function<KvAddress(const Token&)> address_;
};
struct RtlAttentionProcesses {
  std::unique_ptr<CycleProcess> kv_write_;
  std::unique_ptr<CycleProcess> attention_;
};
// Returns both processes, or neither when this build has no RTL unit for the model and chip
// (the layer's KV write and attention then stay SystemC processes).
using RtlAttentionFactory = std::function<RtlAttentionProcesses(const RtlAttentionRequest&)>;

void set_rtl_attention_factory(RtlAttentionFactory factory);
const RtlAttentionFactory* rtl_attention_factory();

}  // namespace hw::sim
