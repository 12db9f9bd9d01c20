// The co-simulation factory registry (see rtl_cosim.h).
#include "sim/rtl_cosim.h"

namespace hw::sim {
namespace {
RtlBlockFactory& registry() {
  static RtlBlockFactory f;
  return f;
}
RtlAttentionFactory& attention_registry() {
  static RtlAttentionFactory f;
  return f;
}
}  // namespace

void set_rtl_block_factory(RtlBlockFactory factory) { registry() = std::move(factory); }

const RtlBlockFactory* rtl_block_factory() { return registry() ? &registry() : nullptr; }

void set_rtl_attention_factory(RtlAttentionFactory factory) {
  attention_registry() = std::move(factory);
}

const RtlAttentionFactory* rtl_attention_factory() {
  return attention_registry() ? &attention_registry() : nullptr;
}

}  // namespace hw::sim
