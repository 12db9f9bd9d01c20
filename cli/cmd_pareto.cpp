// `hardwire pareto results.csv --maximize COL --minimize COL ... [--where COL>V]`: the
// non-dominated rows of a results table (sweep::pareto_front), optionally among the rows
// meeting conditions, printed as an aligned table (swept keys, when the
// sweep's config file is beside the CSV, then the objectives) and written as CSV with --out.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "common/error.h"
#include "sweep/sweep.h"

namespace hw::cli {
namespace {

struct ParetoOptions {
  std::string in_;
  std::vector<std::string> maximize_;
  std::vector<std::string> minimize_;
  std::vector<std::string> show_;
  std::vector<std::string> where_;
  std::string out_;
};

// One --where condition: COL OP VALUE, OP one of >= <= != == > <; numbers compare as numbers,
// anything else (true/false, sram/dram) as text with == and !=.
struct Condition {
  size_t column_ = 0;
  std::string op_;
  std::string value_;
};

bool as_number(const std::string& s, double& v) {
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size();
}

Condition parse_condition(const sweep::Table& t, const std::string& text) {
  for (const char* op : {">=", "<=", "!=", "==", ">", "<"}) {
    const size_t at = text.find(op);
    if (at == std::string::npos || at == 0) continue;
    Condition c;
    c.column_ = t.column(text.substr(0, at));
    c.op_ = op;
    c.value_ = text.substr(at + std::string(op).size());
    return c;
  }
  throw make_error("--where " + text, "expected COLUMN OP VALUE with OP one of >= <= != == > <",
                   "e.g. --where tokens_per_s_per_user>0 --where fabric_timing_met==true");
}

bool holds(const Condition& c, const std::string& cell) {
  double a = 0, b = 0;
  if (as_number(cell, a) && as_number(c.value_, b)) {
    if (c.op_ == ">=") return a >= b;
    if (c.op_ == "<=") return a <= b;
    if (c.op_ == "!=") return a != b;
    if (c.op_ == "==") return a == b;
    if (c.op_ == ">") return a > b;
    return a < b;
  }
  if (c.op_ == "==") return cell == c.value_;
  if (c.op_ == "!=") return cell != c.value_;
  return false;
}

// The swept keys, from the config file run_sweep writes beside the CSV (none when absent).
std::vector<std::string> swept_columns(const std::string& csv) {
  std::filesystem::path p(csv);
  if (p.extension() == ".csv") p.replace_extension();
  const std::string cfg = p.string() + ".resolved_config.json";
  std::vector<std::string> out;
  std::ifstream in(cfg);
  if (!in) return out;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    for (const auto& a : j.at("sweep").at("axes")) out.push_back(a.at("name").get<std::string>());
  } catch (const std::exception&) {
    out.clear();
  }
  return out;
}

std::string short_number(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) return s;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void run(const ParetoOptions& o, const std::vector<std::pair<std::string, bool>>& given) {
  sweep::Table t = sweep::read_csv(o.in_);
  const size_t rows_read = t.rows_.size();
  if (!o.where_.empty()) {
    std::vector<Condition> conds;
    for (const auto& w : o.where_) conds.push_back(parse_condition(t, w));
    std::vector<std::vector<std::string>> kept;
    for (auto& r : t.rows_) {
      bool ok = true;
      for (const auto& c : conds) ok = ok && holds(c, r[c.column_]);
      if (ok) kept.push_back(std::move(r));
    }
    t.rows_ = std::move(kept);
  }
  std::vector<sweep::Objective> objectives;
  for (const auto& [col, max] : given) objectives.push_back({col, max});
  std::vector<size_t> front = sweep::pareto_front(t, objectives);
  // Best first in the first objective.
  const size_t c0 = t.column(objectives[0].column_);
  std::stable_sort(front.begin(), front.end(), [&](size_t a, size_t b) {
    const double va = std::strtod(t.rows_[a][c0].c_str(), nullptr);
    const double vb = std::strtod(t.rows_[b][c0].c_str(), nullptr);
    return objectives[0].maximize_ ? va > vb : va < vb;
  });
  std::vector<std::string> shown = o.show_;
  if (shown.empty()) {
    shown = swept_columns(o.in_);
    for (const auto& ob : objectives) {
      if (std::find(shown.begin(), shown.end(), ob.column_) == shown.end())
        shown.push_back(ob.column_);
    }
  }
  std::vector<size_t> cols;
  for (const auto& c : shown) cols.push_back(t.column(c));
  size_t valid = 0;
  const size_t err = std::find(t.columns_.begin(), t.columns_.end(), "error") - t.columns_.begin();
  for (const auto& r : t.rows_) valid += (err >= r.size() || r[err].empty()) ? 1 : 0;
  std::string what;
  for (const auto& ob : objectives) {
    what += std::string(what.empty() ? "" : ", ") + (ob.maximize_ ? "max " : "min ") + ob.column_;
  }
  std::cout << "Pareto front of " << o.in_ << " (" << what << "): " << front.size() << " of "
            << valid << " points without error (" << rows_read << " rows"
            << (o.where_.empty() ? std::string()
                                 : ", " + std::to_string(t.rows_.size()) + " meeting --where")
            << ")\n\n";
  Table table(shown);
  for (size_t r : front) {
    std::vector<std::string> cells;
    for (size_t c : cols) cells.push_back(short_number(t.rows_[r][c]));
    table.add_row(cells);
  }
  table.print(std::cout, "  ");
  if (!o.out_.empty()) {
    sweep::Table f;
    f.columns_ = t.columns_;
    for (size_t r : front) f.rows_.push_back(t.rows_[r]);
    sweep::write_csv(o.out_, f);
    std::cout << "\nwrote " << o.out_ << "\n";
  }
}

}  // namespace

void add_pareto_command(CLI::App& app) {
  auto o = std::make_shared<ParetoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "pareto", "Non-dominated rows of a results CSV (e.g. from `hardwire sweep`)");
  cmd->add_option("results", o->in_, "Results CSV")->required()->check(CLI::ExistingFile);
  cmd->add_option("--maximize", o->maximize_, "Column to maximize; repeatable");
  cmd->add_option("--minimize", o->minimize_, "Column to minimize; repeatable");
  cmd->add_option("--show", o->show_,
                  "Columns to print (default: the swept keys and the objectives); repeatable");
  cmd->add_option("--where", o->where_,
                  "Keep only rows where COLUMN OP VALUE holds (OP: >= <= != == > <), e.g. "
                  "tokens_per_s_per_user>0; repeatable");
  cmd->add_option("--out", o->out_, "Write the front (every column) to this CSV");
  cmd->callback([o, cmd]() {
    // Objectives in the order given.
    std::vector<std::pair<std::string, bool>> given;
    size_t imax = 0, imin = 0;
    for (const CLI::Option* opt : cmd->parse_order()) {
      if (opt->get_name() == "--maximize" && imax < o->maximize_.size()) {
        given.emplace_back(o->maximize_[imax++], true);
      } else if (opt->get_name() == "--minimize" && imin < o->minimize_.size()) {
        given.emplace_back(o->minimize_[imin++], false);
      }
    }
    if (given.empty()) {
      throw make_error("pareto", "no objective given",
                       "add --maximize COL and/or --minimize COL (columns of " + o->in_ + ")");
    }
    run(*o, given);
  });
}

}  // namespace hw::cli
