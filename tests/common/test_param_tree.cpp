// Tests of declared-parameter resolution: units, ranges, unknown keys with suggestions,
// overrides, required keys, and the resolved-config JSON.
#include <cstdio>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "common/error.h"
#include "common/param_tree.h"
#include "common/units.h"

namespace hw {
namespace {

using ::testing::HasSubstr;

ParamSchema demo_schema() {
  ParamSchema s("chip");
  s.add_real("clock", 1e9, "Hz", "core clock", 1e6, 1e10)
      .add_int("kv_sram.capacity", 64 << 20, "B", "KV SRAM bytes", 1)
      .add_int("kv_sram.banks", 16, "", "banks", 1, 4096)
      .add_bool("kv_sram.dual_port", false, "two ports per bank")
      .add_string("scheduler", "fcfs", "admission policy", {"fcfs", "shortest_first"})
      .add_int_list("layers_per_chip", {32}, "", "layers on each chip", 1)
      .add_real("link.bandwidth", 100e9, "B/s", "chip-to-chip bandwidth", 1);
  return s;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Units, ConvertsPrefixesAndCompounds) {
  EXPECT_DOUBLE_EQ(parse_quantity("1.2 GHz", "Hz", "k"), 1.2e9);
  EXPECT_DOUBLE_EQ(parse_quantity("64 MiB", "B", "k"), 64.0 * 1048576);
  EXPECT_DOUBLE_EQ(parse_quantity("8 Gbit/s", "B/s", "k"), 1e9);
  EXPECT_DOUBLE_EQ(parse_quantity("3.9 pJ/bit", "pJ/B", "k"), 31.2);
  EXPECT_DOUBLE_EQ(parse_quantity("0.021 um2", "mm2", "k"), 0.021e-6);
  EXPECT_DOUBLE_EQ(parse_quantity("5", "ns", "k"), 5.0);
  EXPECT_THAT(error_of([] { parse_quantity("5 MB", "Hz", "chip.clock"); }),
              HasSubstr("chip.clock: unit 'MB' does not measure the same thing as 'Hz'"));
  EXPECT_THAT(error_of([] { parse_quantity("5 furlongs", "Hz", "chip.clock"); }),
              HasSubstr("unknown unit 'furlongs'"));
  EXPECT_THAT(error_of([] { parse_quantity("fast", "Hz", "chip.clock"); }),
              HasSubstr("expected a number in Hz"));
}

TEST(ParamTree, DefaultsFileAndOverrides) {
  const YAML::Node file = YAML::Load(
      "chip:\n  clock: 1.5 GHz\n  kv_sram:\n    capacity: 128 MiB\n    dual_port: yes\n"
      "  layers_per_chip: [16, 16]\n");
  const ParamValues v = resolve_params(demo_schema(), file, "x.yaml",
                                       {"chip.kv_sram.banks=32", "workload.users=4"});
  EXPECT_DOUBLE_EQ(v.get_real("clock"), 1.5e9);
  EXPECT_EQ(v.get_int("kv_sram.capacity"), 128 << 20);
  EXPECT_EQ(v.get_int("kv_sram.banks"), 32);
  EXPECT_TRUE(v.get_bool("kv_sram.dual_port"));
  EXPECT_EQ(v.get_string("scheduler"), "fcfs");
  EXPECT_EQ(v.get_int_list("layers_per_chip"), (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(v.source_of("clock"), "x.yaml");
  EXPECT_EQ(v.source_of("kv_sram.banks"), "--set");
  EXPECT_EQ(v.source_of("scheduler"), "default");
  const nlohmann::json j = v.to_json();
  EXPECT_EQ(j["chip"]["kv_sram"]["banks"], 32);
  EXPECT_EQ(j["chip_units"]["clock"], "Hz");
}

TEST(ParamTree, ErrorsNameKeyAndSuggest) {
  const ParamSchema s = demo_schema();
  EXPECT_THAT(error_of([&] { resolve_params(s, YAML::Load("chip:\n  clok: 1 GHz\n"), "a.yaml", {}); }),
              HasSubstr("unknown key 'chip.clok'"));
  EXPECT_THAT(error_of([&] { resolve_params(s, YAML::Load("chip:\n  clok: 1 GHz\n"), "a.yaml", {}); }),
              HasSubstr("did you mean 'chip.clock'?"));
  EXPECT_THAT(error_of([&] { resolve_params(s, YAML::Load("chip:\n  banks: 4\n"), "a.yaml", {}); }),
              HasSubstr("did you mean 'chip.kv_sram.banks'?"));
  EXPECT_THAT(error_of([&] { resolve_params(s, {"chip.kv_sram.banks=0"}); }),
              HasSubstr("--set chip.kv_sram.banks"));
  EXPECT_THAT(error_of([&] { resolve_params(s, {"chip.kv_sram.banks=0"}); }),
              HasSubstr("out of range"));
  EXPECT_THAT(error_of([&] { resolve_params(s, {"chip.kv_sram.capacity=1.5 B"}); }),
              HasSubstr("must be a whole number"));
  EXPECT_THAT(error_of([&] { resolve_params(s, {"chip.scheduler=fifo"}); }),
              HasSubstr("is not one of: fcfs, shortest_first"));
  EXPECT_THAT(error_of([&] { resolve_params(s, {"chip.kv_sram.dual_port=maybe"}); }),
              HasSubstr("expected true or false"));
  EXPECT_THAT(error_of([&] { resolve_params(s, YAML::Load("chip:\n  clock: [1, 2]\n"), "a.yaml", {}); }),
              HasSubstr("got a list"));
  EXPECT_THAT(error_of([] { check_override_roots({"chp.clock=1"}, {"chip", "workload"}); }),
              HasSubstr("did you mean 'chip'?"));
  EXPECT_THAT(error_of([] { check_override_roots({"chip.clock"}, {"chip"}); }),
              HasSubstr("expected root.dotted.key=value"));
}

TEST(ParamTree, TopLevelKeysOfAFile) {
  EXPECT_NO_THROW(check_top_level_keys(YAML::Load("chip:\n  clock: 1 GHz\n"), {"chip"}, "c.yaml"));
  EXPECT_NO_THROW(check_top_level_keys(YAML::Node(), {"chip"}, "c.yaml"));
  const std::string e = error_of([] {
    check_top_level_keys(YAML::Load("chips:\n  clock: 1 GHz\n"), {"chip"}, "c.yaml");
  });
  EXPECT_THAT(e, HasSubstr("c.yaml: unknown top-level key 'chips'"));
  EXPECT_THAT(e, HasSubstr("did you mean 'chip'?"));
  EXPECT_THAT(error_of([] { check_top_level_keys(YAML::Load("[1, 2]"), {"chip"}, "c.yaml"); }),
              HasSubstr("expected a YAML map with the blocks chip:"));
}

TEST(ParamTree, DuplicateKeyNamesKeyAndBothLines) {
  const ParamSchema s = demo_schema();
  const std::string e = error_of([&] {
    resolve_params(s, YAML::Load("chip:\n  kv_sram:\n    banks: 4\n    capacity: 1 MiB\n"
                                 "    banks: 8\n"),
                   "d.yaml", {});
  });
  EXPECT_THAT(e, HasSubstr("d.yaml: chip.kv_sram.banks: duplicate key 'chip.kv_sram.banks' at "
                           "lines 3 and 5"));
  EXPECT_THAT(error_of([] {
                check_top_level_keys(YAML::Load("chip:\n  clock: 1 GHz\nchip:\n  clock: 2 GHz\n"),
                                     {"chip"}, "c.yaml");
              }),
              HasSubstr("duplicate key 'chip' at lines 1 and 3"));
  // Files: any map of the file, whatever block it is in.
  const std::string path = ::testing::TempDir() + "/dup_keys.yaml";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("workload:\n  users: 4\n  arrival:\n    kind: poisson\n    kind: trace\n", f);
    std::fclose(f);
  }
  EXPECT_THAT(error_of([&] { load_yaml_file(path); }),
              HasSubstr("duplicate key 'workload.arrival.kind' at lines 4 and 5"));
}

TEST(ParamTree, TruncatedBlockSaysEmptyNotUnknown) {
  const ParamSchema s = demo_schema();
  const std::string e = error_of(
      [&] { resolve_params(s, YAML::Load("chip:\n  clock: 1 GHz\n  kv_sram:\n"), "t.yaml", {}); });
  EXPECT_THAT(e, HasSubstr("block 'chip.kv_sram' is empty"));
  EXPECT_THAT(e, HasSubstr("chip.kv_sram.capacity"));
  EXPECT_THAT(e, ::testing::Not(HasSubstr("unknown key")));
  // A leaf without a value is still "has no value".
  EXPECT_THAT(error_of([&] { resolve_params(s, YAML::Load("chip:\n  clock:\n"), "t.yaml", {}); }),
              HasSubstr("has no value"));
}

TEST(ParamTree, RequiredKeyMissing) {
  ParamSchema s("tech");
  s.add_real("node", 0, "", "process node in nm").required();
  EXPECT_THAT(error_of([&] { resolve_params(s, {}); }), HasSubstr("missing required key 'tech.node'"));
  EXPECT_DOUBLE_EQ(resolve_params(s, {"tech.node=6"}).get_real("node"), 6.0);
}

TEST(ParamTree, MarkdownListsEveryKey) {
  const std::string md = demo_schema().to_markdown();
  EXPECT_THAT(md, HasSubstr("`chip.kv_sram.banks`"));
  EXPECT_THAT(md, HasSubstr("fcfs, shortest_first"));
}

}  // namespace
}  // namespace hw
