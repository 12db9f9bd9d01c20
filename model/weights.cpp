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

// The tensors of a Llama-family checkpoint, named per format below.
enum class Slot {
  kTokEmbd,
  kAttnNorm,
  kWq,
  kWk,
  kWv,
  kWo,
  kBq,
  kBk,
  kBv,
  kQNorm,
  kKNorm,
  kFfnNorm,
  kGate,
  kUp,
  kDown,
  kOutputNorm,
  kOutput,
};

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
// vector of n = cols values) in that format's dimension order.
class TensorReader {
 public:
  virtual ~TensorReader() = default;
  virtual std::string name_of(Slot slot, int64_t layer) const = 0;
  virtual bool has(const std::string& name) const = 0;
  virtual FloatTensor read(const std::string& name, int64_t rows, int64_t cols, bool vector) = 0;
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
  explicit GgufReader(const GgufFile& g) : g_(g) {}
  std::string name_of(Slot slot, int64_t layer) const override { return gguf_name(slot, layer); }
  bool has(const std::string& name) const override { return g_.find_tensor(name) != nullptr; }
  FloatTensor read(const std::string& name, int64_t rows, int64_t cols, bool vector) override {
    const GgufTensorInfo* t = g_.find_tensor(name);
    if (t == nullptr) throw missing_error(g_.name(), name);
    // ggml order: the contiguous (input) dimension first.
    const std::vector<int64_t> expected =
        vector ? std::vector<int64_t>{cols} : std::vector<int64_t>{cols, rows};
    if (t->ne_ != expected) {
      throw shape_error(g_.name(), name, t->ne_, expected, "GGUF ne = [n_in, n_out]");
    }
    FloatTensor out;
    out.rows_ = rows;
    out.cols_ = cols;
    out.data_ = g_.dequantize(*t);
    return out;
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
  const GgufFile& g_;
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
  FloatTensor read(const std::string& name, int64_t rows, int64_t cols, bool vector) override {
    auto it = index_.find(name);
    if (it == index_.end()) throw missing_error(where_, name);
    const SafetensorsTensorInfo& t = *it->second.info_;
    const std::vector<int64_t> expected =
        vector ? std::vector<int64_t>{cols} : std::vector<int64_t>{rows, cols};
    if (t.shape_ != expected) {
      throw shape_error(it->second.file_->name(), name, t.shape_, expected,
                        "safetensors shape = [out_features, in_features]");
    }
    FloatTensor out;
    out.rows_ = rows;
    out.cols_ = cols;
    out.data_ = it->second.file_->dequantize(t);
    return out;
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

// Rotate-half -> adjacent-pair order for `n_heads` heads of `head_dim` rows, each row
// `row_len` floats (row_len 1 for biases and per-head norm weights).
void permute_to_adjacent(std::vector<float>& data, int64_t n_heads, int64_t head_dim,
                         int64_t row_len) {
  const int64_t half = head_dim / 2;
  std::vector<float> src(data);
  for (int64_t h = 0; h < n_heads; ++h) {
    const int64_t base = h * head_dim;
    for (int64_t j = 0; j < half; ++j) {
      std::copy_n(src.begin() + (base + j) * row_len, row_len,
                  data.begin() + (base + 2 * j) * row_len);
      std::copy_n(src.begin() + (base + j + half) * row_len, row_len,
                  data.begin() + (base + 2 * j + 1) * row_len);
    }
  }
}

ModelWeights assemble(const ModelConfig& c, TensorReader& r) {
  std::set<std::string> used;
  auto read = [&](Slot slot, int64_t layer, int64_t rows, int64_t cols) {
    const std::string name = r.name_of(slot, layer);
    used.insert(name);
    return r.read(name, rows, cols, false);
  };
  auto read_vector = [&](Slot slot, int64_t layer, int64_t n) {
    const std::string name = r.name_of(slot, layer);
    used.insert(name);
    return r.read(name, 1, n, true);
  };

  ModelWeights w;
  w.config_ = c;
  w.tok_embd_ = read(Slot::kTokEmbd, -1, c.vocab_, c.d_model_);
  w.layers_.resize(static_cast<size_t>(c.n_layers_));
  for (int64_t l = 0; l < c.n_layers_; ++l) {
    LayerWeights& L = w.layers_[static_cast<size_t>(l)];
    L.attn_norm_ = read_vector(Slot::kAttnNorm, l, c.d_model_);
    L.wq_ = read(Slot::kWq, l, c.q_dim(), c.d_model_);
    L.wk_ = read(Slot::kWk, l, c.kv_dim(), c.d_model_);
    L.wv_ = read(Slot::kWv, l, c.kv_dim(), c.d_model_);
    L.wo_ = read(Slot::kWo, l, c.d_model_, c.q_dim());
    if (c.qkv_bias_) {
      L.bq_ = read_vector(Slot::kBq, l, c.q_dim());
      L.bk_ = read_vector(Slot::kBk, l, c.kv_dim());
      L.bv_ = read_vector(Slot::kBv, l, c.kv_dim());
    }
    if (c.qk_norm_) {
      L.q_norm_ = read_vector(Slot::kQNorm, l, c.head_dim_);
      L.k_norm_ = read_vector(Slot::kKNorm, l, c.head_dim_);
    }
    L.ffn_norm_ = read_vector(Slot::kFfnNorm, l, c.d_model_);
    L.w_gate_ = read(Slot::kGate, l, c.d_ff_, c.d_model_);
    L.w_up_ = read(Slot::kUp, l, c.d_ff_, c.d_model_);
    L.w_down_ = read(Slot::kDown, l, c.d_model_, c.d_ff_);
    if (r.rotate_half_qk()) {
      permute_to_adjacent(L.wq_.data_, c.n_heads_, c.head_dim_, c.d_model_);
      permute_to_adjacent(L.wk_.data_, c.n_kv_heads_, c.head_dim_, c.d_model_);
      if (c.qkv_bias_) {
        permute_to_adjacent(L.bq_.data_, c.n_heads_, c.head_dim_, 1);
        permute_to_adjacent(L.bk_.data_, c.n_kv_heads_, c.head_dim_, 1);
      }
      if (c.qk_norm_) {
        permute_to_adjacent(L.q_norm_.data_, 1, c.head_dim_, 1);
        permute_to_adjacent(L.k_norm_.data_, 1, c.head_dim_, 1);
      }
    }
  }
  w.output_norm_ = read_vector(Slot::kOutputNorm, -1, c.d_model_);
  const std::string output_name = r.name_of(Slot::kOutput, -1);
  if (!c.tied_embeddings_) {
    w.output_ = read(Slot::kOutput, -1, c.vocab_, c.d_model_);
  } else {
    // Some tied checkpoints still store the (identical) head; check it, use the embedding.
    if (r.has(output_name)) read(Slot::kOutput, -1, c.vocab_, c.d_model_);
    w.output_ = w.tok_embd_;
  }

  for (const std::string& name : r.names()) {
    if (used.count(name) || r.ignorable(name)) continue;
    throw make_error(r.where(), "tensor '" + name + "': not part of the model the config describes",
                     "it would be silently ignored; check that config and checkpoint match "
                     "(e.g. biases or qk-norms the architecture does not have)");
  }
  return w;
}

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

ModelWeights load_gguf(const std::string& path) {
  const GgufFile g = GgufFile::open(path);
  const ModelConfig config = model_config_from_gguf(g);
  GgufReader reader(g);
  return assemble(config, reader);
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

ModelWeights load_safetensors(const std::string& path) {
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
  SafetensorsReader reader(index_path.empty() ? path : index_path.string(), std::move(shards));
  for (const auto& [tensor, file] : weight_map) {
    const SafetensorsFile* shard = reader.shard_of(tensor);
    if (shard == nullptr || fs::path(shard->name()).filename().string() != file) {
      throw make_error(index_path.string(),
                       "weight_map." + tensor + ": not found in shard '" + file + "'",
                       "the index and the shards disagree; re-download the checkpoint");
    }
  }
  return assemble(config, reader);
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

FloatTensor random_matrix(NormalSource& rng, int64_t rows, int64_t cols) {
  FloatTensor t;
  t.rows_ = rows;
  t.cols_ = cols;
  t.data_.resize(static_cast<size_t>(rows * cols));
  const double scale = 1.0 / std::sqrt(static_cast<double>(cols));
  for (float& v : t.data_) v = static_cast<float>(rng.next() * scale);
  return t;
}

FloatTensor random_vector(NormalSource& rng, int64_t n, double mean) {
  FloatTensor t;
  t.rows_ = 1;
  t.cols_ = n;
  t.data_.resize(static_cast<size_t>(n));
  for (float& v : t.data_) v = static_cast<float>(mean + kSyntheticNoiseStd * rng.next());
  return t;
}

}  // namespace

ModelWeights load_weights(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw make_error(path, "not found",
                     "give a .gguf file, a .safetensors file or a model directory");
  }
  if (lower(fs::path(path).extension().string()) == ".gguf") return load_gguf(path);
  return load_safetensors(path);
}

ModelWeights synthetic_weights(const ModelConfig& config, uint64_t seed) {
  config.validate();
  const ModelConfig& c = config;
  NormalSource rng(seed);
  ModelWeights w;
  w.config_ = c;
  w.tok_embd_ = random_matrix(rng, c.vocab_, c.d_model_);
  w.layers_.resize(static_cast<size_t>(c.n_layers_));
  for (auto& L : w.layers_) {
    L.attn_norm_ = random_vector(rng, c.d_model_, 1.0);
    L.wq_ = random_matrix(rng, c.q_dim(), c.d_model_);
    L.wk_ = random_matrix(rng, c.kv_dim(), c.d_model_);
    L.wv_ = random_matrix(rng, c.kv_dim(), c.d_model_);
    L.wo_ = random_matrix(rng, c.d_model_, c.q_dim());
    if (c.qkv_bias_) {
      L.bq_ = random_vector(rng, c.q_dim(), 0.0);
      L.bk_ = random_vector(rng, c.kv_dim(), 0.0);
      L.bv_ = random_vector(rng, c.kv_dim(), 0.0);
    }
    if (c.qk_norm_) {
      L.q_norm_ = random_vector(rng, c.head_dim_, 1.0);
      L.k_norm_ = random_vector(rng, c.head_dim_, 1.0);
    }
    L.ffn_norm_ = random_vector(rng, c.d_model_, 1.0);
    L.w_gate_ = random_matrix(rng, c.d_ff_, c.d_model_);
    L.w_up_ = random_matrix(rng, c.d_ff_, c.d_model_);
    L.w_down_ = random_matrix(rng, c.d_model_, c.d_ff_);
  }
  w.output_norm_ = random_vector(rng, c.d_model_, 1.0);
  w.output_ = c.tied_embeddings_ ? w.tok_embd_ : random_matrix(rng, c.vocab_, c.d_model_);
  return w;
}

}  // namespace hw
