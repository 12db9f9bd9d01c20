// A bounded FIFO between two blocks, in token vectors (chip.buffers.fifo_depth). Tokens leave it
// in the order they entered (the consumer serves them in order), so its state is the leave
// times of its most recent `capacity` occupants: the next token may enter only once the
// occupant `capacity` places ahead of it has left. That is the back-pressure the producer sees
// (its stall reason output_full). Memory is bounded by the capacity, not by the tokens served.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/token.h"

namespace hw::sim {

class BoundedFifo {
 public:
  explicit BoundedFifo(int64_t capacity_tokens);

  int64_t capacity() const { return capacity_; }
  // Earliest cycle at which one more token may enter (0 while fewer than capacity ever did).
  Cycle space_at() const;
  // A token entered at `enter_cycle` and its consumer took it at `leave_cycle` (>= enter, and
  // >= the previous leave). Tracks the peak occupancy. Inline: the token level records every
  // token at every block.
  void record(Cycle enter_cycle, Cycle leave_cycle);
  // Most tokens that were in the FIFO at once.
  int64_t peak_occupancy() const { return peak_; }
  // Bytes of state held (the ring of leave times), for the memory-is-flat check.
  int64_t state_bytes() const;

 private:
  int64_t capacity_ = 1;
  std::vector<Cycle> leaves_;  // ring, grows to capacity_ entries then wraps
  size_t oldest_ = 0;          // ring index of the oldest entry once full
  int64_t peak_ = 0;
};

inline void BoundedFifo::record(Cycle enter_cycle, Cycle leave_cycle) {
  // Occupants still inside when this one enters: leave times are non-decreasing in ring order,
  // so they are a suffix of the ring. Only a suffix longer than the peak so far matters, so the
  // occupant `peak_` places from the newest decides (one comparison per token); the suffix is
  // counted only when it is longer.
  const size_t n = leaves_.size();
  const auto at = [&](size_t logical) {
    const size_t idx = oldest_ + logical;
    return leaves_[idx >= n ? idx - n : idx];
  };
  const size_t peak = static_cast<size_t>(peak_);
  if (peak == 0) {
    peak_ = 1;
  } else if (peak <= n && at(n - peak) > enter_cycle) {
    size_t inside = peak;
    while (inside < n && at(n - inside - 1) > enter_cycle) ++inside;
    peak_ = static_cast<int64_t>(inside) + 1;
  }
  if (static_cast<int64_t>(n) < capacity_) {
    leaves_.push_back(leave_cycle);
  } else {
    leaves_[oldest_] = leave_cycle;
    if (++oldest_ == n) oldest_ = 0;
  }
}

}  // namespace hw::sim
