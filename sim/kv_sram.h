// The KV cache memory of the chip. Capacity: every layer engine holds kv_positions_ positions
// (ChipMapping; the binding die), shared by the shared-prefix run (stored once) and the users'
// private runs; the scheduler reserves a user's whole run (prompt + output - 1 positions, all
// that will ever be written) on admission and frees it when the user leaves, so a running user
// can never be evicted. With kv_memory = dram the same accounting holds for the DRAM, and each
// die's channel is a shared resource: KV writes and attention sweeps of all the die's layers
// reserve its cycles in token (age) order, filling gaps (stall reason dram_bandwidth).
#pragma once
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include <systemc>

#include "chip/mapping.h"
#include "sim/token.h"

namespace hw::sim {

class KvSram : public sc_core::sc_module {
 public:
  KvSram(sc_core::sc_module_name name, const ChipMapping& mapping);

  bool dram() const { return dram_; }
  bool single_ported() const { return single_ported_; }
  // Positions per layer engine, all users together.
  int64_t capacity_positions() const { return capacity_positions_; }
  int64_t used_positions() const { return used_positions_; }
  int64_t free_positions() const { return capacity_positions_ - used_positions_; }
  int64_t peak_positions() const { return peak_positions_; }
  // Reserves `positions` in every engine; false (and nothing reserved) when they do not fit.
  bool reserve(int64_t positions);
  void release(int64_t positions);

  // Bytes one position occupies over every layer (whole bank words in SRAM).
  int64_t bytes_per_position() const { return bytes_per_position_; }
  // Capacity of the KV memory over the dies used.
  int64_t capacity_bytes() const { return capacity_bytes_; }
  int64_t peak_bytes() const { return peak_positions_ * bytes_per_position_; }

  // DRAM: reserves the first `duration` free cycles of die `die`'s channel from `earliest` on,
  // across gaps (work-conserving: the DRAM interleaves the bursts of concurrent requests, so a
  // transfer takes whatever bandwidth earlier reservations leave, not only a whole free window);
  // returns [first cycle used, last cycle used + 1).
  std::pair<Cycle, Cycle> reserve_dram(int64_t die, Cycle earliest, Cycle duration);
  // Forgets channel reservations that end by `now` (no later request can start before now).
  void prune_dram(Cycle now);
  // DRAM: cycles a stream saves when its first rows are open (mapping.h), and whether a refresh
  // (every tREFI from cycle 0, closing every row) lies in (from, to].
  Cycle dram_open_row_saving() const { return open_row_saving_; }
  // DRAM: whether layer `layer`'s rows can stay open between its sweeps: no other layer of its
  // die has the first rows of its region (one interleave piece per channel, from slot 0) in the
  // same bank of the same channel in another row (those sweeps would close them).
  bool dram_rows_kept(int64_t layer) const {
    return layer >= 0 && size_t(layer) < rows_kept_.size() && rows_kept_[size_t(layer)];
  }
  bool dram_refresh_between(Cycle from, Cycle to) const;
  int64_t state_bytes() const;

  sc_core::sc_signal<int> used_positions_signal_;  // VCD

 private:
  bool dram_ = false;
  bool single_ported_ = false;
  int64_t capacity_positions_ = 0;
  int64_t used_positions_ = 0;
  int64_t peak_positions_ = 0;
  int64_t bytes_per_position_ = 0;
  int64_t capacity_bytes_ = 0;
  std::vector<std::map<Cycle, Cycle>> dram_busy_;  // per die: start -> end, disjoint
  size_t dram_peak_intervals_ = 0;
  Cycle open_row_saving_ = 0;
  std::vector<bool> rows_kept_;  // per layer (DRAM)
  double refresh_interval_ = 0.0;
};

}  // namespace hw::sim
