// The bounded inter-block FIFO's statistics (sim/fifo.h): space_at and the peak occupancy, which
// the token level records for every token at every block, against a brute-force reference that
// keeps every (enter, leave) pair and counts the occupants at each entry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "sim/fifo.h"

namespace hw {
namespace {

using sim::BoundedFifo;
using sim::Cycle;

// Occupants inside when each token enters (itself included), over all tokens so far.
int64_t reference_peak(const std::vector<std::pair<Cycle, Cycle>>& visits) {
  int64_t peak = 0;
  for (size_t i = 0; i < visits.size(); ++i) {
    int64_t inside = 1;
    for (size_t j = 0; j < i; ++j) inside += visits[j].second > visits[i].first ? 1 : 0;
    peak = std::max(peak, inside);
  }
  return peak;
}

TEST(BoundedFifo, PeakAndSpaceMatchBruteForceOverRandomTraffic) {
  std::mt19937_64 rng(7);
  for (const int64_t capacity : {1, 2, 3, 5, 8}) {
    for (int run = 0; run < 50; ++run) {
      BoundedFifo fifo(capacity);
      std::vector<std::pair<Cycle, Cycle>> visits;
      Cycle enter = 0, leave = 0;
      for (int k = 0; k < 60; ++k) {
        // Entries wait for space (the occupant `capacity` places ahead has left); leaves are
        // non-decreasing (served in order) and no earlier than the entry.
        const Cycle space = fifo.space_at();
        if (static_cast<int64_t>(visits.size()) >= capacity) {
          EXPECT_EQ(space, visits[visits.size() - size_t(capacity)].second);
        } else {
          EXPECT_EQ(space, 0);
        }
        enter = std::max<Cycle>(enter + Cycle(rng() % 4), space);
        leave = std::max(leave, enter) + Cycle(rng() % 9);
        fifo.record(enter, leave);
        visits.emplace_back(enter, leave);
        ASSERT_EQ(fifo.peak_occupancy(), reference_peak(visits))
            << "capacity " << capacity << ", run " << run << ", token " << k;
      }
    }
  }
}

TEST(BoundedFifo, PeakCountsEveryOccupantStillInside) {
  BoundedFifo fifo(3);
  fifo.record(0, 10);
  fifo.record(1, 10);
  EXPECT_EQ(fifo.peak_occupancy(), 2);
  fifo.record(2, 12);  // both earlier ones still inside
  EXPECT_EQ(fifo.peak_occupancy(), 3);
  fifo.record(10, 12);  // the first two left at 10: only the third is inside
  EXPECT_EQ(fifo.peak_occupancy(), 3);
  fifo.record(11, 20);  // the third and fourth are inside
  EXPECT_EQ(fifo.peak_occupancy(), 3);
  fifo.record(11, 20);  // a ring of three, all of them inside: 4 with this one
  EXPECT_EQ(fifo.peak_occupancy(), 4);
}

}  // namespace
}  // namespace hw
