// Chip-to-chip link of a multi-die system: the d_model vector crosses from one die to the next
// after the die's last layer (one Link instance per die boundary), and the sampled token id
// returns from the last die to die 0 (LinkReturn). Timing from the link bandwidth and latency.
#pragma once
#include "sim/block.h"

namespace hw::sim {

class Link : public StaticBlock {
 public:
  Link(sc_core::sc_module_name name, const BlockTiming& timing);
};

class LinkReturn : public StaticBlock {
 public:
  LinkReturn(sc_core::sc_module_name name, const BlockTiming& timing);
};

}  // namespace hw::sim
