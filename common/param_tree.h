// Declared configuration parameters (the ramulator2 pattern): every parameter of a config tree
// (chip, tech, numerics, workload) is declared once with kind, unit, default, range and a
// description; a YAML file and `--set root.dotted.key=value` overrides are resolved against the
// declarations. Unknown keys, bad units, out-of-range values and type errors are errors that
// name the key and suggest the fix. The resolved values are immutable and print as JSON, so
// every run can write the exact config it used beside its results.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace YAML {
class Node;
}

namespace hw {

enum class ParamKind { kInt, kReal, kBool, kString, kIntList };

struct ParamSpec {
  std::string key_;          // dotted path below the root, e.g. "kv_sram.banks"
  ParamKind kind_ = ParamKind::kReal;
  std::string unit_;         // canonical unit ("" for plain numbers): values are stored in it
  std::string description_;
  bool required_ = false;    // no default: the file or an override must give it
  nlohmann::json default_;   // in canonical unit
  double min_ = -1e300;
  double max_ = 1e300;
  std::vector<std::string> choices_;  // kString only; empty = free text
};

class ParamSchema {
 public:
  explicit ParamSchema(std::string root) : root_(std::move(root)) {}

  ParamSchema& add_int(const std::string& key, int64_t def, const std::string& unit,
                       const std::string& description, int64_t min = INT64_MIN / 2,
                       int64_t max = INT64_MAX / 2);
  ParamSchema& add_real(const std::string& key, double def, const std::string& unit,
                        const std::string& description, double min = -1e300, double max = 1e300);
  ParamSchema& add_bool(const std::string& key, bool def, const std::string& description);
  ParamSchema& add_string(const std::string& key, const std::string& def,
                          const std::string& description,
                          std::vector<std::string> choices = {});
  ParamSchema& add_int_list(const std::string& key, std::vector<int64_t> def,
                            const std::string& unit, const std::string& description,
                            int64_t min = INT64_MIN / 2, int64_t max = INT64_MAX / 2);
  // The last declared parameter becomes required (its default is ignored).
  ParamSchema& required();

  const std::string& root() const { return root_; }
  const std::vector<ParamSpec>& specs() const { return specs_; }
  const ParamSpec* find(const std::string& key) const;
  // A Markdown table of every parameter: key, unit, default, range, description.
  std::string to_markdown() const;

 private:
  ParamSpec& add(ParamSpec spec);
  std::string root_;
  std::vector<ParamSpec> specs_;
};

// Resolved values of one tree. Getters throw if the key was not declared with that kind
// (a programming error, reported with the key).
class ParamValues {
 public:
  int64_t get_int(const std::string& key) const;
  double get_real(const std::string& key) const;  // also accepts kInt parameters
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  std::vector<int64_t> get_int_list(const std::string& key) const;
  // "default", the file name, or "--set".
  const std::string& source_of(const std::string& key) const;
  const std::string& root() const { return root_; }
  // Nested JSON tree {root: {...}} of every value in canonical units, with a "units" map.
  nlohmann::json to_json() const;

 private:
  friend class ParamResolver;
  const nlohmann::json& value(const std::string& key, ParamKind kind) const;
  std::string root_;
  std::map<std::string, ParamKind> kinds_;
  std::map<std::string, nlohmann::json> values_;
  std::map<std::string, std::string> sources_;
  std::map<std::string, std::string> units_;
};

// Resolves `schema` from the subtree `file_root[schema.root()]` (may be absent: all defaults)
// and from every override "root.key=value" whose root matches. `file_name` names the file in
// errors and in source_of().
ParamValues resolve_params(const ParamSchema& schema, const YAML::Node& file_root,
                           const std::string& file_name,
                           const std::vector<std::string>& overrides);
ParamValues resolve_params(const ParamSchema& schema, const std::vector<std::string>& overrides);

// Throws when the map `node` holds a key twice (YAML parsers keep one silently), naming the key
// (`block`.key), the file and both lines.
void check_duplicate_keys(const YAML::Node& node, const std::string& file,
                          const std::string& block);

// Loads a YAML file (error naming the file and line on a syntax error, or on a key given twice
// in any map of the file).
YAML::Node load_yaml_file(const std::string& path);

// Checks that `root` (a whole config file) is a map whose top-level keys are all in `allowed`;
// an absent or empty root passes. Errors name `where` and list the allowed blocks.
void check_top_level_keys(const YAML::Node& root, const std::vector<std::string>& allowed,
                          const std::string& where);

// Checks that every override is "root.key=value" with a root in `roots`.
void check_override_roots(const std::vector<std::string>& overrides,
                          const std::vector<std::string>& roots);

// The candidate closest to `word` by edit distance, or "" when none is reasonably close.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace hw
