// Resolution of declared parameters from YAML and `--set` overrides; see param_tree.h.
#include "common/param_tree.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "common/error.h"
#include "common/units.h"

namespace hw {
namespace {

const char* kind_name(ParamKind kind) {
  switch (kind) {
    case ParamKind::kInt: return "integer";
    case ParamKind::kReal: return "number";
    case ParamKind::kBool: return "boolean";
    case ParamKind::kString: return "string";
    case ParamKind::kIntList: return "list of integers";
  }
  return "?";
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string format_number(double v) {
  std::ostringstream os;
  os.precision(12);
  os << v;
  return os.str();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // Accept a suggestion only when it is closer than a rewrite of half the word.
  if (best_d > std::max<size_t>(2, word.size() / 2)) return {};
  return best;
}

ParamSpec& ParamSchema::add(ParamSpec spec) {
  if (find(spec.key_)) throw make_error(root_ + "." + spec.key_, "declared twice");
  specs_.push_back(std::move(spec));
  return specs_.back();
}

ParamSchema& ParamSchema::add_int(const std::string& key, int64_t def, const std::string& unit,
                                  const std::string& description, int64_t min, int64_t max) {
  add({key, ParamKind::kInt, unit, description, false, def, double(min), double(max), {}});
  return *this;
}

ParamSchema& ParamSchema::add_real(const std::string& key, double def, const std::string& unit,
                                   const std::string& description, double min, double max) {
  add({key, ParamKind::kReal, unit, description, false, def, min, max, {}});
  return *this;
}

ParamSchema& ParamSchema::add_bool(const std::string& key, bool def,
                                   const std::string& description) {
  add({key, ParamKind::kBool, "", description, false, def, 0, 1, {}});
  return *this;
}

ParamSchema& ParamSchema::add_string(const std::string& key, const std::string& def,
                                     const std::string& description,
                                     std::vector<std::string> choices) {
  add({key, ParamKind::kString, "", description, false, def, 0, 0, std::move(choices)});
  return *this;
}

ParamSchema& ParamSchema::add_int_list(const std::string& key, std::vector<int64_t> def,
                                       const std::string& unit, const std::string& description,
                                       int64_t min, int64_t max) {
  add({key, ParamKind::kIntList, unit, description, false, def, double(min), double(max), {}});
  return *this;
}

ParamSchema& ParamSchema::required() {
  if (specs_.empty()) throw Error("ParamSchema::required() before any parameter");
  specs_.back().required_ = true;
  specs_.back().default_ = nullptr;
  return *this;
}

const ParamSpec* ParamSchema::find(const std::string& key) const {
  for (const auto& s : specs_) {
    if (s.key_ == key) return &s;
  }
  return nullptr;
}

std::string ParamSchema::to_markdown() const {
  std::ostringstream os;
  os << "| key | unit | default | range / choices | description |\n|---|---|---|---|---|\n";
  for (const auto& s : specs_) {
    std::string range;
    if (s.kind_ == ParamKind::kString) {
      for (size_t i = 0; i < s.choices_.size(); ++i) range += (i ? ", " : "") + s.choices_[i];
    } else if (s.kind_ != ParamKind::kBool) {
      if (s.min_ > -1e299) range += ">= " + format_number(s.min_);
      if (s.max_ < 1e299 && s.max_ < double(INT64_MAX / 4)) {
        range += (range.empty() ? "" : ", ") + std::string("<= ") + format_number(s.max_);
      }
    }
    std::string def = s.required_ ? "(required)" : s.default_.dump();
    os << "| `" << root_ << "." << s.key_ << "` | " << s.unit_ << " | " << def << " | " << range
       << " | " << s.description_ << " |\n";
  }
  return os.str();
}

// Converts one textual or YAML scalar to the spec's kind, in its canonical unit.
class ParamResolver {
 public:
  explicit ParamResolver(const ParamSchema& schema) : schema_(schema) {
    values_.root_ = schema.root();
    for (const auto& s : schema.specs()) {
      values_.kinds_[s.key_] = s.kind_;
      values_.units_[s.key_] = s.unit_;
      if (!s.required_) {
        values_.values_[s.key_] = s.default_;
        values_.sources_[s.key_] = "default";
      }
    }
  }

  const ParamSpec& spec_for(const std::string& key, const std::string& where) const {
    if (const ParamSpec* s = schema_.find(key)) return *s;
    std::vector<std::string> keys;
    for (const auto& s : schema_.specs()) keys.push_back(s.key_);
    const std::string near = closest_match(key, keys);
    // Also try a key that ends in the same last segment (a value put under the wrong block).
    std::string hint;
    if (!near.empty()) {
      hint = "did you mean '" + schema_.root() + "." + near + "'?";
    } else {
      const std::string leaf = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
      for (const auto& k : keys) {
        const std::string kl = k.substr(k.rfind('.') == std::string::npos ? 0 : k.rfind('.') + 1);
        if (kl == leaf) {
          hint = "did you mean '" + schema_.root() + "." + k + "'?";
          break;
        }
      }
    }
    if (hint.empty()) hint = "see `hardwire params " + schema_.root() + "` for the declared keys";
    throw make_error(where, "unknown key '" + schema_.root() + "." + key + "'", hint);
  }

  nlohmann::json convert(const ParamSpec& spec, const std::string& text,
                         const std::string& where) const {
    const std::string full = where;
    switch (spec.kind_) {
      case ParamKind::kBool: {
        const std::string t = lower(text);
        if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
        if (t == "false" || t == "no" || t == "off" || t == "0") return false;
        throw make_error(full, "expected true or false, got '" + text + "'");
      }
      case ParamKind::kString: {
        if (!spec.choices_.empty() &&
            std::find(spec.choices_.begin(), spec.choices_.end(), text) == spec.choices_.end()) {
          std::string list;
          for (size_t i = 0; i < spec.choices_.size(); ++i) list += (i ? ", " : "") + spec.choices_[i];
          const std::string near = closest_match(text, spec.choices_);
          throw make_error(full, "'" + text + "' is not one of: " + list,
                           near.empty() ? "" : "did you mean '" + near + "'?");
        }
        return text;
      }
      case ParamKind::kInt:
      case ParamKind::kReal: {
        const double v = parse_quantity(text, spec.unit_, full);
        check_range(spec, v, full);
        if (spec.kind_ == ParamKind::kReal) return v;
        const double r = std::round(v);
        if (std::fabs(v - r) > 1e-9 * std::max(1.0, std::fabs(v))) {
          throw make_error(full, "must be a whole number" +
                                     (spec.unit_.empty() ? std::string() : " of " + spec.unit_) +
                                     ", got " + format_number(v));
        }
        return static_cast<int64_t>(r);
      }
      case ParamKind::kIntList: {
        // "[16, 16]" or "16,16" from the command line.
        std::string t = text;
        t.erase(std::remove(t.begin(), t.end(), '['), t.end());
        t.erase(std::remove(t.begin(), t.end(), ']'), t.end());
        nlohmann::json list = nlohmann::json::array();
        std::stringstream ss(t);
        std::string item;
        size_t i = 0;
        while (std::getline(ss, item, ',')) {
          list.push_back(convert_list_item(spec, item, full + "[" + std::to_string(i++) + "]"));
        }
        return list;
      }
    }
    return nullptr;
  }

  nlohmann::json convert_list_item(const ParamSpec& spec, const std::string& text,
                                   const std::string& where) const {
    const double v = parse_quantity(text, spec.unit_, where);
    check_range(spec, v, where);
    const double r = std::round(v);
    if (std::fabs(v - r) > 1e-9 * std::max(1.0, std::fabs(v))) {
      throw make_error(where, "must be a whole number, got " + format_number(v));
    }
    return static_cast<int64_t>(r);
  }

  static void check_range(const ParamSpec& spec, double v, const std::string& where) {
    if (!std::isfinite(v)) throw make_error(where, "must be finite");
    if (v < spec.min_ || v > spec.max_) {
      std::string range;
      if (spec.min_ > -1e299) range += ">= " + format_number(spec.min_);
      if (spec.max_ < 1e299) range += (range.empty() ? "" : " and ") + std::string("<= ") + format_number(spec.max_);
      throw make_error(where, "value " + format_number(v) +
                                  (spec.unit_.empty() ? "" : " " + spec.unit_) +
                                  " is out of range", "must be " + range);
    }
  }

  void walk(const YAML::Node& node, const std::string& prefix, const std::string& file) {
    check_duplicate_keys(node, file, schema_.root() + (prefix.empty() ? "" : "." + prefix));
    for (const auto& kv : node) {
      const std::string name = kv.first.as<std::string>();
      const std::string key = prefix.empty() ? name : prefix + "." + name;
      const YAML::Node& v = kv.second;
      const std::string where = file + ": " + schema_.root() + "." + key +
                                " (line " + std::to_string(kv.first.Mark().line + 1) + ")";
      if (v.IsNull() && !schema_.find(key)) {
        // A block header with nothing under it: the file was cut short or the keys lost their
        // indentation. Name the block and what it should hold rather than "unknown key".
        std::vector<std::string> children;
        for (const auto& s : schema_.specs()) {
          if (s.key_.rfind(key + ".", 0) == 0) children.push_back(schema_.root() + "." + s.key_);
        }
        if (!children.empty()) {
          std::string list;
          for (size_t i = 0; i < children.size() && i < 4; ++i) list += (i ? ", " : "") + children[i];
          if (children.size() > 4) list += ", ...";
          throw make_error(where, "block '" + schema_.root() + "." + key +
                                      "' is empty (is the file cut short, or are its keys not "
                                      "indented under it?)",
                           "give its keys (" + list + ") or remove the block");
        }
      }
      if (v.IsMap()) {
        if (schema_.find(key)) throw make_error(where, "expected a value, got a block");
        bool any = false;
        for (const auto& s : schema_.specs()) {
          if (s.key_.rfind(key + ".", 0) == 0) any = true;
        }
        if (!any) spec_for(key, where);
        walk(v, key, file);
        continue;
      }
      const ParamSpec& spec = spec_for(key, where);
      if (v.IsSequence()) {
        if (spec.kind_ != ParamKind::kIntList) {
          throw make_error(where, std::string("expected a ") + kind_name(spec.kind_) + ", got a list");
        }
        nlohmann::json list = nlohmann::json::array();
        for (size_t i = 0; i < v.size(); ++i) {
          if (!v[i].IsScalar()) throw make_error(where, "list items must be numbers");
          list.push_back(convert_list_item(spec, v[i].Scalar(), where + "[" + std::to_string(i) + "]"));
        }
        set(key, list, file);
      } else if (v.IsScalar()) {
        set(key, convert(spec, v.Scalar(), where), file);
      } else {
        throw make_error(where, "has no value", "give a value or remove the key");
      }
    }
  }

  void apply_override(const std::string& ov) {
    const size_t eq = ov.find('=');
    const std::string lhs = ov.substr(0, eq);
    const std::string prefix = schema_.root() + ".";
    if (lhs.rfind(prefix, 0) != 0) return;
    const std::string where = "--set " + lhs;
    if (eq == std::string::npos) throw make_error(where, "missing '=value'", "write --set " + lhs + "=VALUE");
    const std::string key = lhs.substr(prefix.size());
    const ParamSpec& spec = spec_for(key, where);
    set(key, convert(spec, ov.substr(eq + 1), where), "--set");
  }

  void set(const std::string& key, nlohmann::json v, const std::string& source) {
    values_.values_[key] = std::move(v);
    values_.sources_[key] = source;
  }

  ParamValues finish(const std::string& file) {
    for (const auto& s : schema_.specs()) {
      if (!values_.values_.count(s.key_)) {
        throw make_error(file.empty() ? schema_.root() : file,
                         "missing required key '" + schema_.root() + "." + s.key_ + "' (" +
                             s.description_ + (s.unit_.empty() ? "" : ", in " + s.unit_) + ")",
                         "add it to the file or pass --set " + schema_.root() + "." + s.key_ + "=VALUE");
      }
    }
    return std::move(values_);
  }

 private:
  const ParamSchema& schema_;
  ParamValues values_;
};

const nlohmann::json& ParamValues::value(const std::string& key, ParamKind kind) const {
  auto it = kinds_.find(key);
  if (it == kinds_.end()) throw Error("internal: parameter '" + root_ + "." + key + "' is not declared");
  const bool ok = it->second == kind || (kind == ParamKind::kReal && it->second == ParamKind::kInt);
  if (!ok) {
    throw Error("internal: parameter '" + root_ + "." + key + "' is a " + kind_name(it->second) +
                ", read as a " + kind_name(kind));
  }
  return values_.at(key);
}

int64_t ParamValues::get_int(const std::string& key) const {
  return value(key, ParamKind::kInt).get<int64_t>();
}
double ParamValues::get_real(const std::string& key) const {
  return value(key, ParamKind::kReal).get<double>();
}
bool ParamValues::get_bool(const std::string& key) const {
  return value(key, ParamKind::kBool).get<bool>();
}
const std::string& ParamValues::get_string(const std::string& key) const {
  return value(key, ParamKind::kString).get_ref<const std::string&>();
}
std::vector<int64_t> ParamValues::get_int_list(const std::string& key) const {
  return value(key, ParamKind::kIntList).get<std::vector<int64_t>>();
}
const std::string& ParamValues::source_of(const std::string& key) const {
  static const std::string kNone = "unset";
  auto it = sources_.find(key);
  return it == sources_.end() ? kNone : it->second;
}

nlohmann::json ParamValues::to_json() const {
  nlohmann::json tree = nlohmann::json::object();
  nlohmann::json units = nlohmann::json::object();
  for (const auto& [key, v] : values_) {
    nlohmann::json* node = &tree;
    std::stringstream ss(key);
    std::string part;
    std::vector<std::string> parts;
    while (std::getline(ss, part, '.')) parts.push_back(part);
    for (size_t i = 0; i + 1 < parts.size(); ++i) node = &(*node)[parts[i]];
    (*node)[parts.back()] = v;
    if (!units_.at(key).empty()) units[key] = units_.at(key);
  }
  return {{root_, tree}, {root_ + "_units", units}};
}

ParamValues resolve_params(const ParamSchema& schema, const YAML::Node& file_root,
                           const std::string& file_name,
                           const std::vector<std::string>& overrides) {
  ParamResolver r(schema);
  if (file_root && file_root.IsMap()) {
    const YAML::Node sub = file_root[schema.root()];
    if (sub) {
      if (!sub.IsMap()) throw make_error(file_name + ": " + schema.root(), "expected a block of keys");
      r.walk(sub, "", file_name);
    }
  }
  for (const auto& ov : overrides) r.apply_override(ov);
  return r.finish(file_name);
}

ParamValues resolve_params(const ParamSchema& schema, const std::vector<std::string>& overrides) {
  return resolve_params(schema, YAML::Node(), "", overrides);
}

void check_duplicate_keys(const YAML::Node& node, const std::string& file,
                          const std::string& block) {
  if (!node || !node.IsMap()) return;
  std::map<std::string, int> seen;  // key -> 1-based line of its first occurrence
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) continue;
    const std::string name = kv.first.Scalar();
    const int line = kv.first.Mark().line + 1;
    const auto [it, fresh] = seen.emplace(name, line);
    if (!fresh) {
      const std::string key = block.empty() ? name : block + "." + name;
      throw make_error(file.empty() ? key : file + ": " + key,
                       "duplicate key '" + key + "' at lines " + std::to_string(it->second) +
                           " and " + std::to_string(line) +
                           " (YAML would silently keep only one of them)",
                       "remove one of the two");
    }
  }
}

namespace {

void check_duplicate_keys_deep(const YAML::Node& node, const std::string& file,
                               const std::string& block) {
  if (!node) return;
  if (node.IsMap()) {
    check_duplicate_keys(node, file, block);
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) continue;
      const std::string name = kv.first.Scalar();
      check_duplicate_keys_deep(kv.second, file, block.empty() ? name : block + "." + name);
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      check_duplicate_keys_deep(node[i], file, block + "[" + std::to_string(i) + "]");
    }
  }
}

}  // namespace

YAML::Node load_yaml_file(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw make_error(path, "cannot open file");
  } catch (const YAML::Exception& e) {
    throw make_error(path + ":" + std::to_string(e.mark.line + 1), "YAML syntax error: " + e.msg);
  }
  check_duplicate_keys_deep(root, path, "");
  return root;
}

void check_top_level_keys(const YAML::Node& root, const std::vector<std::string>& allowed,
                          const std::string& where) {
  std::string list;
  for (size_t i = 0; i < allowed.size(); ++i) list += (i ? ", " : "") + allowed[i] + ":";
  if (!root || root.IsNull()) return;
  if (!root.IsMap()) throw make_error(where, "expected a YAML map with the blocks " + list);
  check_duplicate_keys(root, where, "");
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      const std::string near = closest_match(key, allowed);
      throw make_error(where, "unknown top-level key '" + key + "'",
                       near.empty() ? "this file holds only " + list
                                    : "did you mean '" + near + "'? this file holds only " + list);
    }
  }
}

void check_override_roots(const std::vector<std::string>& overrides,
                          const std::vector<std::string>& roots) {
  for (const auto& ov : overrides) {
    const size_t dot = ov.find('.');
    const size_t eq = ov.find('=');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
      throw make_error("--set " + ov, "expected root.dotted.key=value",
                       "e.g. --set chip.clock=1.2GHz");
    }
    const std::string root = ov.substr(0, dot);
    if (std::find(roots.begin(), roots.end(), root) == roots.end()) {
      std::string list;
      for (size_t i = 0; i < roots.size(); ++i) list += (i ? ", " : "") + roots[i];
      const std::string near = closest_match(root, roots);
      throw make_error("--set " + ov, "unknown config tree '" + root + "' (this command takes: " + list + ")",
                       near.empty() ? "" : "did you mean '" + near + "'?");
    }
  }
}

}  // namespace hw
