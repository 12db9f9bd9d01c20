// KV SRAM banks and the KV DRAM channel of the cycle-level model (see kv_banks.h).
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

KvDramChannel::KvDramChannel(double bytes_per_cycle, int64_t latency_cycles)
    : bytes_per_cycle_(bytes_per_cycle), latency_(latency_cycles) {
  if (!(bytes_per_cycle > 0)) throw make_error("KvDramChannel", "bandwidth must be positive");
}

int64_t KvDramChannel::post(double bytes, Cycle now) {
  const int64_t id = next_id_++;
  Request r;
  r.bytes_ = bytes;
  r.posted_ = now;
  if (bytes <= 0) r.done_ = now;
  requests_.emplace(id, r);
  if (bytes > 0) queue_.push_back(id);
  return id;
}

void KvDramChannel::advance(Cycle now) {
  if (advanced_to_ < 0) advanced_to_ = now - 1;
  if (queue_.empty()) {
    advanced_to_ = std::max(advanced_to_, now);
    return;
  }
  for (Cycle c = advanced_to_ + 1; c <= now && !queue_.empty(); ++c) {
    double left = bytes_per_cycle_;
    bool used = false;
    for (auto it = queue_.begin(); it != queue_.end() && left > 1e-12;) {
      Request& r = requests_.at(*it);
      if (r.posted_ >= c) {  // posted this cycle or later: served from the next one
        ++it;
        continue;
      }
      const double take = std::min(left, r.bytes_ - r.served_);
      r.served_ += take;
      left -= take;
      bytes_total_ += take;
      used = true;
      if (r.served_ >= r.bytes_ - 1e-9) {
        r.served_ = r.bytes_;
        r.done_ = c;
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    if (used) ++busy_cycles_;
  }
  advanced_to_ = std::max(advanced_to_, now);
}

double KvDramChannel::served(int64_t id) const { return requests_.at(id).served_; }

Cycle KvDramChannel::done_cycle(int64_t id) const { return requests_.at(id).done_; }

void KvDramChannel::release(int64_t id) {
  requests_.erase(id);
  queue_.erase(std::remove(queue_.begin(), queue_.end(), id), queue_.end());
}

}  // namespace hw::sim
