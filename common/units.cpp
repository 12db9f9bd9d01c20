// Unit parsing for config quantities: SI and binary prefixes over a small set of base units,
// optionally one '/' for rates and per-unit figures. Bits are bytes / 8 so "Gbit/s" and "GB/s"
// compare, and um2 is mm2 * 1e-6 so area figures from papers can be pasted as given.
#include "common/units.h"

#include <cctype>
#include <cstdlib>
#include <map>
#include <utility>

#include "common/error.h"

namespace hw {
namespace {

struct BaseUnit {
  const char* dimension_;
  double scale_;
};

const std::map<std::string, BaseUnit>& base_units() {
  static const std::map<std::string, BaseUnit> kUnits = {
      {"Hz", {"Hz", 1.0}},        {"s", {"s", 1.0}},           {"B", {"B", 1.0}},
      {"bit", {"B", 0.125}},      {"bits", {"B", 0.125}},      {"W", {"W", 1.0}},
      {"J", {"J", 1.0}},          {"V", {"V", 1.0}},           {"cycle", {"cycle", 1.0}},
      {"cycles", {"cycle", 1.0}}, {"mm2", {"mm2", 1.0}},       {"um2", {"mm2", 1e-6}},
      {"nm2", {"mm2", 1e-12}},    {"op", {"op", 1.0}},         {"ops", {"op", 1.0}},
      {"token", {"token", 1.0}},  {"tokens", {"token", 1.0}},  {"USD", {"USD", 1.0}},
      {"transistor", {"transistor", 1.0}}, {"transistors", {"transistor", 1.0}},
      {"h", {"s", 3600.0}},       {"kWh", {"J", 3.6e6}},        {"weight", {"weight", 1.0}},
  };
  return kUnits;
}

const std::map<std::string, double>& prefixes() {
  static const std::map<std::string, double> kPrefixes = {
      {"f", 1e-15}, {"p", 1e-12}, {"n", 1e-9},  {"u", 1e-6},  {"m", 1e-3},
      {"k", 1e3},   {"K", 1e3},   {"M", 1e6},   {"G", 1e9},   {"T", 1e12},
      {"P", 1e15},  {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0},
      {"Ti", 1099511627776.0},
  };
  return kPrefixes;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// One side of a compound unit: an exact base unit, or a prefix followed by one.
bool parse_simple(const std::string& u, BaseUnit& out) {
  const auto& units = base_units();
  if (auto it = units.find(u); it != units.end()) {
    out = it->second;
    return true;
  }
  for (const auto& [prefix, factor] : prefixes()) {
    if (u.size() > prefix.size() && u.compare(0, prefix.size(), prefix) == 0) {
      if (auto it = units.find(u.substr(prefix.size())); it != units.end()) {
        out = {it->second.dimension_, it->second.scale_ * factor};
        return true;
      }
    }
  }
  return false;
}

}  // namespace

ParsedUnit parse_unit(const std::string& unit_text, const std::string& where) {
  const std::string unit = trim(unit_text);
  if (unit.empty()) return {};
  const size_t slash = unit.find('/');
  const std::string num = trim(unit.substr(0, slash));
  BaseUnit n{"", 1.0};
  if (!parse_simple(num, n)) {
    throw make_error(where, "unknown unit '" + unit_text + "'",
                     "use e.g. GHz, ns, MiB, GB/s, W, pJ, pJ/bit, mm2, um2, cycles");
  }
  if (slash == std::string::npos) return {n.dimension_, n.scale_};
  const std::string den = trim(unit.substr(slash + 1));
  BaseUnit d{"", 1.0};
  if (!parse_simple(den, d)) {
    throw make_error(where, "unknown unit '" + unit_text + "'",
                     "use e.g. GB/s, pJ/bit, W/mm2, um2/bit");
  }
  return {std::string(n.dimension_) + "/" + d.dimension_, n.scale_ / d.scale_};
}

double parse_quantity(const std::string& text_in, const std::string& target_unit,
                      const std::string& where) {
  const std::string text = trim(text_in);
  const char* begin = text.c_str();
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  if (end == begin) {
    throw make_error(where, "expected a number" +
                                (target_unit.empty() ? std::string() : " in " + target_unit) +
                                ", got '" + text_in + "'");
  }
  const std::string unit = trim(std::string(end));
  if (unit.empty()) return value;
  const ParsedUnit given = parse_unit(unit, where);
  const ParsedUnit target = parse_unit(target_unit, where);
  if (given.dimension_ != target.dimension_) {
    throw make_error(where,
                     "unit '" + unit + "' does not measure the same thing as '" +
                         (target_unit.empty() ? std::string("a plain number") : target_unit) + "'",
                     target_unit.empty() ? "write a plain number"
                                         : "write the value in " + target_unit +
                                               " or a unit convertible to it");
  }
  return value * given.scale_ / target.scale_;
}

}  // namespace hw
