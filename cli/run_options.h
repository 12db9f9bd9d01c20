// Option handling shared by `hardwire estimate` and `hardwire simulate`: both describe one design
// point (model, chip, tech, numerics, workload) and must resolve it the same way, so the
// defaults, the --users/--prompt/--gen spellings, the numerics-or-widths rule and the
// resolved_config.json layout live here once.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "chip/chip_config.h"
#include "chip/workload.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "power/tech_table.h"

namespace CLI {
class App;
}

namespace hw::cli {

// The numerics profile used when neither --numerics nor both --weight-bits and --kv-bits are
// given; the same for every command so they describe the same design point.
constexpr const char* kDefaultNumerics = "hc1-mix";
// The technology used when --tech is not given.
constexpr const char* kDefaultTech = "n6";

// Mean weight bits and KV bits of a design, and the profile they came from (none when both
// widths were given explicitly).
struct Widths {
  double weight_bits_ = 0;
  int kv_bits_ = 0;
  std::optional<NumericsProfile> profile_;
};

// --numerics NAME (default kDefaultNumerics unless both widths are given), then --weight-bits /
// --kv-bits override the profile's widths. `where` names the command in errors.
Widths resolve_widths(const ModelConfig& model, const std::string& numerics, double weight_bits,
                      int kv_bits, const std::vector<std::string>& sets, const std::string& where);

// --set overrides plus the workload overrides that --users N, --prompt L and --gen G stand for
// (0 = not given).
std::vector<std::string> workload_overrides(const std::vector<std::string>& sets, int64_t users,
                                            int64_t prompt_tokens, int64_t gen_tokens);

// Adds --tech to `cmd` (default kDefaultTech).
void add_tech_option(CLI::App& cmd, std::string& tech, const std::string& extra_help = "");

// The resolved design point as written to resolved_config.json: model, widths, the chip tree,
// the tech tree (when `tech` is given), the workload tree and the numerics profile.
nlohmann::json design_config_json(const ModelConfig& model, const ChipConfig& chip,
                                  const TechTable* tech, const WorkloadConfig& workload,
                                  const Widths& widths);

// A titled table of one breakdown (power_breakdown_w, area_breakdown_mm2): each part, its share
// of `total` and the total.
void print_breakdown(std::ostream& out, const std::string& title, const nlohmann::json& parts,
                     double total, const std::string& unit);

// Writes `j` (indented) to `path`; the error names --out.
void write_json_file(const std::filesystem::path& path, const nlohmann::json& j);
// Creates the --out directory.
void make_out_dir(const std::string& dir);

}  // namespace hw::cli
