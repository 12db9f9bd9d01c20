// First-fit placement of the KV runs (see kv_runs.h).
#include "sim/kv_runs.h"

#include <algorithm>
#include <iterator>

namespace hw::sim {

KvRuns::KvRuns(int64_t capacity_positions, int64_t prefix_positions, int64_t words_per_position)
    : prefix_positions_(prefix_positions),
      words_per_position_(std::max<int64_t>(1, words_per_position)) {
  if (capacity_positions > 0) free_[0] = capacity_positions;
}

int64_t KvRuns::take(int64_t positions) {
  if (positions == 0) return 0;
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second >= positions) {
      const int64_t start = it->first;
      const int64_t left = it->second - positions;
      free_.erase(it);
      if (left > 0) free_[start + positions] = left;
      return start;
    }
  }
  return -1;
}

void KvRuns::release(int64_t start, int64_t len) {
  if (len == 0) return;
  auto next = free_.lower_bound(start);
  if (next != free_.end() && next->first == start + len) {
    len += next->second;
    free_.erase(next);
  }
  auto after = free_.lower_bound(start);
  if (after != free_.begin()) {
    auto prev = std::prev(after);
    if (prev->first + prev->second == start) {
      start = prev->first;
      len += prev->second;
      free_.erase(prev);
    }
  }
  free_[start] = len;
}

bool KvRuns::place_user(int64_t user, int64_t positions, int64_t group) {
  const int64_t start = take(positions);
  if (start < 0) return false;
  users_[user] = {start, positions, group};
  return true;
}

void KvRuns::free_user(int64_t user) {
  auto it = users_.find(user);
  if (it == users_.end()) return;
  const UserRun run = it->second;
  users_.erase(it);
  release(run.start_, run.length_);
}

bool KvRuns::place_prefix(int64_t group, int64_t positions) {
  const int64_t start = take(positions);
  if (start < 0) return false;
  prefixes_[group] = start;
  return true;
}

void KvRuns::free_prefix(int64_t group) {
  auto it = prefixes_.find(group);
  if (it == prefixes_.end()) return;
  const int64_t start = it->second;
  prefixes_.erase(it);
  release(start, prefix_positions_);
}

KvAddress KvRuns::address(int64_t user) const {
  KvAddress a;
  a.prefix_positions_ = prefix_positions_;
  auto it = users_.find(user);
  const int64_t start = it == users_.end() ? 0 : it->second.start_;
  // Positions below the shared prefix are the user's group's prefix run (owner included: its
  // first positions are the prefix); the private run holds positions prefix.. at `start`.
  if (it != users_.end()) {
    auto p = prefixes_.find(it->second.group_);
    if (p != prefixes_.end()) {
      a.prefix_base_positions_ = p->second;
      a.prefix_base_words_ = p->second * words_per_position_;
    }
  }
  a.private_base_words_ = start * words_per_position_;
  a.private_base_positions_ = start;
  return a;
}

}  // namespace hw::sim
