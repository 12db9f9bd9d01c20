// The token level's KV DRAM calendar (sim/kv_sram.h): transfers at the DRAM's peak rate fill
// the die's free cycles, every refresh window [k tREFI, + tRP + tRFC) is blocked, a short
// transfer lasts at least its busiest channel's bursts, a refresh since the die's last access
// leaves the banks closed (no PRE), a rival layer's access (same bank, other row, found with
// the cycle level's address map) closes a layer's rows, and a transfer that reaches every
// channel is served row by row on the channel that stands for all (bank waits: PRE, tRAS, tRP,
// tRCD, the controller's look-ahead), as the cycle level's channels serve it.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "chip/mapping.h"
#include "common/error.h"
#include "sim/kv_dram.h"
#include "sim/kv_sram.h"
#include "sim_test_util.h"

namespace hw {
namespace {

using sim::KvSram;

// 1 GHz chip, DRAM at 2 GT/s: tCK = 1 ns = 1 cycle. 8 channels x 128 bit, BL4: a 64-byte burst
// holds a channel 2 cycles, peak 8 x 64 / 2 = 256 B per cycle. tRP = tRCD = CL = 14, tRFC 260,
// tREFI 3900 cycles: refresh windows [3900 k, 3900 k + 274).
ChipMapping dram_mapping(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> set = {"chip.clock=1 GHz", "chip.attention.kv_memory=dram",
                                  "chip.attention.kv_dram.capacity=1 MiB",
                                  "chip.attention.kv_dram.data_rate=2 GHz",
                                  "chip.attention.kv_dram.latency=0 s"};
  set.insert(set.end(), extra.begin(), extra.end());
  return map_model(test::sim_tiny_model(), test::sim_tiny_chip(set), 4.0, 8);
}

TEST(KvCalendar, MappingTermsByHand) {
  const ChipMapping m = dram_mapping();
  EXPECT_DOUBLE_EQ(m.kv_dram_peak_bytes_per_cycle_, 256.0);
  EXPECT_DOUBLE_EQ(m.kv_dram_refresh_interval_cycles_, 3900.0);
  EXPECT_DOUBLE_EQ(m.kv_dram_refresh_cycles_, 274.0);
  EXPECT_DOUBLE_EQ(m.kv_dram_burst_cycles_, 2.0);
  EXPECT_EQ(m.kv_dram_access_cycles_, 43);             // 1 + tRP + tRCD + CL
  EXPECT_EQ(m.kv_dram_open_row_saving_cycles_, 28);    // tRP + tRCD
  EXPECT_EQ(m.kv_dram_closed_bank_saving_cycles_, 14);  // tRP
  EXPECT_EQ(m.kv_dram_ras_cycles_, 34);                 // tRAS
}

TEST(KvCalendar, RefreshWindowsHoldTheChannel) {
  const ChipMapping m = dram_mapping();
  KvSram kv("kv", m);
  // Posted inside the first window: starts when it ends.
  KvSram::DramSlot a = kv.reserve_dram(0, 3950, 10);
  EXPECT_EQ(a.begin_, 4174);
  EXPECT_EQ(a.end_, 4184);
  // Posted before it: 5 cycles before the window, the rest after it and after the transfer
  // already booked there.
  KvSram::DramSlot b = kv.reserve_dram(0, 3895, 10);
  EXPECT_EQ(b.begin_, 3895);
  EXPECT_EQ(b.end_, 4189);
  // The second window.
  EXPECT_EQ(kv.reserve_dram(0, 7800, 1).begin_, 8074);
  // No refresh: nothing blocked.
  KvSram off("off", dram_mapping({"chip.attention.kv_dram.t_refi=0 s"}));
  EXPECT_EQ(off.reserve_dram(0, 3950, 10).begin_, 3950);
}

TEST(KvCalendar, RefreshLongerThanItsIntervalIsRejected) {
  std::string msg = "no error";
  try {
    dram_mapping({"chip.attention.kv_dram.t_refi=270 ns"});  // t_rp + t_rfc + t_rcd: 288 ns
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("chip.attention.kv_dram.t_refi"), std::string::npos) << msg;
  EXPECT_NE(msg.find("longer t_refi"), std::string::npos) << msg;
}

TEST(KvCalendar, ABankClosedByRefreshSavesThePrecharge) {
  const ChipMapping m = dram_mapping();
  KvSram kv("kv", m);
  const KvSram::DramSlot first = kv.reserve_dram(0, 100, 50);
  EXPECT_EQ(first.prev_end_, -1);
  EXPECT_EQ(kv.dram_closed_bank_saving(first), 14);  // nothing opened yet
  const KvSram::DramSlot next = kv.reserve_dram(0, 120, 20);
  EXPECT_EQ(next.begin_, 150);
  EXPECT_EQ(next.prev_end_, 150);
  EXPECT_EQ(kv.dram_closed_bank_saving(next), 0);
  const KvSram::DramSlot after = kv.reserve_dram(0, 4300, 5);  // the refresh at 3900 between
  EXPECT_EQ(after.prev_end_, 170);
  EXPECT_EQ(kv.dram_closed_bank_saving(after), 14);
  // Forgotten reservations still count as the die's last access.
  kv.prune_dram(4400);
  const KvSram::DramSlot later = kv.reserve_dram(0, 4500, 5);
  EXPECT_EQ(later.prev_end_, 4305);
  EXPECT_EQ(kv.dram_closed_bank_saving(later), 0);
}

TEST(KvCalendar, ShortTransfersTakeTheirBusiestChannelsBursts) {
  // Interleave 256 B = 4 bursts per channel, 8 channels: a round is 2 KiB.
  KvSram kv("kv", dram_mapping());
  EXPECT_EQ(kv.dram_channel_cycles(64), 2);     // one burst
  EXPECT_EQ(kv.dram_channel_cycles(256), 8);    // one piece on one channel
  EXPECT_EQ(kv.dram_channel_cycles(2048), 8);   // one piece on every channel
  EXPECT_EQ(kv.dram_channel_cycles(2112), 10);  // and one burst more on the first
  EXPECT_EQ(kv.dram_transfer_cycles(2048), 8);  // at the peak rate
  EXPECT_EQ(kv.dram_transfer_cycles(256), 1);
  // The sweep of a 64-byte position opens a channel at each 256-byte piece, in the first round.
  EXPECT_TRUE(kv.dram_write_opens_channel(0));
  EXPECT_FALSE(kv.dram_write_opens_channel(1));
  EXPECT_TRUE(kv.dram_write_opens_channel(4));
  EXPECT_FALSE(kv.dram_write_opens_channel(32));  // second round: channel 0 again
}

TEST(KvCalendar, ARowBoundStreamTakesARowPeriodPerRow) {
  // Default rows of 1 KiB = 16 bursts of 2 cycles in 16 banks: the bursts bind (32 cycles), the
  // look-ahead of 32 bursts (m = 2 rows: 28 / 2) and the bank cycle ((34 + 14) / 16) do not.
  const double refresh = 1.0 - 288.0 / 3900.0;  // (tRFC + tRP + tRCD) / tREFI
  const ChipMapping base = dram_mapping();
  EXPECT_DOUBLE_EQ(base.kv_dram_row_cycles_, 32.0);
  EXPECT_DOUBLE_EQ(base.kv_dram_bytes_per_cycle_, 256.0 * refresh);
  // 256 B rows (4 bursts, 8 cycles) in 2 banks: each bank's row cycle, (34 + 14) / 2.
  const std::vector<std::string> rows = {"chip.attention.kv_dram.row_size=256 B",
                                         "chip.attention.kv_dram.banks=2"};
  const ChipMapping m = dram_mapping(rows);
  EXPECT_DOUBLE_EQ(m.kv_dram_row_cycles_, 24.0);
  EXPECT_DOUBLE_EQ(m.kv_dram_bytes_per_cycle_, 8.0 * 256.0 / 24.0 * refresh);
  // A look-ahead of 4 bursts in 16-burst rows: (16 - 4) x 2 + tRP + tRCD.
  EXPECT_DOUBLE_EQ(dram_mapping({"chip.attention.kv_dram.queue_depth=4"}).kv_dram_row_cycles_,
                   52.0);
  // The token level does not take that period as a rate: it serves the rows on one channel
  // that stands for all (KvSram::dram_rows, next test); its calendar holds a transfer for its
  // bytes at the peak rate and the rows' waits.
  KvSram kv("kv", m);
  EXPECT_EQ(kv.dram_channel_cycles(10240), 40);  // 20 bursts on each channel
  EXPECT_EQ(kv.dram_transfer_cycles(10240), 40);
}

TEST(KvCalendar, RowsOfAStreamOnTheChannelThatStandsForAll) {
  // 256 B rows (4 bursts of 2 cycles) in 2 banks, 8 channels, tRP = tRCD = 14, tRAS = 34, a
  // look-ahead of 32 bursts (64 cycles). 10 KiB of layer 0 from slot 0, posted at 0 on an idle
  // DRAM: 20 bursts on each channel, rows 0..4 in banks 0, 1, 0, 1, 0.
  const ChipMapping m = dram_mapping({"chip.attention.kv_dram.row_size=256 B",
                                      "chip.attention.kv_dram.banks=2"});
  KvSram kv("kv", m);
  const KvSram::SlotRanges stream = {{{0, 160}}};  // 160 positions of 64 B
  const KvSram::DramRows rows = kv.dram_rows(0, 0, stream, 0);
  ASSERT_TRUE(rows.modelled_);
  // Row 0: bank closed, ACT at 0, bursts from tRCD = 14 to 22. Row 1: its ACT at 0 too, bursts
  // 22-30. Row 2 (bank 0 again): PRE once row 0 has been open tRAS (34), ACT 48, bursts from
  // 62 (32 waited). Row 3: bank 1's PRE at 34 as well, ACT 48, ready by 70: no wait. Row 4:
  // bank 0's PRE at 48 + 34 = 82, ACT 96, bursts from 110 (32 more).
  EXPECT_EQ(rows.first_stall_, 14);
  EXPECT_EQ(rows.stall_, 14 + 32 + 32);
  // The cycle level's channels serve the same stream: its data end (CL + burst after the last
  // column command, DRAM clock = chip clock here) a cycle later, the request's posting cycle.
  sim::KvDram dram(m.chip_.attention_.kv_dram_, m.chip_.clock_hz_, 0);
  const int64_t id = dram.post({{0, 10240}}, false, 0);
  const sim::Cycle bus_end = 40 + rows.stall_;  // the calendar: bytes at the peak rate, then waits
  EXPECT_EQ(dram.done_cycle(id), bus_end + 1 + 14);
  // A second stream of layer 0 right after it finds rows 0-4's banks holding rows 2 and 1
  // (bank 0: row 2, bank 1: row 1): its first row (bank 0, row 0) waits for bank 0's PRE,
  // last burst 118 and ACT 96 + tRAS = 130, then tRP + tRCD.
  const KvSram::DramRows again = kv.dram_rows(0, 0, stream, 118);
  EXPECT_EQ(again.first_stall_, 130 + 14 + 14 - 118);
  // A transfer narrower than the channels is left to the layer-level rules.
  EXPECT_FALSE(kv.dram_rows(0, 0, {{{0, 4}}}, 200).modelled_);
  // Booked out of time order: a stream at 0 on a fresh die finds the state as of cycle 0 (no
  // use ends by then), not the later streams' rows.
  KvSram other("other", m);
  other.dram_rows(0, 0, stream, 500);
  EXPECT_EQ(other.dram_rows(0, 0, stream, 0).first_stall_, 14);
}

TEST(KvCalendar, ARivalLayersAccessClosesTheRows) {
  const ChipMapping m = dram_mapping();
  // The cycle level's address map: do layer 0's and layer 1's first rows share a bank?
  const KvDramConfig& k = m.chip_.attention_.kv_dram_;
  const sim::KvDram dram(k, m.chip_.clock_hz_, 0);
  std::set<std::tuple<int64_t, int64_t, int64_t>> layer0;
  bool rivals = false;
  for (int64_t piece = 0; piece < k.channels_; ++piece) {
    const sim::KvDramLocation l = dram.locate(piece * k.interleave_bytes_);
    layer0.emplace(l.channel_, l.bank_, l.row_);
  }
  const int64_t base = m.kv_positions_ * m.kv_bytes_per_position_layer_;
  for (int64_t piece = 0; piece < k.channels_; ++piece) {
    const sim::KvDramLocation l = dram.locate(base + piece * k.interleave_bytes_);
    for (const auto& [c, b, r] : layer0) rivals = rivals || (c == l.channel_ && b == l.bank_ && r != l.row_);
  }
  ASSERT_TRUE(rivals) << "layer regions of " << base << " B should share banks";
  KvSram kv("kv", m);
  kv.dram_note_access(1, 500);
  EXPECT_FALSE(kv.dram_rows_kept(0, 400, 600));
  EXPECT_TRUE(kv.dram_rows_kept(0, 500, 600));  // its own access opened them after
  EXPECT_TRUE(kv.dram_rows_kept(0, 300, 450));
  kv.dram_note_access(0, 700);                  // a layer's own accesses never close its rows
  EXPECT_TRUE(kv.dram_rows_kept(0, 600, 800));
  // Past the pruning horizon (two refresh intervals) nothing is known: closed.
  kv.prune_dram(20000);
  EXPECT_FALSE(kv.dram_rows_kept(0, 600, 20100));
  EXPECT_TRUE(kv.dram_rows_kept(0, 19000, 20100));
}

TEST(KvCalendar, ARowMissWaitsForTheRivalsRow) {
  // Layers 0 and 1 are rivals (previous test). Layer 1's access from cycle 100 left its row
  // open in their banks, closable (last burst out, ACT + tRAS) from cycle 180.
  KvSram kv("kv", dram_mapping());
  kv.dram_note_rows(1, 100, 180);
  EXPECT_EQ(kv.dram_row_miss_wait(0, 150), 29);  // its PRE, due at 151, waits until 180
  EXPECT_EQ(kv.dram_row_miss_wait(0, 179), 0);
  EXPECT_EQ(kv.dram_row_miss_wait(0, 99), 0);    // before that access: not its row
  EXPECT_EQ(kv.dram_row_miss_wait(1, 150), 0);   // a layer's own row is no rival's
  kv.dram_note_rows(1, 300, 420);                 // the latest access before it counts
  EXPECT_EQ(kv.dram_row_miss_wait(0, 310), 109);
  kv.prune_dram(20000);                           // older than the horizon: forgotten
  EXPECT_EQ(kv.dram_row_miss_wait(0, 19990), 0);
}

}  // namespace
}  // namespace hw
