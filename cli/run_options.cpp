// Shared design-point option handling of `hardwire estimate` and `hardwire simulate`; see
// run_options.h.
#include "cli/run_options.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>

#include "cli/output.h"
#include "common/error.h"

namespace hw::cli {
namespace {

std::string fixed2(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string fixed1(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

Widths resolve_widths(const ModelConfig& model, const std::string& numerics_option,
                      double weight_bits, int kv_bits, const std::vector<std::string>& sets,
                      const std::string& where) {
  Widths w;
  std::string numerics = numerics_option;
  const bool bits_given = weight_bits > 0 && kv_bits > 0;
  if (numerics.empty() && !bits_given) {
    const auto names = numerics_profile_names();
    if (std::find(names.begin(), names.end(), kDefaultNumerics) == names.end()) {
      throw make_error(where, std::string("no --numerics given and the default profile '") +
                                  kDefaultNumerics + "' is not shipped",
                       "pass --numerics NAME or both --weight-bits and --kv-bits");
    }
    numerics = kDefaultNumerics;
  }
  if (!numerics.empty()) {
    w.profile_ = load_numerics_profile(numerics, sets);
    w.weight_bits_ = w.profile_->mean_weight_bits(model);
    w.kv_bits_ = w.profile_->kv_bits();
  }
  if (weight_bits > 0) w.weight_bits_ = weight_bits;
  if (kv_bits > 0) w.kv_bits_ = kv_bits;
  if (!(w.weight_bits_ > 0) || w.kv_bits_ <= 0) {
    throw make_error(where, "weight and KV widths are not set",
                     "pass --numerics NAME, or --weight-bits B and --kv-bits K");
  }
  return w;
}

std::vector<std::string> workload_overrides(const std::vector<std::string>& sets, int64_t users,
                                            int64_t prompt_tokens, int64_t gen_tokens) {
  std::vector<std::string> wl = sets;
  if (users > 0) wl.push_back("workload.users=" + std::to_string(users));
  if (prompt_tokens > 0) {
    wl.push_back("workload.prompt.dist=fixed");
    wl.push_back("workload.prompt.tokens=" + std::to_string(prompt_tokens));
  }
  if (gen_tokens > 0) {
    wl.push_back("workload.output.dist=fixed");
    wl.push_back("workload.output.tokens=" + std::to_string(gen_tokens));
  }
  return wl;
}

void add_tech_option(CLI::App& cmd, std::string& tech, const std::string& extra_help) {
  tech = kDefaultTech;
  cmd.add_option("--tech", tech,
                 "Technology name (configs/tech/) or YAML path" +
                     (extra_help.empty() ? std::string() : "; " + extra_help))
      ->capture_default_str();
}

nlohmann::json design_config_json(const ModelConfig& model, const ChipConfig& chip,
                                  const TechTable* tech, const WorkloadConfig& workload,
                                  const Widths& widths) {
  nlohmann::json j = nlohmann::json::object();
  j["model"] = model.name_;
  j["weight_bits_mean"] = widths.weight_bits_;
  j["kv_bits"] = widths.kv_bits_;
  j.update(chip.to_json());
  if (tech) j.update(tech->values_.to_json());
  j.update(workload.to_json());
  if (widths.profile_) j.update(widths.profile_->to_json());
  return j;
}

void print_breakdown(std::ostream& out, const std::string& title, const nlohmann::json& parts,
                     double total, const std::string& unit) {
  out << "\n" << title << "\n";
  Table t({"block", unit, "share"});
  for (const auto& [key, v] : parts.items()) {
    const double x = v.get<double>();
    t.add_row({key, fixed2(x), total > 0 ? fixed1(100.0 * x / total) + "%" : ""});
  }
  t.add_row({"total", fixed2(total), ""});
  t.print(out, "  ");
}

void write_json_file(const std::filesystem::path& path, const nlohmann::json& j) {
  std::ofstream out(path, std::ios::trunc);
  out << j.dump(2) << "\n";
  if (!out) {
    throw make_error("--out " + path.parent_path().string(), "cannot write " + path.string(),
                     "check that the directory is writable");
  }
}

void make_out_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw make_error("--out " + dir, "cannot create the directory: " + ec.message());
}

}  // namespace hw::cli
