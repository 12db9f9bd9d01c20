// The co-simulation factory registry (see rtl_cosim.h).
#include "sim/rtl_cosim.h"

namespace hw::sim {
namespace {
RtlBlockFactory& registry() {
  static RtlBlockFactory f;
  return f;
}
}  // namespace

void set_rtl_block_factory(RtlBlockFactory factory) { registry() = std::move(factory); }

const RtlBlockFactory* rtl_block_factory() { return registry() ? &registry() : nullptr; }

}  // namespace hw::sim
