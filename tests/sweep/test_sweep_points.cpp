// Axis parsing (lists, ranges with units, geometric ranges, key globs, errors naming the key)
// and point numbering (grid order, seeded random points distinct and reproducible, row lookup).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "sweep/sweep.h"

namespace hw::sweep {
namespace {

using Strings = std::vector<std::string>;

std::string error_of(const std::string& spec) {
  try {
    parse_axis(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SweepAxis, ListKeepsTextAndBrackets) {
  const Axis a = parse_axis("workload.users=1,4, 16");
  EXPECT_EQ(a.name_, "workload.users");
  EXPECT_EQ(a.keys_, Strings{"workload.users"});
  EXPECT_EQ(a.values_, (Strings{"1", "4", "16"}));
  const Axis b = parse_axis("chip.layers_per_die=[16,16],[8,24]");
  EXPECT_EQ(b.values_, (Strings{"[16,16]", "[8,24]"}));
}

TEST(SweepAxis, LinearRangeWithUnits) {
  EXPECT_EQ(parse_axis("chip.clock=0.5GHz:2GHz:0.5GHz").values_,
            (Strings{"0.5GHz", "1GHz", "1.5GHz", "2GHz"}));
  // 0.1 steps accumulate no binary noise in the text, and hi is inclusive.
  const Axis a = parse_axis("chip.clock=0.5GHz:2GHz:0.1GHz");
  ASSERT_EQ(a.values_.size(), 16u);
  EXPECT_EQ(a.values_[1], "0.6GHz");
  EXPECT_EQ(a.values_[15], "2GHz");
  // Units mix within one dimension; a bare number takes the first unit written.
  EXPECT_EQ(parse_axis("chip.clock=800MHz:1.2GHz:200").values_,
            (Strings{"800MHz", "1000MHz", "1200MHz"}));
  EXPECT_EQ(parse_axis("workload.users=1:64:21").values_, (Strings{"1", "22", "43", "64"}));
}

TEST(SweepAxis, GeometricRange) {
  EXPECT_EQ(parse_axis("chip.attention.kv_sram.capacity=64MiB:1GiB:*2").values_,
            (Strings{"64MiB", "128MiB", "256MiB", "512MiB", "1024MiB"}));
}

TEST(SweepAxis, GlobSetsEveryMatchingKey) {
  const Axis a = parse_axis("chip.*.input_lanes=14,48");
  EXPECT_EQ(a.keys_.size(), 5u);  // qkv, o_proj, ffn_gate_up, ffn_down, lm_head
  for (const auto& k : a.keys_) {
    EXPECT_EQ(k.rfind("chip.", 0), 0u) << k;
    EXPECT_EQ(k.substr(k.size() - 12), ".input_lanes") << k;
  }
}

TEST(SweepAxis, SelectionAxes) {
  const Axis a = parse_axis("numerics=w4a8,w8a8");
  EXPECT_TRUE(a.selection_);
  EXPECT_EQ(a.values_, (Strings{"w4a8", "w8a8"}));
}

TEST(SweepAxis, ErrorsNameTheKeyAndTheFix) {
  EXPECT_NE(error_of("chip.clok=1GHz,2GHz").find("did you mean 'chip.clock'"), std::string::npos);
  EXPECT_NE(error_of("chp.clock=1GHz").find("unknown config tree 'chp'"), std::string::npos);
  EXPECT_NE(error_of("chip.clock=1GHz,1GHz").find("listed twice"), std::string::npos);
  EXPECT_NE(error_of("chip.clock=2GHz:1GHz:0.1GHz").find("hi is below lo"), std::string::npos);
  EXPECT_NE(error_of("chip.clock=1GHz:2GHz:0").find("step must be > 0"), std::string::npos);
  EXPECT_NE(error_of("chip.clock=1GHz:2MiB:1GHz").find("do not measure the same thing"),
            std::string::npos);
  EXPECT_NE(error_of("chip.*.nothing=1,2").find("matches no declared key"), std::string::npos);
  EXPECT_NE(error_of("chip.clock").find("expected key=v1,v2"), std::string::npos);
  EXPECT_NE(error_of("chip.clock=1GHz:2GHz").find("needs three parts"), std::string::npos);
}

TEST(SweepPoints, GridIsMixedRadixLastAxisFastest) {
  PointSet p({parse_axis("workload.users=1,2,3"), parse_axis("chip.clock=1GHz,2GHz")});
  EXPECT_EQ(p.size(), 6u);
  EXPECT_EQ(p.value_indices(0), (std::vector<size_t>{0, 0}));
  EXPECT_EQ(p.value_indices(1), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(p.value_indices(5), (std::vector<size_t>{2, 1}));
  EXPECT_EQ(p.grid_index_of({"3", "2GHz"}), 5u);
  EXPECT_FALSE(p.grid_index_of({"4", "2GHz"}).has_value());
  const PointConfig c = point_config(BaseDesign{}, p, 3);
  EXPECT_EQ(c.sets_, (Strings{"workload.users=2", "chip.clock=2GHz"}));
}

TEST(SweepPoints, RandomPointsAreDistinctAndReproducible) {
  const std::vector<Axis> axes = {parse_axis("workload.users=1:100:1"),
                                  parse_axis("chip.clock=0.5GHz:2GHz:0.1GHz")};
  PointSet a(axes, 1000, 7), b(axes, 1000, 7), c(axes, 1000, 8);
  std::set<uint64_t> seen;
  size_t same_as_c = 0;
  for (uint64_t i = 0; i < a.size(); ++i) {
    const uint64_t g = a.grid_index(i);
    EXPECT_LT(g, a.grid_size());
    EXPECT_EQ(g, b.grid_index(i));
    same_as_c += g == c.grid_index(i);
    seen.insert(g);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_LT(same_as_c, 50u);  // another seed gives another sample
  // The whole grid as a permutation.
  PointSet all(axes, a.grid_size(), 3);
  std::set<uint64_t> every;
  for (uint64_t i = 0; i < all.size(); ++i) every.insert(all.grid_index(i));
  EXPECT_EQ(every.size(), all.grid_size());
  EXPECT_THROW(PointSet(axes, a.grid_size() + 1, 1), Error);
}

}  // namespace
}  // namespace hw::sweep
