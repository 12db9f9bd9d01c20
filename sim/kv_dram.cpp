// The KV DRAM of one die: address map, FCFS channel controllers, refresh (see kv_dram.h).
#include "sim/kv_dram.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace hw::sim {
namespace {

// Tolerance of the time conversions: a value within it of a whole unit is that unit.
constexpr double kEps = 1e-9;

}  // namespace

KvDram::KvDram(const KvDramConfig& c, double clock_hz, int64_t latency_cycles)
    : config_(c), clock_hz_(clock_hz), latency_(latency_cycles), burst_bytes_(c.burst_bytes()),
      interleave_(c.interleave_bytes_), banks_(c.banks_),
      queue_depth_(c.queue_depth_bursts_) {
  if (!(c.data_rate_hz_ > 0) || !(clock_hz > 0) || c.channels_ < 1 || banks_ < 1 ||
      queue_depth_ < 1 ||
      burst_bytes_ < 1 || interleave_ % burst_bytes_ != 0 || c.row_bytes_ % interleave_ != 0) {
    throw make_error("KvDram", "inconsistent DRAM geometry (chip_config validates it)");
  }
  tck_s_ = 2.0 / c.data_rate_hz_;
  n_rcd_ = to_tck_ceil(c.t_rcd_s_);
  n_cl_ = to_tck_ceil(c.t_cl_s_);
  n_rp_ = to_tck_ceil(c.t_rp_s_);
  n_ras_ = to_tck_ceil(c.t_ras_s_);
  n_rfc_ = to_tck_ceil(c.t_rfc_s_);
  n_refi_ = to_tck_ceil(c.t_refi_s_);
  n_burst_ = (c.burst_length_ + 1) / 2;
  n_ccd_ = std::max(n_burst_, to_tck_ceil(c.t_ccd_s_));
  if (n_refi_ > 0 && n_rfc_ + n_rp_ >= n_refi_) {
    throw make_error("chip.attention.kv_dram.t_refi",
                     "tRFC + tRP (" + std::to_string(n_rfc_ + n_rp_) +
                         " tCK) leaves no time between refreshes every " +
                         std::to_string(n_refi_) + " tCK",
                     "use a longer t_refi or a shorter t_rfc (t_refi = 0 turns refresh off)");
  }
  channels_.resize(size_t(c.channels_));
  for (Channel& ch : channels_) {
    ch.banks_.resize(size_t(banks_));
    ch.col_ring_.assign(size_t(queue_depth_), 0);
    // One refresh timer for every channel: a sweep spread over all channels loses each
    // refresh once, not once per channel it touches.
    ch.next_refresh_ = n_refi_;
  }
}

int64_t KvDram::to_tck_ceil(double seconds) const {
  if (!(seconds > 0)) return 0;
  return static_cast<int64_t>(std::ceil(seconds / tck_s_ - kEps));
}

Cycle KvDram::to_cycle(int64_t tck) const {
  return static_cast<Cycle>(std::ceil(double(tck) * tck_s_ * clock_hz_ - kEps));
}

double KvDram::busy_cycles(int64_t channel) const {
  return double(channels_[size_t(channel)].stats_.busy_tck_) * tck_s_ * clock_hz_;
}

void KvDram::refresh(Channel& ch) {
  // After the column commands already issued; every open bank precharged first.
  int64_t start = std::max(ch.next_refresh_, ch.next_col_);
  bool open = false;
  for (const Bank& b : ch.banks_) {
    if (b.open_row_ >= 0) {
      open = true;
      start = std::max(start, b.pre_ok_);
    }
  }
  int64_t ref = open ? start + n_rp_ : start;
  for (const Bank& b : ch.banks_) ref = std::max(ref, b.act_ok_);
  const int64_t end = ref + n_rfc_;
  for (Bank& b : ch.banks_) {
    b.open_row_ = -1;
    b.act_ok_ = end;
  }
  ch.next_refresh_ += n_refi_;
  ++ch.stats_.refreshes_;
}

int64_t KvDram::schedule(Channel& ch, int64_t bank, int64_t row, int64_t bursts, bool write,
                         int64_t arrival) {
  const int64_t q = ch.bursts_;
  int64_t floor = arrival;
  if (q >= queue_depth_) floor = std::max(floor, ch.col_ring_[size_t(q % queue_depth_)]);
  Bank& k = ch.banks_[size_t(bank)];
  bool hit = false;
  int64_t act = 0, col = 0;
  for (;;) {
    hit = k.open_row_ == row;
    int64_t first = 0;
    if (hit) {
      col = std::max({floor, ch.next_col_, k.col_ready_});
      first = col;
    } else {
      if (k.open_row_ >= 0) {
        first = std::max(floor, k.pre_ok_);
        act = first + n_rp_;
      } else {
        first = floor;
        act = floor;
      }
      act = std::max(act, k.act_ok_);
      col = std::max(ch.next_col_, act + n_rcd_);
    }
    if (n_refi_ > 0 && ch.next_refresh_ <= first) {
      catch_up(ch, first);
      continue;
    }
    break;
  }
  if (!hit) {
    k.open_row_ = row;
    k.act_ = act;
    k.col_ready_ = act + n_rcd_;
    ++ch.stats_.row_misses_;
    ch.stats_.row_hits_ += bursts - 1;
  } else {
    ch.stats_.row_hits_ += bursts;
  }
  for (int64_t i = 0; i < bursts; ++i) {
    ch.col_ring_[size_t((q + i) % queue_depth_)] = col + i * n_ccd_;
  }
  ch.bursts_ += bursts;
  const int64_t last = col + (bursts - 1) * n_ccd_;
  ch.next_col_ = last + n_ccd_;
  k.pre_ok_ = std::max(k.act_ + n_ras_, last + n_burst_);
  ch.stats_.busy_tck_ += bursts * n_burst_;
  (write ? ch.stats_.writes_ : ch.stats_.reads_) += bursts;
  return last + n_cl_ + n_burst_;
}

int64_t KvDram::post(const std::vector<std::pair<int64_t, int64_t>>& ranges, bool write,
                     Cycle now) {
  Request r;
  const int64_t arrival =
      static_cast<int64_t>(std::ceil(double(now + 1) / clock_hz_ / tck_s_ - kEps));
  double bytes_so_far = 0;
  Cycle running = now;
  for (const auto& [address, bytes] : ranges) {
    if (address < 0 || bytes < 0) throw make_error("KvDram::post", "negative address or size");
    bytes_requested_ += double(bytes);
    int64_t a = address;
    const int64_t end = address + bytes;
    while (a < end) {
      const int64_t piece_end = std::min(end, (a / interleave_ + 1) * interleave_);
      const KvDramLocation loc = locate(a);
      const int64_t first = loc.column_ / burst_bytes_;
      const int64_t last = (loc.column_ + (piece_end - a) - 1) / burst_bytes_;
      const int64_t data_end = schedule(channels_[size_t(loc.channel_)], loc.bank_, loc.row_,
                                        last - first + 1, write, arrival);
      running = std::max(running, to_cycle(data_end) + latency_);
      bytes_so_far += double(piece_end - a);
      if (!r.ready_.empty() && r.ready_.back().first == running) {
        r.ready_.back().second = bytes_so_far;
      } else {
        r.ready_.emplace_back(running, bytes_so_far);
      }
      a = piece_end;
    }
  }
  r.done_ = running;
  const int64_t id = next_id_++;
  requests_.emplace(id, std::move(r));
  return id;
}

double KvDram::available(int64_t id, Cycle now) const {
  const Request& r = requests_.at(id);
  auto it = std::upper_bound(
      r.ready_.begin(), r.ready_.end(), now,
      [](Cycle t, const std::pair<Cycle, double>& e) { return t < e.first; });
  return it == r.ready_.begin() ? 0.0 : std::prev(it)->second;
}

Cycle KvDram::done_cycle(int64_t id) const { return requests_.at(id).done_; }

void KvDram::release(int64_t id) { requests_.erase(id); }

void KvDram::catch_up(Channel& ch, int64_t t) {
  while (ch.next_refresh_ <= t) {
    bool idle = ch.next_col_ <= ch.next_refresh_;
    for (const Bank& b : ch.banks_) idle = idle && b.open_row_ < 0 && b.act_ok_ <= ch.next_refresh_;
    if (!idle) {
      refresh(ch);
      continue;
    }
    // Idle: the refreshes up to t start on time, one per interval.
    const int64_t k = (t - ch.next_refresh_) / n_refi_ + 1;
    const int64_t last_start = ch.next_refresh_ + (k - 1) * n_refi_;
    for (Bank& b : ch.banks_) b.act_ok_ = last_start + n_rfc_;
    ch.stats_.refreshes_ += k;
    ch.next_refresh_ += k * n_refi_;
  }
}

void KvDram::finish(Cycle now) {
  if (n_refi_ <= 0) return;
  const int64_t t = static_cast<int64_t>(std::floor(double(now) / clock_hz_ / tck_s_ + kEps));
  for (Channel& ch : channels_) catch_up(ch, t);
}

}  // namespace hw::sim
