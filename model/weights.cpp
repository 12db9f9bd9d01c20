// Loads checkpoints into the single in-memory convention of weights.h (llama.cpp's: [out][in]
// rows, Q/K rows ordered for adjacent-pair RoPE), and makes seeded synthetic weights for
// presets without a checkpoint.
//
// Q/K row order. HF checkpoints (and llama.cpp's qwen2/qwen3 GGUFs, which llama.cpp runs with
// its "neox" rotate-half RoPE) pair element j of a head with element j + head_dim/2. llama.cpp's
// llama-architecture GGUFs were permuted by its converter so that pairs are adjacent. hardwire
// keeps one convention, adjacent pairs, so rotate-half sources are permuted on load: within
// each head, row 2j <- row j and row 2j+1 <- row j + head_dim/2. The same applies to the
// q/k biases (Qwen2) and to the per-head q_norm/k_norm weights (Qwen3), whose elements line up
// with the rows they scale.
#include "model/weights.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "common/error.h"
#include "model/gguf.h"
#include "model/safetensors.h"

namespace hw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using Slot = WeightSlot;

std::string gguf_name(Slot slot, int64_t layer) {
  const std::string b = "blk." + std::to_string(layer) + ".";
  switch (slot) {
    case Slot::kTokEmbd:
      return "token_embd.weight";
    case Slot::kAttnNorm:
      return b + "attn_norm.weight";
    case Slot::kWq:
      return b + "attn_q.weight";
    case Slot::kWk:
      return b + "attn_k.weight";
    case Slot::kWv:
      return b + "attn_v.weight";
    case Slot::kWo:
      return b + "attn_output.weight";
    case Slot::kBq:
      return b + "attn_q.bias";
    case Slot::kBk:
      return b + "attn_k.bias";
    case Slot::kBv:
      return b + "attn_v.bias";
    case Slot::kQNorm:
      return b + "attn_q_norm.weight";
    case Slot::kKNorm:
      return b + "attn_k_norm.weight";
    case Slot::kFfnNorm:
      return b + "ffn_norm.weight";
    case Slot::kGate:
      return b + "ffn_gate.weight";
    case Slot::kUp:
      return b + "ffn_up.weight";
    case Slot::kDown:
      return b + "ffn_down.weight";
    case Slot::kOutputNorm:
      return "output_norm.weight";
    case Slot::kOutput:
      return "output.weight";
  }
  return {};
}

std::string hf_name(Slot slot, int64_t layer) {
  const std::string b = "model.layers." + std::to_string(layer) + ".";
  switch (slot) {
    case Slot::kTokEmbd:
      return "model.embed_tokens.weight";
    case Slot::kAttnNorm:
      return b + "input_layernorm.weight";
    case Slot::kWq:
      return b + "self_attn.q_proj.weight";
    case Slot::kWk:
      return b + "self_attn.k_proj.weight";
    case Slot::kWv:
      return b + "self_attn.v_proj.weight";
    case Slot::kWo:
      return b + "self_attn.o_proj.weight";
    case Slot::kBq:
      return b + "self_attn.q_proj.bias";
    case Slot::kBk:
      return b + "self_attn.k_proj.bias";
    case Slot::kBv:
      return b + "self_attn.v_proj.bias";
    case Slot::kQNorm:
      return b + "self_attn.q_norm.weight";
    case Slot::kKNorm:
      return b + "self_attn.k_norm.weight";
    case Slot::kFfnNorm:
      return b + "post_attention_layernorm.weight";
    case Slot::kGate:
      return b + "mlp.gate_proj.weight";
    case Slot::kUp:
      return b + "mlp.up_proj.weight";
    case Slot::kDown:
      return b + "mlp.down_proj.weight";
    case Slot::kOutputNorm:
      return "model.norm.weight";
    case Slot::kOutput:
      return "lm_head.weight";
  }
  return {};
}

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

// A checkpoint in one format: tensors by name, shape-checked against [rows][cols] (or a
// vector of n = cols values) in that format's dimension order, read a few rows at a time.
class TensorReader {
 public:
  virtual ~TensorReader() = default;
  virtual std::string name_of(Slot slot, int64_t layer) const = 0;
  virtual bool has(const std::string& name) const = 0;
  // hw::Error when the tensor is missing or not [rows][cols] (vector: cols values).
  virtual void check(const std::string& name, int64_t rows, int64_t cols, bool vector) const = 0;
  // Rows [r0, r0 + n) of a checked tensor (a vector is one row).
  virtual void read_rows(const std::string& name, int64_t r0, int64_t n, float* dst) const = 0;
  virtual std::vector<std::string> names() const = 0;
  // Tensors a loader may leave unused (e.g. a cached RoPE table).
  virtual bool ignorable(const std::string& name) const = 0;
  // What errors about the checkpoint as a whole name (a file or a directory).
  virtual const std::string& where() const = 0;
  // Whether Q/K rows are in rotate-half order and must be permuted to adjacent pairs.
  virtual bool rotate_half_qk() const = 0;
};

Error shape_error(const std::string& file, const std::string& tensor,
                  const std::vector<int64_t>& actual, const std::vector<int64_t>& expected,
                  const std::string& convention) {
  return make_error(file,
                    "tensor '" + tensor + "': shape " + dims_string(actual) +
                        " does not match the model config, expected " + dims_string(expected) +
                        " (" + convention + ")",
                    "the checkpoint and its config describe different models");
}

Error missing_error(const std::string& file, const std::string& tensor) {
  return make_error(file, "tensor '" + tensor + "': missing",
                    "the checkpoint is incomplete or does not match its config");
}

class GgufReader : public TensorReader {
 public:
  explicit GgufReader(GgufFile g) : g_(std::move(g)) {}
  const GgufFile& file() const { return g_; }
  std::string name_of(Slot slot, int64_t layer) const override { return gguf_name(slot, layer); }
  bool has(const std::string& name) const override { return g_.find_tensor(name) != nullptr; }
  void check(const std::string& name, int64_t rows, int64_t cols, bool vector) const override {
    const GgufTensorInfo* t = g_.find_tensor(name);
    if (t == nullptr) throw missing_error(g_.name(), name);
    // ggml order: the contiguous (input) dimension first.
    const std::vector<int64_t> expected =
        vector ? std::vector<int64_t>{cols} : std::vector<int64_t>{cols, rows};
    if (t->ne_ != expected) {
      throw shape_error(g_.name(), name, t->ne_, expected, "GGUF ne = [n_in, n_out]");
    }
  }
  void read_rows(const std::string& name, int64_t r0, int64_t n, float* dst) const override {
    g_.dequantize_rows(g_.tensor(name), r0, n, dst);
  }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& t : g_.tensors()) out.push_back(t.name_);
    return out;
  }
  // rope_freqs.weight was read into ModelConfig::rope_freq_factors_ with the metadata.
  bool ignorable(const std::string& name) const override { return name == "rope_freqs.weight"; }
  const std::string& where() const override { return g_.name(); }
  bool rotate_half_qk() const override {
    // llama.cpp runs qwen2/qwen3 with rotate-half ("neox") RoPE on unpermuted HF rows, and
    // llama/mistral with adjacent pairs on rows its converter permuted.
    const std::string arch = g_.get_string("general.architecture");
    return arch == "qwen2" || arch == "qwen3";
  }

 private:
  GgufFile g_;
};

class SafetensorsReader : public TensorReader {
 public:
  SafetensorsReader(std::string where, std::vector<std::unique_ptr<SafetensorsFile>> shards)
      : where_(std::move(where)), shards_(std::move(shards)) {
    for (const auto& shard : shards_) {
      for (const auto& t : shard->tensors()) {
        auto [it, inserted] = index_.emplace(t.name_, Entry{shard.get(), &t});
        if (!inserted) {
          throw make_error(shard->name(),
                           "tensor '" + t.name_ + "': also in " + it->second.file_->name(),
                           "a tensor must be stored in exactly one shard");
        }
      }
    }
  }
  std::string name_of(Slot slot, int64_t layer) const override { return hf_name(slot, layer); }
  bool has(const std::string& name) const override { return index_.count(name) != 0; }
  void check(const std::string& name, int64_t rows, int64_t cols, bool vector) const override {
    auto it = index_.find(name);
    if (it == index_.end()) throw missing_error(where_, name);
    const SafetensorsTensorInfo& t = *it->second.info_;
    const std::vector<int64_t> expected =
        vector ? std::vector<int64_t>{cols} : std::vector<int64_t>{rows, cols};
    if (t.shape_ != expected) {
      throw shape_error(it->second.file_->name(), name, t.shape_, expected,
                        "safetensors shape = [out_features, in_features]");
    }
  }
  void read_rows(const std::string& name, int64_t r0, int64_t n, float* dst) const override {
    const Entry& e = index_.at(name);
    e.file_->dequantize_rows(*e.info_, r0, n, dst);
  }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& [name, entry] : index_) out.push_back(name);
    return out;
  }
  bool ignorable(const std::string& name) const override {
    // Older transformers saved the RoPE inverse-frequency buffer; it is recomputed from config.
    const std::string suffix = ".rotary_emb.inv_freq";
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  const std::string& where() const override { return where_; }
  bool rotate_half_qk() const override { return true; }
  const SafetensorsFile* shard_of(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : it->second.file_;
  }

 private:
  struct Entry {
    const SafetensorsFile* file_;
    const SafetensorsTensorInfo* info_;
  };
  std::string where_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::map<std::string, Entry> index_;
};

// Row `d` of a Q/K tensor in adjacent-pair order comes from this row of the rotate-half order:
// within each head, row 2j <- row j and row 2j+1 <- row j + head_dim/2. The same applies to the
// elements of the q/k biases (Qwen2) and of the per-head q_norm/k_norm weights (Qwen3).
int64_t rotate_half_source(int64_t d, int64_t head_dim) {
  const int64_t base = d - d % head_dim;
  const int64_t i = d % head_dim;
  return base + (i % 2 == 0 ? i / 2 : i / 2 + head_dim / 2);
}

bool is_vector(Slot slot) {
  switch (slot) {
    case Slot::kAttnNorm:
    case Slot::kBq:
    case Slot::kBk:
    case Slot::kBv:
    case Slot::kQNorm:
    case Slot::kKNorm:
    case Slot::kFfnNorm:
    case Slot::kOutputNorm:
      return true;
    default:
      return false;
  }
}

// Whether a tensor's rows (matrices) or elements (vectors) are permuted from rotate-half order.
bool permuted_qk(Slot slot) {
  return slot == Slot::kWq || slot == Slot::kWk || slot == Slot::kBq || slot == Slot::kBk ||
         slot == Slot::kQNorm || slot == Slot::kKNorm;
}

class CheckpointSource : public WeightSource {
 public:
  CheckpointSource(const ModelConfig& config, std::unique_ptr<TensorReader> reader)
      : reader_(std::move(reader)) {
    config_ = config;
    const ModelConfig& c = config_;
    TensorReader& r = *reader_;
    std::set<std::string> used;
    for (const WeightRef& ref : weight_order(c)) {
      const std::string name = r.name_of(ref.slot_, ref.layer_);
      const auto [rows, cols] = weight_shape(c, ref.slot_);
      r.check(name, rows, cols, is_vector(ref.slot_));
      used.insert(name);
    }
    // Some tied checkpoints still store the (identical) head; check it, use the embedding.
    const std::string output_name = r.name_of(Slot::kOutput, -1);
    if (c.tied_embeddings_ && r.has(output_name)) {
      r.check(output_name, c.vocab_, c.d_model_, false);
      used.insert(output_name);
    }
    for (const std::string& name : r.names()) {
      if (used.count(name) || r.ignorable(name)) continue;
      throw make_error(r.where(), "tensor '" + name + "': not part of the model the config describes",
                       "it would be silently ignored; check that config and checkpoint match "
                       "(e.g. biases or qk-norms the architecture does not have)");
    }
  }

  void read_rows(WeightRef ref, int64_t r0, int64_t n, float* dst) override {
    const ModelConfig& c = config_;
    // Tied models have no output tensor of their own: the head is the embedding.
    if (ref.slot_ == Slot::kOutput && c.tied_embeddings_) ref = {Slot::kTokEmbd, -1};
    const std::string name = reader_->name_of(ref.slot_, ref.layer_);
    const auto [rows, cols] = weight_shape(c, ref.slot_);
    if (r0 < 0 || n < 0 || r0 + n > rows) {
      throw make_error(reader_->where(), "tensor '" + name + "': rows [" + std::to_string(r0) +
                                             ", " + std::to_string(r0 + n) + ") requested of " +
                                             std::to_string(rows));
    }
    if (!reader_->rotate_half_qk() || !permuted_qk(ref.slot_)) {
      reader_->read_rows(name, r0, n, dst);
      return;
    }
    if (is_vector(ref.slot_)) {
      // One row of n_heads (or 1) * head_dim elements, permuted element-wise.
      std::vector<float> src(static_cast<size_t>(cols));
      reader_->read_rows(name, 0, 1, src.data());
      for (int64_t d = 0; d < cols; ++d) dst[d] = src[static_cast<size_t>(rotate_half_source(d, c.head_dim_))];
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      reader_->read_rows(name, rotate_half_source(r0 + i, c.head_dim_), 1, dst + i * cols);
    }
  }

 private:
  std::unique_ptr<TensorReader> reader_;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw make_error(path.string(), "cannot open file", "check the path and permissions");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<WeightSource> open_gguf(const std::string& path) {
  GgufFile g = GgufFile::open(path);
  const ModelConfig config = model_config_from_gguf(g);
  return std::make_unique<CheckpointSource>(config, std::make_unique<GgufReader>(std::move(g)));
}

// Shard file names listed by model.safetensors.index.json's weight_map, in sorted order, with
// the tensor -> shard map kept to check against the shards' own headers.
std::vector<std::string> index_shards(const fs::path& index_path,
                                      std::map<std::string, std::string>* weight_map) {
  json root;
  try {
    root = json::parse(read_text(index_path));
  } catch (const json::exception& e) {
    throw make_error(index_path.string(), std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object() || !root.contains("weight_map") || !root.at("weight_map").is_object()) {
    throw make_error(index_path.string(), "weight_map: missing or not an object",
                     "a sharded HF checkpoint index maps tensor names to shard files");
  }
  std::set<std::string> files;
  for (const auto& [tensor, file] : root.at("weight_map").items()) {
    if (!file.is_string()) {
      throw make_error(index_path.string(), "weight_map." + tensor + ": must be a file name");
    }
    const std::string f = file.get<std::string>();
    const fs::path fp(f);
    if (f.empty() || fp.has_parent_path() || fp.is_absolute() || f == "." || f == "..") {
      throw make_error(index_path.string(), "weight_map." + tensor + ": '" + f +
                                                "' is not a file name in the same directory");
    }
    files.insert(f);
    (*weight_map)[tensor] = f;
  }
  if (files.empty()) throw make_error(index_path.string(), "weight_map: lists no shards");
  return {files.begin(), files.end()};
}

std::unique_ptr<WeightSource> open_safetensors(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  fs::path dir;
  fs::path index_path;
  std::vector<fs::path> shard_paths;
  if (fs::is_directory(p, ec)) {
    dir = p;
    if (fs::is_regular_file(dir / "model.safetensors.index.json", ec)) {
      index_path = dir / "model.safetensors.index.json";
    } else {
      for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file() && lower(it->path().extension().string()) == ".safetensors") {
          shard_paths.push_back(it->path());
        }
      }
      std::sort(shard_paths.begin(), shard_paths.end());
      if (shard_paths.empty()) {
        throw make_error(path, "directory has no *.safetensors files",
                         "pass a .gguf file or a HuggingFace model directory");
      }
    }
  } else if (ends_with(lower(p.filename().string()), ".safetensors.index.json")) {
    dir = p.parent_path();
    index_path = p;
  } else if (lower(p.extension().string()) == ".safetensors") {
    dir = p.parent_path();
    shard_paths.push_back(p);
  } else {
    throw make_error(path, "not a .gguf file, a .safetensors file or a model directory",
                     "give a GGUF or HF safetensors checkpoint");
  }
  if (dir.empty()) dir = ".";

  std::map<std::string, std::string> weight_map;
  if (!index_path.empty()) {
    for (const auto& f : index_shards(index_path, &weight_map)) shard_paths.push_back(dir / f);
  }

  const fs::path config_path = dir / "config.json";
  if (!fs::is_regular_file(config_path, ec)) {
    throw make_error(config_path.string(), "not found",
                     "a safetensors checkpoint needs the HF config.json beside it");
  }
  ModelConfig config = model_config_from_hf_json(read_text(config_path), config_path.string());
  fs::path abs_dir = fs::absolute(dir, ec).lexically_normal();
  if (abs_dir.filename().empty()) abs_dir = abs_dir.parent_path();
  config.name_ = abs_dir.filename().string();

  std::vector<std::unique_ptr<SafetensorsFile>> shards;
  for (const auto& sp : shard_paths) {
    shards.push_back(std::make_unique<SafetensorsFile>(SafetensorsFile::open(sp.string())));
  }
  auto reader = std::make_unique<SafetensorsReader>(index_path.empty() ? path : index_path.string(),
                                                    std::move(shards));
  for (const auto& [tensor, file] : weight_map) {
    const SafetensorsFile* shard = reader->shard_of(tensor);
    if (shard == nullptr || fs::path(shard->name()).filename().string() != file) {
      throw make_error(index_path.string(),
                       "weight_map." + tensor + ": not found in shard '" + file + "'",
                       "the index and the shards disagree; re-download the checkpoint");
    }
  }
  return std::make_unique<CheckpointSource>(config, std::move(reader));
}

// Standard normal samples from a fixed engine with Box-Muller, so synthetic weights are the
// same on every platform and standard library (std::normal_distribution is not specified
// bit-exactly).
class NormalSource {
 public:
  explicit NormalSource(uint64_t seed) : engine_(seed) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = uniform_open();
    const double u2 = uniform_open();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * kPi * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  static constexpr double kPi = 3.14159265358979323846;
  // Uniform in (0, 1) from the top 53 bits: never 0, so log() is finite.
  double uniform_open() { return (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53; }

  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// Standard deviation of the noise on synthetic norm weights (around 1) and biases (around 0):
// enough that a test mixing up two norms or two bias vectors sees a difference, small enough
// to keep activations in the range of a trained model.
constexpr double kSyntheticNoiseStd = 0.05;

// Matrices are N(0, 1/cols), norm gains 1 + N(0, 0.05^2), biases N(0, 0.05^2), drawn from one
// stream in weight_order(); a tied model's head draws nothing (it is the embedding).
class SyntheticSource : public WeightSource {
 public:
  SyntheticSource(const ModelConfig& config, uint64_t seed) : rng_(seed) {
    config.validate();
    config_ = config;
    order_ = weight_order(config_);
    tensor_start_ = rng_;
  }

  void read_rows(WeightRef ref, int64_t r0, int64_t n, float* dst) override {
    if (ref.slot_ == Slot::kOutput && config_.tied_embeddings_) {
      throw make_error("synthetic weights", "the head of a tied model is the embedding",
                       "read token_embd instead");
    }
    // Move the stream to tensor `ref`: forward through the order, or back to its first row.
    size_t at = current_;
    while (at < order_.size() && !(order_[at].slot_ == ref.slot_ && order_[at].layer_ == ref.layer_)) ++at;
    if (at == order_.size()) {
      throw make_error("synthetic weights", "tensor " + weight_name(ref) +
                                                " requested out of order (after " +
                                                weight_name(order_[current_]) + ")",
                       "read tensors in weight_order()");
    }
    while (current_ < at) {
      skip_values(remaining_in_current());
      ++current_;
      tensor_start_ = rng_;
      next_row_ = 0;
    }
    const auto [rows, cols] = weight_shape(config_, ref.slot_);
    if (r0 < next_row_) {
      rng_ = tensor_start_;
      next_row_ = 0;
    }
    skip_values((r0 - next_row_) * cols);
    const bool vector = is_vector(ref.slot_);
    const double scale = 1.0 / std::sqrt(static_cast<double>(cols));
    const double mean = gain_mean(ref.slot_);
    for (int64_t i = 0; i < n * cols; ++i) {
      dst[i] = vector ? static_cast<float>(mean + kSyntheticNoiseStd * rng_.next())
                      : static_cast<float>(rng_.next() * scale);
    }
    next_row_ = r0 + n;
  }

 private:
  static double gain_mean(Slot slot) {
    return slot == Slot::kAttnNorm || slot == Slot::kFfnNorm || slot == Slot::kOutputNorm ||
                   slot == Slot::kQNorm || slot == Slot::kKNorm
               ? 1.0
               : 0.0;
  }
  int64_t remaining_in_current() const {
    const auto [rows, cols] = weight_shape(config_, order_[current_].slot_);
    return (rows - next_row_) * cols;
  }
  void skip_values(int64_t n) {
    for (int64_t i = 0; i < n; ++i) rng_.next();
  }

  NormalSource rng_;
  NormalSource tensor_start_{0};
  std::vector<WeightRef> order_;
  size_t current_ = 0;
  int64_t next_row_ = 0;
};

}  // namespace

std::vector<WeightRef> weight_order(const ModelConfig& c) {
  std::vector<WeightRef> out;
  out.push_back({Slot::kTokEmbd, -1});
  for (int64_t l = 0; l < c.n_layers_; ++l) {
    for (Slot s : {Slot::kAttnNorm, Slot::kWq, Slot::kWk, Slot::kWv, Slot::kWo}) out.push_back({s, l});
    if (c.qkv_bias_) {
      for (Slot s : {Slot::kBq, Slot::kBk, Slot::kBv}) out.push_back({s, l});
    }
    if (c.qk_norm_) {
      for (Slot s : {Slot::kQNorm, Slot::kKNorm}) out.push_back({s, l});
    }
    for (Slot s : {Slot::kFfnNorm, Slot::kGate, Slot::kUp, Slot::kDown}) out.push_back({s, l});
  }
  out.push_back({Slot::kOutputNorm, -1});
  if (!c.tied_embeddings_) out.push_back({Slot::kOutput, -1});
  return out;
}

std::pair<int64_t, int64_t> weight_shape(const ModelConfig& c, WeightSlot slot) {
  switch (slot) {
    case Slot::kTokEmbd:
    case Slot::kOutput:
      return {c.vocab_, c.d_model_};
    case Slot::kAttnNorm:
    case Slot::kFfnNorm:
    case Slot::kOutputNorm:
      return {1, c.d_model_};
    case Slot::kWq:
      return {c.q_dim(), c.d_model_};
    case Slot::kWk:
    case Slot::kWv:
      return {c.kv_dim(), c.d_model_};
    case Slot::kWo:
      return {c.d_model_, c.q_dim()};
    case Slot::kBq:
      return {1, c.q_dim()};
    case Slot::kBk:
    case Slot::kBv:
      return {1, c.kv_dim()};
    case Slot::kQNorm:
    case Slot::kKNorm:
      return {1, c.head_dim_};
    case Slot::kGate:
    case Slot::kUp:
      return {c.d_ff_, c.d_model_};
    case Slot::kDown:
      return {c.d_model_, c.d_ff_};
  }
  return {0, 0};
}

std::string weight_name(WeightRef ref) {
  std::string n = gguf_name(ref.slot_, ref.layer_);
  const std::string suffix = ".weight";
  if (ends_with(n, suffix)) n.resize(n.size() - suffix.size());
  return n;
}

FloatTensor WeightSource::read(WeightRef ref) {
  const auto [rows, cols] = weight_shape(config_, ref.slot_);
  FloatTensor t;
  t.rows_ = rows;
  t.cols_ = cols;
  t.data_.resize(static_cast<size_t>(rows * cols));
  read_rows(ref, 0, rows, t.data_.data());
  return t;
}

std::unique_ptr<WeightSource> open_weight_source(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw make_error(path, "not found",
                     "give a .gguf file, a .safetensors file or a model directory");
  }
  if (lower(fs::path(path).extension().string()) == ".gguf") return open_gguf(path);
  return open_safetensors(path);
}

std::unique_ptr<WeightSource> synthetic_weight_source(const ModelConfig& config, uint64_t seed) {
  return std::make_unique<SyntheticSource>(config, seed);
}

ModelWeights read_all_weights(WeightSource& source) {
  const ModelConfig& c = source.config();
  ModelWeights w;
  w.config_ = c;
  w.layers_.resize(static_cast<size_t>(c.n_layers_));
  for (const WeightRef& ref : weight_order(c)) {
    FloatTensor t = source.read(ref);
    LayerWeights* L = ref.layer_ >= 0 ? &w.layers_[static_cast<size_t>(ref.layer_)] : nullptr;
    switch (ref.slot_) {
      case Slot::kTokEmbd: w.tok_embd_ = std::move(t); break;
      case Slot::kOutputNorm: w.output_norm_ = std::move(t); break;
      case Slot::kOutput: w.output_ = std::move(t); break;
      case Slot::kAttnNorm: L->attn_norm_ = std::move(t); break;
      case Slot::kWq: L->wq_ = std::move(t); break;
      case Slot::kWk: L->wk_ = std::move(t); break;
      case Slot::kWv: L->wv_ = std::move(t); break;
      case Slot::kWo: L->wo_ = std::move(t); break;
      case Slot::kBq: L->bq_ = std::move(t); break;
      case Slot::kBk: L->bk_ = std::move(t); break;
      case Slot::kBv: L->bv_ = std::move(t); break;
      case Slot::kQNorm: L->q_norm_ = std::move(t); break;
      case Slot::kKNorm: L->k_norm_ = std::move(t); break;
      case Slot::kFfnNorm: L->ffn_norm_ = std::move(t); break;
      case Slot::kGate: L->w_gate_ = std::move(t); break;
      case Slot::kUp: L->w_up_ = std::move(t); break;
      case Slot::kDown: L->w_down_ = std::move(t); break;
    }
  }
  if (c.tied_embeddings_) w.output_ = w.tok_embd_;
  return w;
}

ModelWeights load_weights(const std::string& path) {
  const std::unique_ptr<WeightSource> source = open_weight_source(path);
  return read_all_weights(*source);
}

ModelWeights synthetic_weights(const ModelConfig& config, uint64_t seed) {
  SyntheticSource source(config, seed);
  return read_all_weights(source);
}

}  // namespace hw
