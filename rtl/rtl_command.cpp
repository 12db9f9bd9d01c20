// `hardwire rtl generate` and `hardwire rtl synth` (rtl_command.h). generate writes a slice of a
// tensor, or every weight-carrying block of a layer, as SystemVerilog; synth generates one
// matrix block per weight width and runs yosys on it (docs/rtl.md: method and limits).
#include "rtl/rtl_command.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "model/golden_model.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"
#include "model/weights.h"
#include "rtl/rtl_gen.h"

#ifndef HARDWIRE_RTL_SOURCE_DIR
#define HARDWIRE_RTL_SOURCE_DIR ""
#endif

namespace hw::rtl {
namespace {

struct Options {
  std::string model_;
  std::string numerics_ = "w8a8";
  std::vector<std::string> overrides_;
  uint64_t seed_ = 0;
  CLI::Option* seed_option_ = nullptr;
  int64_t layer_ = 0;
  std::string tensor_;
  std::string rows_;
  int lanes_in_ = 16;
  int lanes_out_ = 4;
  std::string fabric_ = "product-select";
  std::string module_prefix_ = "hw_";
  std::string out_;
  std::vector<int> bits_ = {2, 3, 4, 6, 8};
  bool json_ = false;
  std::string keep_dir_;
};

void add_model_options(CLI::App* cmd, Options& o) {
  cmd->add_option("--model", o.model_,
                  "A .gguf / .safetensors checkpoint, or with --synthetic-seed a preset name")
      ->required();
  cmd->add_option("--numerics", o.numerics_, "Numerics profile name or YAML file (default w8a8)");
  cmd->add_option("--set", o.overrides_, "Override a profile value, e.g. --set numerics.kv.bits=4");
  o.seed_option_ = cmd->add_option("--synthetic-seed", o.seed_,
                                   "Seeded random weights of --model's shape instead of a checkpoint");
  cmd->add_option("--layer", o.layer_, "Decoder layer (default 0)");
  cmd->add_option("--lanes-in", o.lanes_in_, "Input int8 lanes per cycle of a matrix block (default 16)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--lanes-out", o.lanes_out_, "Output int32 lanes per cycle (default 4)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--fabric", o.fabric_,
                  "Product fabric: product-select (HC1-style) or constant-multipliers");
}

ModelWeights load_weights_option(const Options& o) {
  if (o.seed_option_->count() == 0) return load_weights(o.model_);
  return synthetic_weights(load_model_config(o.model_), o.seed_);
}

// "a:b" -> [a, b); empty -> [0, rows).
std::pair<int64_t, int64_t> parse_rows(const std::string& s, int64_t rows) {
  if (s.empty()) return {0, rows};
  const std::regex re(R"(^(\d+):(\d+)$)");
  std::smatch m;
  if (!std::regex_match(s, m, re)) {
    throw make_error("--rows " + s, "not a row range", "write a:b (rows a..b-1), e.g. 0:64");
  }
  const int64_t a = std::stoll(m[1]), b = std::stoll(m[2]);
  if (a >= b || b > rows) {
    throw make_error("--rows " + s, "needs 0 <= a < b <= " + std::to_string(rows));
  }
  return {a, b};
}

const FloatTensor& float_tensor(const ModelWeights& w, const std::string& tensor, int64_t layer) {
  if (tensor == "lm_head") return w.output_;
  if (layer < 0 || layer >= static_cast<int64_t>(w.layers_.size())) {
    throw make_error("--layer", "layer " + std::to_string(layer) + " is outside the model's " +
                                    std::to_string(w.layers_.size()) + " layers");
  }
  const LayerWeights& l = w.layers_[static_cast<size_t>(layer)];
  if (tensor == "attn_q") return l.wq_;
  if (tensor == "attn_k") return l.wk_;
  if (tensor == "attn_v") return l.wv_;
  if (tensor == "attn_output") return l.wo_;
  if (tensor == "ffn_gate") return l.w_gate_;
  if (tensor == "ffn_up") return l.w_up_;
  if (tensor == "ffn_down") return l.w_down_;
  throw make_error("--tensor", "unknown tensor '" + tensor + "'",
                   "use attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down or lm_head");
}

void run_generate(const Options& o) {
  const ModelWeights weights = load_weights_option(o);
  std::vector<std::string> ov = o.overrides_;
  const NumericsProfile profile = load_numerics_profile(o.numerics_, ov);
  const QuantizedModel qm = quantize_model(weights, profile);
  const Fabric fabric = parse_fabric(o.fabric_);
  std::vector<GeneratedFile> files;
  if (o.tensor_.empty() || o.tensor_ == "layer") {
    const GoldenModel golden(qm, 0);
    files = generate_layer(qm, golden, o.layer_, o.lanes_in_, o.lanes_out_, fabric,
                           o.module_prefix_);
  } else {
    const QuantizedMatrix& w = tensor_matrix(qm, o.tensor_, o.layer_);
    MatvecSpec spec;
    spec.tensor_ = o.tensor_;
    spec.layer_ = o.tensor_ == "lm_head" ? -1 : o.layer_;
    std::tie(spec.row_begin_, spec.row_end_) = parse_rows(o.rows_, w.rows_);
    spec.lanes_in_ = o.lanes_in_;
    spec.lanes_out_ = o.lanes_out_;
    spec.fabric_ = fabric;
    spec.module_prefix_ = o.module_prefix_;
    MatvecInfo info;
    const std::string text = generate_matvec(qm, spec, &info);
    files.push_back({info.module_ + ".sv", text});
  }
  for (const std::string& p : write_files(o.out_, files)) std::cout << p << "\n";
}

int64_t stat_number(const std::string& text, const std::string& key) {
  const std::regex re(key + R"(:?\s+(\d+))");
  std::smatch m;
  int64_t v = -1;
  std::string::const_iterator it = text.begin();
  while (std::regex_search(it, text.end(), m, re)) {
    v = std::stoll(m[1]);
    it = m.suffix().first;
  }
  return v;
}

void run_synth(const Options& o) {
  const ModelWeights weights = load_weights_option(o);
  const std::string tensor = o.tensor_.empty() ? "attn_q" : o.tensor_;
  const FloatTensor& full = float_tensor(weights, tensor, o.layer_);
  const std::string rows = o.rows_.empty() ? "0:8" : o.rows_;
  const auto [r0, r1] = parse_rows(rows, full.rows_);
  FloatTensor slice;
  slice.rows_ = r1 - r0;
  slice.cols_ = full.cols_;
  slice.data_.assign(full.data_.begin() + r0 * full.cols_, full.data_.begin() + r1 * full.cols_);
  const std::string work =
      o.keep_dir_.empty()
          ? (std::filesystem::temp_directory_path() / ("hardwire-synth-" + std::to_string(::getpid())))
                .string()
          : o.keep_dir_;
  std::filesystem::create_directories(work);
  std::vector<SynthFigures> results;
  for (int bits : o.bits_) {
    if (bits < 2 || bits > 8) throw make_error("--bits", "widths must be 2..8");
    std::vector<std::string> ov = o.overrides_;
    for (const std::string& s : uniform_weight_bits_overrides(bits)) ov.push_back(s);
    const NumericsProfile profile = load_numerics_profile(o.numerics_, ov);
    const QuantizedMatrix q = quantize_matrix(slice, bits, profile, tensor);
    MatvecSpec spec;
    spec.tensor_ = tensor;
    spec.layer_ = o.layer_;
    spec.lanes_in_ = o.lanes_in_;
    spec.lanes_out_ = o.lanes_out_;
    spec.fabric_ = parse_fabric(o.fabric_);
    spec.module_ = "hw_synth_" + tensor + "_w" + std::to_string(bits);
    spec.fabric_only_ = true;
    MatvecInfo info;
    const std::string text = generate_matvec(q, weights.config_.name_, profile, spec, &info);
    const std::string file = (std::filesystem::path(work) / (spec.module_ + ".sv")).string();
    std::ofstream(file) << text;
    // The weight fabric lives in matvec_core.sv (hw_matvec_fabric).
    std::vector<std::string> files;
    for (const std::string& core : core_rtl_files()) {
      if (core.find("matvec_core.sv") != std::string::npos) files.push_back(core);
    }
    files.push_back(file);
    if (!o.json_) {
      std::cerr << "rtl synth: " << spec.module_ << " (" << info.rows_ << " x " << info.cols_
                << " at " << bits << " bit) ...\n";
    }
    SynthFigures f = run_yosys(files, spec.module_, work);
    f.weight_bits_ = bits;
    f.rows_ = info.rows_;
    f.cols_ = info.cols_;
    f.weight_bits_total_ = info.rows_ * info.cols_ * bits;
    results.push_back(f);
  }
  if (o.keep_dir_.empty()) std::filesystem::remove_all(work);
  if (o.json_) {
    nlohmann::json j;
    j["model"] = weights.config_.name_;
    j["tensor"] = tensor;
    j["layer"] = o.layer_;
    j["rows"] = rows;
    j["lanes_in"] = o.lanes_in_;
    j["lanes_out"] = o.lanes_out_;
    j["fabric"] = o.fabric_;
    j["cell_library"] = "yosys generic CMOS (abc -g cmos2: NAND, NOR, NOT; DFF), stat -tech cmos";
    for (const SynthFigures& f : results) {
      j["widths"].push_back({{"weight_bits", f.weight_bits_},
                             {"module", f.module_},
                             {"weights", f.rows_ * f.cols_},
                             {"weight_bits_total", f.weight_bits_total_},
                             {"cells", f.cells_},
                             {"flip_flops", f.flip_flops_},
                             {"transistors", f.transistors_},
                             {"transistors_per_weight_bit",
                              double(f.transistors_) / double(f.weight_bits_total_)},
                             {"cells_per_weight_bit", double(f.cells_) / double(f.weight_bits_total_)},
                             {"yosys_seconds", f.seconds_}});
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("%-6s %8s %10s %9s %12s %14s %14s\n", "bits", "weights", "cells", "flops",
              "transistors", "cells/wbit", "transistors/wbit");
  for (const SynthFigures& f : results) {
    std::printf("%-6d %8lld %10lld %9lld %12lld %14.2f %14.2f\n", f.weight_bits_,
                static_cast<long long>(f.rows_ * f.cols_), static_cast<long long>(f.cells_),
                static_cast<long long>(f.flip_flops_), static_cast<long long>(f.transistors_),
                double(f.cells_) / double(f.weight_bits_total_),
                double(f.transistors_) / double(f.weight_bits_total_));
  }
}

}  // namespace

std::string core_rtl_dir() {
  if (const char* env = std::getenv("HARDWIRE_RTL_DIR")) return env;
  return HARDWIRE_RTL_SOURCE_DIR;
}

std::vector<std::string> core_rtl_files() {
  const std::filesystem::path dir = core_rtl_dir();
  std::vector<std::string> files;
  for (const char* f : {"requant.sv", "matvec_core.sv", "quantize.sv", "rms_norm.sv", "rope.sv",
                        "softmax.sv", "attention.sv", "kv_sram.sv"}) {
    const std::filesystem::path p = dir / f;
    if (!std::filesystem::exists(p)) {
      throw make_error("rtl", "core file " + p.string() + " not found",
                       "set HARDWIRE_RTL_DIR to the rtl/ folder of the hardwire sources");
    }
    files.push_back(p.string());
  }
  return files;
}

SynthFigures run_yosys(const std::vector<std::string>& files, const std::string& top,
                       const std::string& work_dir) {
  const std::string script = (std::filesystem::path(work_dir) / (top + ".ys")).string();
  const std::string log = (std::filesystem::path(work_dir) / (top + ".log")).string();
  const std::string stat = (std::filesystem::path(work_dir) / (top + ".stat")).string();
  {
    std::ofstream s(script);
    s << "read_verilog -sv -defer -I" << core_rtl_dir();
    for (const std::string& f : files) s << " " << f;
    s << "\nhierarchy -check -top " << top << "\nsynth -flatten -top " << top
      << "\nabc -g cmos2\nopt_clean\ntee -o " << stat << " stat -tech cmos\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::string cmd = "yosys -q -l " + log + " -s " + script + " > /dev/null 2>&1";
  const int rc = std::system(cmd.c_str());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ifstream in(stat);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  if (rc != 0 || text.empty()) {
    std::ifstream lg(log);
    std::stringstream ls;
    ls << lg.rdbuf();
    std::string tail = ls.str();
    if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
    throw make_error("rtl synth", "yosys failed on " + top + " (exit " + std::to_string(rc) +
                                      "):\n" + tail,
                     "is yosys installed (apt-get install yosys)?");
  }
  SynthFigures f;
  f.module_ = top;
  f.cells_ = stat_number(text, "Number of cells");
  f.transistors_ = stat_number(text, "Estimated number of transistors");
  f.flip_flops_ = 0;
  const std::regex dff(R"(\$_DFF\w*\s+(\d+))");
  for (std::sregex_iterator it(text.begin(), text.end(), dff), end; it != end; ++it) {
    f.flip_flops_ += std::stoll((*it)[1]);
  }
  f.seconds_ = seconds;
  return f;
}

void add_rtl_command(CLI::App& app) {
  CLI::App* rtl = app.add_subcommand("rtl", "Verilog blocks with the weights as constants (docs/rtl.md)");
  rtl->require_subcommand(1);
  auto opts = std::make_shared<Options>();
  CLI::App* gen = rtl->add_subcommand(
      "generate", "Write a tensor slice (--tensor, --rows) or a whole layer as SystemVerilog");
  add_model_options(gen, *opts);
  gen->add_option("--tensor", opts->tensor_,
                  "attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down, lm_head; "
                  "omitted: every block of the layer");
  gen->add_option("--rows", opts->rows_, "Row range a:b (rows a..b-1; default all)");
  gen->add_option("--module-prefix", opts->module_prefix_,
                  "Start of the module names (default hw_: hw_mv_l0_attn_q_r0_63); give each "
                  "model its own (hw_tiny_gqa_s_) to verilate several into one library");
  gen->add_option("--out", opts->out_, "Output directory")->required();
  gen->callback([opts]() { run_generate(*opts); });

  auto sopts = std::make_shared<Options>();
  CLI::App* syn = rtl->add_subcommand(
      "synth", "Synthesize a generated matrix block with yosys at each weight width: cells and "
               "estimated transistors per weight bit");
  add_model_options(syn, *sopts);
  syn->add_option("--tensor", sopts->tensor_, "Tensor (default attn_q)");
  syn->add_option("--rows", sopts->rows_, "Row range a:b (default 0:8)");
  syn->add_option("--bits", sopts->bits_, "Weight widths (default 2 3 4 6 8)")->delimiter(',');
  syn->add_option("--keep", sopts->keep_dir_, "Keep the generated files and yosys logs here");
  syn->add_flag("--json", sopts->json_, "JSON output");
  syn->callback([sopts]() { run_synth(*sopts); });
}

}  // namespace hw::rtl
