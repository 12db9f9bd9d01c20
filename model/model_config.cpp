// Model descriptions: HuggingFace config.json parsing, preset lookup, validation and the
// derived sizes (tensor shapes, parameter count, weight and KV bytes) every other part uses.
// Only the Llama-family decoders hardwire models are accepted; anything that would change the
// dataflow (MLP or o_proj biases, non-llama3 RoPE scaling, per-layer sliding windows) is
// rejected here with the offending key named, never silently ignored.
#include "model/model_config.h"

#include "model/chip_image.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "model/gguf.h"

namespace hw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct ArchInfo {
  const char* hf_name_;
  const char* arch_;
};

constexpr ArchInfo kArchitectures[] = {
    {"LlamaForCausalLM", "llama"},
    {"MistralForCausalLM", "mistral"},
    {"Qwen2ForCausalLM", "qwen2"},
    {"Qwen3ForCausalLM", "qwen3"},
};

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string json_type_name(const json& v) { return v.type_name(); }

// Typed readers of HF config.json keys. A key that is present but null counts as absent,
// as transformers treats it.
class HfReader {
 public:
  HfReader(const json& root, std::string source) : root_(root), source_(std::move(source)) {}

  bool has(const char* key) const {
    auto it = root_.find(key);
    return it != root_.end() && !it->is_null();
  }

  Error error(const std::string& key, const std::string& what,
              const std::string& hint = {}) const {
    return make_error(source_, key + ": " + what, hint);
  }

  const json& required(const char* key) const {
    if (!has(key)) {
      throw make_error(source_, std::string("missing required field '") + key + "'",
                       "a HuggingFace config.json of a Llama-family model always has it");
    }
    return root_.at(key);
  }

  int64_t positive_int(const char* key) const { return as_positive_int(required(key), key); }

  int64_t positive_int_or(const char* key, int64_t fallback) const {
    return has(key) ? as_positive_int(root_.at(key), key) : fallback;
  }

  double positive_double(const char* key) const { return as_positive_double(required(key), key); }

  double positive_double_or(const char* key, double fallback) const {
    return has(key) ? as_positive_double(root_.at(key), key) : fallback;
  }

  bool boolean_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = root_.at(key);
    if (!v.is_boolean()) throw error(key, "must be true or false, got " + v.dump());
    return v.get<bool>();
  }

  int64_t as_positive_int(const json& v, const std::string& key) const {
    int64_t out = 0;
    if (v.is_number_integer()) {
      if (v.is_number_unsigned() &&
          v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw error(key, "value " + v.dump() + " is out of range");
      }
      out = v.get<int64_t>();
    } else if (v.is_number_float()) {
      // Whole floats are taken only where a double still represents every integer (2^53).
      const double d = v.get<double>();
      if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > std::ldexp(1.0, 53)) {
        throw error(key, "must be a whole number, got " + v.dump());
      }
      out = static_cast<int64_t>(d);
    } else {
      throw error(key, "must be an integer, got " + json_type_name(v) + " " + v.dump());
    }
    if (out <= 0) throw error(key, "must be positive, got " + std::to_string(out));
    return out;
  }

  double as_positive_double(const json& v, const std::string& key) const {
    if (!v.is_number()) {
      throw error(key, "must be a number, got " + json_type_name(v) + " " + v.dump());
    }
    double d = v.get<double>();
    if (!std::isfinite(d) || d <= 0.0) throw error(key, "must be positive, got " + v.dump());
    return d;
  }

  const json& root() const { return root_; }
  const std::string& source() const { return source_; }

 private:
  const json& root_;
  std::string source_;
};

// rope_scaling: null / absent / "default" mean plain RoPE; "llama3" is the only scaling the
// reference and the chip implement (its frequencies are a fixed table, folded into ROM).
RopeScaling parse_rope_scaling(const HfReader& r) {
  RopeScaling out;
  if (!r.has("rope_scaling")) return out;
  const json& rs = r.root().at("rope_scaling");
  if (!rs.is_object()) {
    throw r.error("rope_scaling", "must be an object or null, got " + rs.dump());
  }
  std::string type_key;
  if (rs.contains("rope_type") && !rs.at("rope_type").is_null()) {
    type_key = "rope_type";
  } else if (rs.contains("type") && !rs.at("type").is_null()) {
    type_key = "type";
  } else {
    throw r.error("rope_scaling", "has no 'rope_type' (or legacy 'type')",
                  "use {\"rope_type\": \"llama3\", ...} or null");
  }
  const json& tv = rs.at(type_key);
  std::string type = tv.is_string() ? tv.get<std::string>() : tv.dump();
  if (type == "default") return out;
  if (type != "llama3") {
    throw r.error("rope_scaling." + type_key,
                  "'" + type + "' is not supported; only 'llama3' scaling (or none) is",
                  "linear, dynamic, yarn and longrope change the RoPE tables per context; "
                  "remove rope_scaling to model the base context length");
  }
  HfReader sub(rs, r.source());
  auto field = [&](const char* key) { return "rope_scaling." + std::string(key); };
  auto num = [&](const char* key) {
    if (!sub.has(key)) throw make_error(r.source(), "missing required field '" + field(key) + "'",
                                        "llama3 rope scaling needs factor, low_freq_factor, "
                                        "high_freq_factor, original_max_position_embeddings");
    return sub.as_positive_double(rs.at(key), field(key));
  };
  out.enabled_ = true;
  out.factor_ = num("factor");
  out.low_freq_factor_ = num("low_freq_factor");
  out.high_freq_factor_ = num("high_freq_factor");
  if (!sub.has("original_max_position_embeddings")) {
    throw make_error(r.source(),
                     "missing required field '" + field("original_max_position_embeddings") + "'",
                     "llama3 rope scaling needs it to place the wavelength thresholds");
  }
  out.original_max_positions_ = sub.as_positive_int(rs.at("original_max_position_embeddings"),
                                                    field("original_max_position_embeddings"));
  if (out.high_freq_factor_ <= out.low_freq_factor_) {
    throw r.error("rope_scaling.high_freq_factor",
                  "must be greater than rope_scaling.low_freq_factor (" +
                      json(out.low_freq_factor_).dump() + "), got " +
                      json(out.high_freq_factor_).dump());
  }
  return out;
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw make_error(path.string(), "cannot open file", "check the path and permissions");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw make_error(path.string(), "read failed");
  return ss.str();
}

ModelConfig load_hf_file(const fs::path& path, const std::string& name) {
  ModelConfig cfg = model_config_from_hf_json(read_text_file(path), path.string());
  cfg.name_ = name;
  return cfg;
}

bool is_configs_root(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "models", ec);
}

// Overflow-checked arithmetic for validate(): a hostile config must produce an error, not a
// wrapped parameter count.
bool mul_ok(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }
bool add_ok(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }

int64_t ceil_bits_to_bytes(int64_t count, int bits, const char* what) {
  if (bits <= 0) {
    throw make_error(what, "bits per value must be positive, got " + std::to_string(bits));
  }
  int64_t total_bits = 0;
  if (!mul_ok(count, bits, &total_bits)) {
    throw make_error(what, "size overflows 64 bits at " + std::to_string(bits) + " bits");
  }
  return total_bits / 8 + (total_bits % 8 ? 1 : 0);
}

}  // namespace

std::vector<TensorShape> ModelConfig::layer_tensors() const {
  std::vector<TensorShape> t;
  t.push_back({"attn_norm", d_model_, 1});
  t.push_back({"attn_q", q_dim(), d_model_});
  if (qkv_bias_) t.push_back({"attn_q.bias", q_dim(), 1});
  t.push_back({"attn_k", kv_dim(), d_model_});
  if (qkv_bias_) t.push_back({"attn_k.bias", kv_dim(), 1});
  t.push_back({"attn_v", kv_dim(), d_model_});
  if (qkv_bias_) t.push_back({"attn_v.bias", kv_dim(), 1});
  if (qk_norm_) {
    t.push_back({"attn_q_norm", head_dim_, 1});
    t.push_back({"attn_k_norm", head_dim_, 1});
  }
  t.push_back({"attn_output", d_model_, q_dim()});
  t.push_back({"ffn_norm", d_model_, 1});
  t.push_back({"ffn_gate", d_ff_, d_model_});
  t.push_back({"ffn_up", d_ff_, d_model_});
  t.push_back({"ffn_down", d_model_, d_ff_});
  return t;
}

std::vector<TensorShape> ModelConfig::global_tensors() const {
  std::vector<TensorShape> t;
  t.push_back({"token_embd", vocab_, d_model_});
  t.push_back({"output_norm", d_model_, 1});
  if (!tied_embeddings_) t.push_back({"output", vocab_, d_model_});
  return t;
}

int64_t ModelConfig::params_per_layer() const {
  int64_t n = 0;
  for (const auto& t : layer_tensors()) n += t.elements();
  return n;
}

int64_t ModelConfig::params() const {
  int64_t n = n_layers_ * params_per_layer();
  for (const auto& t : global_tensors()) n += t.elements();
  return n;
}

int64_t ModelConfig::weight_bytes(int bits) const {
  return ceil_bits_to_bytes(params(), bits, "weight_bytes");
}

int64_t ModelConfig::kv_bytes_per_token(int bits) const {
  return ceil_bits_to_bytes(2 * n_layers_ * kv_dim(), bits, "kv_bytes_per_token");
}

void ModelConfig::validate() const {
  const std::string where = "model '" + name_ + "'";
  bool known_arch = false;
  std::vector<std::string> archs;
  for (const auto& a : kArchitectures) {
    archs.push_back(a.arch_);
    if (arch_ == a.arch_) known_arch = true;
  }
  if (!known_arch) {
    throw make_error(where, "arch '" + arch_ + "' is not supported", "use " + join(archs, ", "));
  }
  const std::pair<const char*, int64_t> sizes[] = {
      {"n_layers (num_hidden_layers)", n_layers_},
      {"d_model (hidden_size)", d_model_},
      {"n_heads (num_attention_heads)", n_heads_},
      {"n_kv_heads (num_key_value_heads)", n_kv_heads_},
      {"head_dim", head_dim_},
      {"d_ff (intermediate_size)", d_ff_},
      {"vocab (vocab_size)", vocab_},
      {"max_positions (max_position_embeddings)", max_positions_},
  };
  for (const auto& [field, value] : sizes) {
    if (value <= 0) {
      throw make_error(where, std::string(field) + " must be positive, got " +
                                  std::to_string(value));
    }
  }
  if (n_heads_ % n_kv_heads_ != 0) {
    throw make_error(where,
                     "n_heads (num_attention_heads) = " + std::to_string(n_heads_) +
                         " is not a multiple of n_kv_heads (num_key_value_heads) = " +
                         std::to_string(n_kv_heads_),
                     "grouped-query attention shares each kv head among a whole group");
  }
  if (head_dim_ % 2 != 0) {
    throw make_error(where, "head_dim = " + std::to_string(head_dim_) + " is odd",
                     "RoPE rotates pairs of dimensions");
  }
  if (!(rms_eps_ > 0.0) || !std::isfinite(rms_eps_)) {
    throw make_error(where, "rms_eps (rms_norm_eps) must be positive and finite");
  }
  if (!(rope_theta_ > 0.0) || !std::isfinite(rope_theta_)) {
    throw make_error(where, "rope_theta must be positive and finite");
  }
  if (!rope_freq_factors_.empty()) {
    if (static_cast<int64_t>(rope_freq_factors_.size()) != head_dim_ / 2) {
      throw make_error(where, "rope_freq_factors has " + std::to_string(rope_freq_factors_.size()) +
                                  " entries, expected head_dim / 2 = " +
                                  std::to_string(head_dim_ / 2));
    }
    if (rope_scaling_.enabled_) {
      throw make_error(where, "both rope_scaling and a rope_freqs table are given",
                       "they encode the same scaling: keep one");
    }
  }
  if (rope_scaling_.enabled_) {
    const auto& rs = rope_scaling_;
    if (!(rs.factor_ > 0.0) || !(rs.low_freq_factor_ > 0.0) ||
        !(rs.high_freq_factor_ > rs.low_freq_factor_) || rs.original_max_positions_ <= 0) {
      throw make_error(where,
                       "rope_scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor "
                       "and original_max_positions > 0");
    }
  }
  if (sliding_window_ < 0) {
    throw make_error(where, "sliding_window must be 0 (none) or positive, got " +
                                std::to_string(sliding_window_));
  }
  // Every derived size must fit in 64 bits even at 32 bits per value.
  int64_t q = 0, kv = 0, total = 0, kv_values = 0;
  bool ok = mul_ok(n_heads_, head_dim_, &q) && mul_ok(n_kv_heads_, head_dim_, &kv);
  if (ok) {
    int64_t layer = 0;
    auto accumulate = [&](int64_t rows, int64_t cols, int64_t* sum) {
      int64_t e = 0;
      return mul_ok(rows, cols, &e) && add_ok(*sum, e, sum);
    };
    ok = accumulate(d_model_, 2, &layer) && accumulate(q, d_model_, &layer) &&
         accumulate(kv, d_model_, &layer) && accumulate(kv, d_model_, &layer) &&
         accumulate(d_model_, q, &layer) && accumulate(d_ff_, d_model_, &layer) &&
         accumulate(d_ff_, d_model_, &layer) && accumulate(d_model_, d_ff_, &layer) &&
         accumulate(q, 1, &layer) && accumulate(kv, 2, &layer) &&
         accumulate(head_dim_, 2, &layer) &&
         accumulate(n_layers_, layer, &total) && accumulate(vocab_, d_model_, &total) &&
         accumulate(vocab_, d_model_, &total) && accumulate(d_model_, 1, &total) &&
         mul_ok(total, 32, &total) && mul_ok(n_layers_, kv, &kv_values) &&
         mul_ok(kv_values, 64, &kv_values);
  }
  if (!ok) {
    throw make_error(where, "sizes are too large: the parameter count overflows 64 bits",
                     "check hidden_size, intermediate_size, num_hidden_layers and vocab_size");
  }
}

std::vector<std::string> supported_hf_architectures() {
  std::vector<std::string> out;
  for (const auto& a : kArchitectures) out.push_back(a.hf_name_);
  return out;
}

ModelConfig model_config_from_hf_json(const std::string& json_text, const std::string& source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw make_error(source, std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object()) {
    throw make_error(source, "expected a JSON object (a HuggingFace config.json), got " +
                                 std::string(root.type_name()));
  }
  HfReader r(root, source);

  const std::string supported = join(supported_hf_architectures(), ", ");
  const json& archs = r.required("architectures");
  if (!archs.is_array() || archs.empty() || !archs.at(0).is_string()) {
    throw r.error("architectures", "must be a non-empty list of class names, got " + archs.dump(),
                  "supported: " + supported);
  }
  const std::string hf_arch = archs.at(0).get<std::string>();
  ModelConfig cfg;
  for (const auto& a : kArchitectures) {
    if (hf_arch == a.hf_name_) cfg.arch_ = a.arch_;
  }
  if (cfg.arch_.empty()) {
    throw r.error("architectures", "'" + hf_arch + "' is not supported",
                  "supported: " + supported);
  }

  cfg.name_ = fs::path(source).stem().string();
  cfg.d_model_ = r.positive_int("hidden_size");
  cfg.d_ff_ = r.positive_int("intermediate_size");
  cfg.n_layers_ = r.positive_int("num_hidden_layers");
  cfg.n_heads_ = r.positive_int("num_attention_heads");
  // transformers' default when absent: multi-head attention.
  cfg.n_kv_heads_ = r.positive_int_or("num_key_value_heads", cfg.n_heads_);
  cfg.vocab_ = r.positive_int("vocab_size");
  cfg.max_positions_ = r.positive_int("max_position_embeddings");
  cfg.rms_eps_ = r.positive_double("rms_norm_eps");
  // transformers' default base for all four architectures.
  cfg.rope_theta_ = r.positive_double_or("rope_theta", 10000.0);
  cfg.tied_embeddings_ = r.boolean_or("tie_word_embeddings", false);

  if (r.has("head_dim")) {
    cfg.head_dim_ = r.positive_int("head_dim");
  } else {
    if (cfg.d_model_ % cfg.n_heads_ != 0) {
      throw make_error(source,
                       "hidden_size (" + std::to_string(cfg.d_model_) +
                           ") is not divisible by num_attention_heads (" +
                           std::to_string(cfg.n_heads_) + ") and head_dim is not given",
                       "add \"head_dim\" or fix hidden_size / num_attention_heads");
    }
    cfg.head_dim_ = cfg.d_model_ / cfg.n_heads_;
  }
  if (cfg.n_heads_ % cfg.n_kv_heads_ != 0) {
    throw make_error(source,
                     "num_attention_heads (" + std::to_string(cfg.n_heads_) +
                         ") is not a multiple of num_key_value_heads (" +
                         std::to_string(cfg.n_kv_heads_) + ")",
                     "each key/value head serves a whole group of query heads");
  }

  if (r.has("hidden_act")) {
    const json& act = root.at("hidden_act");
    if (!act.is_string() || act.get<std::string>() != "silu") {
      throw r.error("hidden_act", "only 'silu' (SwiGLU FFN) is supported, got " + act.dump());
    }
  }
  if (r.boolean_or("mlp_bias", false)) {
    throw r.error("mlp_bias", "true is not supported: the FFN is modelled without biases",
                  "set mlp_bias to false or use a model without MLP biases");
  }
  // Qwen2 always has q/k/v biases and no o_proj bias; its config has no attention_bias key
  // (transformers ignores one if present). For the other three, attention_bias puts biases
  // on q, k, v AND o_proj; the o_proj bias is not part of the chip's dataflow.
  if (cfg.arch_ == "qwen2") {
    cfg.qkv_bias_ = true;
  } else if (r.boolean_or("attention_bias", false)) {
    throw r.error("attention_bias",
                  "true is not supported for " + hf_arch +
                      ": it adds an o_proj bias, which hardwire does not model",
                  "only q/k/v biases (as in Qwen2ForCausalLM) are supported");
  }
  cfg.qk_norm_ = cfg.arch_ == "qwen3";

  cfg.rope_scaling_ = parse_rope_scaling(r);

  if (cfg.arch_ == "mistral") {
    cfg.sliding_window_ = r.positive_int_or("sliding_window", 0);
  } else if (cfg.arch_ == "qwen2" || cfg.arch_ == "qwen3") {
    // Qwen applies the window only from layer max_window_layers on, and only when enabled.
    if (r.boolean_or("use_sliding_window", false)) {
      throw r.error("use_sliding_window",
                    "true is not supported: a per-layer sliding window is not modelled",
                    "set use_sliding_window to false (the released Qwen checkpoints do)");
    }
  }

  cfg.validate();
  return cfg;
}

std::string configs_dir() {
  if (const char* env = std::getenv("HARDWIRE_CONFIGS"); env && *env) {
    std::error_code ec;
    if (!fs::is_directory(env, ec)) {
      throw make_error("HARDWIRE_CONFIGS", std::string("'") + env + "' is not a directory",
                       "point it at the repository's configs/ directory or unset it");
    }
    return env;
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path dir = exe.parent_path(); !dir.empty(); dir = dir.parent_path()) {
      if (is_configs_root(dir / "configs")) return (dir / "configs").string();
      if (dir == dir.root_path()) break;
    }
  }
#ifdef HARDWIRE_SOURCE_CONFIGS
  if (is_configs_root(HARDWIRE_SOURCE_CONFIGS)) return HARDWIRE_SOURCE_CONFIGS;
#endif
  throw make_error("configs", "cannot find the hardwire configs/ directory",
                   "set HARDWIRE_CONFIGS to the repository's configs/ directory");
}

std::vector<std::string> model_preset_names() {
  const fs::path dir = fs::path(configs_dir()) / "models";
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json") names.push_back(it->path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

ModelConfig load_model_config(const std::string& spec) {
  if (spec.empty()) {
    throw make_error("model", "empty model name", "give a preset name, config.json or .gguf");
  }
  const fs::path path(spec);
  std::error_code ec;
  const bool exists = fs::exists(path, ec);
  if (lower(path.extension().string()) == ".gguf") {
    if (!exists) throw make_error(spec, "file not found", "check the path to the .gguf file");
    return model_config_from_gguf(spec);
  }
  if (exists && fs::is_regular_file(path, ec) && is_chip_image(spec)) return chip_image_config(spec);
  if (exists && fs::is_directory(path, ec)) {
    const fs::path cfg_path = path / "config.json";
    if (!fs::is_regular_file(cfg_path, ec)) {
      throw make_error(spec, "directory has no config.json",
                       "pass a HuggingFace model directory, a config.json or a .gguf file");
    }
    fs::path dir = fs::absolute(path, ec).lexically_normal();
    if (dir.filename().empty()) dir = dir.parent_path();
    return load_hf_file(cfg_path, dir.filename().string());
  }
  if (exists) return load_hf_file(path, path.stem().string());
  if (path.has_parent_path() || lower(path.extension().string()) == ".json") {
    throw make_error(spec, "file not found",
                     "give a preset name, a config.json, a model directory or a .gguf file");
  }

  const std::vector<std::string> presets = model_preset_names();
  const fs::path models_dir = fs::path(configs_dir()) / "models";
  for (const auto& name : presets) {
    if (name == spec || lower(name) == lower(spec)) {
      return load_hf_file(models_dir / (name + ".json"), name);
    }
  }
  std::string hint = "presets: " + (presets.empty() ? std::string("(none found in ") +
                                                          models_dir.string() + ")"
                                                    : join(presets, ", "));
  if (!presets.empty()) {
    const std::string key = lower(spec);
    auto best = std::min_element(presets.begin(), presets.end(),
                                 [&](const std::string& a, const std::string& b) {
                                   return edit_distance(key, a) < edit_distance(key, b);
                                 });
    hint = "did you mean '" + *best + "'? " + hint;
  }
  throw make_error(spec, "not a model preset, file or directory", hint);
}

std::vector<std::string> config_file_stems(const std::string& dir, const std::string& extension) {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == extension) names.push_back(it->path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace hw
