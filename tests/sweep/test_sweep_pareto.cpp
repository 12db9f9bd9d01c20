// pareto_front against a brute-force O(n^2) dominance check on random tables, plus the rules
// for errors, non-numeric values, ties and CSV round trips.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "sweep/sweep.h"

namespace hw::sweep {
namespace {

// Reference: row i is on the front when no row j is >= in every objective and > in one.
std::vector<size_t> brute_force_front(const std::vector<std::vector<double>>& v,
                                      const std::vector<bool>& maximize) {
  std::vector<size_t> out;
  for (size_t i = 0; i < v.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < v.size() && !dominated; ++j) {
      bool ge = true, gt = false;
      for (size_t k = 0; k < maximize.size(); ++k) {
        const double a = maximize[k] ? v[j][k] : -v[j][k];
        const double b = maximize[k] ? v[i][k] : -v[i][k];
        if (a < b) ge = false;
        if (a > b) gt = true;
      }
      dominated = ge && gt;
    }
    if (!dominated) out.push_back(i);
  }
  return out;
}

TEST(SweepPareto, MatchesBruteForceOnRandomTables) {
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 20; ++trial) {
    const size_t n = 50 + size_t(trial) * 20;
    const size_t k = 2 + size_t(trial % 3);
    std::uniform_int_distribution<int> coarse(0, 12);  // many ties
    Table t;
    std::vector<bool> maximize;
    std::vector<Objective> objectives;
    for (size_t j = 0; j < k; ++j) {
      t.columns_.push_back("m" + std::to_string(j));
      maximize.push_back(j % 2 == 0);
      objectives.push_back({t.columns_.back(), maximize.back()});
    }
    t.columns_.push_back("error");
    std::vector<std::vector<double>> v;
    for (size_t i = 0; i < n; ++i) {
      std::vector<double> row;
      std::vector<std::string> cells;
      for (size_t j = 0; j < k; ++j) {
        row.push_back(coarse(rng) * 0.5);
        cells.push_back(std::to_string(row.back()));
      }
      cells.push_back("");
      v.push_back(row);
      t.rows_.push_back(cells);
    }
    EXPECT_EQ(pareto_front(t, objectives), brute_force_front(v, maximize)) << "trial " << trial;
  }
}

TEST(SweepPareto, SkipsErrorsAndNonNumericAndKeepsTies) {
  Table t;
  t.columns_ = {"design", "tps", "watts", "error"};
  t.rows_ = {{"a", "100", "10", ""},                 // front
             {"b", "100", "10", ""},                 // tie with a: kept
             {"c", "90", "12", ""},                  // dominated by a
             {"d", "500", "1", "ROM does not fit"},  // error: skipped
             {"e", "", "5", ""},                     // no value: skipped
             {"f", "50", "2", ""}};                  // front (less power)
  const auto front = pareto_front(t, {{"tps", true}, {"watts", false}});
  EXPECT_EQ(front, (std::vector<size_t>{0, 1, 5}));
  EXPECT_THROW(pareto_front(t, {{"tpz", true}}), Error);
  EXPECT_THROW(pareto_front(t, {}), Error);
}

TEST(SweepPareto, CsvRoundTripQuotesWhereNeeded) {
  Table t;
  t.columns_ = {"chip.layers_per_die", "x", "error"};
  t.rows_ = {{"[16,16]", "1.5", "a \"quoted\" error, with a comma"}, {"[32]", "2", ""}};
  const auto path = std::filesystem::temp_directory_path() /
                    ("hardwire_sweep_roundtrip_" + std::to_string(::getpid()) + ".csv");
  write_csv(path.string(), t);
  const Table r = read_csv(path.string());
  EXPECT_EQ(r.columns_, t.columns_);
  EXPECT_EQ(r.rows_, t.rows_);
  EXPECT_EQ(csv_line({"a,b", "c"}), "\"a,b\",c");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace hw::sweep
