// The KV cache memory of the chip. Capacity: every layer engine holds kv_positions_ positions
// (ChipMapping; the binding die), shared by the shared-prefix run (stored once) and the users'
// private runs; the scheduler reserves a user's whole run (prompt + output - 1 positions, all
// that will ever be written) on admission and frees it when the user leaves, so a running user
// can never be evicted. With kv_memory = dram the same accounting holds for the DRAM, and each
// die's channel is a shared resource: KV writes and attention sweeps of all the die's layers
// reserve its cycles in about posting order (the pipeline's time order), filling gaps (stall reason dram_bandwidth), at the
// DRAM's peak rate; every refresh holds the channel for its whole window (mapping.h
// kv_dram_refresh_cycles_, from k x tREFI, the cycle level's one timer), so a transfer that
// meets one waits as at the cycle level rather than running at a rate derated on average; and
// a transfer that reaches every channel is served row by row on one channel that stands for
// all (dram_rows), its banks' waits held on the calendar too.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
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
  // prev_end_: the end of the die's last reservation before begin_ (-1: none), from which the
  // banks stay open until a refresh closes them.
  struct DramSlot {
    Cycle begin_ = 0, end_ = 0, prev_end_ = -1;
  };
  DramSlot reserve_dram(int64_t die, Cycle earliest, Cycle duration);
  // DRAM: the first cycle reserve_dram would give a transfer from `earliest` on.
  Cycle dram_first_free(int64_t die, Cycle earliest) const;
  // DRAM: channel cycles a transfer of `bytes` holds at the peak rate (reserve_dram's duration;
  // its rows' waits come on top, dram_rows), and the cycles from a transfer's last byte to its
  // data being usable (posting, tRP + tRCD + CL, kv_dram.latency: mapping.h "KV DRAM rule").
  Cycle dram_transfer_cycles(int64_t bytes) const;
  // DRAM: cycles the busiest channel's bursts of a transfer of `bytes` take, from a channel
  // boundary (interleave pieces dealt round the channels): a short transfer's bound, since a
  // channel serves its own bursts one per tCCD however idle the others are.
  Cycle dram_channel_cycles(int64_t bytes) const;
  // DRAM rows of a transfer that reaches every channel (its interleave pieces cover them all),
  // on one channel that stands for all: the one holding each range's first piece. The address
  // map deals consecutive pieces round the channels, so every channel sees the same rows in the
  // same order (up to a piece), and FCFS channels serve the die's requests in about the order
  // the calendar books them. Ranges: (first slot, positions) of the layer's position space, in
  // the order read (a shared prefix's run, then the private run; unused: 0 positions). Each row
  // the transfer visits on that channel is served from the cycle the die's calendar would start
  // it at (dram_first_free from `earliest`, its posting cycle), a burst per
  // tCCD: a row its bank holds open at once; another one after the bank's PRE (no earlier than
  // the bank's last burst, its ACT + tRAS, the posting cycle `earliest` and the controller's
  // look-ahead, kv_dram.queue_depth bursts before the row's first one), tRP and tRCD; in a
  // bank a refresh closed, tRCD after the look-ahead. The bank's state at a row is its latest
  // use ending by then (the calendar books transfers in about, not exactly, time order).
  // first_stall_: cycles the bus waits before the first row; stall_: all such waits, which the
  // caller adds to the transfer's calendar time (the channel's later requests wait behind
  // them). modelled_ false, nothing recorded, for a narrower transfer (it keeps the layer-level
  // row rules below: dram_rows_kept, dram_row_miss_wait).
  struct DramRows {
    Cycle first_stall_ = 0, stall_ = 0;
    bool modelled_ = false;
  };
  struct SlotRange {
    int64_t first_slot_ = 0, positions_ = 0;
  };
  using SlotRanges = std::array<SlotRange, 2>;
  DramRows dram_rows(int64_t die, int64_t layer, const SlotRanges& ranges, Cycle earliest);
  Cycle dram_access_latency() const { return access_latency_; }
  // Bytes of one position's K and V in one layer (2R).
  int64_t dram_position_bytes() const { return position_bytes_; }
  // DRAM: whether the write of `position` (its 2R bytes from position x 2R of the user's run)
  // starts an interleave piece in the run's first round over the channels: a channel (and
  // bank) the user's sweeps have not opened a row in yet.
  bool dram_write_opens_channel(int64_t position) const {
    const int64_t a = position * position_bytes_;
    return a < interleave_bytes_ * channels_ &&
           (a % interleave_bytes_ == 0 || a % interleave_bytes_ + position_bytes_ > interleave_bytes_);
  }
  // Forgets channel reservations that end by `now` (no later request can start before now).
  void prune_dram(Cycle now);
  // DRAM: cycles a stream saves when its first rows are open (mapping.h), and whether a refresh
  // (every tREFI from cycle 0, closing every row) lies in (from, to].
  Cycle dram_open_row_saving() const { return open_row_saving_; }
  Cycle dram_precharge_cycles() const { return closed_bank_saving_; }  // tRP
  // DRAM: cycles a stream of a layer whose rows are not kept saves (tRP: every bank closed) when
  // a refresh lies between the die's previous access and its own, or nothing was accessed yet.
  Cycle dram_closed_bank_saving(const DramSlot& slot) const {
    return slot.prev_end_ < 0 || dram_refresh_between(slot.prev_end_, slot.begin_)
               ? closed_bank_saving_
               : 0;
  }
  // DRAM: whether layer `layer`'s rows stayed open from cycle `from` to `to`: no rival layer
  // accessed the DRAM in between. Rivals are the layers of its die whose regions' first rows
  // (one interleave piece per channel, from slot 0) are other rows of the same bank of the same
  // channel: their accesses close its rows. Accesses are those noted with dram_note_access (the
  // first cycle of each reservation); ones older than the pruning horizon count as closing.
  bool dram_rows_kept(int64_t layer, Cycle from, Cycle to) const;
  void dram_note_access(int64_t layer, Cycle begin);
  // DRAM row miss (the layer's rows were closed by a rival's access): cycles its PRE, due a
  // cycle after `begin`, waits for the rival row open in its banks: until that row's last burst
  // is out and it has been open tRAS (its earliest PRE, noted by the latest rival access that
  // began at or before `begin` with dram_note_rows).
  Cycle dram_row_miss_wait(int64_t layer, Cycle begin) const;
  void dram_note_rows(int64_t layer, Cycle begin, Cycle pre_ok);
  Cycle dram_ras_cycles() const { return ras_cycles_; }
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
  Cycle closed_bank_saving_ = 0;
  std::vector<Cycle> dram_pruned_end_;  // per die: the latest end prune_dram forgot (-1: none)
  std::vector<std::vector<int64_t>> row_rivals_;  // per layer (DRAM)
  std::vector<std::set<Cycle>> layer_access_;      // per layer: reservation starts (DRAM)
  std::vector<std::map<Cycle, Cycle>> layer_pre_ok_;  // per layer: access start -> earliest PRE
  Cycle access_horizon_ = 0;                       // layer_access_ is complete from here on
  size_t access_peak_ = 0;                         // most entries one layer held
  double refresh_interval_ = 0.0;
  double refresh_cycles_ = 0.0;
  double peak_bytes_per_cycle_ = 0.0;
  double burst_cycles_ = 0.0;
  int64_t row_bytes_ = 0;
  int64_t dram_banks_ = 1;
  int64_t channels_ = 0, interleave_bytes_ = 0, burst_bytes_ = 0;
  Cycle access_latency_ = 0;
  Cycle ras_cycles_ = 0;
  int64_t position_bytes_ = 0;
  // DRAM rows (dram_rows): per die, per bank of the channel that stands for all, its uses in
  // order of the end of their last burst (mostly appended: transfers are booked in about time
  // order).
  struct BankUse {
    double last_ = 0.0;  // end of the use's last burst
    int64_t row_ = 0;
    double act_ = 0.0;
  };
  std::vector<std::vector<std::deque<BankUse>>> bank_uses_;
  size_t bank_uses_peak_ = 0;  // most uses one bank held
  std::vector<int64_t> layer_base_bytes_;  // per layer: its region's first byte on its die
  int64_t queue_depth_bursts_ = 0;
  Cycle rcd_cycles_ = 0;
  // Bursts of a transfer of `bytes` on its busiest channel (interleave pieces dealt round).
  int64_t dram_channel_bursts(int64_t bytes) const;
  // The refresh window [start, end) that ends first after cycle t (k >= 1: none at cycle 0).
  std::pair<Cycle, Cycle> refresh_window_after(Cycle t) const;
  // The first cycle at or after t past every reservation (from `it` on, which it advances) and
  // refresh window that holds it; `passed_end`, when given, takes the latest end passed over.
  Cycle past_busy(const std::map<Cycle, Cycle>& busy, std::map<Cycle, Cycle>::const_iterator& it,
                  Cycle t, Cycle* passed_end) const;
};

}  // namespace hw::sim
