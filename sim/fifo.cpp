// Bounded inter-block FIFO (see fifo.h).
#include "sim/fifo.h"

#include <algorithm>

namespace hw::sim {

BoundedFifo::BoundedFifo(int64_t capacity_tokens) : capacity_(std::max<int64_t>(1, capacity_tokens)) {}

Cycle BoundedFifo::space_at() const {
  if (static_cast<int64_t>(leaves_.size()) < capacity_) return 0;
  return leaves_[oldest_];
}

void BoundedFifo::record(Cycle enter_cycle, Cycle leave_cycle) {
  // Occupants still inside when this one enters: leave times are non-decreasing in ring order,
  // so they are a suffix of the ring, found by binary search over logical positions.
  const size_t n = leaves_.size();
  size_t lo = 0;
  size_t hi = n;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    size_t idx = oldest_ + mid;
    if (idx >= n) idx -= n;
    if (leaves_[idx] <= enter_cycle) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  const int64_t inside = static_cast<int64_t>(n - lo) + 1;
  peak_ = std::max(peak_, inside);
  if (static_cast<int64_t>(n) < capacity_) {
    leaves_.push_back(leave_cycle);
  } else {
    leaves_[oldest_] = leave_cycle;
    if (++oldest_ == n) oldest_ = 0;
  }
}

int64_t BoundedFifo::state_bytes() const {
  return static_cast<int64_t>(leaves_.capacity() * sizeof(Cycle));
}

}  // namespace hw::sim
