// Block module base and the token-independent block (see block.h).
#include "sim/block.h"

namespace hw::sim {

const char* stall_reason_name(StallReason reason) {
  switch (reason) {
    case StallReason::kInputEmpty: return "input_empty";
    case StallReason::kOutputFull: return "output_full";
    case StallReason::kBankConflict: return "bank_conflict";
    case StallReason::kDramBandwidth: return "dram_bandwidth";
  }
  return "unknown";
}

BlockModule::BlockModule(sc_core::sc_module_name name, std::string block_name)
    : sc_core::sc_module(name), busy_("busy"), queued_("queued"),
      block_name_(std::move(block_name)) {}

void BlockModule::compute(Token&, int64_t) const {}

StaticBlock::StaticBlock(sc_core::sc_module_name name, const BlockTiming& timing)
    : BlockModule(name, timing.name_), timing_(timing) {}

}  // namespace hw::sim
