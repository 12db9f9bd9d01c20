// Human-readable output helpers shared by the `hardwire` subcommands (see output.h).
#include "cli/output.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iterator>

namespace hw::cli {
namespace {

bool looks_numeric(const std::string& cell) {
  if (cell.empty()) return true;
  size_t i = cell[0] == '-' ? 1 : 0;
  if (i >= cell.size() || !std::isdigit(static_cast<unsigned char>(cell[i]))) return false;
  for (; i < cell.size(); ++i) {
    char c = cell[i];
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != ',' && c != '.' && c != 'e' &&
        c != 'E' && c != '-' && c != '+') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string with_commas(int64_t value) {
  // Via uint64 so INT64_MIN has a representable magnitude.
  uint64_t mag = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  std::string digits = std::to_string(mag);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string binary_bytes(int64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while ((v >= 1024.0 || v <= -1024.0) && u + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++u;
  }
  if (u == 0) return std::to_string(bytes) + " B";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f %s", v, kUnits[u]);
  return buf;
}

Table::Table(std::vector<std::string> header) : header_(std::move(header)) {}

void Table::add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

void Table::print(std::ostream& out, const std::string& indent) const {
  size_t ncols = header_.size();
  for (const auto& r : rows_) ncols = std::max(ncols, r.size());
  std::vector<size_t> width(ncols, 0);
  std::vector<bool> right(ncols, true);
  for (size_t c = 0; c < header_.size(); ++c) width[c] = header_[c].size();
  for (const auto& r : rows_) {
    for (size_t c = 0; c < r.size(); ++c) {
      width[c] = std::max(width[c], r[c].size());
      if (!looks_numeric(r[c])) right[c] = false;
    }
  }
  auto emit = [&](const std::vector<std::string>& r) {
    std::string line = indent;
    for (size_t c = 0; c < ncols; ++c) {
      const std::string cell = c < r.size() ? r[c] : std::string();
      const std::string pad(width[c] - cell.size(), ' ');
      if (c) line += "  ";
      line += right[c] ? pad + cell : cell + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  if (!header_.empty()) {
    emit(header_);
    std::vector<std::string> rule;
    for (size_t c = 0; c < ncols; ++c) rule.push_back(std::string(width[c], '-'));
    emit(rule);
  }
  for (const auto& r : rows_) emit(r);
}

}  // namespace hw::cli
