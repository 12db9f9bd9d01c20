// Latency statistics whose memory does not grow with the number of samples: a log-linear
// histogram of cycle counts (exact below 2^11 cycles, within 2^-10 relative above, up to 2^40
// cycles, about 18 minutes at 1 GHz; longer values count in the top bucket), allocated once at
// a fixed 264 KiB, so the inter-token latency percentiles of a run with millions of tokens cost
// the same as those of a short one. Percentiles use the nearest-rank rule.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/token.h"

namespace hw::sim {

class CycleHistogram {
 public:
  CycleHistogram();
  void add(Cycle value);
  int64_t count() const { return count_; }
  double mean() const { return count_ ? sum_ / double(count_) : 0.0; }
  // Nearest-rank percentile, p in (0, 100]; the midpoint of the bucket holding it (the exact
  // value below 2^11). 0 when empty.
  double percentile(double p) const;
  int64_t state_bytes() const;

 private:
  static constexpr int kSubBits = 10;
  static constexpr int kMaxBits = 40;
  static size_t index_of(Cycle value);
  static double value_of(size_t index);
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  double sum_ = 0.0;
};

// Nearest-rank percentile of a list of values (sorted in place).
double percentile_of(std::vector<double>& values, double p);

}  // namespace hw::sim
