// KV SRAM banks as addressed traffic (sim/kv_banks.h): a write holding a single-ported bank
// stops a read there; with the die's layers sharing one pool (kv_sram.bank_scope = die) a sweep
// that finds a bank's read ports taken by another layer's sweep waits, counted per bank; the
// cycle level reports both, and per-layer pools never see layer-vs-layer conflicts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/kv_banks.h"
#include "sim_test_util.h"

namespace hw {
namespace {

using sim::KvBankEngine;

TEST(KvBanks, WriteOnSinglePortedBankStopsTheRead) {
  KvBankEngine e(4, 1);
  ASSERT_TRUE(e.request_write(6, 10));  // bank 2 at cycle 10
  bool conflicted = false;
  // Words 4, 5, 6, 7 at cycle 10: banks 0, 1 read, bank 2 held by the write.
  EXPECT_EQ(e.issue_reads(4, 4, 10, &conflicted), 2);
  EXPECT_TRUE(conflicted);
  EXPECT_EQ(e.conflicts(), (std::vector<int64_t>{0, 0, 1, 0}));
  EXPECT_EQ(e.read_conflicts(), (std::vector<int64_t>{0, 0, 0, 0}));
  // A second writer of bank 2 in the same cycle waits too (a conflict at the bank).
  EXPECT_FALSE(e.request_write(2, 10));
  EXPECT_EQ(e.conflicts()[2], 2);
  // The next cycle the banks are free again.
  EXPECT_EQ(e.issue_reads(6, 4, 11, &conflicted), 4);
  EXPECT_FALSE(conflicted);
  EXPECT_EQ(e.reads(), (std::vector<int64_t>{2, 2, 1, 1}));
}

TEST(KvBanks, SweepsOfTwoLayersInOneCycleConflictOnAPool) {
  // A pool of 8 banks with 2 ports (1 read port each): layer 0's sweep takes banks 0..5, layer
  // 1's sweep (its region starts at word 800 = bank 0) gets none of banks 0..5.
  KvBankEngine e(8, 2);
  bool conflicted = false;
  EXPECT_EQ(e.issue_reads(0, 6, 3, &conflicted), 6);
  EXPECT_FALSE(conflicted);
  EXPECT_EQ(e.issue_reads(800, 8, 3, &conflicted), 0);
  EXPECT_TRUE(conflicted);
  EXPECT_EQ(e.read_conflicts()[0], 1);
  EXPECT_EQ(e.conflicts()[0], 1);
  // Starting past them it gets the free banks 6 and 7, then stops at bank 0.
  EXPECT_EQ(e.issue_reads(806, 8, 3, &conflicted), 2);
  EXPECT_EQ(e.read_conflicts()[0], 2);
  // Writes have their own port with 2 ports per bank: no conflict with reads.
  EXPECT_TRUE(e.request_write(0, 3));
  EXPECT_EQ(e.issue_reads(0, 1, 3, &conflicted), 0);  // bank 0's read port already used
  // Readability is per (layer, user).
  e.set_readable(0, 5, 7, 100, 90);
  EXPECT_EQ(e.readable_at(0, 5, 7), 100);
  EXPECT_EQ(e.readable_at(0, 5, 6), 0);
  EXPECT_EQ(e.readable_at(1, 5, 7), INT64_MAX);
  e.forget_user(5);
  EXPECT_EQ(e.readable_at(0, 5, 7), INT64_MAX);
}

TEST(KvBanks, PostedWritesKeepTheirOwnReadyCycles) {
  // KV in DRAM: kv_write posts position 0 at cycle 29 (in the DRAM at 160) and position 1 at 34
  // (at 161) before attention asks for position 0: it must wait for 160, not take position 1's
  // record as "earlier positions are in" (the sweep was posted 126 cycles early before).
  KvBankEngine e(1, 1);
  e.set_readable(3, 0, 0, 160, 29);
  e.set_readable(3, 0, 1, 161, 34);
  EXPECT_EQ(e.readable_at(3, 0, 0), 160);
  EXPECT_EQ(e.readable_at(3, 0, 1), 161);
  EXPECT_EQ(e.readable_at(3, 0, 2), INT64_MAX);
  // Once a later set finds them readable they are forgotten (readable: 0).
  e.set_readable(3, 0, 2, 170, 165);
  EXPECT_EQ(e.readable_at(3, 0, 0), 0);
  EXPECT_EQ(e.readable_at(3, 0, 1), 0);
  EXPECT_EQ(e.readable_at(3, 0, 2), 170);
}

sim::SimOptions cycle_options() {
  sim::SimOptions o = test::timing_options();
  o.level_ = sim::SimLevel::kCycle;
  return o;
}

TEST(KvBanks, SharedPoolCountsLayerAgainstLayerConflicts) {
  // Four users decoding on the tiny chip (2 layers, 4 banks x 2 ports per layer): both layers'
  // sweeps run at once. Layer pools: no conflicts. One pool of 8 banks: conflicts between the
  // layers' sweeps, the same reads and writes.
  const auto requests = test::same_requests(4, 6, 10);
  const nlohmann::json layer = test::run_in_child(
      test::sim_tiny_model(), test::sim_tiny_chip({"chip.attention.query_tile=1"}), requests,
      cycle_options());
  const nlohmann::json die = test::run_in_child(
      test::sim_tiny_model(),
      test::sim_tiny_chip({"chip.attention.query_tile=1", "chip.attention.kv_sram.bank_scope=die"}),
      requests, cycle_options());
  ASSERT_FALSE(layer.contains("error")) << layer.dump();
  ASSERT_FALSE(die.contains("error")) << die.dump();
  EXPECT_EQ(layer["kv_banks"]["scope"], "layer");
  EXPECT_EQ(die["kv_banks"]["scope"], "die");
  EXPECT_EQ(layer["kv_banks"]["reads_per_bank"].size(), 4u);
  EXPECT_EQ(die["kv_banks"]["reads_per_bank"].size(), 8u);
  EXPECT_EQ(layer["kv_banks"]["reads"], die["kv_banks"]["reads"]);
  EXPECT_EQ(layer["kv_banks"]["writes"], die["kv_banks"]["writes"]);
  EXPECT_EQ(layer["kv_banks"]["read_conflicts"], 0);
  EXPECT_EQ(layer["kv_banks"]["conflicts"], 0);
  std::printf("shared pool: %lld read-read conflicts, tokens/s %.0f (per-layer pools %.0f)\n",
              static_cast<long long>(die["kv_banks"]["read_conflicts"].get<int64_t>()),
              die["tokens_per_s_total"].get<double>(), layer["tokens_per_s_total"].get<double>());
  EXPECT_GT(die["kv_banks"]["read_conflicts"].get<int64_t>(), 0);
  // The rest are two layers' KV writes to one bank in one cycle.
  EXPECT_GE(die["kv_banks"]["conflicts"].get<int64_t>(),
            die["kv_banks"]["read_conflicts"].get<int64_t>());
  EXPECT_EQ(die["tokens_generated"], 40);
}

}  // namespace
}  // namespace hw
