// The chip's number formats as one immutable profile: weight width per tensor kind (so mixes
// such as HC1's 3-bit/6-bit are expressible), per-channel or per-group weight scales, int8
// activations, the KV-cache width and the bit widths of the nonlinear-function tables. Resolved
// once from configs/numerics/<name>.yaml (a `numerics:` block) or any YAML file, plus
// `--set numerics.key=value` overrides, against the declared schema (common/param_tree.h).
// docs/numerics.md specifies what each field means for the datapath.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/param_tree.h"
#include "model/model_config.h"

namespace hw {

// The weight matrices of a Llama-family model, by role. kEmbedding and kLmHead are the same
// matrix when the model ties its embeddings; the chip then stores it once at the kLmHead width.
enum class WeightKind {
  kEmbedding,
  kAttnQ,
  kAttnK,
  kAttnV,
  kAttnOutput,
  kFfnGate,
  kFfnUp,
  kFfnDown,
  kLmHead,
};
constexpr int kWeightKindCount = 9;
// GGUF-style short names, also the keys under numerics.weights.bits.
const char* weight_kind_name(WeightKind kind);
const std::array<WeightKind, kWeightKindCount>& all_weight_kinds();

struct NumericsProfile {
  std::string name_;         // file stem, or the name given
  std::string source_;       // the file it was read from
  std::string description_;

  std::array<int, kWeightKindCount> weight_bits_{};  // by WeightKind, 2..8
  bool group_scales_ = false;     // false: one scale per output channel (row)
  int64_t group_size_ = 128;      // input columns per scale when group_scales_
  int scale_bits_ = 15;           // mantissa bits of each group scale (shared row exponent)
  bool clip_search_ = true;       // MSE-optimal clipping of each group (docs/numerics.md)
  double promote_fraction_ = 0.0;  // fraction of groups per tensor promoted to promote_bits_
  int promote_bits_ = 8;
  std::vector<int64_t> wide_layers_;  // layers whose matrices use at least wide_bits_
  int wide_bits_ = 8;
  // Per-layer widths of the layer matrices by WeightKind (kAttnQ..kFfnDown); an empty list
  // means weights.bits.<kind> in every layer. Written by `hardwire allocate`.
  std::array<std::vector<int64_t>, kWeightKindCount> layer_bits_{};
  // Group-scale fit: round-to-nearest against the plain squared error, or weighted by the
  // per-input-column importance E[x_c^2] measured on calibration text (docs/numerics.md).
  bool imatrix_rounding_ = false;

  int activation_bits_ = 8;       // int8 (or narrower) inputs of every matrix product
  // Matrix-product inputs quantized with one calibrated scale per site (stored with the
  // quantized model) instead of a per-token max-reduction.
  bool static_act_scales_ = false;
  double static_percentile_ = 100.0;  // percentile of the per-token absmax a static scale covers
  std::string calibration_tokens_file_;  // token ids of the calibration text ("" = none)
  int64_t calibration_tokens_ = 512;     // at most this many of them are used
  int residual_frac_bits_ = 12;   // residual stream: int32, Q.residual_frac_bits
  int activation_frac_bits_ = 16;  // q/k/v, attention output, FFN hidden: int32 fixed point
  int kv_bits_ = 8;               // KV cache values, one dyadic scale per position and kv head
  int rsqrt_table_bits_ = 8;
  int newton_steps_ = 1;
  int exp2_table_bits_ = 7;
  int rope_table_bits_ = 10;
  int silu_table_bits_ = 5;       // sigmoid table entries per unit of input
  int logit_frac_bits_ = 16;

  ParamValues values_;  // the resolved tree, for to_json() and source_of()

  // Width of a matrix of `kind` in `layer` (layer is ignored for kEmbedding / kLmHead): the
  // per-kind width, raised to wide_bits_ in wide_layers_. Group promotion comes on top
  // (promote_fraction_); mean_weight_bits counts it.
  int weight_bits_for(WeightKind kind, int64_t layer) const;
  int kv_bits() const { return kv_bits_; }
  // Whether quantize_model needs calibration text (imatrix rounding or static scales).
  bool needs_calibration() const { return imatrix_rounding_ || static_act_scales_; }
  // Throws unless every non-empty layer_bits list has one entry per layer of `config`.
  void check_fits(const ModelConfig& config) const;
  // Storage bits of every parameter in config.params() divided by their count: matrices at
  // their width including promoted groups, norm gains at 16 bits, biases at 32. Scales are
  // excluded (scale_bits_per_weight gives them).
  double mean_weight_bits(const ModelConfig& config) const;
  // Scale storage per matrix weight: scale_bits_ per group plus an 8-bit exponent per row.
  double scale_bits_per_weight(const ModelConfig& config) const;
  // Everything the chip's weight ROM holds for `config`, in bits: matrix values at their widths
  // (promoted groups included), group scale mantissas, one 8-bit exponent per matrix row, norm
  // gains (16 bits) with one 8-bit exponent per gain vector, biases (32 bits), and the static
  // activation scales (two 16-bit mantissas + 8-bit exponents per site) when the profile has them.
  // The cost model of `hardwire allocate` (docs/numerics.md, "ROM budget").
  double rom_bits(const ModelConfig& config) const;
  // Value bits of one [rows][cols] matrix stored at `bits` (promoted groups included).
  double matrix_value_bits(int bits, int64_t rows, int64_t cols) const;
  // Resolved values in canonical units: {"numerics": {...}, "numerics_units": {...}} plus name.
  nlohmann::json to_json() const;
};

// The declared parameters (root "numerics").
const ParamSchema& numerics_schema();

// A name from configs/numerics/ ("w8a8") or a path to a YAML file, then overrides
// "numerics.key=value". Errors name the file or key and list the shipped profiles.
NumericsProfile load_numerics_profile(const std::string& name_or_path,
                                      const std::vector<std::string>& overrides = {});
// From parsed YAML (whose root holds a `numerics:` block); `source` names it in errors.
NumericsProfile numerics_profile_from_yaml(const YAML::Node& root, const std::string& name,
                                           const std::string& source,
                                           const std::vector<std::string>& overrides = {});
// Names of the shipped profiles (configs/numerics/*.yaml), sorted.
std::vector<std::string> numerics_profile_names();

// Overrides that set every weight kind to `bits` (the --bits curve of `hardwire quality`).
std::vector<std::string> uniform_weight_bits_overrides(int bits);

}  // namespace hw
