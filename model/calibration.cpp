// Calibration passes over text (calibration.h): input statistics of every matrix product from
// the golden model's block API, turned into imatrix importances or static activation scales.
#include "model/calibration.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/error.h"
#include "model/golden_model.h"

namespace hw {
namespace {

double real_of(fx::Dyadic s) { return std::ldexp(static_cast<double>(s.m_), -s.e_); }

}  // namespace

std::vector<int32_t> read_token_ids(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw make_error(what, "cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  for (char& c : text) {
    if (c == ',') c = ' ';
  }
  std::vector<int32_t> tokens;
  std::istringstream words(text);
  std::string word;
  while (words >> word) {
    const std::string where = what + ": item " + std::to_string(tokens.size() + 1);
    int64_t value = 0;
    for (char ch : word) {
      if (!std::isdigit(static_cast<unsigned char>(ch))) {
        throw make_error(where, "'" + word + "' is not a non-negative integer token id",
                         "write token ids separated by commas, spaces or newlines");
      }
      value = value * 10 + (ch - '0');
      if (value > std::numeric_limits<int32_t>::max()) {
        throw make_error(where, "'" + word + "' is beyond the int32 range of token ids");
      }
    }
    tokens.push_back(static_cast<int32_t>(value));
  }
  if (tokens.empty()) {
    throw make_error(what, "'" + path + "' holds no token ids",
                     "write token ids separated by commas, spaces or newlines");
  }
  return tokens;
}

std::vector<int32_t> calibration_tokens(const NumericsProfile& profile, const ModelConfig& config) {
  const std::string key = "numerics.calibration.tokens_file";
  if (profile.calibration_tokens_file_.empty()) {
    throw make_error(key, "is empty, but profile '" + profile.name_ + "' needs calibration text",
                     "give a file of token ids, e.g. --set " + key + "=F");
  }
  std::vector<int32_t> tokens = read_token_ids(profile.calibration_tokens_file_, key);
  if (static_cast<int64_t>(tokens.size()) > profile.calibration_tokens_) {
    tokens.resize(static_cast<size_t>(profile.calibration_tokens_));
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] >= config.vocab_) {
      throw make_error(key + " " + profile.calibration_tokens_file_ + ": item " + std::to_string(i + 1),
                       "token id " + std::to_string(tokens[i]) + " is outside the vocabulary of " +
                           config.name_ + " (ids 0.." + std::to_string(config.vocab_ - 1) + ")",
                       "calibration text must be tokenized for this model");
    }
  }
  return tokens;
}

void visit_activation_sites(const QuantizedModel& model, const std::vector<int32_t>& tokens,
                            const SiteVisitor& visit) {
  const ModelConfig& c = model.config_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t window = std::max<int64_t>(1, std::min(c.max_positions_, n));
  const GoldenModel golden(model, window, ActScaleMode::kDynamic);
  TokenState s = golden.make_state();
  for (int64_t start = 0; start < n; start += window) {
    KvCache cache = golden.make_cache();
    const int64_t end = std::min(n, start + window);
    for (int64_t i = start; i < end; ++i) {
      golden.embed(tokens[static_cast<size_t>(i)], i - start, s);
      for (int64_t l = 0; l < c.n_layers_; ++l) {
        golden.attn_norm(l, s);
        visit(ActSite::kAttnIn, l, s.x_q_.data(), c.d_model_, s.x_scale_);
        golden.qkv(l, s);
        golden.rope(l, s);
        golden.kv_write(l, s, cache);
        golden.attention(l, s, cache);
        golden.o_proj(l, s);
        visit(ActSite::kAttnOut, l, s.x_q_.data(), c.q_dim(), s.x_scale_);
        golden.ffn_norm(l, s);
        visit(ActSite::kFfnIn, l, s.x_q_.data(), c.d_model_, s.x_scale_);
        golden.ffn(l, s);
        visit(ActSite::kFfnHidden, l, s.x_q_.data(), c.d_ff_, s.x_scale_);
      }
      golden.final_norm(s);
      visit(ActSite::kFinal, 0, s.x_q_.data(), c.d_model_, s.x_scale_);
    }
  }
}

ActivationStats importance_stats(const ModelWeights& weights, const NumericsProfile& profile,
                                 const std::vector<int32_t>& tokens) {
  NumericsProfile proxy = profile;
  proxy.weight_bits_.fill(8);
  for (auto& v : proxy.layer_bits_) v.clear();
  proxy.wide_layers_.clear();
  proxy.promote_fraction_ = 0.0;
  proxy.imatrix_rounding_ = false;
  proxy.static_act_scales_ = false;
  const QuantizedModel qm = quantize_model(weights, proxy);
  const ModelConfig& c = weights.config_;
  const size_t layers = static_cast<size_t>(c.n_layers_);
  ActivationStats st;
  st.attn_in_.assign(layers, std::vector<double>(static_cast<size_t>(c.d_model_), 0.0));
  st.attn_out_.assign(layers, std::vector<double>(static_cast<size_t>(c.q_dim()), 0.0));
  st.ffn_in_.assign(layers, std::vector<double>(static_cast<size_t>(c.d_model_), 0.0));
  st.ffn_hidden_.assign(layers, std::vector<double>(static_cast<size_t>(c.d_ff_), 0.0));
  st.final_.assign(1, std::vector<double>(static_cast<size_t>(c.d_model_), 0.0));
  auto site_of = [&](ActSite site, int64_t l) -> std::vector<double>& {
    switch (site) {
      case ActSite::kAttnIn: return st.attn_in_[static_cast<size_t>(l)];
      case ActSite::kAttnOut: return st.attn_out_[static_cast<size_t>(l)];
      case ActSite::kFfnIn: return st.ffn_in_[static_cast<size_t>(l)];
      case ActSite::kFfnHidden: return st.ffn_hidden_[static_cast<size_t>(l)];
      case ActSite::kFinal: break;
    }
    return st.final_[0];
  };
  visit_activation_sites(qm, tokens, [&](ActSite site, int64_t l, const int8_t* q, int64_t n,
                                         fx::Dyadic scale) {
    std::vector<double>& acc = site_of(site, l);
    const double u = real_of(scale);
    for (int64_t i = 0; i < n; ++i) {
      const double x = q[i] * u;
      acc[static_cast<size_t>(i)] += x * x;
    }
  });
  const double inv_n = tokens.empty() ? 0.0 : 1.0 / static_cast<double>(tokens.size());
  for (auto* group : {&st.attn_in_, &st.attn_out_, &st.ffn_in_, &st.ffn_hidden_, &st.final_}) {
    for (auto& v : *group) {
      for (double& x : v) x *= inv_n;
    }
  }
  return st;
}

void calibrate_static_scales(QuantizedModel& model, const std::vector<int32_t>& tokens) {
  const ModelConfig& c = model.config_;
  const NumericsProfile& p = model.profile_;
  if (tokens.empty()) {
    throw make_error("numerics.calibration.tokens_file", "no calibration tokens for static scales");
  }
  const size_t layers = static_cast<size_t>(c.n_layers_);
  // Per-token absmax (real) per site: [site][layer][token].
  std::vector<std::vector<std::vector<double>>> amax(5, std::vector<std::vector<double>>(layers));
  model.act_scales_.clear();
  visit_activation_sites(model, tokens, [&](ActSite site, int64_t l, const int8_t* q, int64_t n,
                                            fx::Dyadic scale) {
    int32_t m = 0;
    for (int64_t i = 0; i < n; ++i) m = std::max(m, std::abs(static_cast<int32_t>(q[i])));
    amax[static_cast<size_t>(site)][static_cast<size_t>(l)].push_back(m * real_of(scale));
  });
  const int32_t qmax = (int32_t{1} << (p.activation_bits_ - 1)) - 1;
  auto scale_of = [&](std::vector<double>& v) {
    StaticActScale s;
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    const double rank = std::ceil(p.static_percentile_ / 100.0 * static_cast<double>(v.size()));
    const size_t k = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(v.size()))) - 1;
    const double sc = v[k] / qmax;
    if (!(sc > 0.0)) return s;
    s.scale_ = dyadic_from_double(sc);
    s.inv_ = dyadic_from_double(1.0 / sc);
    return s;
  };
  model.act_scales_.resize(layers);
  for (size_t l = 0; l < layers; ++l) {
    LayerActScales& ls = model.act_scales_[l];
    ls.attn_in_ = scale_of(amax[static_cast<size_t>(ActSite::kAttnIn)][l]);
    ls.attn_out_ = scale_of(amax[static_cast<size_t>(ActSite::kAttnOut)][l]);
    ls.ffn_in_ = scale_of(amax[static_cast<size_t>(ActSite::kFfnIn)][l]);
    ls.ffn_hidden_ = scale_of(amax[static_cast<size_t>(ActSite::kFfnHidden)][l]);
  }
  model.final_act_scale_ = scale_of(amax[static_cast<size_t>(ActSite::kFinal)][0]);
}

}  // namespace hw
