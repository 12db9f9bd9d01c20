// The JEDEC-style KV DRAM of the cycle level (sim/kv_dram.h): the documented address map,
// row-hit streaming at the peak bandwidth, row misses paying tRP + tRCD, refresh taking tRFC
// every tREFI, FCFS sharing between requests.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>

#include "sim/kv_dram.h"

namespace hw::sim {
namespace {

// HBM2-like channel (DRAMsim3 HBM2_8Gb_x128 timings), 2 GT/s: tCK = 1 ns = one cycle of the
// 1 GHz chip clock, so expectations in tCK are expectations in cycles. Burst 16 B x 4 = 64 B in
// 2 tCK: 32 B per cycle per channel.
KvDramConfig hbm2(int64_t channels) {
  KvDramConfig c;
  c.channels_ = channels;
  c.bus_width_bits_ = 128;
  c.data_rate_hz_ = 2e9;
  c.burst_length_ = 4;
  c.banks_ = 16;
  c.row_bytes_ = 1024;
  c.interleave_bytes_ = 256;
  c.t_rcd_s_ = 14e-9;
  c.t_cl_s_ = 14e-9;
  c.t_rp_s_ = 14e-9;
  c.t_ras_s_ = 34e-9;
  c.t_rfc_s_ = 260e-9;
  c.t_refi_s_ = 0;  // off unless a test turns it on
  c.t_ccd_s_ = 0;
  return c;
}

constexpr double kClockHz = 1e9;

TEST(KvDram, TimingsInCommandClocks) {
  KvDramConfig c = hbm2(1);
  c.t_refi_s_ = 3.9e-6;
  KvDram d(c, kClockHz, 0);
  EXPECT_DOUBLE_EQ(d.tck_s(), 1e-9);
  EXPECT_EQ(d.n_rcd(), 14);
  EXPECT_EQ(d.n_cl(), 14);
  EXPECT_EQ(d.n_rp(), 14);
  EXPECT_EQ(d.n_ras(), 34);
  EXPECT_EQ(d.n_rfc(), 260);
  EXPECT_EQ(d.n_refi(), 3900);
  EXPECT_EQ(d.n_burst(), 2);
  EXPECT_EQ(d.n_ccd(), 2);
  EXPECT_EQ(d.burst_bytes(), 64);
  // A timing between clocks rounds up to the next one.
  c.t_rcd_s_ = 14.2e-9;
  EXPECT_EQ(KvDram(c, kClockHz, 0).n_rcd(), 15);
}

TEST(KvDram, AddressesMapAsDocumented) {
  KvDram d(hbm2(4), kClockHz, 0);
  auto at = [&](int64_t a) {
    const KvDramLocation l = d.locate(a);
    return std::vector<int64_t>{l.channel_, l.bank_, l.row_, l.column_};
  };
  // 256 B per channel in turn; a channel's share fills its 1 KiB row, then the next bank.
  EXPECT_EQ(at(0), (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(at(255), (std::vector<int64_t>{0, 0, 0, 255}));
  EXPECT_EQ(at(256), (std::vector<int64_t>{1, 0, 0, 0}));
  EXPECT_EQ(at(3 * 256 + 7), (std::vector<int64_t>{3, 0, 0, 7}));
  EXPECT_EQ(at(4 * 256), (std::vector<int64_t>{0, 0, 0, 256}));
  EXPECT_EQ(at(4 * 1024), (std::vector<int64_t>{0, 1, 0, 0}));
  EXPECT_EQ(at(4 * 1024 * 16), (std::vector<int64_t>{0, 0, 1, 0}));
  EXPECT_EQ(at(4 * 1024 * 16 * 5 + 4 * 1024 * 3 + 2 * 256 + 9),
            (std::vector<int64_t>{2, 3, 5, 9}));

  // (layer, slot, K/V, head) -> byte address: layers on the die in order, each `positions`
  // slots of 2R bytes, K of every head then V.
  KvDramLayout lay;
  lay.first_layer_ = 8;
  lay.positions_ = 100;
  lay.bytes_per_position_ = 4096;  // R = 2048 B: 8 heads x 128 x 2 B
  lay.head_bytes_ = 256;
  EXPECT_EQ(lay.address(8, 0), 0);
  EXPECT_EQ(lay.address(8, 3), 3 * 4096);
  EXPECT_EQ(lay.address(9, 0), 100 * 4096);
  EXPECT_EQ(lay.address(10, 7, true, 5), (200 + 7) * 4096 + 2048 + 5 * 256);
  // That head's V vector: one channel-interleave granule, so one channel, bank and row.
  const KvDramLocation l = d.locate(lay.address(10, 7, true, 5));
  EXPECT_EQ(l.column_ % 256, 0);
}

// Cycle at which a read of `bytes` from address 0 posted at cycle 0 has all its data.
Cycle stream(KvDram& d, int64_t bytes) {
  const int64_t id = d.post({{0, bytes}}, false, 0);
  return d.done_cycle(id);
}

TEST(KvDram, RowHitStreamingReachesPeakBandwidth) {
  for (int64_t channels : {1, 8}) {
    KvDram d(hbm2(channels), kClockHz, 0);
    const int64_t bytes = 256 * 1024;
    const Cycle done = stream(d, bytes);
    const double peak_bytes_per_cycle = 32.0 * double(channels);
    const double transfer = double(bytes) / peak_bytes_per_cycle;
    // One ACT + tRCD + CL at the start (first data), then bursts back to back: the next rows'
    // ACTs are hidden behind the open row's bursts. Bound: within 1% of the transfer time
    // after the first access.
    const double first = 1 + d.n_rcd() + d.n_cl();
    EXPECT_GE(double(done), transfer + first) << channels;
    EXPECT_LE(double(done), transfer * 1.01 + first + 2) << channels;
    int64_t misses = 0, hits = 0, reads = 0;
    for (int64_t c = 0; c < channels; ++c) {
      misses += d.channel_stats(c).row_misses_;
      hits += d.channel_stats(c).row_hits_;
      reads += d.channel_stats(c).reads_;
      EXPECT_NEAR(d.busy_cycles(c), transfer, 1e-9) << c;
    }
    EXPECT_EQ(reads, bytes / 64);
    EXPECT_EQ(misses, bytes / 1024);  // one ACT per row
    EXPECT_EQ(hits, reads - misses);
  }
}

TEST(KvDram, RandomRowsPayPrechargeAndActivate) {
  // Single-burst reads, each to another row of bank 0 of one channel (C = 1: bank stride is
  // one row, row stride 16 rows), all posted at once.
  for (double t_ras : {0.0, 34e-9}) {
    KvDramConfig c = hbm2(1);
    c.t_ras_s_ = t_ras;
    KvDram d(c, kClockHz, 0);
    KvDram hits(c, kClockHz, 0);
    std::vector<Cycle> miss_done, hit_done;
    for (int64_t i = 0; i < 8; ++i) {
      miss_done.push_back(d.done_cycle(d.post({{i * 16 * 1024, 64}}, false, 0)));
      hit_done.push_back(hits.done_cycle(hits.post({{i * 64, 64}}, false, 0)));
    }
    // Row hits: one burst apart. Row misses: PRE after tRAS and the burst, tRP, ACT, tRCD.
    const int64_t miss_gap =
        std::max(d.n_ras(), d.n_rcd() + d.n_burst()) + d.n_rp();
    for (size_t i = 1; i < miss_done.size(); ++i) {
      EXPECT_EQ(hit_done[i] - hit_done[i - 1], d.n_burst());
      EXPECT_EQ(miss_done[i] - miss_done[i - 1], miss_gap) << t_ras;
    }
    if (t_ras == 0.0) {
      // Each miss pays exactly tRP + tRCD over a hit.
      EXPECT_EQ(miss_gap - d.n_burst(), d.n_rp() + d.n_rcd());
    }
    EXPECT_EQ(d.channel_stats(0).row_misses_, 8);
    EXPECT_EQ(d.channel_stats(0).row_hits_, 0);
    EXPECT_EQ(hits.channel_stats(0).row_misses_, 1);
    EXPECT_EQ(hits.channel_stats(0).row_hits_, 7);
  }
}

TEST(KvDram, RefreshStealsTrfcEveryTrefi) {
  KvDramConfig c = hbm2(1);
  KvDram plain(c, kClockHz, 0);
  c.t_refi_s_ = 3.9e-6;
  KvDram refreshed(c, kClockHz, 0);
  const int64_t bytes = 1024 * 1024;  // 32768 cycles of bursts
  const Cycle t0 = stream(plain, bytes);
  const Cycle t1 = stream(refreshed, bytes);
  // The refreshes that fell inside the stream (each after the bursts already issued) ...
  const int64_t n = refreshed.channel_stats(0).refreshes_;
  EXPECT_GE(n, 8);
  // ... and with the one due at its very end, one every tREFI of the (stretched) run.
  refreshed.finish(t1);
  EXPECT_EQ(refreshed.channel_stats(0).refreshes_, t1 / 3900);
  EXPECT_LE(refreshed.channel_stats(0).refreshes_, n + 1);
  // Each costs tRFC, plus closing the open row (tRP, after tRAS) and reopening it (tRCD).
  const double per = double(t1 - t0) / double(n);
  EXPECT_GE(per, double(refreshed.n_rfc()));
  EXPECT_LE(per, double(refreshed.n_rfc() + refreshed.n_rp() + refreshed.n_rcd() +
                        refreshed.n_ras()));
  // An idle channel refreshes on time too.
  KvDram idle(c, kClockHz, 0);
  idle.finish(100000);
  EXPECT_EQ(idle.channel_stats(0).refreshes_, 100000 / 3900);
}

TEST(KvDram, RequestsShareChannelsFirstComeFirstServed) {
  KvDram d(hbm2(8), kClockHz, 0);
  const int64_t bytes = 64 * 1024;
  const int64_t a = d.post({{0, bytes}}, false, 0);
  const int64_t b = d.post({{1 << 20, bytes}}, true, 0);
  const double transfer = double(bytes) / 256.0;
  // The second waits for the first's bursts on every channel, then streams: twice the time.
  EXPECT_NEAR(double(d.done_cycle(a)), transfer, 0.02 * transfer + 30);
  EXPECT_NEAR(double(d.done_cycle(b)), 2 * transfer, 0.02 * transfer + 30);
  // Its data become available in address order, a contiguous prefix.
  double last = 0;
  for (Cycle t = 0; t <= d.done_cycle(b); t += 16) {
    const double got = d.available(b, t);
    EXPECT_GE(got, last);
    last = got;
  }
  EXPECT_DOUBLE_EQ(d.available(b, d.done_cycle(b)), double(bytes));
  EXPECT_LT(d.available(b, d.done_cycle(b) - 1), double(bytes));
  int64_t reads = 0, writes = 0;
  for (int64_t ch = 0; ch < 8; ++ch) {
    reads += d.channel_stats(ch).reads_;
    writes += d.channel_stats(ch).writes_;
  }
  EXPECT_EQ(reads, bytes / 64);
  EXPECT_EQ(writes, bytes / 64);
  EXPECT_DOUBLE_EQ(d.bytes_requested(), 2.0 * double(bytes));
}

// kv-in-dram's attachment: 96 channels x 64 bit at 6.25 GT/s (4.8 TB/s), BL8, 2 KiB rows.
KvDramConfig hbm3_like() {
  KvDramConfig c = hbm2(96);
  c.bus_width_bits_ = 64;
  c.data_rate_hz_ = 6.25e9;
  c.burst_length_ = 8;
  c.row_bytes_ = 2048;
  return c;
}

// The closed form offered to the token level (docs/simulate.md "KV memory"): a stream of B
// bytes (interleave-aligned) on an otherwise idle DRAM, posted at cycle t, has all its data at
//   t + 1 + ceil(((tRP + tRCD + CL) + Nc x tCCD / (1 - f)) x tCK x clock) + latency,
//   Nc = ceil(B / (interleave x C)) x interleave / burst  (bursts of the busiest channel),
//   f = (tRFC + tRP + tRCD) / tREFI  (a refresh closes the open row and holds the channel),
// in tCK; f = 0 without refresh. The first access pays tRP too: open-page banks hold another
// region's row (here, as on the chip, every sweep is in another layer's region).
double closed_form_cycles(const KvDramConfig& c, const KvDram& d, double clock_hz, int64_t bytes) {
  const int64_t g = c.interleave_bytes_;
  const double nc =
      std::ceil(double(bytes) / double(g * c.channels_)) * double(g / d.burst_bytes());
  const double f =
      d.n_refi() > 0 ? double(d.n_rfc() + d.n_rp() + d.n_rcd()) / double(d.n_refi()) : 0;
  const double first = double(d.n_rp() + d.n_rcd() + d.n_cl());
  return 1 + std::ceil((first + nc * double(d.n_ccd()) / (1 - f)) * d.tck_s() * clock_hz) +
         double(d.latency_cycles());
}

TEST(KvDram, ClosedFormStreamTimeWithinTwoPercent) {
  // Back-to-back sweeps as one user's decode issues them (each posted when the previous one's
  // data are in, each in another layer's region of 100003 positions of 4 KiB), with refresh
  // on: simulated total against the sum of the closed form.
  for (const bool hbm3 : {false, true}) {
    for (const int64_t bytes : {int64_t(512) << 10, int64_t(2) << 20, int64_t(8) << 20}) {
      KvDramConfig c = hbm3 ? hbm3_like() : hbm2(8);
      c.t_refi_s_ = 3.9e-6;
      KvDram d(c, kClockHz, 100);
      Cycle now = 0;
      double predicted = 0;
      const int sweeps = 40;
      for (int i = 0; i < sweeps; ++i) {
        const int64_t id = d.post({{int64_t(i % 32) * 100003 * 4096, bytes}}, false, now);
        const Cycle done = d.done_cycle(id);
        d.release(id);
        predicted += closed_form_cycles(c, d, kClockHz, bytes);
        now = done;
      }
      std::printf("%s %7lld KiB: simulated %lld cycles, closed form %.0f (%.2f%%)\n",
                  hbm3 ? "hbm3-like" : "hbm2x8   ", static_cast<long long>(bytes >> 10),
                  static_cast<long long>(now), predicted,
                  100.0 * (predicted - double(now)) / double(now));
      EXPECT_NEAR(predicted, double(now), 0.02 * double(now)) << bytes;
    }
  }
}

TEST(KvDram, LatencyAddsToEveryAccess) {
  KvDram a(hbm2(1), kClockHz, 0);
  KvDram b(hbm2(1), kClockHz, 100);
  EXPECT_EQ(b.done_cycle(b.post({{0, 64}}, false, 5)),
            a.done_cycle(a.post({{0, 64}}, false, 5)) + 100);
}

}  // namespace
}  // namespace hw::sim
