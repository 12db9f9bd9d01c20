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
  refresh_interval_ = mapping.kv_dram_refresh_interval_cycles_;
  if (dram_) {
    // The cycle level's address map (kv_dram.h): layer regions of kv_positions_ x 2R bytes from
    // the die's first layer; byte A -> channel (A / interleave) mod C, row index r = in-channel
    // address / row size, bank r mod banks, row r / banks.
    const KvDramConfig& k = a.kv_dram_;
    const int64_t C = k.channels_, il = k.interleave_bytes_;
    rows_kept_.assign(static_cast<size_t>(n_layers), true);
    for (const DieAssignment& die : mapping.dies_) {
      std::map<std::pair<int64_t, int64_t>, std::vector<std::pair<int64_t, int64_t>>> users;
      for (int64_t l = die.first_layer_; l < die.first_layer_ + die.layers_; ++l) {
        const int64_t base =
            (l - die.first_layer_) * mapping.kv_positions_ * mapping.kv_bytes_per_position_layer_;
        for (int64_t piece = 0; piece < C; ++piece) {
          const int64_t A = base + piece * il;
          const int64_t g = A / il;
          const int64_t r = ((g / C) * il + A % il) / k.row_bytes_;
          users[{g % C, r % k.banks_}].emplace_back(l, r / k.banks_);
        }
      }
      for (const auto& [where, list] : users) {
        for (const auto& [l, row] : list) {
          for (const auto& [l2, row2] : list) {
            if (l2 != l && row2 != row) rows_kept_[size_t(l)] = false;
          }
        }
      }
    }
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

std::pair<Cycle, Cycle> KvSram::reserve_dram(int64_t die, Cycle earliest, Cycle duration) {
  if (duration <= 0) return {earliest, earliest};
  std::map<Cycle, Cycle>& busy = dram_busy_.at(static_cast<size_t>(die));
  // The free segments the transfer takes, in time order.
  std::vector<std::pair<Cycle, Cycle>> taken;
  Cycle t = earliest;
  Cycle left = duration;
  auto it = busy.upper_bound(t);
  if (it != busy.begin()) {
    auto prev = std::prev(it);
    if (prev->second > t) t = prev->second;
  }
  while (left > 0) {
    while (it != busy.end() && it->first <= t) {
      t = std::max(t, it->second);
      ++it;
    }
    const Cycle gap_end = it == busy.end() ? t + left : it->first;
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
  return {taken.front().first, taken.back().second};
}

void KvSram::prune_dram(Cycle now) {
  for (auto& busy : dram_busy_) {
    while (!busy.empty() && busy.begin()->second <= now) busy.erase(busy.begin());
  }
}

int64_t KvSram::state_bytes() const {
  // A std::map node holds the pair plus three pointers and a colour word.
  constexpr int64_t kNodeBytes = 2 * sizeof(Cycle) + 4 * sizeof(void*);
  return static_cast<int64_t>(dram_peak_intervals_) * kNodeBytes *
         static_cast<int64_t>(dram_busy_.size());
}

}  // namespace hw::sim
