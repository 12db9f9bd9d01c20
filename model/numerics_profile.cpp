// Numerics profiles: the declared schema, loading by name or path, cross-field validation and
// the bit counts other parts of hardwire (chip area, power) derive from a profile.
#include "model/numerics_profile.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "common/error.h"

namespace hw {
namespace {

namespace fs = std::filesystem;

constexpr int kMinWeightBits = 2;
constexpr int kMaxWeightBits = 8;
// Bits of the parameters that are not matrices (docs/numerics.md): norm gains are int16, the
// Qwen2 q/k/v biases int32 fixed point.
constexpr int kGainBits = 16;
constexpr int kBiasBits = 32;
constexpr int kRowExponentBits = 8;

const std::array<const char*, kWeightKindCount> kKindNames = {
    "embedding", "attn_q", "attn_k", "attn_v", "attn_output",
    "ffn_gate",  "ffn_up", "ffn_down", "lm_head"};

ParamSchema make_schema() {
  ParamSchema s("numerics");
  s.add_string("description", "", "What the profile models (free text)");
  for (WeightKind k : all_weight_kinds()) {
    s.add_int(std::string("weights.bits.") + weight_kind_name(k), 8, "",
              std::string("Signed symmetric width of the ") + weight_kind_name(k) +
                  " weights (values in [-(2^(b-1)-1), 2^(b-1)-1])",
              kMinWeightBits, kMaxWeightBits);
  }
  s.add_string("weights.granularity", "channel",
               "One scale per output channel (row), or one per group of group_size input columns",
               {"channel", "group"})
      .add_int("weights.group_size", 128, "", "Input columns per scale with granularity: group",
               4, 1 << 20)
      .add_int("weights.scale_bits", 15, "",
               "Mantissa bits of each group scale; a row shares one power-of-two exponent", 4, 15)
      .add_bool("weights.clip_search", true,
                "Choose each group's clipping range by minimum squared error instead of absmax")
      .add_real("weights.promote_fraction", 0.0, "",
                "Fraction of the groups of each tensor (those with the largest quantization "
                "error) stored at promote_bits instead of the tensor's width",
                0.0, 1.0)
      .add_int("weights.promote_bits", 8, "", "Width of promoted groups", kMinWeightBits,
               kMaxWeightBits)
      .add_int_list("weights.wide_layers", {}, "",
                    "Layers whose matrices use at least wide_bits (e.g. the first and last)", 0)
      .add_int("weights.wide_bits", 8, "", "Width of the matrices of wide_layers", kMinWeightBits,
               kMaxWeightBits)
      .add_string("weights.rounding", "nearest",
                  "Group-scale fit: nearest (minimum squared error) or imatrix (error weighted by "
                  "each input column's mean square on the calibration text; needs "
                  "calibration.tokens_file)",
                  {"nearest", "imatrix"});
  for (WeightKind k : all_weight_kinds()) {
    if (k == WeightKind::kEmbedding || k == WeightKind::kLmHead) continue;
    s.add_int_list(std::string("weights.layer_bits.") + weight_kind_name(k), {}, "",
                   std::string("Width of the ") + weight_kind_name(k) +
                       " matrix of each layer, one entry per layer (empty: weights.bits." +
                       weight_kind_name(k) + " everywhere)",
                   kMinWeightBits, kMaxWeightBits);
  }
  s.add_string("activations.scales", "dynamic",
               "Scale of each matrix-product input: dynamic (per token, from the vector's "
               "max) or static (one calibrated scale per site, stored with the model; needs "
               "calibration.tokens_file)",
               {"dynamic", "static"})
      .add_real("activations.static_percentile", 100.0, "",
                "Static scales: percentile of the per-token absmax over the calibration text "
                "that maps to the largest integer (larger values saturate)",
                50.0, 100.0)
      .add_string("calibration.tokens_file", "",
                  "Token ids of the calibration text (commas, spaces or newlines) for imatrix "
                  "rounding and static activation scales")
      .add_int("calibration.n_tokens", 512, "",
               "Calibration tokens used (the first ones of the file), in context-sized windows",
               1, int64_t{1} << 24)
      .add_int("activations.bits", 8, "",
               "Width of the dynamically quantized inputs of every matrix product and of the "
               "attention queries",
               4, 8)
      .add_int("activations.residual_frac_bits", 12, "",
               "Fraction bits of the int32 residual stream (range +-2^(31-f))", 4, 24)
      .add_int("activations.frac_bits", 16, "",
               "Fraction bits of the int32 intermediate vectors (q, k, v, attention output, "
               "FFN hidden)",
               8, 24)
      .add_int("kv.bits", 8, "", "Width of cached K and V values (8 = int8, 4 = int4)", 2, 8)
      .add_int("norm.rsqrt_table_bits", 8, "",
               "Index bits of the reciprocal-square-root seed table (3 * 2^(b-2) entries)", 4, 12)
      .add_int("norm.newton_steps", 1, "", "Newton iterations after the rsqrt table", 0, 3)
      .add_int("softmax.exp2_table_bits", 7, "",
               "Index bits of the 2^-x table (2^b + 1 entries, linear interpolation)", 2, 12)
      .add_int("rope.table_bits", 10, "",
               "Index bits of the sine table over one turn (2^b + 1 entries, interpolated)", 6, 14)
      .add_int("silu.table_bits_per_unit", 5, "",
               "Sigmoid table entries per unit of input over [0, 16] (interpolated)", 1, 8)
      .add_int("logits.frac_bits", 16, "", "Fraction bits of the int32 logits", 8, 24);
  return s;
}

std::vector<std::string> numerics_dir_names(const fs::path& dir) {
  return config_file_stems(dir.string(), ".yaml");
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

// Groups of one matrix: rows x ceil(cols / group_size), or one per row.
int64_t groups_of(const NumericsProfile& p, int64_t rows, int64_t cols) {
  if (!p.group_scales_) return rows;
  return rows * ((cols + p.group_size_ - 1) / p.group_size_);
}

// Weight bits of one matrix including promoted groups (each group of a partial last group
// counts its actual columns).
double matrix_bits(const NumericsProfile& p, int bits, int64_t rows, int64_t cols) {
  const double elements = static_cast<double>(rows) * static_cast<double>(cols);
  if (p.promote_fraction_ <= 0.0 || bits >= p.promote_bits_) return elements * bits;
  const int64_t groups = groups_of(p, rows, cols);
  const int64_t promoted = static_cast<int64_t>(std::floor(p.promote_fraction_ * static_cast<double>(groups)));
  const double per_group = elements / static_cast<double>(groups);
  return elements * bits + static_cast<double>(promoted) * per_group * (p.promote_bits_ - bits);
}

}  // namespace

const char* weight_kind_name(WeightKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

const std::array<WeightKind, kWeightKindCount>& all_weight_kinds() {
  static const std::array<WeightKind, kWeightKindCount> kAll = {
      WeightKind::kEmbedding, WeightKind::kAttnQ,   WeightKind::kAttnK,
      WeightKind::kAttnV,     WeightKind::kAttnOutput, WeightKind::kFfnGate,
      WeightKind::kFfnUp,     WeightKind::kFfnDown, WeightKind::kLmHead};
  return kAll;
}

const ParamSchema& numerics_schema() {
  static const ParamSchema kSchema = make_schema();
  return kSchema;
}

int NumericsProfile::weight_bits_for(WeightKind kind, int64_t layer) const {
  int bits = weight_bits_[static_cast<size_t>(kind)];
  if (kind == WeightKind::kEmbedding || kind == WeightKind::kLmHead) return bits;
  const std::vector<int64_t>& per_layer = layer_bits_[static_cast<size_t>(kind)];
  if (!per_layer.empty() && layer >= 0 && layer < static_cast<int64_t>(per_layer.size())) {
    bits = static_cast<int>(per_layer[static_cast<size_t>(layer)]);
  }
  if (std::find(wide_layers_.begin(), wide_layers_.end(), layer) != wide_layers_.end()) {
    return std::max(bits, wide_bits_);
  }
  return bits;
}

double NumericsProfile::mean_weight_bits(const ModelConfig& c) const {
  double bits = 0.0;
  for (int64_t l = 0; l < c.n_layers_; ++l) {
    auto m = [&](WeightKind k, int64_t rows, int64_t cols) {
      bits += matrix_bits(*this, weight_bits_for(k, l), rows, cols);
    };
    m(WeightKind::kAttnQ, c.q_dim(), c.d_model_);
    m(WeightKind::kAttnK, c.kv_dim(), c.d_model_);
    m(WeightKind::kAttnV, c.kv_dim(), c.d_model_);
    m(WeightKind::kAttnOutput, c.d_model_, c.q_dim());
    m(WeightKind::kFfnGate, c.d_ff_, c.d_model_);
    m(WeightKind::kFfnUp, c.d_ff_, c.d_model_);
    m(WeightKind::kFfnDown, c.d_model_, c.d_ff_);
    bits += static_cast<double>(2 * c.d_model_) * kGainBits;
    if (c.qkv_bias_) bits += static_cast<double>(c.q_dim() + 2 * c.kv_dim()) * kBiasBits;
    if (c.qk_norm_) bits += static_cast<double>(2 * c.head_dim_) * kGainBits;
  }
  bits += static_cast<double>(c.d_model_) * kGainBits;  // output_norm
  if (c.tied_embeddings_) {
    bits += matrix_bits(*this, weight_bits_for(WeightKind::kLmHead, -1), c.vocab_, c.d_model_);
  } else {
    bits += matrix_bits(*this, weight_bits_for(WeightKind::kEmbedding, -1), c.vocab_, c.d_model_);
    bits += matrix_bits(*this, weight_bits_for(WeightKind::kLmHead, -1), c.vocab_, c.d_model_);
  }
  const int64_t params = c.params();
  return params > 0 ? bits / static_cast<double>(params) : 0.0;
}

void NumericsProfile::check_fits(const ModelConfig& c) const {
  for (WeightKind k : all_weight_kinds()) {
    const std::vector<int64_t>& v = layer_bits_[static_cast<size_t>(k)];
    if (!v.empty() && static_cast<int64_t>(v.size()) != c.n_layers_) {
      throw make_error((source_.empty() ? std::string("numerics") : source_) +
                           ": numerics.weights.layer_bits." + weight_kind_name(k),
                       "has " + std::to_string(v.size()) + " entries, " + c.name_ + " has " +
                           std::to_string(c.n_layers_) + " layers",
                       "give one width per layer, or an empty list");
    }
  }
  for (int64_t l : wide_layers_) {
    if (l >= c.n_layers_) {
      throw make_error((source_.empty() ? std::string("numerics") : source_) +
                           ": numerics.weights.wide_layers",
                       "layer " + std::to_string(l) + " does not exist in " + c.name_ + " (" +
                           std::to_string(c.n_layers_) + " layers)",
                       "use layer indices 0.." + std::to_string(c.n_layers_ - 1));
    }
  }
}

double NumericsProfile::matrix_value_bits(int bits, int64_t rows, int64_t cols) const {
  return matrix_bits(*this, bits, rows, cols);
}

double NumericsProfile::rom_bits(const ModelConfig& c) const {
  check_fits(c);
  double bits = mean_weight_bits(c) * static_cast<double>(c.params());
  double matrix_weights = 0.0;
  auto m = [&](int64_t r, int64_t cols) {
    matrix_weights += static_cast<double>(r) * static_cast<double>(cols);
  };
  for (int64_t l = 0; l < c.n_layers_; ++l) {
    m(c.q_dim(), c.d_model_);
    m(c.kv_dim(), c.d_model_);
    m(c.kv_dim(), c.d_model_);
    m(c.d_model_, c.q_dim());
    m(c.d_ff_, c.d_model_);
    m(c.d_ff_, c.d_model_);
    m(c.d_model_, c.d_ff_);
  }
  m(c.vocab_, c.d_model_);
  if (!c.tied_embeddings_) m(c.vocab_, c.d_model_);
  bits += scale_bits_per_weight(c) * matrix_weights;
  // One exponent per gain vector: attn_norm, ffn_norm (and q/k norms) per layer, output_norm.
  const int64_t gain_vectors = c.n_layers_ * (c.qk_norm_ ? 4 : 2) + 1;
  bits += static_cast<double>(gain_vectors) * kRowExponentBits;
  if (static_act_scales_) {
    // Sites: attn_norm, o_proj input, ffn_norm, ffn_down input per layer, and the final norm;
    // each holds a scale and its reciprocal as 15-bit mantissas with 8-bit exponents.
    const int64_t sites = 4 * c.n_layers_ + 1;
    bits += static_cast<double>(sites) * 2.0 * (16 + kRowExponentBits);
  }
  return bits;
}

double NumericsProfile::scale_bits_per_weight(const ModelConfig& c) const {
  double weights = 0.0;
  double bits = 0.0;
  auto m = [&](int64_t rows, int64_t cols) {
    weights += static_cast<double>(rows) * static_cast<double>(cols);
    bits += static_cast<double>(groups_of(*this, rows, cols)) * scale_bits_ +
            static_cast<double>(rows) * kRowExponentBits;
  };
  for (int64_t l = 0; l < c.n_layers_; ++l) {
    m(c.q_dim(), c.d_model_);
    m(c.kv_dim(), c.d_model_);
    m(c.kv_dim(), c.d_model_);
    m(c.d_model_, c.q_dim());
    m(c.d_ff_, c.d_model_);
    m(c.d_ff_, c.d_model_);
    m(c.d_model_, c.d_ff_);
  }
  m(c.vocab_, c.d_model_);
  if (!c.tied_embeddings_) m(c.vocab_, c.d_model_);
  return weights > 0.0 ? bits / weights : 0.0;
}

nlohmann::json NumericsProfile::to_json() const {
  nlohmann::json j = values_.to_json();
  j["numerics_name"] = name_;
  j["numerics_source"] = source_;
  return j;
}

NumericsProfile numerics_profile_from_yaml(const YAML::Node& root, const std::string& name,
                                           const std::string& source,
                                           const std::vector<std::string>& overrides) {
  NumericsProfile p;
  p.values_ = resolve_params(numerics_schema(), root, source, overrides);
  const ParamValues& v = p.values_;
  p.name_ = name;
  p.source_ = source;
  p.description_ = v.get_string("description");
  for (WeightKind k : all_weight_kinds()) {
    p.weight_bits_[static_cast<size_t>(k)] =
        static_cast<int>(v.get_int(std::string("weights.bits.") + weight_kind_name(k)));
  }
  p.group_scales_ = v.get_string("weights.granularity") == "group";
  p.group_size_ = v.get_int("weights.group_size");
  p.scale_bits_ = static_cast<int>(v.get_int("weights.scale_bits"));
  p.clip_search_ = v.get_bool("weights.clip_search");
  p.promote_fraction_ = v.get_real("weights.promote_fraction");
  p.promote_bits_ = static_cast<int>(v.get_int("weights.promote_bits"));
  p.wide_layers_ = v.get_int_list("weights.wide_layers");
  p.wide_bits_ = static_cast<int>(v.get_int("weights.wide_bits"));
  p.imatrix_rounding_ = v.get_string("weights.rounding") == "imatrix";
  for (WeightKind k : all_weight_kinds()) {
    if (k == WeightKind::kEmbedding || k == WeightKind::kLmHead) continue;
    p.layer_bits_[static_cast<size_t>(k)] =
        v.get_int_list(std::string("weights.layer_bits.") + weight_kind_name(k));
  }
  p.static_act_scales_ = v.get_string("activations.scales") == "static";
  p.static_percentile_ = v.get_real("activations.static_percentile");
  p.calibration_tokens_file_ = v.get_string("calibration.tokens_file");
  p.calibration_tokens_ = v.get_int("calibration.n_tokens");
  p.activation_bits_ = static_cast<int>(v.get_int("activations.bits"));
  p.residual_frac_bits_ = static_cast<int>(v.get_int("activations.residual_frac_bits"));
  p.activation_frac_bits_ = static_cast<int>(v.get_int("activations.frac_bits"));
  p.kv_bits_ = static_cast<int>(v.get_int("kv.bits"));
  p.rsqrt_table_bits_ = static_cast<int>(v.get_int("norm.rsqrt_table_bits"));
  p.newton_steps_ = static_cast<int>(v.get_int("norm.newton_steps"));
  p.exp2_table_bits_ = static_cast<int>(v.get_int("softmax.exp2_table_bits"));
  p.rope_table_bits_ = static_cast<int>(v.get_int("rope.table_bits"));
  p.silu_table_bits_ = static_cast<int>(v.get_int("silu.table_bits_per_unit"));
  p.logit_frac_bits_ = static_cast<int>(v.get_int("logits.frac_bits"));

  const std::string where = source.empty() ? std::string("numerics") : source;
  if (p.silu_table_bits_ > p.activation_frac_bits_) {
    throw make_error(where + ": numerics.silu.table_bits_per_unit",
                     std::to_string(p.silu_table_bits_) + " exceeds activations.frac_bits " +
                         std::to_string(p.activation_frac_bits_),
                     "the sigmoid table cannot be finer than the activation resolution");
  }
  if (p.needs_calibration() && p.calibration_tokens_file_.empty()) {
    throw make_error(where + ": numerics.calibration.tokens_file",
                     std::string("is empty, but ") +
                         (p.imatrix_rounding_ ? "weights.rounding: imatrix" : "activations.scales: static") +
                         " needs calibration text",
                     "give a file of token ids, e.g. --set numerics.calibration.tokens_file=F");
  }
  if (!p.calibration_tokens_file_.empty()) {
    std::error_code ec;
    if (!fs::is_regular_file(p.calibration_tokens_file_, ec)) {
      throw make_error(where + ": numerics.calibration.tokens_file",
                       "'" + p.calibration_tokens_file_ + "' is not a readable file",
                       "give the path of a file of token ids (relative to the working directory)");
    }
  }
  if (p.promote_fraction_ > 0.0) {
    int lowest = kMaxWeightBits;
    for (int b : p.weight_bits_) lowest = std::min(lowest, b);
    if (p.promote_bits_ <= lowest) {
      throw make_error(where + ": numerics.weights.promote_bits",
                       std::to_string(p.promote_bits_) +
                           " is not wider than any tensor width, so nothing would be promoted",
                       "raise promote_bits or set promote_fraction to 0");
    }
  }
  return p;
}

NumericsProfile load_numerics_profile(const std::string& name_or_path,
                                      const std::vector<std::string>& overrides) {
  if (name_or_path.empty()) {
    throw make_error("--numerics", "empty profile name",
                     "give a name such as w8a8 or a path to a YAML file");
  }
  std::error_code ec;
  const fs::path given(name_or_path);
  const std::string ext = given.extension().string();
  fs::path file;
  if (ext == ".yaml" || ext == ".yml" || name_or_path.find('/') != std::string::npos) {
    if (!fs::is_regular_file(given, ec)) {
      throw make_error(name_or_path, "numerics profile file not found",
                       "check the path, or give a shipped profile name: " +
                           joined(numerics_profile_names()));
    }
    file = given;
  } else {
    const fs::path dir = fs::path(configs_dir()) / "numerics";
    file = dir / (name_or_path + ".yaml");
    if (!fs::is_regular_file(file, ec)) {
      const std::vector<std::string> names = numerics_dir_names(dir);
      const std::string near = closest_match(name_or_path, names);
      throw make_error("--numerics " + name_or_path, "no such numerics profile",
                       (near.empty() ? std::string() : "did you mean '" + near + "'? ") +
                           "shipped profiles: " + joined(names) + "; or give a YAML file path");
    }
  }
  const YAML::Node root = load_yaml_file(file.string());
  if (root && !root.IsNull() && !root.IsMap()) {
    throw make_error(file.string(), "expected a mapping with a `numerics:` block");
  }
  if (!root || !root["numerics"]) {
    throw make_error(file.string(), "has no `numerics:` block",
                     "put the profile's keys under a top-level `numerics:` key");
  }
  check_top_level_keys(root, {"numerics"}, file.string());
  return numerics_profile_from_yaml(root, file.stem().string(), file.string(), overrides);
}

std::vector<std::string> numerics_profile_names() {
  return numerics_dir_names(fs::path(configs_dir()) / "numerics");
}

std::vector<std::string> uniform_weight_bits_overrides(int bits) {
  std::vector<std::string> out;
  for (WeightKind k : all_weight_kinds()) {
    out.push_back(std::string("numerics.weights.bits.") + weight_kind_name(k) + "=" +
                  std::to_string(bits));
  }
  return out;
}

}  // namespace hw
