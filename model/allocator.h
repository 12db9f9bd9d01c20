// ROM-budgeted mixed precision (`hardwire allocate`): chooses a weight width per tensor (per
// layer and matrix kind, plus the embedding and LM head) that minimises the predicted quality
// loss on calibration text subject to the chip's weight-ROM capacity. Method
// (docs/numerics.md, "Allocating widths under a ROM budget"): the sensitivity of each tensor at
// each width is the measured increase of mean KL(float || chip) when that tensor alone is
// lowered from the widest candidate width; losses are taken as additive, and the widths are
// chosen by an exact multiple-choice knapsack (dynamic programming over the ROM bits, costs
// rounded up to a grid so the result always fits), with the cost model of
// NumericsProfile::rom_bits.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/numerics_profile.h"
#include "model/quality.h"
#include "model/weights.h"

namespace hw {

// One matrix the allocator gives a width. layer_ is -1 for the embedding and the LM head.
struct AllocTensor {
  std::string name_;  // GGUF-style: "token_embd", "blk.3.ffn_down", "output"
  WeightKind kind_ = WeightKind::kAttnQ;
  int64_t layer_ = -1;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
};
// The matrices of `config` in a fixed order: token_embd (untied models only), then per layer
// attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down, then output (the LM head;
// the tied embedding matrix when the model ties them).
std::vector<AllocTensor> allocatable_tensors(const ModelConfig& config);

// `--set`-style overrides that give tensor i the width bits[i] (weights.bits.embedding and
// lm_head, weights.layer_bits.<kind> lists).
std::vector<std::string> allocation_overrides(const ModelConfig& config,
                                              const std::vector<AllocTensor>& tensors,
                                              const std::vector<int>& bits);

// Builds a profile from the base profile's overrides plus extra ones (the caller owns the base:
// a name or file and its --set overrides).
using ProfileMaker = std::function<NumericsProfile(const std::vector<std::string>& extra)>;

struct Sensitivity {
  std::vector<int> widths_;                  // ascending
  double reference_kl_ = 0.0;                // every tensor at the widest width
  std::vector<std::vector<double>> delta_kl_;  // [tensor][width index]: KL increase (0 at the widest)
};
// Measures the sensitivity of every tensor at every width on `tokens` (1 + tensors x
// (widths - 1) golden-model runs). `progress` (may be empty) is called after each run with
// (done, total).
Sensitivity measure_sensitivity(const ModelWeights& weights, const ProfileMaker& make_profile,
                                const std::vector<AllocTensor>& tensors,
                                const std::vector<int>& widths, const std::vector<int32_t>& tokens,
                                const ScoreOptions& options,
                                const std::function<void(int64_t, int64_t)>& progress = {});

struct Allocation {
  std::vector<int> bits_;        // per tensor
  double predicted_delta_kl_ = 0.0;  // sum of the chosen sensitivities
  double rom_bits_ = 0.0;        // NumericsProfile::rom_bits of the result
  double budget_bits_ = 0.0;
};
// Cost of each tensor at each width (value bits) and the ROM bits that do not depend on the
// widths (scales, exponents, gains, biases), from the profile's cost model.
struct RomCosts {
  std::vector<std::vector<double>> value_bits_;  // [tensor][width index]
  double fixed_bits_ = 0.0;
};
RomCosts rom_costs(const ModelConfig& config, const ProfileMaker& make_profile,
                   const std::vector<AllocTensor>& tensors, const std::vector<int>& widths);

// The multiple-choice knapsack: minimum sum of delta_kl_ with fixed + sum of value bits <=
// budget_bits. Throws when even the narrowest widths do not fit.
Allocation allocate_widths(const Sensitivity& sensitivity, const RomCosts& costs,
                           double budget_bits);

// A random allocation that fits the budget, for comparison: every tensor starts at the
// narrowest width; three passes over the tensors in a seeded random order give each a width
// drawn uniformly among those that still fit.
std::vector<int> random_allocation(const RomCosts& costs, const std::vector<int>& widths,
                                   double budget_bits, uint64_t seed);

// The resolved profile as a YAML document with a `numerics:` block (every key, so the file
// stands alone), headed by `comment` lines.
std::string profile_yaml(const NumericsProfile& profile, const std::vector<std::string>& comment);

}  // namespace hw
