// Axes and point numbering of a sweep (sweep.h): "key=v1,v2" lists, "lo:hi:step" and
// "lo:hi:*factor" ranges with units, key globs over the declared schemas, and the grid / seeded
// random permutation that numbers points so any process can rebuild point i on its own.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "chip/chip_config.h"
#include "chip/workload.h"
#include "common/error.h"
#include "common/param_tree.h"
#include "common/units.h"
#include "model/numerics_profile.h"
#include "power/tech_table.h"
#include "sweep/sweep.h"

namespace hw::sweep {
namespace {

constexpr uint64_t kMaxAxisValues = 10'000'000;
constexpr uint64_t kMaxPoints = uint64_t{1} << 62;

const std::vector<std::string>& selection_keys() {
  static const std::vector<std::string> keys = {"model", "chip", "tech", "numerics", "scenario"};
  return keys;
}

const std::vector<std::string>& tree_roots() {
  static const std::vector<std::string> roots = {"chip", "tech", "numerics", "workload"};
  return roots;
}

// Every declared key of every tree, as "root.key".
const std::vector<std::string>& declared_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    auto add = [&out](const ParamSchema& s) {
      for (const auto& spec : s.specs()) out.push_back(s.root() + "." + spec.key_);
    };
    add(chip_schema());
    add(tech_schema());
    add(numerics_schema());
    add(workload_schema());
    return out;
  }();
  return keys;
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  const size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_segments(const std::string& key) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    out.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

// '*' matches one or more whole segments.
bool glob_match(const std::vector<std::string>& pat, size_t pi, const std::vector<std::string>& key,
                size_t ki) {
  if (pi == pat.size()) return ki == key.size();
  if (pat[pi] == "*") {
    for (size_t k = ki + 1; k <= key.size(); ++k) {
      if (glob_match(pat, pi + 1, key, k)) return true;
    }
    return false;
  }
  return ki < key.size() && pat[pi] == key[ki] && glob_match(pat, pi + 1, key, ki + 1);
}

// Splits on commas outside [...].
std::vector<std::string> split_values(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

struct Quantity {
  double base_ = 0;   // value in the dimension's base unit
  std::string unit_;  // as written ("" = bare)
  ParsedUnit parsed_;
};

bool parse_number_unit(const std::string& text, Quantity& q, const std::string& where) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  const char* begin = t.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(v)) return false;
  q.unit_ = trim(std::string(end));
  q.parsed_ = q.unit_.empty() ? ParsedUnit{} : parse_unit(q.unit_, where);
  q.base_ = v * q.parsed_.scale_;
  return true;
}

std::string format_value(double v_in_unit, const std::string& unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v_in_unit);
  std::string s = buf;
  if (s == "-0") s = "0";
  return s + unit;
}

// "lo:hi:step" / "lo:hi:*f"; false when `text` is not a range (then it is a literal value).
bool parse_range(const std::string& text, const std::string& where, std::vector<std::string>& out) {
  const size_t c1 = text.find(':');
  if (c1 == std::string::npos) return false;
  const size_t c2 = text.find(':', c1 + 1);
  if (c2 == std::string::npos || text.find(':', c2 + 1) != std::string::npos) {
    Quantity first;
    if (parse_number_unit(text.substr(0, c1), first, where)) {
      throw make_error(where, "range '" + text + "' needs three parts",
                       "write lo:hi:step (e.g. 0.5GHz:2GHz:0.1GHz) or lo:hi:*factor");
    }
    return false;
  }
  const std::string lo_t = text.substr(0, c1), hi_t = text.substr(c1 + 1, c2 - c1 - 1);
  std::string step_t = trim(text.substr(c2 + 1));
  Quantity lo, hi;
  if (!parse_number_unit(lo_t, lo, where) || !parse_number_unit(hi_t, hi, where)) {
    throw make_error(where, "range '" + text + "': lo and hi must be numbers with optional units",
                     "write lo:hi:step, e.g. 0.5GHz:2GHz:0.1GHz, or lo:hi:*factor");
  }
  const bool geometric = !step_t.empty() && (step_t[0] == '*' || step_t[0] == 'x');
  if (geometric) step_t = trim(step_t.substr(1));
  Quantity step;
  if (!parse_number_unit(step_t, step, where)) {
    throw make_error(where, "range '" + text + "': bad step '" + step_t + "'",
                     "write lo:hi:step or lo:hi:*factor");
  }
  // The display unit: the first unit written; a bare number takes it.
  std::string unit = !lo.unit_.empty() ? lo.unit_ : !hi.unit_.empty() ? hi.unit_ : step.unit_;
  const ParsedUnit pu = unit.empty() ? ParsedUnit{} : parse_unit(unit, where);
  auto rebase = [&](Quantity& q, bool is_step_factor) {
    if (is_step_factor) return;
    if (q.unit_.empty()) {
      q.base_ *= pu.scale_;
      q.parsed_ = pu;
    } else if (q.parsed_.dimension_ != pu.dimension_) {
      throw make_error(where, "range '" + text + "': '" + q.unit_ + "' and '" + unit +
                                  "' do not measure the same thing");
    }
  };
  rebase(lo, false);
  rebase(hi, false);
  rebase(step, geometric);
  if (hi.base_ < lo.base_) {
    throw make_error(where, "range '" + text + "': hi is below lo",
                     "write lo:hi:step with lo <= hi");
  }
  const double tol = 1e-9 * std::max(std::fabs(hi.base_), std::fabs(lo.base_));
  if (geometric) {
    if (!(step.base_ > 1.0) || !step.unit_.empty()) {
      throw make_error(where,
                       "range '" + text + "': the factor after '*' must be a plain number > 1");
    }
    if (!(lo.base_ > 0))
      throw make_error(where, "range '" + text + "': a geometric range needs lo > 0");
    for (double v = lo.base_; v <= hi.base_ + tol; v *= step.base_) {
      out.push_back(format_value(v / pu.scale_, unit));
      if (out.size() > kMaxAxisValues) break;
    }
  } else {
    if (!(step.base_ > 0)) {
      throw make_error(where, "range '" + text + "': the step must be > 0");
    }
    const double n = std::floor((hi.base_ - lo.base_ + tol) / step.base_) + 1;
    if (n > double(kMaxAxisValues)) {
      throw make_error(where, "range '" + text + "' has " + format_value(n, "") + " values",
                       "at most " + std::to_string(kMaxAxisValues) + " per axis");
    }
    for (int64_t i = 0; i < int64_t(n); ++i) {
      double v = lo.base_ + double(i) * step.base_;
      if (std::fabs(v) < 1e-12 * step.base_) v = 0;
      out.push_back(format_value(v / pu.scale_, unit));
    }
  }
  if (out.size() > kMaxAxisValues) {
    throw make_error(where, "range '" + text + "' has too many values",
                     "at most " + std::to_string(kMaxAxisValues) + " per axis");
  }
  return true;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

bool is_selection_key(const std::string& key) {
  const auto& k = selection_keys();
  return std::find(k.begin(), k.end(), key) != k.end();
}

std::vector<std::string> expand_key_pattern(const std::string& pattern, const std::string& where) {
  const std::vector<std::string> pat = split_segments(pattern);
  const auto& roots = tree_roots();
  if (std::find(roots.begin(), roots.end(), pat[0]) == roots.end()) {
    std::vector<std::string> all = roots;
    all.insert(all.end(), selection_keys().begin(), selection_keys().end());
    const std::string near = closest_match(pat[0], all);
    throw make_error(where + " " + pattern,
                     "unknown config tree '" + pat[0] +
                         "' (a sweep takes chip.*, tech.*, numerics.*, workload.* keys and model, "
                         "chip, tech, numerics, scenario lists)",
                     near.empty() ? "" : "did you mean '" + near + "'?");
  }
  if (pattern.find('*') == std::string::npos) {
    const auto& keys = declared_keys();
    if (std::find(keys.begin(), keys.end(), pattern) == keys.end()) {
      const std::string near = closest_match(pattern, keys);
      throw make_error(where + " " + pattern, "unknown key '" + pattern + "'",
                       near.empty() ? "see `hardwire params " + pat[0] + "` for the declared keys"
                                    : "did you mean '" + near + "'?");
    }
    return {pattern};
  }
  std::vector<std::string> out;
  for (const auto& key : declared_keys()) {
    if (glob_match(pat, 0, split_segments(key), 0)) out.push_back(key);
  }
  if (out.empty()) {
    throw make_error(where + " " + pattern, "matches no declared key",
                     "'*' stands for whole dotted segments; see `hardwire params " + pat[0] + "`");
  }
  return out;
}

Axis parse_axis(const std::string& spec, const std::string& where) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw make_error(where + " " + spec, "expected key=v1,v2,... or key=lo:hi:step",
                     "e.g. --set chip.clock=0.5GHz:2GHz:0.1GHz");
  }
  Axis a;
  a.name_ = trim(spec.substr(0, eq));
  const std::string rhs = spec.substr(eq + 1);
  const std::string w = where + " " + a.name_;
  if (is_selection_key(a.name_)) {
    a.selection_ = true;
    a.keys_ = {a.name_};
  } else {
    a.keys_ = expand_key_pattern(a.name_, where);
  }
  std::vector<std::string> values;
  if (a.selection_ || !parse_range(trim(rhs), w, values)) values = split_values(rhs);
  std::vector<std::string> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i].empty())
      throw make_error(w, "empty value in '" + rhs + "'", "remove the extra comma");
    if (i > 0 && sorted[i] == sorted[i - 1]) {
      throw make_error(
          w, "value '" + sorted[i] + "' is listed twice",
          "each point of a sweep must be distinct (resume identifies rows by their values)");
    }
  }
  a.values_ = std::move(values);
  return a;
}

PointSet::PointSet(std::vector<Axis> axes, uint64_t random_points, uint64_t seed)
    : axes_(std::move(axes)), random_(random_points > 0), seed_(seed) {
  std::vector<std::string> names;
  for (const auto& a : axes_) {
    if (a.values_.empty()) throw make_error("--set " + a.name_, "has no values");
    if (std::find(names.begin(), names.end(), a.name_) != names.end()) {
      throw make_error("--set " + a.name_, "is swept twice", "give all its values in one --set");
    }
    names.push_back(a.name_);
    if (grid_size_ > kMaxPoints / a.values_.size()) {
      throw make_error("sweep", "the grid has more than 2^62 points",
                       "use fewer values or --random N");
    }
    grid_size_ *= a.values_.size();
    std::vector<std::pair<std::string, size_t>> lk;
    for (size_t i = 0; i < a.values_.size(); ++i) lk.emplace_back(a.values_[i], i);
    std::sort(lk.begin(), lk.end());
    lookup_.push_back(std::move(lk));
  }
  size_ = grid_size_;
  if (random_) {
    if (random_points > grid_size_) {
      throw make_error(
          "--random " + std::to_string(random_points),
          "asks for more points than the grid has (" + std::to_string(grid_size_) + ")",
          "random points are distinct; use at most the grid size, or widen the axes");
    }
    size_ = random_points;
  }
}

uint64_t PointSet::grid_index(uint64_t ordinal) const {
  if (!random_) return ordinal;
  // A Feistel permutation of [0, 4^k) >= grid, cycle-walked into [0, grid): a bijection, so the
  // first N ordinals give N distinct grid points, each computable alone.
  int half_bits = 1;
  while ((uint64_t{1} << (2 * half_bits)) < grid_size_) ++half_bits;
  const uint64_t mask = (uint64_t{1} << half_bits) - 1;
  uint64_t x = ordinal;
  do {
    uint64_t l = x >> half_bits, r = x & mask;
    for (uint64_t round = 0; round < 4; ++round) {
      const uint64_t f =
          splitmix64(seed_ ^ (round * 0xA24BAED4963EE407ull) ^ (r * 0x9FB21C651E98DF25ull)) & mask;
      const uint64_t nl = r;
      r = l ^ f;
      l = nl;
    }
    x = (l << half_bits) | r;
  } while (x >= grid_size_);
  return x;
}

std::vector<size_t> PointSet::value_indices(uint64_t g) const {
  std::vector<size_t> idx(axes_.size());
  for (size_t a = axes_.size(); a-- > 0;) {
    const uint64_t n = axes_[a].values_.size();
    idx[a] = size_t(g % n);
    g /= n;
  }
  return idx;
}

std::optional<uint64_t> PointSet::grid_index_of(const std::vector<std::string>& values) const {
  if (values.size() != axes_.size()) return std::nullopt;
  uint64_t g = 0;
  for (size_t a = 0; a < axes_.size(); ++a) {
    const auto& lk = lookup_[a];
    auto it = std::lower_bound(lk.begin(), lk.end(), std::make_pair(values[a], size_t{0}));
    if (it == lk.end() || it->first != values[a]) return std::nullopt;
    g = g * axes_[a].values_.size() + it->second;
  }
  return g;
}

PointConfig point_config(const BaseDesign& base, const PointSet& points, uint64_t grid_index) {
  PointConfig p;
  p.design_ = base;
  p.sets_ = base.sets_;
  const std::vector<size_t> idx = points.value_indices(grid_index);
  const auto& axes = points.axes();
  for (size_t a = 0; a < axes.size(); ++a) {
    const std::string& v = axes[a].values_[idx[a]];
    if (axes[a].selection_) {
      const std::string& k = axes[a].name_;
      if (k == "model")
        p.design_.model_ = v;
      else if (k == "chip")
        p.design_.chip_ = v;
      else if (k == "tech")
        p.design_.tech_ = v;
      else if (k == "numerics")
        p.design_.numerics_ = v;
      else if (k == "scenario")
        p.design_.scenario_ = v;
    } else {
      for (const auto& key : axes[a].keys_) p.sets_.push_back(key + "=" + v);
    }
  }
  p.design_.sets_ = p.sets_;
  return p;
}

}  // namespace hw::sweep
