// KV SRAM banks of the cycle-level model (see kv_banks.h).
#include "sim/kv_banks.h"

#include <algorithm>
#include <climits>

#include "common/error.h"

namespace hw::sim {

KvBankEngine::KvBankEngine(int64_t banks, int64_t ports_per_bank)
    : banks_(banks), ports_(ports_per_bank),
      read_ports_(ports_per_bank >= 2 ? ports_per_bank - 1 : 1) {
  if (banks < 1 || ports_per_bank < 1) {
    throw make_error("KvBankEngine", "needs at least one bank and one port");
  }
  const size_t b = size_t(banks);
  written_[0].assign(b, -1);
  written_[1].assign(b, -1);
  read_cycle_.assign(b, -1);
  read_used_.assign(b, 0);
  reads_.assign(b, 0);
  writes_.assign(b, 0);
  conflicts_.assign(b, 0);
  read_conflicts_.assign(b, 0);
}

bool KvBankEngine::request_write(int64_t address, Cycle cycle) {
  const size_t bank = size_t(address % banks_);
  Cycle& slot = written_[size_t(cycle & 1)][bank];
  if (slot == cycle) {
    ++conflicts_[bank];
    return false;
  }
  slot = cycle;
  ++writes_[bank];
  return true;
}

int64_t KvBankEngine::issue_reads(int64_t address, int64_t count, Cycle cycle, bool* conflicted) {
  if (conflicted) *conflicted = false;
  // Consecutive words hit consecutive banks, so up to B * read_ports words find a port each.
  const int64_t n_max = std::min(count, banks_ * read_ports_);
  const std::vector<Cycle>& written = written_[size_t(cycle & 1)];
  int64_t n = 0;
  for (; n < n_max; ++n) {
    const size_t bank = size_t((address + n) % banks_);
    if (read_cycle_[bank] != cycle) {
      read_cycle_[bank] = cycle;
      read_used_[bank] = 0;
    }
    const bool write_holds = ports_ == 1 && written[bank] == cycle;
    if (write_holds || read_used_[bank] >= read_ports_) {
      ++conflicts_[bank];
      if (!write_holds) ++read_conflicts_[bank];
      if (conflicted) *conflicted = true;
      break;
    }
    ++read_used_[bank];
    ++reads_[bank];
  }
  return n;
}

void KvBankEngine::set_readable(int64_t layer, int64_t user, int64_t position, Cycle cycle,
                                Cycle now) {
  auto& set = readable_[{user, layer}];
  set.emplace_back(position, cycle);
  while (set.size() > 1 && set.front().second <= now) set.pop_front();
}

Cycle KvBankEngine::readable_at(int64_t layer, int64_t user, int64_t position) const {
  auto it = readable_.find({user, layer});
  if (it == readable_.end() || it->second.empty() || it->second.back().first < position) {
    return INT64_MAX;
  }
  const auto& set = it->second;
  // Positions before the first kept were readable when it was set.
  if (position < set.front().first) return 0;
  const auto at = std::lower_bound(
      set.begin(), set.end(), position,
      [](const std::pair<int64_t, Cycle>& e, int64_t p) { return e.first < p; });
  return at->second;
}

void KvBankEngine::forget_user(int64_t user) {
  readable_.erase(readable_.lower_bound({user, INT64_MIN}),
                  readable_.lower_bound({user + 1, INT64_MIN}));
}

}  // namespace hw::sim
