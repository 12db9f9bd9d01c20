// CSV tables of sweep results and their Pareto front (sweep.h). Fields are quoted only when
// they hold a comma, quote or newline (RFC 4180), so numeric rows stay plain.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/param_tree.h"
#include "sweep/sweep.h"

namespace hw::sweep {
namespace {

void append_field(std::string& out, const std::string& f) {
  if (f.find_first_of(",\"\n\r") == std::string::npos) {
    out += f;
    return;
  }
  out += '"';
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

bool parse_double(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(v);
}

}  // namespace

// Parses one record starting at `pos`; returns false at end of text. Newlines inside quotes
// belong to the field.
bool parse_record(const std::string& text, size_t& pos, std::vector<std::string>& fields) {
  fields.clear();
  if (pos >= text.size()) return false;
  std::string cur;
  bool quoted = false;
  while (pos < text.size()) {
    const char c = text[pos++];
    if (quoted) {
      if (c == '"') {
        if (pos < text.size() && text[pos] == '"') {
          cur += '"';
          ++pos;
        } else {
          quoted = false;
        }
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(cur));
      cur.clear();
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      cur += c;
    }
  }
  fields.push_back(std::move(cur));
  return true;
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    append_field(out, fields[i]);
  }
  return out;
}

void append_csv_line(std::string& out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    append_field(out, fields[i]);
  }
  out += '\n';
}

size_t Table::column(const std::string& name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == name) return i;
  }
  const std::string near = closest_match(name, columns_);
  std::string list;
  for (size_t i = 0; i < columns_.size(); ++i) list += (i ? ", " : "") + columns_[i];
  throw make_error("column '" + name + "'", "not in the table",
                   near.empty() ? "columns: " + list : "did you mean '" + near + "'?");
}

Table read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw make_error(path, "cannot open file");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  Table t;
  size_t pos = 0;
  if (!parse_record(text, pos, t.columns_) || (t.columns_.size() == 1 && t.columns_[0].empty())) {
    throw make_error(path, "is empty", "expected a CSV file with a header line");
  }
  std::vector<std::string> fields;
  size_t line = 1;
  while (parse_record(text, pos, fields)) {
    ++line;
    if (fields.size() == 1 && fields[0].empty()) continue;
    if (fields.size() != t.columns_.size()) {
      throw make_error(path + ":" + std::to_string(line), "has " + std::to_string(fields.size()) +
                                                              " fields, the header has " +
                                                              std::to_string(t.columns_.size()));
    }
    t.rows_.push_back(fields);
  }
  return t;
}

void write_csv(const std::string& path, const Table& table) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << csv_line(table.columns_) << "\n";
  for (const auto& r : table.rows_) out << csv_line(r) << "\n";
  out.flush();
  if (!out) throw make_error(path, "cannot write file", "check that the directory is writable");
}

std::vector<size_t> pareto_front(const Table& table, const std::vector<Objective>& objectives) {
  if (objectives.empty()) throw Error("pareto: give at least one --maximize or --minimize column");
  std::vector<size_t> cols;
  for (const auto& o : objectives) cols.push_back(table.column(o.column_));
  size_t error_col = table.columns_.size();
  for (size_t i = 0; i < table.columns_.size(); ++i) {
    if (table.columns_[i] == "error") error_col = i;
  }
  // Every objective turned into "larger is better".
  const size_t k = cols.size();
  std::vector<double> vals;
  std::vector<size_t> rows;
  for (size_t r = 0; r < table.rows_.size(); ++r) {
    const auto& row = table.rows_[r];
    if (error_col < row.size() && !row[error_col].empty()) continue;
    bool ok = true;
    for (size_t j = 0; j < k && ok; ++j) {
      double v = 0;
      ok = parse_double(row[cols[j]], v);
      vals.push_back(objectives[j].maximize_ ? v : -v);
    }
    if (ok) {
      rows.push_back(r);
    } else {
      vals.resize(rows.size() * k);
    }
  }
  // Sorted lexicographically best-first, a row can only be dominated by an earlier one, and
  // (dominance being transitive) by an earlier one that is on the front.
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    for (size_t j = 0; j < k; ++j) {
      if (vals[a * k + j] != vals[b * k + j]) return vals[a * k + j] > vals[b * k + j];
    }
    return a < b;
  });
  std::vector<size_t> front;  // indices into rows
  for (size_t i : order) {
    bool dominated = false;
    for (size_t f : front) {
      bool ge = true, gt = false;
      for (size_t j = 0; j < k; ++j) {
        const double fv = vals[f * k + j], iv = vals[i * k + j];
        if (fv < iv) {
          ge = false;
          break;
        }
        if (fv > iv) gt = true;
      }
      if (ge && gt) {
        dominated = true;
        break;
      }
    }
    if (!dominated) front.push_back(i);
  }
  std::vector<size_t> out;
  for (size_t f : front) out.push_back(rows[f]);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hw::sweep
