// Tests of the chip description: strict schema (unknown keys named with a suggestion, required
// keys, cross-key checks), units and overrides, and that every shipped chip loads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "chip/chip_config.h"
#include "chip_test_util.h"

namespace hw {
namespace {

using ::testing::HasSubstr;
using test::error_of;
using test::tiny_chip;
using test::tiny_chip_yaml;

TEST(ChipConfig, ReadsEveryBlockInCanonicalUnits) {
  const ChipConfig c = tiny_chip();
  EXPECT_DOUBLE_EQ(c.clock_hz_, 100e6);
  EXPECT_EQ(c.rom_capacity_bits_, 1000000);
  EXPECT_DOUBLE_EQ(c.host_latency_s_, 1e-6);
  EXPECT_EQ(c.qkv_.input_lanes_, 8);
  EXPECT_EQ(c.qkv_.output_lanes_, 128);
  EXPECT_EQ(c.qkv_.output_mux_, 1);                    // default
  EXPECT_EQ(c.qkv_.products_, MatrixProducts::kProductSelect);  // default
  EXPECT_EQ(c.ffn_down_.accumulate_stages_, 1);        // default
  EXPECT_EQ(c.lm_head_.output_mux_, 2);
  EXPECT_EQ(c.lm_head_.tree_registers(), 2);           // 2 levels over 4 lanes, 1 per register
  EXPECT_EQ(c.qkv_.tree_registers(), 1);               // whole tree, one register
  // Derived only for a model (chip/mapping.h).
  EXPECT_EQ(c.qkv_.fold_cycles_, 0);
  EXPECT_EQ(c.chunk_elements_, 256);                   // default
  EXPECT_EQ(c.channel_depth_chunks_, 2);               // default
  EXPECT_EQ(c.attention_.kv_sram_.capacity_bytes_, 65536);
  EXPECT_EQ(c.attention_.kv_sram_.banks_, 3);
  EXPECT_EQ(c.attention_.kv_memory_, KvMemory::kSram);
  EXPECT_EQ(c.dies_, 1);
  EXPECT_TRUE(c.layers_per_die_.empty());
  EXPECT_EQ(c.fifo_depth_tokens_, 2);  // default
  EXPECT_EQ(c.activation_bits_, 16);   // default
}

TEST(ChipConfig, UnknownKeyIsNamedWithSuggestion) {
  const std::string yaml = std::string(tiny_chip_yaml()) + "  buffers: {fifo_dpeth: 4}\n";
  const std::string msg =
      error_of([&] { chip_config_from_yaml(YAML::Load(yaml), "t", "t.yaml", {}); });
  EXPECT_THAT(msg, HasSubstr("unknown key 'chip.buffers.fifo_dpeth'"));
  EXPECT_THAT(msg, HasSubstr("did you mean 'chip.buffers.fifo_depth'"));
  EXPECT_THAT(msg, HasSubstr("t.yaml"));
  EXPECT_THAT(error_of([] { tiny_chip({"chip.qkv.input_lane=4"}); }),
              HasSubstr("--set chip.qkv.input_lane: unknown key 'chip.qkv.input_lane'"));
}

TEST(ChipConfig, UnknownTopLevelBlockIsRejected) {
  const std::string yaml = std::string(tiny_chip_yaml()) + "chips: {}\n";
  EXPECT_THAT(error_of([&] { chip_config_from_yaml(YAML::Load(yaml), "t", "t.yaml", {}); }),
              HasSubstr("unknown top-level key 'chips'"));
}

TEST(ChipConfig, MissingRequiredKeyIsNamed) {
  const std::string msg = error_of([] {
    chip_config_from_yaml(YAML::Load("chip:\n  clock: 1 GHz\n"), "t", "t.yaml", {});
  });
  EXPECT_THAT(msg, HasSubstr("missing required key 'chip.rom.capacity'"));
}

TEST(ChipConfig, WrongUnitAndRangeAreErrors) {
  EXPECT_THAT(error_of([] { tiny_chip({"chip.clock=5 MB"}); }),
              HasSubstr("does not measure the same thing as 'Hz'"));
  EXPECT_THAT(error_of([] { tiny_chip({"chip.qkv.input_lanes=0"}); }), HasSubstr("out of range"));
  EXPECT_THAT(error_of([] { tiny_chip({"chip.qkv.products=lut"}); }),
              HasSubstr("is not one of: product_select, constant_multipliers"));
  // The fitted fold of earlier versions is gone (derived from the lanes now).
  EXPECT_THAT(error_of([] { tiny_chip({"chip.qkv.fold=300"}); }), HasSubstr("unknown key"));
  EXPECT_THAT(error_of([] { tiny_chip({"chip.attention.kv_memory=hbm"}); }),
              HasSubstr("is not one of: sram, dram"));
}

TEST(ChipConfig, OverridesWinAndConvertUnits) {
  const ChipConfig c =
      tiny_chip({"chip.clock=1.5 GHz", "chip.attention.kv_sram.capacity=2 MiB", "model.x=1"});
  EXPECT_DOUBLE_EQ(c.clock_hz_, 1.5e9);
  EXPECT_EQ(c.attention_.kv_sram_.capacity_bytes_, 2 << 20);
  EXPECT_EQ(c.params_.source_of("clock"), "--set");
  EXPECT_EQ(c.params_.source_of("qkv.input_lanes"), "tiny.yaml");
}

TEST(ChipConfig, KvMemoryOfChosenKindMustBeDescribed) {
  EXPECT_THAT(error_of([] { tiny_chip({"chip.attention.kv_sram.banks=0"}); }),
              HasSubstr("chip.attention.kv_sram.banks: must be at least 1 when "
                        "chip.attention.kv_memory is sram"));
  EXPECT_THAT(error_of([] { tiny_chip({"chip.attention.kv_memory=dram"}); }),
              HasSubstr("chip.attention.kv_dram.capacity: must be positive"));
  const ChipConfig d =
      tiny_chip({"chip.attention.kv_memory=dram", "chip.attention.kv_dram.capacity=1 GiB",
                 "chip.attention.kv_dram.bandwidth=100 GB/s"});
  EXPECT_EQ(d.attention_.kv_memory_, KvMemory::kDram);
  EXPECT_DOUBLE_EQ(d.attention_.kv_dram_.bandwidth_bytes_per_s_, 100e9);
}

TEST(ChipConfig, SeveralDiesNeedALinkAndAConsistentLayerList) {
  EXPECT_THAT(error_of([] { tiny_chip({"chip.dies=2"}); }),
              HasSubstr("chip.link.bandwidth: must be positive when chip.dies is 2"));
  EXPECT_THAT(error_of([] {
                tiny_chip({"chip.dies=3", "chip.layers_per_die=[1,1]", "chip.link.bandwidth=1 GB/s"});
              }),
              HasSubstr("lists 2 dies but chip.dies is 3"));
  const ChipConfig c = tiny_chip({"chip.layers_per_die=1,1", "chip.link.bandwidth=1 GB/s"});
  EXPECT_EQ(c.dies_, 2);
}

TEST(ChipConfig, ToJsonHasResolvedValuesUnitsAndSource) {
  const nlohmann::json j = tiny_chip().to_json();
  EXPECT_DOUBLE_EQ(j["chip"]["clock"].get<double>(), 100e6);
  EXPECT_EQ(j["chip"]["attention"]["kv_sram"]["banks"].get<int64_t>(), 3);
  EXPECT_EQ(j["chip_units"]["clock"], "Hz");
  EXPECT_EQ(j["chip_source"], "tiny.yaml");
  EXPECT_EQ(j["chip_name"], "tiny-chip");
}

TEST(ChipConfig, EveryShippedChipLoads) {
  const std::vector<std::string> names = chip_preset_names();
  for (const char* expected : {"hc1-like", "kv-in-dram", "multi-die-70b"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  for (const auto& n : names) {
    SCOPED_TRACE(n);
    const ChipConfig c = load_chip_config(n, {});
    EXPECT_EQ(c.name_, n);
    EXPECT_FALSE(c.description_.empty());
  }
}

TEST(ChipConfig, UnknownNameSuggestsShippedOnes) {
  const std::string msg = error_of([] { load_chip_config("hc1-lik", {}); });
  EXPECT_THAT(msg, HasSubstr("did you mean 'hc1-like'"));
  EXPECT_THAT(error_of([] { load_chip_config("/nonexistent/x.yaml", {}); }),
              HasSubstr("chip file not found"));
}

}  // namespace
}  // namespace hw
