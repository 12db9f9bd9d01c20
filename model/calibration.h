// Calibration of chip numerics on text: the statistics of every matrix-product input measured
// with the golden model on calibration tokens, used by importance-weighted rounding
// (weights.rounding: imatrix, in the spirit of llama.cpp's imatrix) and by static activation
// scales (activations.scales: static). quantize_model calls these when the profile
// needs_calibration(); docs/numerics.md ("Calibration") specifies both.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/fixed_point.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"
#include "model/weights.h"

namespace hw {

// The matrix-input sites of the datapath: per layer the attn_norm output (Wq/Wk/Wv), the
// attention output (Wo), the ffn_norm output (Wgate/Wup) and the FFN hidden vector (Wdown);
// once, the final-norm output (LM head).
enum class ActSite { kAttnIn, kAttnOut, kFfnIn, kFfnHidden, kFinal };

// Per site, per input column, the mean over calibration tokens of the real input squared.
// Each member is indexed by layer; final_ has one entry.
struct ActivationStats {
  std::vector<std::vector<double>> attn_in_, attn_out_, ffn_in_, ffn_hidden_, final_;
};

// Token ids from a file (separated by commas, spaces or newlines); `what` names it in errors.
std::vector<int32_t> read_token_ids(const std::string& path, const std::string& what);

// The profile's calibration tokens: the first calibration.n_tokens ids of
// calibration.tokens_file, each checked against the vocabulary of `config`.
std::vector<int32_t> calibration_tokens(const NumericsProfile& profile, const ModelConfig& config);

// Runs the golden model of `model` with per-token dynamic scales over `tokens`, in consecutive
// windows of the model's context (fresh KV cache each), and calls `visit` at every site of
// every position with the quantized input vector and its scale (real = q * scale).
using SiteVisitor = std::function<void(ActSite site, int64_t layer, const int8_t* q, int64_t n,
                                       fx::Dyadic scale)>;
void visit_activation_sites(const QuantizedModel& model, const std::vector<int32_t>& tokens,
                            const SiteVisitor& visit);

// Importance of every input column for the imatrix rule: the mean squares of the inputs,
// measured on an 8-bit proxy of the model (every matrix int8, round-to-nearest, dynamic scales,
// the profile's other settings), close to float (the w8a8 rows of docs/numerics.md).
ActivationStats importance_stats(const ModelWeights& weights, const NumericsProfile& profile,
                                 const std::vector<int32_t>& tokens);

// Static scales of `model` (its own weights, dynamic scales during calibration): per site, the
// static_percentile-th percentile (nearest rank) of the per-token absmax over `tokens`,
// divided by the largest activation integer. Fills model.act_scales_ and final_act_scale_.
void calibrate_static_scales(QuantizedModel& model, const std::vector<int32_t>& tokens);

}  // namespace hw
