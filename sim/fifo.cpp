// Bounded inter-block FIFO (see fifo.h).
#include "sim/fifo.h"

#include <algorithm>

namespace hw::sim {

BoundedFifo::BoundedFifo(int64_t capacity_tokens) : capacity_(std::max<int64_t>(1, capacity_tokens)) {}

Cycle BoundedFifo::space_at() const {
  if (static_cast<int64_t>(leaves_.size()) < capacity_) return 0;
  return leaves_[oldest_];
}

int64_t BoundedFifo::state_bytes() const {
  return static_cast<int64_t>(leaves_.capacity() * sizeof(Cycle));
}

}  // namespace hw::sim
