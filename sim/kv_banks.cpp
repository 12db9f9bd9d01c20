// KV SRAM banks of the cycle-level model (see kv_banks.h).
#include "sim/kv_banks.h"

#include <algorithm>
#include <climits>

#include "common/error.h"

namespace hw::sim {

KvBankEngine::KvBankEngine(int64_t banks, int64_t ports_per_bank)
    : banks_(banks), ports_(ports_per_bank), read_ports_(ports_per_bank >= 2 ? ports_per_bank - 1 : 1),
      reads_(size_t(banks), 0), writes_(size_t(banks), 0), conflicts_(size_t(banks), 0) {
  if (banks < 1 || ports_per_bank < 1) {
    throw make_error("KvBankEngine", "needs at least one bank and one port");
  }
}

KvBankEngine::Writes& KvBankEngine::writes_at(Cycle cycle) {
  Writes& w = slots_[size_t(cycle & 1)];
  if (w.cycle_ != cycle) {
    w.cycle_ = cycle;
    w.banks_.clear();
  }
  return w;
}

const KvBankEngine::Writes* KvBankEngine::find_writes(Cycle cycle) const {
  const Writes& w = slots_[size_t(cycle & 1)];
  return w.cycle_ == cycle ? &w : nullptr;
}

bool KvBankEngine::request_write(int64_t address, Cycle cycle) {
  const int64_t bank = address % banks_;
  Writes& w = writes_at(cycle);
  if (std::find(w.banks_.begin(), w.banks_.end(), bank) != w.banks_.end()) return false;
  w.banks_.push_back(bank);
  ++writes_[size_t(bank)];
  return true;
}

int64_t KvBankEngine::issue_reads(int64_t address, int64_t count, Cycle cycle) {
  // Consecutive words hit consecutive banks, so up to B * read_ports words find a port each.
  int64_t n = std::min(count, banks_ * read_ports_);
  if (n <= 0) return 0;
  if (ports_ == 1) {
    if (const Writes* w = find_writes(cycle)) {
      const int64_t first_bank = address % banks_;
      int64_t blocked_at = n;
      int64_t blocked_bank = -1;
      for (int64_t b : w->banks_) {
        const int64_t offset = (b - first_bank + banks_) % banks_;
        if (offset < blocked_at) {
          blocked_at = offset;
          blocked_bank = b;
        }
      }
      if (blocked_bank >= 0) {
        ++conflicts_[size_t(blocked_bank)];
        n = blocked_at;
      }
    }
  }
  const int64_t first_bank = address % banks_;
  const int64_t full = n / banks_;
  const int64_t rest = n % banks_;
  for (int64_t b = 0; b < banks_; ++b) {
    const int64_t offset = (b - first_bank + banks_) % banks_;
    reads_[size_t(b)] += full + (offset < rest ? 1 : 0);
  }
  return n;
}

void KvBankEngine::set_readable(int64_t user, int64_t position, Cycle cycle) {
  readable_[user] = {position, cycle};
}

Cycle KvBankEngine::readable_at(int64_t user, int64_t position) const {
  auto it = readable_.find(user);
  if (it == readable_.end() || it->second.first < position) return INT64_MAX;
  // Earlier positions of the user were written before the one recorded.
  return it->second.first == position ? it->second.second : 0;
}

}  // namespace hw::sim
