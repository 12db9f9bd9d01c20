// run_sweep with the estimate engine: column layout, each point's overrides applied through the
// same loaders as `hardwire estimate` (checked against estimate() called directly), invalid
// points as rows with their error, resume after a torn last row, and refusal to mix sweeps.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chip/chip_config.h"
#include "chip/workload.h"
#include "common/error.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "power/estimator.h"
#include "power/tech_table.h"
#include "sweep/sweep.h"

namespace hw::sweep {
namespace {

namespace fs = std::filesystem;

SweepOptions quiet(unsigned threads = 2) {
  SweepOptions o;
  o.progress_ = false;
  o.threads_ = threads;
  o.keep_rows_ = true;
  return o;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("hardwire_sweep_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<std::string> sorted_lines(const std::string& path, std::string* header = nullptr) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string l;
  std::getline(in, l);
  if (header) *header = l;
  while (std::getline(in, l)) lines.push_back(l);
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST(SweepRun, ColumnsAreAxesThenEngineMetricsThenError) {
  const auto engine = make_estimate_engine();
  PointSet p({parse_axis("chip.clock=1GHz,2GHz"), parse_axis("workload.users=1,2")});
  const SweepResult r = run_sweep(BaseDesign{}, p, *engine, quiet());
  ASSERT_EQ(r.rows_.size(), 4u);
  EXPECT_EQ(r.columns_[0], "chip.clock");
  EXPECT_EQ(r.columns_[1], "workload.users");
  EXPECT_EQ(r.columns_.back(), "error");
  // Metric names are the engine's own result keys, flattened.
  const nlohmann::json probe = [] {
    const ModelConfig m = load_model_config("llama-3.1-8b");
    const NumericsProfile n = load_numerics_profile("hc1-mix");
    return estimate(m, load_chip_config("hc1-like", {}), load_tech("n6", {}), n.mean_weight_bits(m),
                    n.kv_bits(), load_workload("", {}))
        .to_json();
  }();
  std::vector<std::string> names;
  for (const auto& kv : flatten_metrics(probe)) names.push_back(kv.first);
  EXPECT_EQ(std::vector<std::string>(r.columns_.begin() + 2, r.columns_.end() - 1), names);
  for (const auto& c : {"tokens_per_s_per_user", "power_w", "area_mm2", "ttft_s.p50"}) {
    EXPECT_NE(std::find(r.columns_.begin(), r.columns_.end(), c), r.columns_.end()) << c;
  }
  EXPECT_EQ(r.errors_, 0u);
}

TEST(SweepRun, RowsEqualTheEstimatorCalledDirectly) {
  const auto engine = make_estimate_engine();
  BaseDesign base;
  base.sets_ = {"workload.prompt.tokens=512"};
  PointSet p({parse_axis("chip.clock=0.5GHz:1.5GHz:0.5GHz"), parse_axis("workload.users=1,3")});
  const SweepResult r = run_sweep(base, p, *engine, quiet(2));
  Table t{r.columns_, r.rows_};
  const size_t tps = t.column("tokens_per_s_total"), pw = t.column("power_w");
  const ModelConfig m = load_model_config("llama-3.1-8b");
  const NumericsProfile n = load_numerics_profile("hc1-mix");
  size_t checked = 0;
  for (const auto& row : t.rows_) {
    const std::vector<std::string> sets = {"workload.prompt.tokens=512", "chip.clock=" + row[0],
                                           "workload.users=" + row[1]};
    const Estimate e = estimate(m, load_chip_config("hc1-like", sets), load_tech("n6", sets),
                                n.mean_weight_bits(m), n.kv_bits(), load_workload("", sets));
    EXPECT_DOUBLE_EQ(std::stod(row[tps]), e.point_.tokens_per_s_total_) << csv_line(row);
    EXPECT_DOUBLE_EQ(std::stod(row[pw]), e.point_.power_w_) << csv_line(row);
    ++checked;
  }
  EXPECT_EQ(checked, 6u);
}

TEST(SweepRun, InvalidPointsAreRowsWithTheirError) {
  const auto engine = make_estimate_engine();
  // 1 Gbit of ROM cannot hold Llama 3.1 8B; a negative clock fails validation.
  PointSet p(
      {parse_axis("chip.rom.capacity=1Gbit,32121044992bit"), parse_axis("chip.clock=-1GHz,1GHz")});
  const SweepResult r = run_sweep(BaseDesign{}, p, *engine, quiet(1));
  ASSERT_EQ(r.rows_.size(), 4u);
  EXPECT_EQ(r.errors_, 3u);
  for (const auto& row : r.rows_) {
    const std::string& err = row.back();
    if (row[0] == "32121044992bit" && row[1] == "1GHz") {
      EXPECT_EQ(err, "");
    } else if (row[1] == "-1GHz") {
      EXPECT_NE(err.find("chip.clock"), std::string::npos) << err;
      EXPECT_NE(err.find("out of range"), std::string::npos) << err;
    } else {
      EXPECT_NE(err.find("ROM"), std::string::npos) << err;
    }
  }
}

TEST(SweepRun, ResumesAfterATornRowWithNoPointMissingOrRepeated) {
  const auto engine = make_estimate_engine();
  const fs::path dir = fresh_dir("resume");
  PointSet p({parse_axis("workload.users=1:40:1"), parse_axis("chip.clock=0.8GHz:1.2GHz:0.2GHz")});
  SweepOptions o = quiet(2);
  o.keep_rows_ = false;
  o.out_csv_ = (dir / "full.csv").string();
  const SweepResult full = run_sweep(BaseDesign{}, p, *engine, o);
  EXPECT_EQ(full.evaluated_, 120u);
  EXPECT_TRUE(fs::exists(dir / "full.resolved_config.json"));
  std::string header;
  const auto want = sorted_lines(o.out_csv_, &header);
  ASSERT_EQ(want.size(), 120u);

  // A killed run: the header, 50 rows and half of the 51st.
  {
    std::ifstream in(o.out_csv_);
    std::ofstream part(dir / "part.csv");
    std::string l;
    for (int i = 0; i <= 50 && std::getline(in, l); ++i) part << l << "\n";
    std::getline(in, l);
    part << l.substr(0, l.size() / 2);
  }
  fs::copy_file(dir / "full.resolved_config.json", dir / "part.resolved_config.json");
  o.out_csv_ = (dir / "part.csv").string();
  const SweepResult resumed = run_sweep(BaseDesign{}, p, *engine, o);
  EXPECT_EQ(resumed.resumed_, 50u);
  EXPECT_EQ(resumed.evaluated_, 70u);
  std::string header2;
  EXPECT_EQ(sorted_lines(o.out_csv_, &header2), want);
  EXPECT_EQ(header2, header);

  // Running it again evaluates nothing.
  const SweepResult again = run_sweep(BaseDesign{}, p, *engine, o);
  EXPECT_EQ(again.evaluated_, 0u);
  EXPECT_EQ(sorted_lines(o.out_csv_), want);

  // Killed while writing the header: starts over.
  {
    std::ofstream torn(dir / "torn.csv");
    torn << header.substr(0, 10);
  }
  o.out_csv_ = (dir / "torn.csv").string();
  EXPECT_EQ(run_sweep(BaseDesign{}, p, *engine, o).evaluated_, 120u);
  EXPECT_EQ(sorted_lines(o.out_csv_), want);
  o.out_csv_ = (dir / "part.csv").string();

  // Another sweep into the same file is refused, naming what differs.
  PointSet other({parse_axis("workload.users=1:40:1"), parse_axis("chip.clock=1GHz,2GHz")});
  try {
    run_sweep(BaseDesign{}, other, *engine, o);
    FAIL() << "a different sweep was appended";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("different sweep"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("axes"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(SweepRun, ASecondWriterOfTheSameFileIsRefused) {
  const auto engine = make_estimate_engine();
  const fs::path dir = fresh_dir("lock");
  const std::string csv = (dir / "busy.csv").string();
  const int fd = ::open(csv.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // as a running sweep holds it
  PointSet p({parse_axis("workload.users=1,2")});
  SweepOptions o = quiet(1);
  o.out_csv_ = csv;
  try {
    run_sweep(BaseDesign{}, p, *engine, o);
    FAIL() << "two sweeps wrote one file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another sweep is writing"), std::string::npos);
  }
  ::close(fd);
  EXPECT_EQ(run_sweep(BaseDesign{}, p, *engine, o).evaluated_, 2u);
  fs::remove_all(dir);
}

TEST(SweepRun, RandomPointsResumeToTheSameSample) {
  const auto engine = make_estimate_engine();
  const fs::path dir = fresh_dir("random");
  PointSet p({parse_axis("workload.users=1:64:1"), parse_axis("chip.clock=0.5GHz:2GHz:0.1GHz")},
             100, 5);
  SweepOptions o = quiet(2);
  o.out_csv_ = (dir / "r.csv").string();
  run_sweep(BaseDesign{}, p, *engine, o);
  const auto want = sorted_lines(o.out_csv_);
  ASSERT_EQ(want.size(), 100u);
  // Drop the last 30 rows and resume.
  {
    std::ifstream in(o.out_csv_);
    std::vector<std::string> lines;
    std::string l;
    while (std::getline(in, l)) lines.push_back(l);
    std::ofstream cut(o.out_csv_, std::ios::trunc);
    for (size_t i = 0; i + 30 < lines.size(); ++i) cut << lines[i] << "\n";
  }
  const SweepResult r = run_sweep(BaseDesign{}, p, *engine, o);
  EXPECT_EQ(r.resumed_, 70u);
  EXPECT_EQ(sorted_lines(o.out_csv_), want);
  fs::remove_all(dir);
}

TEST(SweepRun, SelectionAxesSweepNumericsProfiles) {
  const auto engine = make_estimate_engine();
  BaseDesign base;
  base.sets_ = {"chip.rom.capacity=80Gbit"};  // room for 8-bit weights
  PointSet p({parse_axis("numerics=w4a8,w8a8,no-such-profile")});
  const SweepResult r = run_sweep(base, p, *engine, quiet(1));
  Table t{r.columns_, r.rows_};
  const size_t bits = t.column("weight_bits");
  for (const auto& row : t.rows_) {
    if (row[0] == "no-such-profile") {
      EXPECT_NE(row.back().find("no-such-profile"), std::string::npos) << row.back();
    } else {
      EXPECT_EQ(row.back(), "") << row.back();
      EXPECT_GT(std::stod(row[bits]), row[0] == "w8a8" ? 7.5 : 3.5);
    }
  }
}

}  // namespace
}  // namespace hw::sweep
