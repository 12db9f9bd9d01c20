// `hardwire characterize` (sim/characterize.h): the table's rows, keys and units on the tiny
// model and chip of sim_test_util.h, its errors against the cycle level (within 2% for the token
// level where the streaming rule applies), points that do not fit listed as skipped, and the
// cache key: stable for the same design, different for any changed chip key or width.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "sim/characterize.h"
#include "sim_test_util.h"

namespace hw {
namespace {

using test::sim_tiny_chip;
using test::sim_tiny_model;

sim::CharacterizeOptions tiny_options() {
  sim::CharacterizeOptions o;
  o.contexts_ = {4, 30, 500};  // 500 + 7 positions do not fit the tiny chip's 100
  o.users_ = {1, 2};
  o.output_tokens_ = 8;
  o.layers_ = 1;
  o.weight_bits_ = 4.0;
  o.kv_bits_ = 8;
  o.numerics_ = "test";
  return o;
}

TEST(Characterize, TableRowsErrorsAndBlocks) {
  const ChipConfig chip = sim_tiny_chip({"chip.attention.query_tile=1"});
  const nlohmann::json t = sim::characterize(sim_tiny_model(), chip, tiny_options());
  EXPECT_EQ(t["layers_simulated"], 1);
  ASSERT_EQ(t["rows"].size(), 4u);
  ASSERT_EQ(t["skipped"].size(), 2u);
  EXPECT_EQ(t["skipped"][0]["context_tokens"], 500);
  for (const auto& r : t["rows"]) {
    SCOPED_TRACE(r["context_tokens"].dump() + " x " + r["users"].dump());
    for (const char* k : {"tokens_per_s_total", "ttft_s", "inter_token_latency_s"}) {
      EXPECT_GT(r["cycle"][k].get<double>(), 0.0);
      EXPECT_LE(std::abs(r["error_pct"]["token_vs_cycle"][k].get<double>()), 2.0) << k;
    }
    if (r["users"] == 1) {
      EXPECT_LE(std::abs(r["error_pct"]["closed_form_vs_cycle"]["inter_token_latency_s"]
                             .get<double>()),
                2.0);
    }
    // Per-block measured service: a matrix block busy its fold per token (ceil(64/7) = 10).
    EXPECT_NEAR(r["blocks"]["qkv"]["service_cycles_per_token"].get<double>(), 10.0, 1e-9);
    EXPECT_TRUE(r["blocks"]["attention"].contains("bank_conflict_cycles_per_token"));
    // Untiled: a sweep per query at both levels.
    EXPECT_DOUBLE_EQ(r["blocks"]["attention"]["queries_per_sweep"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(r["blocks"]["attention"]["token_queries_per_sweep"].get<double>(), 1.0);
  }
  EXPECT_LE(t["worst_abs_error_pct"]["token_vs_cycle"]["ttft_s"].get<double>(), 2.0);
}

TEST(Characterize, CacheKeyAndPath) {
  const sim::CharacterizeOptions o = tiny_options();
  const std::string k = sim::characterize_key(sim_tiny_model(), sim_tiny_chip(), o);
  EXPECT_EQ(k.size(), 16u);
  EXPECT_EQ(k, sim::characterize_key(sim_tiny_model(), sim_tiny_chip(), o));
  EXPECT_NE(k, sim::characterize_key(sim_tiny_model(),
                                     sim_tiny_chip({"chip.attention.kv_sram.banks=8"}), o));
  sim::CharacterizeOptions kv4 = o;
  kv4.kv_bits_ = 4;
  EXPECT_NE(k, sim::characterize_key(sim_tiny_model(), sim_tiny_chip(), kv4));
  ::setenv("HARDWIRE_CACHE_DIR", "/tmp/hw-cache-test", 1);
  EXPECT_EQ(sim::characterize_cache_path(k), "/tmp/hw-cache-test/characterize/" + k + ".json");
  ::unsetenv("HARDWIRE_CACHE_DIR");
}

}  // namespace
}  // namespace hw
