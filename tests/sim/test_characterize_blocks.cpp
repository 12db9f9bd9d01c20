// The token level's streaming closed forms (chip/mapping.h "Streaming rule", sim/pipeline.h)
// against the cycle level (sim/cycle_chip.h), block structure by block structure: one layer of
// the tiny model (plus the embedding and the head) on the tiny chip of sim_test_util.h, over a
// grid of the structural keys the cycle blocks clock (input lanes, output_mux, output_lanes,
// chunk width, norm / rope / activation lanes, KV banks, ports, bank width, read latency, MAC
// and exp rates, links between dies) and of workloads (one user decoding at short and long
// context, several users with prefill). For every point the token level's tokens/s, TTFT and
// inter-token latency must be within 2% of the cycle level's, and for one user the closed-form
// token latency of the mapping (what the estimator reads) within 2% of the cycle level's
// inter-token latency. KV in DRAM has its own grid (channels, bus width, data rate, rows and
// banks, refresh, dies), held to the bounds measured for it (docs/simulate.md says why they
// are above 2%). The worst error of each figure is printed. Prefill query tiling
// (chip.attention.query_tile) is off here (test_characterize_end_to_end.cpp checks it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "chip/mapping.h"
#include "sim_test_util.h"

namespace hw {
namespace {

using test::run_in_child;
using test::same_requests;
using test::sim_tiny_chip;
using test::sim_tiny_model;
using test::timing_options;

constexpr double kTolerance = 0.02;

struct GridPoint {
  std::string name_;
  std::vector<std::string> set_;
  double tolerance_ = kTolerance;         // token level against cycle level
  double closed_tolerance_ = kTolerance;  // the mapping's closed form against the cycle level
};

// The tiny chip with its KV in DRAM: 1 GHz chip, 8 channels x 128 bit at 2 GT/s (256 B per
// cycle at the peak), 100 ns controller latency, and `extra` on top.
std::vector<std::string> dram(std::vector<std::string> extra) {
  std::vector<std::string> v = {"chip.clock=1 GHz", "chip.attention.kv_memory=dram",
                                "chip.attention.kv_dram.capacity=1 MiB",
                                "chip.attention.kv_dram.data_rate=2 GHz",
                                "chip.attention.kv_dram.latency=100 ns"};
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

// Each point changes one or two structural keys of the tiny chip (sim_test_util.h).
std::vector<GridPoint> grid() {
  return {
      {"base", {}},
      {"chunk 16", {"chip.buffers.chunk_elements=16"}},
      {"chunk 32, channel 3", {"chip.buffers.chunk_elements=32", "chip.buffers.channel_depth=3"}},
      {"chunk 8, qkv lanes 24 (lanes > chunk)",
       {"chip.buffers.chunk_elements=8", "chip.qkv.input_lanes=24"}},
      {"qkv and o_proj output_mux 3",
       {"chip.qkv.output_mux=3", "chip.o_proj.output_mux=3"}},
      {"output_lanes 16 < chunk 64",
       {"chip.buffers.chunk_elements=64", "chip.qkv.output_lanes=16",
        "chip.ffn_gate_up.output_lanes=16"}},
      {"ffn_down lanes 40, gate_up lanes 3",
       {"chip.ffn_down.input_lanes=40", "chip.ffn_gate_up.input_lanes=3"}},
      {"norm 8 lanes, rope 4, activation 64",
       {"chip.norm.elements_per_cycle=8", "chip.rope.elements_per_cycle=4",
        "chip.activation.elements_per_cycle=64"}},
      {"norm 64 lanes, chunk 32",
       {"chip.norm.elements_per_cycle=64", "chip.buffers.chunk_elements=32"}},
      {"2 banks", {"chip.attention.kv_sram.banks=2"}},
      {"16 banks, 3 ports", {"chip.attention.kv_sram.banks=16",
                             "chip.attention.kv_sram.ports_per_bank=3"}},
      {"single-ported banks", {"chip.attention.kv_sram.ports_per_bank=1"}},
      {"bank width 4 B", {"chip.attention.kv_sram.bank_width=4 B"}},
      {"bank width 32 B, read latency 4",
       {"chip.attention.kv_sram.bank_width=32 B", "chip.attention.kv_sram.read_latency=4"}},
      {"MAC-bound attention, exp latency 3",
       {"chip.attention.macs_per_cycle=64", "chip.attention.exp_latency=3"}},
      {"softmax-bound attention", {"chip.attention.softmax_elements_per_cycle=2"}},
      {"sampler 16 lanes, lm_head lanes 3",
       {"chip.sampler.elements_per_cycle=16", "chip.lm_head.input_lanes=3"}},
      {"two dies",
       {"chip.dies=2", "chip.link.bandwidth=400 MB/s", "chip.link.latency=50 ns"}},
      // KV in DRAM. The two layers' regions share bank 0 of every channel (other rows), so
      // their accesses close each other's rows. The token level evaluates the blocks of all
      // tokens in flight in time order, so the DRAM is booked in about the order the cycle
      // level's FCFS channels serve it (docs/simulate.md "Time order"; booking each
      // token's whole passage at its entry, one 64-bit channel was 7.2% off on TTFT and several
      // users on 400 MT/s 4.2%). A transfer that reaches every channel (here a sweep of 32
      // positions or more, and on one channel every transfer) is served row by row on the
      // channel that stands for all (kv_sram.h dram_rows); one 64-bit channel, 3 users 20/10,
      // is 3.6% fast on inter-token latency with it (0.1% before), the 400 MT/s channel within
      // 1.4% (2.7%). The closed form (chip/mapping.h
      // "KV DRAM rule") takes expected refresh waits, open-row savings and the row-bound rate;
      // it misses on one narrow channel (+3.7%), with 256 B rows (+2.8%) and where a stream is
      // row-bound (+6.0%). Bounds: the measured worst of the three workloads, rounded up by at
      // most half a point.
      {"KV in DRAM", dram({}), 0.025, kTolerance},
      {"KV in DRAM, 1 channel x 64 bit",
       dram({"chip.attention.kv_dram.channels=1", "chip.attention.kv_dram.bus_width=64 bit"}),
       0.04, 0.04},
      {"KV in DRAM, 400 MT/s, 1 channel x 16 bit (bandwidth-bound)",
       dram({"chip.attention.kv_dram.data_rate=400 MHz", "chip.attention.kv_dram.channels=1",
             "chip.attention.kv_dram.bus_width=16 bit"}),
       kTolerance, kTolerance},
      {"KV in DRAM, rows 256 B, 2 banks",
       dram({"chip.attention.kv_dram.row_size=256 B", "chip.attention.kv_dram.banks=2"}), 0.025,
       0.03},
      {"KV in DRAM, t_refi 1 us", dram({"chip.attention.kv_dram.t_refi=1 us"}), 0.04, kTolerance},
      // One 256-bit channel of 256 B rows in 2 banks: a sweep comes back to the two banks every
      // row, a row period (tRAS + tRP) / 2 = 24 ns against 4 ns of bursts, so it is row-bound
      // (the closed form's kv_dram_row_cycles_). The token level's rows on the channel (bank
      // waits row by row) leave 3 users 20/10 12.8% fast on TTFT and 10.4% on tokens/s, 1 user
      // 60/12 10.5% on TTFT; before them its rate was a row-bound stream's with the first
      // `banks` rows opened side by side, which missed the banks still busy with the previous
      // sweep's rows: 20.3% and 18.1% (without any row-bound rule 56% on TTFT, 1 user 60/12).
      {"KV in DRAM, 1 channel x 256 bit, rows 256 B, 2 banks (row-bound)",
       dram({"chip.attention.kv_dram.channels=1", "chip.attention.kv_dram.bus_width=256 bit",
             "chip.attention.kv_dram.row_size=256 B", "chip.attention.kv_dram.banks=2"}),
       0.13, 0.065},
      {"KV in DRAM, two dies",
       dram({"chip.dies=2", "chip.link.bandwidth=4 GB/s", "chip.link.latency=50 ns"}), 0.025,
       0.035},
  };
}

struct Workload {
  std::string name_;
  int64_t users_, prompt_, output_;
};

std::vector<Workload> workloads() {
  return {{"1 user 6/24", 1, 6, 24}, {"1 user 60/12", 1, 60, 12}, {"3 users 20/10", 3, 20, 10}};
}

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-30); }

struct Worst {
  double err_ = 0;
  std::string what_;
  void note(double err, const std::string& what) {
    if (err >= err_) *this = {err, what};
  }
};

TEST(CharacterizeBlocks, TokenLevelMatchesCycleLevelOverTheStructureGrid) {
  ModelConfig model = sim_tiny_model();
  model.n_layers_ = 2;  // two dies need two layers; one-die points run the same model
  Worst tps, ttft, itl, closed;
  int64_t points = 0;
  for (const GridPoint& g : grid()) {
    std::vector<std::string> set = g.set_;
    set.push_back("chip.attention.query_tile=1");
    const ChipConfig chip = sim_tiny_chip(set);
    const ChipMapping m = map_model(model, chip, 4.0, 8);
    for (const Workload& w : workloads()) {
      const std::string what = g.name_ + ", " + w.name_;
      SCOPED_TRACE(what);
      sim::SimOptions tok = timing_options();
      sim::SimOptions cyc = timing_options();
      cyc.level_ = sim::SimLevel::kCycle;
      const auto requests = same_requests(w.users_, w.prompt_, w.output_);
      const nlohmann::json t = run_in_child(model, chip, requests, tok);
      const nlohmann::json c = run_in_child(model, chip, requests, cyc);
      ASSERT_FALSE(t.contains("error")) << t.dump();
      ASSERT_FALSE(c.contains("error")) << c.dump();
      ASSERT_EQ(t["tokens_generated"], c["tokens_generated"]);
      const double e_tps =
          rel(t["tokens_per_s_total"].get<double>(), c["tokens_per_s_total"].get<double>());
      const double e_ttft =
          rel(t["ttft_s"]["mean"].get<double>(), c["ttft_s"]["mean"].get<double>());
      const double e_itl = rel(t["inter_token_latency_s"]["mean"].get<double>(),
                               c["inter_token_latency_s"]["mean"].get<double>());
      EXPECT_LE(e_tps, g.tolerance_) << "tokens/s";
      EXPECT_LE(e_ttft, g.tolerance_) << "TTFT";
      EXPECT_LE(e_itl, g.tolerance_) << "inter-token latency";
      tps.note(e_tps, what);
      ttft.note(e_ttft, what);
      itl.note(e_itl, what);
      if (w.users_ == 1) {
        // One user decoding: every inter-token latency is one token's pass at its context, the
        // mapping's closed form token_latency_cycles (contexts prompt+1 .. prompt+output-1).
        double sum = 0;
        for (int64_t ctx = w.prompt_ + 1; ctx < w.prompt_ + w.output_; ++ctx) {
          sum += double(m.token_latency_cycles(ctx));
        }
        const double closed_s = sum / double(w.output_ - 1) / chip.clock_hz_;
        const double e = rel(closed_s, c["inter_token_latency_s"]["mean"].get<double>());
        EXPECT_LE(e, g.closed_tolerance_) << "mapping token latency";
        closed.note(e, what);
      }
      ++points;
    }
  }
  std::printf("%lld grid points; worst token vs cycle level: tokens/s %.2f%% (%s), TTFT %.2f%% "
              "(%s), inter-token latency %.2f%% (%s); mapping closed form vs cycle level %.2f%% "
              "(%s)\n",
              static_cast<long long>(points), 100 * tps.err_, tps.what_.c_str(),
              100 * ttft.err_, ttft.what_.c_str(), 100 * itl.err_, itl.what_.c_str(),
              100 * closed.err_, closed.what_.c_str());
}

}  // namespace
}  // namespace hw
