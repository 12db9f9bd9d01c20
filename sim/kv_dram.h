// The KV DRAM of one die at the cycle level (docs/simulate.md "KV memory"): JEDEC-style
// channels, banks and rows with an open-row policy, bursts, all-bank refresh and the core
// timings of chip.attention.kv_dram (tRCD, CL, tRP, tRAS, tRFC, tREFI, tCCD), in the DRAM's
// command clock tCK = 2 / data_rate (DDR), every timing rounded up to whole tCK.
//
// Address map (byte address A of the die's KV region; KvDramConfig::locate, which the mapping
// reads too):
//   KV layout  A = ((layer - first layer of the die) x positions + slot) x 2R
//              + (V ? R : 0) + head x head_dim x kv_bytes; R = kv_heads x head_dim x kv_bytes,
//              slot = the user's position slot (shared-prefix run, then its private run).
//   channel    g = A / interleave; channel = g mod C
//   in-channel a = (g / C) x interleave + A mod interleave
//   bank, row  r = a / row_size; bank = r mod banks; row = r / banks; column = a mod row_size
// so a stream of consecutive bytes visits every channel in turn, fills each channel's open row,
// then moves to the next bank of that channel (its ACT overlaps the previous row's bursts).
//
// Controller (one per channel): FCFS. Requests are split at interleave boundaries into pieces
// (runs of bursts in one row of one bank) queued per channel in posting order; column commands
// issue in queue order, one every tCCD (>= the burst, BL/2 tCK), and a piece's PRE / ACT may be
// issued as soon as the burst kv_dram.queue_depth places ahead of its first burst has issued its
// column command (a command queue of that depth looks ahead; row commands of later pieces
// overlap earlier pieces' data). A row miss pays PRE (no earlier than ACT + tRAS and the last
// burst of the open row) + tRP, then ACT + tRCD; a row hit only waits for the bus. Every tREFI
// (one timer for all channels [choice]: with independent timers a sweep over all channels
// would wait for whichever channel is refreshing) an all-bank refresh closes every row and
// holds the channel tRFC, after the bursts already issued. Work-conserving: a piece starts at the
// earliest cycle its constraints allow; nothing is reserved ahead. Data of a read burst arrive
// CL + burst after its column command, plus kv_dram.latency (controller, PHY, interconnect);
// a write is readable at the same point. Read/write turnaround, tWR, tRRD/tFAW and bank groups
// are not modelled.
#pragma once
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "chip/chip_config.h"
#include "sim/token.h"

namespace hw::sim {

using hw::KvDramLocation;

// The KV layout of one die's DRAM (first line of the address map above).
struct KvDramLayout {
  int64_t first_layer_ = 0;         // first layer on the die
  int64_t positions_ = 0;           // position slots per layer (ChipMapping::kv_positions_)
  int64_t bytes_per_position_ = 0;  // 2R: K then V of every KV head
  int64_t head_bytes_ = 0;          // head_dim x bytes per KV element
  int64_t address(int64_t layer, int64_t slot, bool v = false, int64_t head = 0) const {
    return ((layer - first_layer_) * positions_ + slot) * bytes_per_position_ +
           (v ? bytes_per_position_ / 2 : 0) + head * head_bytes_;
  }
};

struct KvDramChannelStats {
  int64_t reads_ = 0;       // read bursts
  int64_t writes_ = 0;      // write bursts
  int64_t row_hits_ = 0;    // bursts to the open row
  int64_t row_misses_ = 0;  // bursts that needed an ACT (bank closed or another row open)
  int64_t refreshes_ = 0;
  int64_t busy_tck_ = 0;    // data-bus cycles (bursts x BL/2)
};

class KvDram {
 public:
  // `clock_hz`: the chip clock (requests are posted and served in its cycles);
  // `latency_cycles`: kv_dram.latency in chip cycles.
  KvDram(const KvDramConfig& c, double clock_hz, int64_t latency_cycles);

  KvDramLocation locate(int64_t address) const { return config_.locate(address); }

  // A request of byte ranges (address, bytes), read or write, posted at chip cycle `now` and
  // served from cycle now + 1 on; its bursts are scheduled at once (FCFS), so its timing is known
  // from here. Returns a handle valid until release().
  int64_t post(const std::vector<std::pair<int64_t, int64_t>>& ranges, bool write, Cycle now);
  // Bytes of the request's leading ranges (in range order, a contiguous prefix) whose data are
  // available at cycle `now` (latency included).
  double available(int64_t id, Cycle now) const;
  // Cycle from which all its data are available (latency included).
  Cycle done_cycle(int64_t id) const;
  void release(int64_t id);
  // Applies the refreshes due up to cycle `now` (counts idle channels' refreshes).
  void finish(Cycle now);

  int64_t latency_cycles() const { return latency_; }
  int64_t channels() const { return int64_t(channels_.size()); }
  int64_t burst_bytes() const { return burst_bytes_; }
  double tck_s() const { return tck_s_; }
  // Timings in tCK.
  int64_t n_rcd() const { return n_rcd_; }
  int64_t n_cl() const { return n_cl_; }
  int64_t n_rp() const { return n_rp_; }
  int64_t n_ras() const { return n_ras_; }
  int64_t n_rfc() const { return n_rfc_; }
  int64_t n_refi() const { return n_refi_; }
  int64_t n_ccd() const { return n_ccd_; }
  int64_t n_burst() const { return n_burst_; }

  const KvDramChannelStats& channel_stats(int64_t channel) const {
    return channels_[size_t(channel)].stats_;
  }
  double bytes_requested() const { return bytes_requested_; }
  // Data-bus busy time of a channel in chip cycles.
  double busy_cycles(int64_t channel) const;
  Cycle to_cycle(int64_t tck) const;  // first chip cycle at or after tCK `tck`

 private:
  struct Bank {
    int64_t open_row_ = -1;
    int64_t act_ = 0;        // last ACT
    int64_t col_ready_ = 0;  // ACT + tRCD
    int64_t pre_ok_ = 0;     // earliest PRE
    int64_t act_ok_ = 0;     // earliest ACT (after PRE + tRP or a refresh)
  };
  struct Channel {
    std::vector<Bank> banks_;
    int64_t next_col_ = 0;      // earliest next column command
    int64_t next_refresh_ = 0;
    int64_t bursts_ = 0;        // bursts issued so far (queue positions)
    std::vector<int64_t> col_ring_;  // column-command tCK of the last queue_depth_ bursts
    KvDramChannelStats stats_;
  };
  struct Request {
    std::vector<std::pair<Cycle, double>> ready_;  // (cycle available, bytes so far), monotonic
    Cycle done_ = 0;
  };
  // Schedules one piece; returns the tCK its last data transfer ends.
  int64_t schedule(Channel& ch, int64_t bank, int64_t row, int64_t bursts, bool write,
                   int64_t arrival);
  void refresh(Channel& ch);
  void catch_up(Channel& ch, int64_t t);  // the refreshes due at or before tCK t
  int64_t to_tck_ceil(double seconds) const;

  KvDramConfig config_;
  double clock_hz_;
  double tck_s_;
  int64_t latency_;
  int64_t burst_bytes_, interleave_, banks_, queue_depth_;
  int64_t n_rcd_, n_cl_, n_rp_, n_ras_, n_rfc_, n_refi_, n_ccd_, n_burst_;
  std::vector<Channel> channels_;
  std::map<int64_t, Request> requests_;
  int64_t next_id_ = 0;
  double bytes_requested_ = 0;
};

}  // namespace hw::sim
