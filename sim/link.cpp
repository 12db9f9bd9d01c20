// Chip-to-chip links (see link.h).
#include "sim/link.h"

namespace hw::sim {

Link::Link(sc_core::sc_module_name name, const BlockTiming& timing) : StaticBlock(name, timing) {}

LinkReturn::LinkReturn(sc_core::sc_module_name name, const BlockTiming& timing)
    : StaticBlock(name, timing) {}

}  // namespace hw::sim
