// ROM-budgeted width allocation (allocator.h): sensitivities by measurement, widths by an exact
// multiple-choice knapsack over a grid of ROM bits.
#include "model/allocator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>

#include "common/error.h"
#include "model/quantizer.h"

namespace hw {
namespace {

// Grid of the knapsack: the free budget is cut into this many units; each cost is rounded up to
// whole units, so the chosen widths always fit, and the optimum is lost by at most one unit
// per tensor (tensors / kGridUnits of the budget).
constexpr int64_t kGridUnits = 20000;

const std::array<WeightKind, 7> kLayerKinds = {
    WeightKind::kAttnQ,    WeightKind::kAttnK, WeightKind::kAttnV,   WeightKind::kAttnOutput,
    WeightKind::kFfnGate, WeightKind::kFfnUp, WeightKind::kFfnDown};

void emit_yaml(std::ostringstream& out, const nlohmann::json& node, int indent) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    out << std::string(static_cast<size_t>(indent), ' ') << it.key() << ":";
    const nlohmann::json& v = it.value();
    if (v.is_object()) {
      out << "\n";
      emit_yaml(out, v, indent + 2);
    } else if (v.is_array()) {
      out << " [";
      for (size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i].dump();
      out << "]\n";
    } else {
      out << " " << v.dump() << "\n";
    }
  }
}

}  // namespace

std::vector<AllocTensor> allocatable_tensors(const ModelConfig& c) {
  std::vector<AllocTensor> t;
  if (!c.tied_embeddings_) {
    t.push_back({"token_embd", WeightKind::kEmbedding, -1, c.vocab_, c.d_model_});
  }
  for (int64_t l = 0; l < c.n_layers_; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    t.push_back({p + "attn_q", WeightKind::kAttnQ, l, c.q_dim(), c.d_model_});
    t.push_back({p + "attn_k", WeightKind::kAttnK, l, c.kv_dim(), c.d_model_});
    t.push_back({p + "attn_v", WeightKind::kAttnV, l, c.kv_dim(), c.d_model_});
    t.push_back({p + "attn_output", WeightKind::kAttnOutput, l, c.d_model_, c.q_dim()});
    t.push_back({p + "ffn_gate", WeightKind::kFfnGate, l, c.d_ff_, c.d_model_});
    t.push_back({p + "ffn_up", WeightKind::kFfnUp, l, c.d_ff_, c.d_model_});
    t.push_back({p + "ffn_down", WeightKind::kFfnDown, l, c.d_model_, c.d_ff_});
  }
  t.push_back({"output", WeightKind::kLmHead, -1, c.vocab_, c.d_model_});
  return t;
}

std::vector<std::string> allocation_overrides(const ModelConfig& c,
                                              const std::vector<AllocTensor>& tensors,
                                              const std::vector<int>& bits) {
  if (bits.size() != tensors.size()) {
    throw make_error("allocation", std::to_string(bits.size()) + " widths for " +
                                       std::to_string(tensors.size()) + " tensors");
  }
  std::array<std::vector<int>, kWeightKindCount> per_layer;
  for (auto& v : per_layer) v.assign(static_cast<size_t>(c.n_layers_), 0);
  std::vector<std::string> out = {"numerics.weights.wide_layers=[]"};
  for (size_t i = 0; i < tensors.size(); ++i) {
    const AllocTensor& t = tensors[i];
    if (t.layer_ < 0) {
      out.push_back(std::string("numerics.weights.bits.") + weight_kind_name(t.kind_) + "=" +
                    std::to_string(bits[i]));
      if (t.kind_ == WeightKind::kLmHead && c.tied_embeddings_) {
        out.push_back("numerics.weights.bits.embedding=" + std::to_string(bits[i]));
      }
    } else {
      per_layer[static_cast<size_t>(t.kind_)][static_cast<size_t>(t.layer_)] = bits[i];
    }
  }
  for (WeightKind k : kLayerKinds) {
    const std::vector<int>& v = per_layer[static_cast<size_t>(k)];
    std::string list = "[";
    for (size_t l = 0; l < v.size(); ++l) list += (l ? "," : "") + std::to_string(v[l]);
    list += "]";
    // The per-kind width is set to the layers' lowest so that the profile reads sensibly too.
    const int lowest = v.empty() ? 8 : *std::min_element(v.begin(), v.end());
    out.push_back(std::string("numerics.weights.bits.") + weight_kind_name(k) + "=" +
                  std::to_string(lowest));
    out.push_back(std::string("numerics.weights.layer_bits.") + weight_kind_name(k) + "=" + list);
  }
  return out;
}

Sensitivity measure_sensitivity(const ModelWeights& weights, const ProfileMaker& make_profile,
                                const std::vector<AllocTensor>& tensors,
                                const std::vector<int>& widths, const std::vector<int32_t>& tokens,
                                const ScoreOptions& options,
                                const std::function<void(int64_t, int64_t)>& progress) {
  Sensitivity s;
  s.widths_ = widths;
  std::sort(s.widths_.begin(), s.widths_.end());
  s.widths_.erase(std::unique(s.widths_.begin(), s.widths_.end()), s.widths_.end());
  if (s.widths_.empty()) throw make_error("--widths", "no candidate width");
  const ModelConfig& c = weights.config_;
  const FloatWindows ref = float_windows(weights, tokens, options);
  const int widest = s.widths_.back();
  const std::vector<int> top(tensors.size(), widest);
  const int64_t total = 1 + static_cast<int64_t>(tensors.size() * (s.widths_.size() - 1));
  int64_t done = 0;
  auto kl_of = [&](const std::vector<int>& bits) {
    const NumericsProfile p = make_profile(allocation_overrides(c, tensors, bits));
    ScoreOptions o = options;
    o.bootstrap_samples_ = 0;
    const double kl = measure_stream_quality(weights, p, tokens, ref, o).mean_kl_;
    ++done;
    if (progress) progress(done, total);
    return kl;
  };
  s.reference_kl_ = kl_of(top);
  s.delta_kl_.assign(tensors.size(), std::vector<double>(s.widths_.size(), 0.0));
  for (size_t t = 0; t < tensors.size(); ++t) {
    for (size_t w = 0; w + 1 < s.widths_.size(); ++w) {
      std::vector<int> bits = top;
      bits[t] = s.widths_[w];
      s.delta_kl_[t][w] = kl_of(bits) - s.reference_kl_;
    }
  }
  return s;
}

RomCosts rom_costs(const ModelConfig& c, const ProfileMaker& make_profile,
                   const std::vector<AllocTensor>& tensors, const std::vector<int>& widths) {
  RomCosts r;
  const int narrowest = *std::min_element(widths.begin(), widths.end());
  const NumericsProfile p = make_profile(
      allocation_overrides(c, tensors, std::vector<int>(tensors.size(), narrowest)));
  double values_at_narrowest = 0.0;
  r.value_bits_.resize(tensors.size());
  for (size_t t = 0; t < tensors.size(); ++t) {
    for (int w : widths) {
      r.value_bits_[t].push_back(p.matrix_value_bits(w, tensors[t].rows_, tensors[t].cols_));
    }
    values_at_narrowest += p.matrix_value_bits(narrowest, tensors[t].rows_, tensors[t].cols_);
  }
  r.fixed_bits_ = p.rom_bits(c) - values_at_narrowest;
  return r;
}

Allocation allocate_widths(const Sensitivity& s, const RomCosts& costs, double budget_bits) {
  const size_t n = s.delta_kl_.size();
  const size_t nw = s.widths_.size();
  if (costs.value_bits_.size() != n) throw make_error("allocate", "costs and sensitivities differ");
  double min_bits = costs.fixed_bits_;
  for (size_t t = 0; t < n; ++t) {
    min_bits += *std::min_element(costs.value_bits_[t].begin(), costs.value_bits_[t].end());
  }
  if (budget_bits < min_bits) {
    std::ostringstream m;
    m.precision(6);
    m << "ROM budget of " << budget_bits << " bits is below the smallest allocation (every tensor at "
      << s.widths_.front() << " bits: " << min_bits << " bits)";
    throw make_error("--rom-bits", m.str(), "raise the budget or allow a narrower width");
  }
  const double free_bits = budget_bits - costs.fixed_bits_;
  const double unit = std::max(1.0, free_bits / static_cast<double>(kGridUnits));
  const int64_t cap = static_cast<int64_t>(std::floor(free_bits / unit));
  const double kInf = std::numeric_limits<double>::infinity();
  // dp[k]: least loss of the tensors so far using at most k units; choice[t][k]: width index.
  std::vector<double> dp(static_cast<size_t>(cap + 1), 0.0);
  std::vector<std::vector<uint8_t>> choice(n, std::vector<uint8_t>(static_cast<size_t>(cap + 1), 0));
  for (size_t t = 0; t < n; ++t) {
    std::vector<double> next(static_cast<size_t>(cap + 1), kInf);
    for (int64_t k = 0; k <= cap; ++k) {
      for (size_t w = 0; w < nw; ++w) {
        const int64_t cu = static_cast<int64_t>(std::ceil(costs.value_bits_[t][w] / unit - 1e-9));
        if (cu > k || dp[static_cast<size_t>(k - cu)] == kInf) continue;
        const double v = dp[static_cast<size_t>(k - cu)] + s.delta_kl_[t][w];
        if (v < next[static_cast<size_t>(k)]) {
          next[static_cast<size_t>(k)] = v;
          choice[t][static_cast<size_t>(k)] = static_cast<uint8_t>(w);
        }
      }
    }
    dp.swap(next);
  }
  if (dp[static_cast<size_t>(cap)] == kInf) {
    throw make_error("--rom-bits", "no allocation fits the budget on the cost grid",
                     "raise the budget slightly");
  }
  Allocation a;
  a.budget_bits_ = budget_bits;
  a.predicted_delta_kl_ = dp[static_cast<size_t>(cap)];
  a.bits_.assign(n, 0);
  int64_t k = cap;
  double used = costs.fixed_bits_;
  for (size_t t = n; t-- > 0;) {
    const size_t w = choice[t][static_cast<size_t>(k)];
    a.bits_[t] = s.widths_[w];
    used += costs.value_bits_[t][w];
    k -= static_cast<int64_t>(std::ceil(costs.value_bits_[t][w] / unit - 1e-9));
  }
  a.rom_bits_ = used;
  return a;
}

std::vector<int> random_allocation(const RomCosts& costs, const std::vector<int>& widths,
                                   double budget_bits, uint64_t seed) {
  const size_t n = costs.value_bits_.size();
  std::vector<size_t> w_idx(n, 0);
  std::vector<size_t> order_w(widths.size());
  for (size_t i = 0; i < widths.size(); ++i) order_w[i] = i;
  std::sort(order_w.begin(), order_w.end(), [&](size_t a, size_t b) { return widths[a] < widths[b]; });
  for (size_t t = 0; t < n; ++t) w_idx[t] = order_w[0];
  double used = costs.fixed_bits_;
  for (size_t t = 0; t < n; ++t) used += costs.value_bits_[t][w_idx[t]];
  if (used > budget_bits) throw make_error("random_allocation", "budget below the narrowest widths");
  std::mt19937_64 engine(seed);
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  for (int pass = 0; pass < 3; ++pass) {
    for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[engine() % i]);
    for (size_t t : order) {
      std::vector<size_t> fits;
      for (size_t w = 0; w < widths.size(); ++w) {
        if (used - costs.value_bits_[t][w_idx[t]] + costs.value_bits_[t][w] <= budget_bits) {
          fits.push_back(w);
        }
      }
      const size_t w = fits[engine() % fits.size()];
      used += costs.value_bits_[t][w] - costs.value_bits_[t][w_idx[t]];
      w_idx[t] = w;
    }
  }
  std::vector<int> bits(n);
  for (size_t t = 0; t < n; ++t) bits[t] = widths[w_idx[t]];
  return bits;
}

std::string profile_yaml(const NumericsProfile& profile, const std::vector<std::string>& comment) {
  std::ostringstream out;
  for (const std::string& line : comment) out << "# " << line << "\n";
  const nlohmann::json j = profile.values_.to_json();
  nlohmann::json root = nlohmann::json::object();
  root["numerics"] = j.at("numerics");
  emit_yaml(out, root, 0);
  return out.str();
}

}  // namespace hw
