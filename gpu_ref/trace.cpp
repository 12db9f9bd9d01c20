// Block-by-block comparison of a functional chip run with a reference (see trace.h).
#include "gpu_ref/trace.h"

#include <sstream>

#include "common/error.h"

namespace hw::gpu {
namespace {

template <typename T>
std::vector<int64_t> widen(const std::vector<T>& v, size_t n) {
  if (n > v.size()) n = v.size();
  return std::vector<int64_t>(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace

TokenRunner cpu_token_runner(const QuantizedModel& model, int64_t capacity_positions) {
  struct State {
    explicit State(const QuantizedModel& m, int64_t cap) : golden_(m, cap), state_(golden_.make_state()) {}
    GoldenModel golden_;
    TokenState state_;
    std::map<int64_t, KvCache> caches_;
  };
  auto st = std::make_shared<State>(model, capacity_positions);
  return [st](int64_t user, int32_t token, int64_t position, const TraceCallback& on_block) {
    const GoldenModel& g = st->golden_;
    TokenState& s = st->state_;
    auto it = st->caches_.find(user);
    if (it == st->caches_.end()) it = st->caches_.emplace(user, g.make_cache()).first;
    KvCache& cache = it->second;
    g.embed(token, position, s);
    on_block("embed", -1, s);
    for (int64_t l = 0; l < g.config().n_layers_; ++l) {
      g.attn_norm(l, s);
      on_block("attn_norm", l, s);
      g.qkv(l, s);
      on_block("qkv", l, s);
      g.rope(l, s);
      on_block("rope", l, s);
      g.kv_write(l, s, cache);
      on_block("kv_write", l, s);
      g.attention(l, s, cache);
      on_block("attention", l, s);
      g.o_proj(l, s);
      on_block("o_proj", l, s);
      g.ffn_norm(l, s);
      on_block("ffn_norm", l, s);
      g.ffn(l, s);
      on_block("ffn", l, s);
    }
    g.final_norm(s);
    on_block("final_norm", -1, s);
    g.lm_head(s);
    on_block("lm_head", -1, s);
    return GoldenModel::sample(s.logits_);
  };
}

std::string golden_block_of(const std::string& sim_block) {
  if (sim_block == "embedding") return "embed";
  if (sim_block == "ffn_down") return "ffn";
  if (sim_block == "sampler") return "sample";
  for (const char* same : {"attn_norm", "qkv", "rope", "kv_write", "attention", "o_proj",
                           "ffn_norm", "final_norm", "lm_head"}) {
    if (sim_block == same) return sim_block;
  }
  return "";
}

std::vector<BlockField> block_fields(const std::string& b, const TokenState& s,
                                     const ModelConfig& c) {
  const size_t d = static_cast<size_t>(c.d_model_);
  if (b == "embed" || b == "o_proj") return {{"residual", widen(s.residual_, d)}};
  if (b == "attn_norm" || b == "ffn_norm" || b == "final_norm") {
    return {{"x_q", widen(s.x_q_, d)}, {"x_scale", {s.x_scale_.m_, s.x_scale_.e_}}};
  }
  if (b == "qkv") {
    return {{"q", widen(s.q_, s.q_.size())}, {"k", widen(s.k_, s.k_.size())},
            {"v", widen(s.v_, s.v_.size())}};
  }
  if (b == "rope") return {{"q", widen(s.q_, s.q_.size())}, {"k", widen(s.k_, s.k_.size())}};
  if (b == "attention") return {{"attn", widen(s.attn_, s.attn_.size())}};
  if (b == "ffn") {
    return {{"hidden", widen(s.hidden_, s.hidden_.size())}, {"residual", widen(s.residual_, d)}};
  }
  if (b == "lm_head") return {{"logits", widen(s.logits_, s.logits_.size())}};
  return {};
}

TraceChecker::TraceChecker(const ModelConfig& config, std::string reference_name,
                           TokenRunner runner, std::vector<std::vector<int32_t>> prompts)
    : config_(config), reference_name_(std::move(reference_name)), runner_(std::move(runner)),
      prompts_(std::move(prompts)) {
  if (prompts_.empty()) throw make_error("check-against", "no prompts given");
}

TraceChecker::TokenTrace& TraceChecker::trace_of(int64_t user, int64_t position,
                                                 int32_t input_id) {
  const auto key = std::make_pair(user, position);
  auto found = traces_.find(key);
  if (found != traces_.end()) return found->second;
  int64_t& next = next_position_[user];
  const std::vector<int32_t>& prompt = prompts_[static_cast<size_t>(user) % prompts_.size()];
  if (position < next) {
    throw make_error("check-against",
                     "the simulator revisited position " + std::to_string(position) + " of user " +
                         std::to_string(user) + " after the reference had finished it",
                     "report this as a bug of the functional simulation");
  }
  // Positions the simulator did not compute (a shared prefix copied from another user) are
  // replayed from the prompt so the reference's KV cache holds them.
  const TraceCallback ignore = [](const char*, int64_t, const TokenState&) {};
  while (next < position) {
    if (next >= static_cast<int64_t>(prompt.size())) {
      throw make_error("check-against",
                       "user " + std::to_string(user) + " skipped position " +
                           std::to_string(next) + ", which is not a prompt position",
                       "report this as a bug of the functional simulation");
    }
    runner_(user, prompt[static_cast<size_t>(next)], next, ignore);
    ++next;
  }
  TokenTrace t;
  t.next_token_ = runner_(user, input_id, position,
                          [&](const char* block, int64_t layer, const TokenState& s) {
                            t.blocks_[{block, layer}] = block_fields(block, s, config_);
                          });
  ++next;
  ++tokens_compared_;
  return traces_.emplace(key, std::move(t)).first->second;
}

void TraceChecker::diverge(Divergence d) {
  if (!first_) first_ = std::move(d);
}

void TraceChecker::observe(int64_t user, int64_t position, int32_t input_id,
                           const std::string& sim_block, int64_t layer, const TokenState& state,
                           int32_t output_id) {
  if (first_) return;  // past the first divergence every comparison is moot
  const std::string g = golden_block_of(sim_block);
  if (g.empty()) return;
  TokenTrace& t = trace_of(user, position, input_id);
  const auto key = std::make_pair(user, position);
  const std::vector<int32_t>& prompt = prompts_[static_cast<size_t>(user) % prompts_.size()];
  ++blocks_compared_;
  if (g == "sample") {
    ++elements_compared_;
    if (output_id != t.next_token_) {
      diverge({user, position, -1, sim_block, "token", 0, output_id, t.next_token_});
    }
    traces_.erase(key);
    return;
  }
  if (g == "kv_write") return;
  const auto it = t.blocks_.find({g, layer});
  if (it == t.blocks_.end()) {
    throw make_error("check-against",
                     "the reference has no block " + g + " at layer " + std::to_string(layer),
                     "the simulated model and the reference differ in layers");
  }
  const std::vector<BlockField> sim = block_fields(g, state, config_);
  for (size_t f = 0; f < sim.size() && f < it->second.size(); ++f) {
    const std::vector<int64_t>& a = sim[f].values_;
    const std::vector<int64_t>& b = it->second[f].values_;
    const size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) {
        diverge({user, position, layer, sim_block, sim[f].name_, static_cast<int64_t>(i), a[i], b[i]});
        return;
      }
    }
    elements_compared_ += static_cast<int64_t>(n);
    if (a.size() != b.size()) {
      diverge({user, position, layer, sim_block, sim[f].name_ + " length",
               static_cast<int64_t>(n), static_cast<int64_t>(a.size()), static_cast<int64_t>(b.size())});
      return;
    }
  }
  // A prompt position before the last produces no token: its trace ends at the last layer.
  if (g == "ffn" && layer == config_.n_layers_ - 1 &&
      position < static_cast<int64_t>(prompt.size()) - 1) {
    traces_.erase(key);
  }
}

nlohmann::json TraceChecker::to_json() const {
  nlohmann::json j = {{"reference", reference_name_},
                      {"match", ok()},
                      {"tokens_compared", tokens_compared_},
                      {"blocks_compared", blocks_compared_},
                      {"elements_compared", elements_compared_},
                      {"first_divergence", nullptr}};
  if (first_) {
    const Divergence& d = *first_;
    j["first_divergence"] = {{"user", d.user_},   {"position", d.position_},
                             {"layer", d.layer_}, {"block", d.block_},
                             {"field", d.field_}, {"element", d.element_},
                             {"simulated", d.simulated_}, {"reference", d.reference_}};
  }
  return j;
}

std::string TraceChecker::summary() const {
  std::ostringstream ss;
  ss << "check against " << reference_name_ << ": ";
  if (ok()) {
    ss << "match (" << tokens_compared_ << " tokens, " << blocks_compared_ << " blocks, "
       << elements_compared_ << " integers compared)";
  } else {
    const Divergence& d = *first_;
    ss << "MISMATCH at user " << d.user_ << ", position " << d.position_ << ", "
       << (d.layer_ >= 0 ? "layer " + std::to_string(d.layer_) + ", " : std::string())
       << "block " << d.block_ << ", " << d.field_ << "[" << d.element_ << "]: simulator "
       << d.simulated_ << ", " << reference_name_ << " reference " << d.reference_;
  }
  return ss.str();
}

}  // namespace hw::gpu
