// Latency statistics (see stats.h).
#include "sim/stats.h"

#include <algorithm>
#include <cmath>

namespace hw::sim {

size_t CycleHistogram::index_of(Cycle value) {
  const uint64_t v = value < 0 ? 0 : static_cast<uint64_t>(value);
  constexpr uint64_t kExact = uint64_t{1} << (kSubBits + 1);
  if (v < kExact) return static_cast<size_t>(v);
  int top = 63;
  while (!(v >> top)) --top;
  const int shift = top - kSubBits;
  const uint64_t sub = v >> shift;  // in [2^kSubBits, 2^(kSubBits+1))
  return static_cast<size_t>((uint64_t(shift) << kSubBits) + sub);
}

double CycleHistogram::value_of(size_t index) {
  constexpr size_t kExact = size_t{1} << (kSubBits + 1);
  if (index < kExact) return double(index);
  const size_t shift = (index >> kSubBits) - 1;
  const size_t sub = index - (shift << kSubBits);
  const double lower = std::ldexp(double(sub), int(shift));
  return lower + std::ldexp(0.5, int(shift));
}

CycleHistogram::CycleHistogram() : counts_(index_of(Cycle{1} << kMaxBits) + 1, 0) {}

void CycleHistogram::add(Cycle value) {
  ++counts_[std::min(index_of(value), counts_.size() - 1)];
  ++count_;
  sum_ += double(value);
}

double CycleHistogram::percentile(double p) const {
  if (count_ == 0) return 0.0;
  const int64_t rank =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(p / 100.0 * double(count_))));
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return value_of(i);
  }
  return value_of(counts_.size() - 1);
}

int64_t CycleHistogram::state_bytes() const {
  return static_cast<int64_t>(counts_.capacity() * sizeof(int64_t));
}

double percentile_of(std::vector<double>& values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * double(n)));
  rank = std::clamp<size_t>(rank, 1, n);
  return values[rank - 1];
}

}  // namespace hw::sim
