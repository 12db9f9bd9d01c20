// --vcd and --timeline at the cycle level (sim/cycle_chip.h CycleTrace): the VCD is well formed
// (header, scopes, value changes of declared signals), each block instance's busy signal rises
// and is back to 0 at the end (the last time step's changes are in the file), and the timeline
// has one slice per token visit of each block instance.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "../rtl/vcd_check.h"
#include "sim_test_util.h"

namespace hw {
namespace {

using test::run_in_child;
using test::same_requests;
using test::sim_tiny_chip;
using test::sim_tiny_model;
using test::timing_options;

std::string temp_file(const std::string& stem, const std::string& ext) {
  return (std::filesystem::temp_directory_path() /
          (stem + "_" + std::to_string(getpid()) + ext))
      .string();
}

// Values of one VCD variable (by name) in file order.
std::vector<std::string> values_of(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  std::string line, id;
  std::vector<std::string> out;
  bool defs = true;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string tok;
    ls >> tok;
    if (defs) {
      if (tok == "$var") {
        std::string type, width, i, n;
        ls >> type >> width >> i >> n;
        if (n == name) id = i;
      }
      if (tok == "$enddefinitions") defs = false;
      continue;
    }
    if (!tok.empty() && tok[0] == 'b') {
      std::string i;
      ls >> i;
      if (i == id) out.push_back(tok.substr(1));
    }
  }
  return out;
}

TEST(SimCycleTrace, VcdAndTimelineAtTheCycleLevel) {
  const std::string vcd = temp_file("hw_cycle", ".vcd");
  const std::string timeline = temp_file("hw_cycle_timeline", ".json");
  sim::SimOptions o = timing_options();
  o.level_ = sim::SimLevel::kCycle;
  o.vcd_path_ = vcd;
  o.timeline_path_ = timeline;
  const nlohmann::json r =
      run_in_child(sim_tiny_model(), sim_tiny_chip(), same_requests(2, 4, 3), o);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["vcd_file"], vcd);
  EXPECT_EQ(r["timeline_file"], timeline);

  test::expect_well_formed_vcd(vcd, {"L00_qkv_busy", "L01_attention_queued", "sampler_busy"});
  const std::vector<std::string> busy = values_of(vcd, "L00_qkv_busy");
  ASSERT_FALSE(busy.empty());
  EXPECT_NE(std::find(busy.begin(), busy.end(), "1"), busy.end());
  EXPECT_EQ(std::stoll(busy.back(), nullptr, 2), 0) << "the last change is in the file";

  std::ifstream in(timeline);
  const nlohmann::json t = nlohmann::json::parse(in);
  std::map<int64_t, std::string> names;
  std::map<std::string, int64_t> slices;
  for (const auto& e : t["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name") names[e["tid"]] = e["args"]["name"];
  }
  for (const auto& e : t["traceEvents"]) {
    if (e["ph"] != "X") continue;
    ++slices[names[e["tid"]]];
    EXPECT_GE(e["dur"].get<double>(), 0.0);
  }
  // Every token passes each layer block once: 2 users x (4 prompt + 2 fed back) tokens.
  EXPECT_EQ(slices["L00.qkv"], r["blocks"]["qkv"]["tokens"].get<int64_t>() / 2);
  EXPECT_EQ(slices["L01.ffn_down"], 12);
  EXPECT_EQ(slices["host"], 6);
  EXPECT_EQ(t["otherData"]["level"], "cycle");
  std::filesystem::remove(vcd);
  std::filesystem::remove(timeline);
}

}  // namespace
}  // namespace hw
