// `hardwire sweep` and `hardwire pareto` as a user runs them: a run killed with SIGKILL midway
// and re-run with the same command ends with every point exactly once (equal to an unkilled
// run after sorting); `mpirun -n 2` gives the single-process CSV; pareto prints and writes the
// front.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../cli/cli_test_util.h"
#include "sweep/sweep.h"

extern char** environ;

namespace hw::sweep {
namespace {

namespace fs = std::filesystem;
using hw::test::run_hardwire;

fs::path fresh_dir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("hardwire_sweep_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

std::vector<std::string> sorted_rows(const fs::path& path) {
  std::vector<std::string> l = lines_of(path);
  if (!l.empty()) l.erase(l.begin());
  std::sort(l.begin(), l.end());
  return l;
}

size_t count_newlines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return size_t(
      std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
}

// 1500 x 8 x 4 = 48,000 points; the killed run uses one thread so it is still running when
// the first rows are on disk.
const char* kSweepArgs =
    "sweep --set workload.users=1:1500:1 --set chip.clock=0.5GHz:2.25GHz:0.25GHz "
    "--set workload.prompt.tokens=256,512,1024,2048 --no-progress "
    "--metrics tokens_per_s_per_user,power_w,area_mm2";
constexpr size_t kSweepPoints = 48000;

TEST(SweepCli, KilledMidwayThenResumedHasEveryPointOnce) {
  const fs::path dir = fresh_dir("kill");
  const std::string csv = (dir / "killed.csv").string();
  // Start the sweep, SIGKILL it once rows are on disk.
  const std::string cmd = std::string("exec '") + HARDWIRE_BIN_DIR + "/hardwire' " + kSweepArgs +
                          " --threads 1 --out '" + csv + "' >/dev/null 2>&1";
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(csv) && count_newlines(csv) > 2000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the sweep ended before it could be killed";
  const size_t rows_at_kill = count_newlines(csv) - 1;
  ASSERT_LT(rows_at_kill, kSweepPoints) << "the sweep ended before it could be killed";

  const auto resumed = run_hardwire(std::string(kSweepArgs) + " --json --out '" + csv + "'");
  ASSERT_EQ(resumed.exit_code_, 0) << resumed.output_;
  const nlohmann::json j = nlohmann::json::parse(resumed.output_);
  EXPECT_GT(j["resumed"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["resumed"].get<uint64_t>() + j["evaluated"].get<uint64_t>(), kSweepPoints);

  const std::string full = (dir / "full.csv").string();
  ASSERT_EQ(run_hardwire(std::string(kSweepArgs) + " --threads 2 --out '" + full + "'").exit_code_,
            0);
  const auto want = sorted_rows(full);
  ASSERT_EQ(want.size(), kSweepPoints);
  EXPECT_EQ(lines_of(csv).front(), lines_of(full).front());
  EXPECT_TRUE(sorted_rows(csv) == want) << "the resumed file differs from an unkilled run";
  fs::remove_all(dir);
}

TEST(SweepCli, MpiTwoRanksGiveTheSingleProcessCsv) {
  if (!MpiSession::built_with_mpi()) GTEST_SKIP() << "hardwire was built without MPI";
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun not found";
  const fs::path dir = fresh_dir("mpi");
  const std::string args =
      "sweep --set chip.clock=0.5GHz:2GHz:0.25GHz --set workload.users=1:50:1 "
      "--numerics w4a8,hc1-mix --set chip.rom.capacity=40Gbit --no-progress --threads 1";
  ASSERT_EQ(run_hardwire(args + " --out '" + (dir / "one.csv").string() + "'").exit_code_, 0);
  // Container-friendly Open MPI settings: root allowed, more ranks than cores, no CMA.
  const std::string mpi =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
      "OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1 "
      "mpirun -n 2 --oversubscribe '" +
      std::string(HARDWIRE_BIN_DIR) + "/hardwire' " + args + " --json --out '" +
      (dir / "two.csv").string() + "' 2>&1";
  FILE* pipe = ::popen(mpi.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  const size_t brace = out.find('{');
  ASSERT_NE(brace, std::string::npos) << out;
  const nlohmann::json j = nlohmann::json::parse(out.substr(brace, out.rfind('}') - brace + 1));
  EXPECT_EQ(j["ranks"].get<int>(), 2) << out;
  EXPECT_EQ(lines_of(dir / "two.csv").front(), lines_of(dir / "one.csv").front());
  const auto one = sorted_rows(dir / "one.csv");
  EXPECT_EQ(one.size(), 7u * 50u * 2u);
  EXPECT_TRUE(sorted_rows(dir / "two.csv") == one);
  fs::remove_all(dir);
}

TEST(SweepCli, ParetoPrintsAndWritesTheFront) {
  const fs::path dir = fresh_dir("pareto");
  const std::string csv = (dir / "s.csv").string();
  const auto r = run_hardwire(
      "sweep --set chip.clock=0.5GHz:2GHz:0.5GHz --set 'chip.*.input_lanes=14,28,56' "
      "--no-progress --out '" +
      csv + "'");
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const std::string front = (dir / "front.csv").string();
  const auto p =
      run_hardwire("pareto '" + csv +
                   "' --maximize tokens_per_s_per_user --minimize power_w --out '" + front + "'");
  ASSERT_EQ(p.exit_code_, 0) << p.output_;
  EXPECT_NE(p.output_.find("Pareto front of"), std::string::npos) << p.output_;
  EXPECT_NE(p.output_.find("chip.*.input_lanes"), std::string::npos)
      << p.output_;  // swept keys shown
  const Table t = read_csv(csv), f = read_csv(front);
  EXPECT_EQ(f.columns_, t.columns_);
  EXPECT_EQ(f.rows_.size(),
            pareto_front(t, {{"tokens_per_s_per_user", true}, {"power_w", false}}).size());
  EXPECT_GE(f.rows_.size(), 2u);
  // --where restricts the rows the front is taken from.
  const std::string fast = (dir / "fast.csv").string();
  ASSERT_EQ(
      run_hardwire("pareto '" + csv + "' --maximize tokens_per_s_per_user --minimize power_w " +
                   "--where 'tokens_per_s_per_user>20000' --where 'chip.clock!=2GHz' --out '" +
                   fast + "'")
          .exit_code_,
      0);
  const Table ft = read_csv(fast);
  ASSERT_FALSE(ft.rows_.empty());
  for (const auto& row : ft.rows_) {
    EXPECT_GT(std::stod(row[ft.column("tokens_per_s_per_user")]), 20000.0);
    EXPECT_NE(row[ft.column("chip.clock")], "2GHz");
  }
  // A misspelt column names the closest one.
  const auto bad = run_hardwire("pareto '" + csv + "' --maximize tokens_per_s_per_usr", true);
  EXPECT_EQ(bad.exit_code_, 2);
  EXPECT_NE(bad.output_.find("did you mean 'tokens_per_s_per_user'"), std::string::npos)
      << bad.output_;
  fs::remove_all(dir);
}

TEST(SweepCli, SimulateEngineRowsMatchHardwireSimulate) {
  const fs::path dir = fresh_dir("simulate");
  const std::string csv = (dir / "sim.csv").string();
  const auto r = run_hardwire(
      "sweep --engine simulate --users 2 --prompt 32 --gen 16 --set chip.clock=1GHz,2GHz "
      "--set chip.rom.capacity=1Gbit,40Gbit --no-progress --out '" +
          csv + "'",
      true);
  if (r.output_.find("built without SystemC") != std::string::npos) {
    GTEST_SKIP() << "hardwire was built without SystemC";
  }
  ASSERT_EQ(r.exit_code_, 0) << r.output_;
  const Table t = read_csv(csv);
  ASSERT_EQ(t.rows_.size(), 4u);
  const auto one = run_hardwire(
      "simulate --json --no-progress --power --users 2 --prompt 32 --gen 16 "
      "--set chip.clock=2GHz --set chip.rom.capacity=40Gbit");
  ASSERT_EQ(one.exit_code_, 0) << one.output_;
  const nlohmann::json j = nlohmann::json::parse(one.output_);
  for (const auto& row : t.rows_) {
    if (row[1] == "1Gbit") {
      EXPECT_NE(row.back().find("ROM"), std::string::npos) << row.back();
    } else {
      EXPECT_EQ(row.back(), "");
    }
    if (row[0] == "2GHz" && row[1] == "40Gbit") {
      EXPECT_DOUBLE_EQ(std::stod(row[t.column("tokens_per_s_per_user")]),
                       j["tokens_per_s_per_user"].get<double>());
      EXPECT_DOUBLE_EQ(std::stod(row[t.column("power_w")]), j["power_w"].get<double>());
    }
  }
  fs::remove_all(dir);
}

TEST(SweepCli, ColumnsFollowTheCommandLineOrder) {
  const fs::path dir = fresh_dir("order");
  const std::string csv = (dir / "o.csv").string();
  ASSERT_EQ(run_hardwire("sweep --set chip.clock=1GHz,2GHz --numerics w4a8,hc1-mix "
                         "--set workload.users=1,2 --set chip.dies=1 --metrics power_w "
                         "--no-progress --out '" +
                         csv + "'")
                .exit_code_,
            0);
  const Table t = read_csv(csv);
  EXPECT_EQ(t.columns_, (std::vector<std::string>{"chip.clock", "numerics", "workload.users",
                                                  "power_w", "error"}));
  EXPECT_EQ(t.rows_.size(), 8u);
  fs::remove_all(dir);
}

TEST(SweepCli, BadAxisIsAnErrorBeforeAnyPointRuns) {
  const auto r =
      run_hardwire("sweep --set chip.clok=1GHz,2GHz --out /tmp/hardwire_never.csv", true);
  EXPECT_EQ(r.exit_code_, 2);
  EXPECT_NE(r.output_.find("did you mean 'chip.clock'"), std::string::npos) << r.output_;
  EXPECT_FALSE(fs::exists("/tmp/hardwire_never.csv"));
}

}  // namespace
}  // namespace hw::sweep
