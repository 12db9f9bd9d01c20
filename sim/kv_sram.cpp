// KV cache memory: capacity accounting and the DRAM channel calendar (see kv_sram.h).
#include "sim/kv_sram.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "common/error.h"

namespace hw::sim {

KvSram::KvSram(sc_core::sc_module_name name, const ChipMapping& mapping)
    : sc_core::sc_module(name), used_positions_signal_("used_positions") {
  const AttentionConfig& a = mapping.chip_.attention_;
  dram_ = a.kv_memory_ == KvMemory::kDram;
  single_ported_ = !dram_ && a.kv_sram_.ports_per_bank_ == 1;
  capacity_positions_ = mapping.kv_positions_;
  const int64_t n_layers = mapping.model_.n_layers_;
  if (dram_) {
    bytes_per_position_ = mapping.kv_bytes_per_position_layer_ * n_layers;
    capacity_bytes_ = a.kv_dram_.capacity_bytes_ * mapping.dies_used_;
  } else {
    bytes_per_position_ =
        mapping.kv_words_per_position_ * a.kv_sram_.bank_width_bytes_ * n_layers;
    capacity_bytes_ = a.kv_sram_.capacity_bytes_ * mapping.dies_used_;
  }
  dram_busy_.resize(static_cast<size_t>(mapping.dies_used_));
  open_row_saving_ = mapping.kv_dram_open_row_saving_cycles_;
  closed_bank_saving_ = mapping.kv_dram_closed_bank_saving_cycles_;
  dram_pruned_end_.assign(static_cast<size_t>(mapping.dies_used_), -1);
  refresh_interval_ = mapping.kv_dram_refresh_interval_cycles_;
  refresh_cycles_ = mapping.kv_dram_refresh_cycles_;
  peak_bytes_per_cycle_ = mapping.kv_dram_peak_bytes_per_cycle_;
  access_latency_ = mapping.kv_dram_access_cycles_ + mapping.kv_dram_latency_cycles_;
  ras_cycles_ = mapping.kv_dram_ras_cycles_;
  position_bytes_ = mapping.kv_bytes_per_position_layer_;
  burst_cycles_ = mapping.kv_dram_burst_cycles_;
  row_bytes_ = a.kv_dram_.row_bytes_;
  dram_banks_ = a.kv_dram_.banks_;
  channels_ = a.kv_dram_.channels_;
  interleave_bytes_ = a.kv_dram_.interleave_bytes_;
  burst_bytes_ = a.kv_dram_.burst_bytes();
  if (refresh_interval_ > 0 && refresh_cycles_ >= refresh_interval_) {
    throw make_error("chip.attention.kv_dram.t_refi",
                     "each refresh (tRP + tRFC, rounded to DRAM clocks and chip cycles) lasts as long as "
                     "the refresh interval",
                     "use a longer t_refi or a shorter t_rfc (t_refi = 0 turns refresh off)");
  }
  if (dram_) {
    row_rivals_ = mapping.kv_dram_row_rivals_;
    layer_access_.assign(static_cast<size_t>(n_layers), {});
    layer_pre_ok_.assign(static_cast<size_t>(n_layers), {});
    bank_uses_.assign(static_cast<size_t>(mapping.dies_used_),
                      std::vector<std::deque<BankUse>>(static_cast<size_t>(dram_banks_)));
    layer_base_bytes_.assign(static_cast<size_t>(n_layers), 0);
    for (const DieAssignment& die : mapping.dies_) {
      for (int64_t l = die.first_layer_; l < die.first_layer_ + die.layers_; ++l) {
        layer_base_bytes_[size_t(l)] =
            (l - die.first_layer_) * mapping.kv_positions_ * position_bytes_;
      }
    }
    queue_depth_bursts_ = a.kv_dram_.queue_depth_bursts_;
    rcd_cycles_ = open_row_saving_ - closed_bank_saving_;
  }
}

KvSram::DramRows KvSram::dram_rows(int64_t die, int64_t layer, const SlotRanges& ranges,
                                   Cycle earliest) {
  DramRows out;
  int64_t bytes = 0;
  for (const SlotRange& r : ranges) bytes += std::max<int64_t>(0, r.positions_) * position_bytes_;
  if (bytes <= 0) return out;
  const SlotRange& lead = ranges[0].positions_ > 0 ? ranges[0] : ranges[1];
  const int64_t first_byte =
      layer_base_bytes_[size_t(layer)] + lead.first_slot_ * position_bytes_;
  const int64_t pieces =
      (first_byte % interleave_bytes_ + bytes + interleave_bytes_ - 1) / interleave_bytes_;
  if (pieces < channels_) return out;
  out.modelled_ = true;
  std::vector<std::deque<BankUse>>& banks = bank_uses_[size_t(die)];
  const double look_ahead = double(queue_depth_bursts_) * burst_cycles_;
  double t = double(dram_first_free(die, earliest));
  bool first = true;
  for (const SlotRange& range : ranges) {
    if (range.positions_ <= 0) continue;
    // The range on the channel of its first piece: from that piece's in-channel address, the
    // busiest channel's share of its bytes.
    const int64_t a = layer_base_bytes_[size_t(layer)] + range.first_slot_ * position_bytes_;
    const int64_t in_channel =
        a / interleave_bytes_ / channels_ * interleave_bytes_ + a % interleave_bytes_;
    const int64_t end =
        in_channel + dram_channel_bursts(range.positions_ * position_bytes_) * burst_bytes_;
    for (int64_t at = in_channel; at < end;) {
      const int64_t r = at / row_bytes_;
      const int64_t row_end = std::min(end, (r + 1) * row_bytes_);
      const double bursts = double((row_end - at + burst_bytes_ - 1) / burst_bytes_);
      std::deque<BankUse>& uses = banks[size_t(r % dram_banks_)];
      const int64_t row = r / dram_banks_;
      int64_t open = -1;  // the row open at t (-1: none, or a refresh closed it)
      double last = 0.0, act = 0.0;
      // The latest use ending by t (usually the last one).
      auto next = !uses.empty() && uses.back().last_ <= t
                      ? uses.end()
                      : std::upper_bound(uses.begin(), uses.end(), t,
                                         [](double x, const BankUse& u) { return x < u.last_; });
      if (next != uses.begin()) {
        const BankUse& prev = *std::prev(next);
        last = prev.last_;
        act = prev.act_;
        if (!dram_refresh_between(Cycle(last), Cycle(t))) open = prev.row_;
      }
      double start = t;
      if (open != row) {
        const double ready = std::max(double(earliest), t - look_ahead);
        act = open < 0 ? ready
                       : std::max({ready, last, act + double(ras_cycles_)}) +
                             double(closed_bank_saving_);
        start = std::max(t, act + double(rcd_cycles_));
      }
      const Cycle wait = static_cast<Cycle>(std::ceil(start - t - 1e-9));
      if (first) out.first_stall_ = wait;
      first = false;
      out.stall_ += wait;
      t = start + bursts * burst_cycles_;
      // It ends after the row began, so it goes at `next` or later.
      auto at_end = std::upper_bound(next, uses.end(), t,
                                     [](double x, const BankUse& u) { return x < u.last_; });
      uses.insert(at_end, BankUse{t, row, act});
      bank_uses_peak_ = std::max(bank_uses_peak_, uses.size());
      at = row_end;
    }
  }
  return out;
}

bool KvSram::dram_rows_kept(int64_t layer, Cycle from, Cycle to) const {
  if (layer < 0 || size_t(layer) >= row_rivals_.size()) return false;
  const std::vector<int64_t>& rivals = row_rivals_[size_t(layer)];
  if (rivals.empty()) return true;
  if (from < access_horizon_) return false;
  for (const int64_t r : rivals) {
    const std::set<Cycle>& at = layer_access_[size_t(r)];
    const auto it = at.upper_bound(from);
    if (it != at.end() && *it < to) return false;
  }
  return true;
}

void KvSram::dram_note_access(int64_t layer, Cycle begin) {
  if (layer >= 0 && size_t(layer) < layer_access_.size() && !row_rivals_.empty()) {
    std::set<Cycle>& at = layer_access_[size_t(layer)];
    at.insert(begin);
    access_peak_ = std::max(access_peak_, at.size());
  }
}

Cycle KvSram::dram_row_miss_wait(int64_t layer, Cycle begin) const {
  if (layer < 0 || size_t(layer) >= row_rivals_.size()) return 0;
  Cycle wait = 0;
  for (const int64_t r : row_rivals_[size_t(layer)]) {
    const std::map<Cycle, Cycle>& rows = layer_pre_ok_[size_t(r)];
    auto it = rows.upper_bound(begin);
    if (it == rows.begin()) continue;
    wait = std::max(wait, std::prev(it)->second - (begin + 1));
  }
  return wait;
}

void KvSram::dram_note_rows(int64_t layer, Cycle begin, Cycle pre_ok) {
  if (layer >= 0 && size_t(layer) < layer_pre_ok_.size() && !row_rivals_[size_t(layer)].empty()) {
    std::map<Cycle, Cycle>& rows = layer_pre_ok_[size_t(layer)];
    Cycle& at = rows[begin];
    at = std::max(at, pre_ok);
    access_peak_ = std::max(access_peak_, rows.size());
  }
}

bool KvSram::dram_refresh_between(Cycle from, Cycle to) const {
  if (refresh_interval_ <= 0) return false;
  return std::floor(double(to) / refresh_interval_) > std::floor(double(from) / refresh_interval_);
}

bool KvSram::reserve(int64_t positions) {
  if (positions < 0) throw make_error("KvSram::reserve", "negative position count");
  if (positions > free_positions()) return false;
  used_positions_ += positions;
  peak_positions_ = std::max(peak_positions_, used_positions_);
  return true;
}

void KvSram::release(int64_t positions) {
  if (positions < 0 || positions > used_positions_) {
    throw make_error("KvSram::release", "releasing " + std::to_string(positions) +
                                            " positions with " + std::to_string(used_positions_) +
                                            " in use");
  }
  used_positions_ -= positions;
}

Cycle KvSram::dram_transfer_cycles(int64_t bytes) const {
  if (bytes <= 0 || !(peak_bytes_per_cycle_ > 0)) return 0;
  return static_cast<Cycle>(std::ceil(double(bytes) / peak_bytes_per_cycle_ * (1.0 - 1e-12)));
}

int64_t KvSram::dram_channel_bursts(int64_t bytes) const {
  const int64_t round = interleave_bytes_ * channels_;
  const int64_t rest = bytes % round;
  return bytes / round * (interleave_bytes_ / burst_bytes_) +
         (std::min(rest, interleave_bytes_) + burst_bytes_ - 1) / burst_bytes_;
}

Cycle KvSram::dram_channel_cycles(int64_t bytes) const {
  if (bytes <= 0 || channels_ < 1 || burst_bytes_ < 1) return 0;
  return static_cast<Cycle>(
      std::ceil(double(dram_channel_bursts(bytes)) * burst_cycles_ * (1.0 - 1e-12)));
}

std::pair<Cycle, Cycle> KvSram::refresh_window_after(Cycle t) const {
  // Window k = [ceil(k R), ceil(k R + W)): R = tREFI, W = tRP + tRFC, both in chip cycles (the
  // cycle level rounds tCK times up to chip cycles); W < R (chip_config checks tRP + tRFC +
  // tRCD < tREFI, the constructor the rounded W), so the window after t is k = floor(t / R) or
  // the next.
  const auto window = [this](int64_t k) {
    const double at = double(k) * refresh_interval_;
    return std::pair<Cycle, Cycle>(static_cast<Cycle>(std::ceil(at - 1e-9)),
                                   static_cast<Cycle>(std::ceil(at + refresh_cycles_ - 1e-9)));
  };
  int64_t k = std::max<int64_t>(1, static_cast<int64_t>(std::floor(double(t) / refresh_interval_)));
  if (window(k).second <= t) ++k;
  return window(k);
}

Cycle KvSram::past_busy(const std::map<Cycle, Cycle>& busy,
                        std::map<Cycle, Cycle>::const_iterator& it, Cycle t,
                        Cycle* passed_end) const {
  const bool refresh = refresh_interval_ > 0 && refresh_cycles_ > 0;
  for (bool moved = true; moved;) {
    moved = false;
    while (it != busy.end() && it->first <= t) {
      t = std::max(t, it->second);
      if (passed_end) *passed_end = std::max(*passed_end, it->second);
      ++it;
    }
    if (refresh) {
      const auto [start, end] = refresh_window_after(t);
      if (start <= t) {
        t = end;
        moved = true;
      }
    }
  }
  return t;
}

Cycle KvSram::dram_first_free(int64_t die, Cycle earliest) const {
  const std::map<Cycle, Cycle>& busy = dram_busy_.at(static_cast<size_t>(die));
  Cycle t = earliest;
  auto it = busy.upper_bound(t);
  if (it != busy.begin() && std::prev(it)->second > t) t = std::prev(it)->second;
  return past_busy(busy, it, t, nullptr);
}

KvSram::DramSlot KvSram::reserve_dram(int64_t die, Cycle earliest, Cycle duration) {
  std::map<Cycle, Cycle>& busy = dram_busy_.at(static_cast<size_t>(die));
  Cycle prev_end = dram_pruned_end_.at(static_cast<size_t>(die));
  if (duration <= 0) return {earliest, earliest, prev_end};
  const bool refresh = refresh_interval_ > 0 && refresh_cycles_ > 0;
  // The free segments the transfer takes, in time order. Reservations never overlap a refresh
  // window (they are built from free cycles), so the map holds transfers only.
  std::vector<std::pair<Cycle, Cycle>> taken;
  Cycle t = earliest;
  Cycle left = duration;
  std::map<Cycle, Cycle>::const_iterator it = busy.upper_bound(t);
  if (it != busy.begin()) {
    auto prev = std::prev(it);
    prev_end = std::max(prev_end, prev->second);
    if (prev->second > t) t = prev->second;
  }
  while (left > 0) {
    t = past_busy(busy, it, t, taken.empty() ? &prev_end : nullptr);
    Cycle gap_end = it == busy.end() ? t + left : it->first;
    if (refresh) gap_end = std::min(gap_end, refresh_window_after(t).first);
    const Cycle take = std::min(left, gap_end - t);
    taken.emplace_back(t, t + take);
    left -= take;
    t += take;
  }
  // Insert each segment, merged with touching neighbours so the map stays small.
  for (const auto& [seg_start, seg_end] : taken) {
    Cycle start = seg_start;
    Cycle end = seg_end;
    auto next = busy.lower_bound(end);
    if (next != busy.end() && next->first == end) {
      end = next->second;
      busy.erase(next);
    }
    auto after = busy.lower_bound(start);
    if (after != busy.begin()) {
      auto prev = std::prev(after);
      if (prev->second == start) {
        start = prev->first;
        busy.erase(prev);
      }
    }
    busy.emplace(start, end);
  }
  dram_peak_intervals_ = std::max(dram_peak_intervals_, busy.size());
  return {taken.front().first, taken.back().second, prev_end};
}

void KvSram::prune_dram(Cycle now) {
  // Rows open longer than a refresh interval were closed by it, so accesses older than two
  // intervals are never asked about; without refresh keep a fixed window [choice].
  constexpr Cycle kNoRefreshHorizonCycles = Cycle(1) << 20;
  const Cycle horizon =
      now - (refresh_interval_ > 0 ? Cycle(2 * refresh_interval_) + 1 : kNoRefreshHorizonCycles);
  if (horizon > access_horizon_) {
    access_horizon_ = horizon;
    for (std::set<Cycle>& at : layer_access_) at.erase(at.begin(), at.lower_bound(horizon));
    for (auto& rows : layer_pre_ok_) rows.erase(rows.begin(), rows.lower_bound(horizon));
    // A bank's latest use before the horizon stays: it holds the bank's row from then on.
    for (auto& die : bank_uses_) {
      for (auto& uses : die) {
        while (uses.size() > 1 && uses[1].last_ < double(horizon)) uses.pop_front();
      }
    }
  }
  for (size_t d = 0; d < dram_busy_.size(); ++d) {
    auto& busy = dram_busy_[d];
    while (!busy.empty() && busy.begin()->second <= now) {
      dram_pruned_end_[d] = std::max(dram_pruned_end_[d], busy.begin()->second);
      busy.erase(busy.begin());
    }
  }
}

int64_t KvSram::state_bytes() const {
  // A std::map node holds the pair plus three pointers and a colour word.
  constexpr int64_t kNodeBytes = 2 * sizeof(Cycle) + 4 * sizeof(void*);
  // The rows' access and PRE records: at most the busiest layer's peak per layer (a set node:
  // the key plus three pointers and a colour word; a map node one more word).
  constexpr int64_t kSetNodeBytes = sizeof(Cycle) + 4 * sizeof(void*);
  constexpr int64_t kUseNodeBytes = sizeof(BankUse);
  int64_t banks = 0;
  for (const auto& die : bank_uses_) banks += int64_t(die.size());
  return static_cast<int64_t>(dram_peak_intervals_) * kNodeBytes *
             static_cast<int64_t>(dram_busy_.size()) +
         static_cast<int64_t>(access_peak_ * layer_access_.size()) * (kSetNodeBytes + kNodeBytes) +
         static_cast<int64_t>(bank_uses_peak_) * banks * kUseNodeBytes;
}

}  // namespace hw::sim
