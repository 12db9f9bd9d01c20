// Functional-mode data (see functional.h).
#include "sim/functional.h"

#include <algorithm>

#include "common/error.h"

namespace hw::sim {
namespace {

// Copies positions [0, positions) of every layer from `from` to `to`. The golden model grows
// a layer's rows on demand, so the destination is grown to hold them first.
void copy_positions(const KvCache& from, KvCache& to, int64_t positions, int64_t kv_dim,
                    int64_t kv_heads) {
  const size_t values = static_cast<size_t>(positions * kv_dim);
  const size_t scales = static_cast<size_t>(positions * kv_heads);
  for (size_t l = 0; l < from.layers_.size(); ++l) {
    const KvLayer& a = from.layers_[l];
    KvLayer& b = to.layers_[l];
    if (a.k_.size() < values || a.k_scale_.size() < scales) {
      throw make_error("functional mode", "shared prefix of " + std::to_string(positions) +
                                              " positions not written in layer " +
                                              std::to_string(l));
    }
    if (b.k_.size() < values) {
      b.k_.resize(values);
      b.v_.resize(values);
    }
    if (b.k_scale_.size() < scales) {
      b.k_scale_.resize(scales);
      b.v_scale_.resize(scales);
    }
    std::copy_n(a.k_.begin(), values, b.k_.begin());
    std::copy_n(a.v_.begin(), values, b.v_.begin());
    std::copy_n(a.k_scale_.begin(), scales, b.k_scale_.begin());
    std::copy_n(a.v_scale_.begin(), scales, b.v_scale_.begin());
  }
}

}  // namespace

FunctionalData::FunctionalData(const QuantizedModel& model,
                               std::vector<std::vector<int32_t>> prompts,
                               int64_t capacity_positions)
    : golden_(model, capacity_positions), prompts_(std::move(prompts)),
      state_(golden_.make_state()) {
  if (prompts_.empty()) {
    throw make_error("functional mode", "no prompt given", "pass --tokens, e.g. --tokens 1,5,9");
  }
  for (size_t i = 0; i < prompts_.size(); ++i) {
    if (prompts_[i].empty()) {
      throw make_error("functional mode", "prompt " + std::to_string(i + 1) + " is empty");
    }
    for (int32_t id : prompts_[i]) {
      if (id < 0 || id >= model.config_.vocab_) {
        throw make_error("functional mode",
                         "token id " + std::to_string(id) + " of prompt " +
                             std::to_string(i + 1) + " is outside the vocabulary of " +
                             model.config_.name_ + " (ids 0.." +
                             std::to_string(model.config_.vocab_ - 1) + ")");
      }
    }
  }
}

KvCache* FunctionalData::cache(int64_t user) {
  auto it = caches_.find(user);
  if (it == caches_.end()) it = caches_.emplace(user, golden_.make_cache()).first;
  return &it->second;
}

void FunctionalData::release(int64_t user) { caches_.erase(user); }

const std::vector<int32_t>& FunctionalData::prompt(int64_t user) const {
  return prompts_[static_cast<size_t>(user) % prompts_.size()];
}

void FunctionalData::save_prefix(int64_t user, int64_t positions) {
  prefix_ = golden_.make_cache();
  const ModelConfig& c = golden_.config();
  copy_positions(*cache(user), prefix_, positions, c.kv_dim(), c.n_kv_heads_);
}

void FunctionalData::load_prefix(int64_t user, int64_t positions) {
  if (prefix_.layers_.empty()) {
    throw make_error("functional mode", "the shared prefix was not computed before user " +
                                            std::to_string(user) + " needed it");
  }
  const ModelConfig& c = golden_.config();
  copy_positions(prefix_, *cache(user), positions, c.kv_dim(), c.n_kv_heads_);
}

}  // namespace hw::sim
