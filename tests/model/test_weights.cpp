// load_weights and synthetic_weights: the oracle GGUFs load with the right shapes and values;
// the same weights written as an HF safetensors checkpoint (rotate-half Q/K order, config.json,
// single file, shards, index) load to identical tensors; Qwen2 biases and Qwen3 q/k norms are
// permuted with their rows; shape, missing and unexpected tensors are errors naming the tensor;
// synthetic weights are deterministic and shaped by the config.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "model/float_ref.h"
#include "model/gguf.h"
#include "model/weights.h"
#include "tests/model/format_writers.h"

namespace hw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::GgufWriter;
using test::SafetensorsWriter;
using test::TempDir;
using ::testing::HasSubstr;

const std::string kOracleDir = std::string(HARDWIRE_SHARED_DIR) + "/oracle/";

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected hw::Error";
  return {};
}

void expect_same_tensor(const FloatTensor& a, const FloatTensor& b, const std::string& what) {
  EXPECT_EQ(a.rows_, b.rows_) << what;
  EXPECT_EQ(a.cols_, b.cols_) << what;
  ASSERT_EQ(a.data_.size(), b.data_.size()) << what;
  for (size_t i = 0; i < a.data_.size(); ++i) {
    if (a.data_[i] != b.data_[i]) {
      ADD_FAILURE() << what << ": first difference at " << i << ": " << a.data_[i] << " vs "
                    << b.data_[i];
      return;
    }
  }
}

void expect_same_weights(const ModelWeights& a, const ModelWeights& b) {
  EXPECT_EQ(a.config_.arch_, b.config_.arch_);
  EXPECT_EQ(a.config_.n_layers_, b.config_.n_layers_);
  EXPECT_EQ(a.config_.d_model_, b.config_.d_model_);
  EXPECT_EQ(a.config_.n_heads_, b.config_.n_heads_);
  EXPECT_EQ(a.config_.n_kv_heads_, b.config_.n_kv_heads_);
  EXPECT_EQ(a.config_.head_dim_, b.config_.head_dim_);
  EXPECT_EQ(a.config_.d_ff_, b.config_.d_ff_);
  EXPECT_EQ(a.config_.vocab_, b.config_.vocab_);
  EXPECT_EQ(a.config_.max_positions_, b.config_.max_positions_);
  EXPECT_EQ(a.config_.rms_eps_, b.config_.rms_eps_);
  EXPECT_EQ(a.config_.rope_theta_, b.config_.rope_theta_);
  EXPECT_EQ(a.config_.tied_embeddings_, b.config_.tied_embeddings_);
  EXPECT_EQ(a.config_.qkv_bias_, b.config_.qkv_bias_);
  EXPECT_EQ(a.config_.qk_norm_, b.config_.qk_norm_);
  expect_same_tensor(a.tok_embd_, b.tok_embd_, "tok_embd");
  ASSERT_EQ(a.layers_.size(), b.layers_.size());
  for (size_t l = 0; l < a.layers_.size(); ++l) {
    const LayerWeights& x = a.layers_[l];
    const LayerWeights& y = b.layers_[l];
    const std::string p = "layer " + std::to_string(l) + " ";
    expect_same_tensor(x.attn_norm_, y.attn_norm_, p + "attn_norm");
    expect_same_tensor(x.wq_, y.wq_, p + "wq");
    expect_same_tensor(x.wk_, y.wk_, p + "wk");
    expect_same_tensor(x.wv_, y.wv_, p + "wv");
    expect_same_tensor(x.wo_, y.wo_, p + "wo");
    expect_same_tensor(x.bq_, y.bq_, p + "bq");
    expect_same_tensor(x.bk_, y.bk_, p + "bk");
    expect_same_tensor(x.bv_, y.bv_, p + "bv");
    expect_same_tensor(x.q_norm_, y.q_norm_, p + "q_norm");
    expect_same_tensor(x.k_norm_, y.k_norm_, p + "k_norm");
    expect_same_tensor(x.ffn_norm_, y.ffn_norm_, p + "ffn_norm");
    expect_same_tensor(x.w_gate_, y.w_gate_, p + "w_gate");
    expect_same_tensor(x.w_up_, y.w_up_, p + "w_up");
    expect_same_tensor(x.w_down_, y.w_down_, p + "w_down");
  }
  expect_same_tensor(a.output_norm_, b.output_norm_, "output_norm");
  expect_same_tensor(a.output_, b.output_, "output");
}

// Adjacent-pair order -> HF rotate-half order (the inverse of what the loader applies): within
// each head, HF row j = row 2j and HF row j + head_dim/2 = row 2j + 1.
std::vector<float> to_rotate_half(const std::vector<float>& data, int64_t n_heads, int64_t head_dim,
                                  int64_t row_len) {
  std::vector<float> out(data.size());
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t j = 0; j < half; ++j) {
      for (int64_t c = 0; c < row_len; ++c) {
        out[(h * head_dim + j) * row_len + c] = data[(h * head_dim + 2 * j) * row_len + c];
        out[(h * head_dim + j + half) * row_len + c] =
            data[(h * head_dim + 2 * j + 1) * row_len + c];
      }
    }
  }
  return out;
}

struct NamedTensor {
  std::string hf_name_;
  std::string gguf_name_;
  const FloatTensor* tensor_;
  bool vector_;
  int64_t qk_heads_;  // > 0: rows are Q/K heads stored in rotate-half order outside hardwire
};

std::vector<NamedTensor> named_tensors(const ModelWeights& w) {
  const ModelConfig& c = w.config_;
  std::vector<NamedTensor> out;
  out.push_back({"model.embed_tokens.weight", "token_embd.weight", &w.tok_embd_, false, 0});
  for (size_t l = 0; l < w.layers_.size(); ++l) {
    const LayerWeights& L = w.layers_[l];
    const std::string h = "model.layers." + std::to_string(l) + ".";
    const std::string g = "blk." + std::to_string(l) + ".";
    out.push_back({h + "input_layernorm.weight", g + "attn_norm.weight", &L.attn_norm_, true, 0});
    out.push_back({h + "self_attn.q_proj.weight", g + "attn_q.weight", &L.wq_, false, c.n_heads_});
    out.push_back(
        {h + "self_attn.k_proj.weight", g + "attn_k.weight", &L.wk_, false, c.n_kv_heads_});
    out.push_back({h + "self_attn.v_proj.weight", g + "attn_v.weight", &L.wv_, false, 0});
    out.push_back({h + "self_attn.o_proj.weight", g + "attn_output.weight", &L.wo_, false, 0});
    if (c.qkv_bias_) {
      out.push_back({h + "self_attn.q_proj.bias", g + "attn_q.bias", &L.bq_, true, c.n_heads_});
      out.push_back({h + "self_attn.k_proj.bias", g + "attn_k.bias", &L.bk_, true, c.n_kv_heads_});
      out.push_back({h + "self_attn.v_proj.bias", g + "attn_v.bias", &L.bv_, true, 0});
    }
    if (c.qk_norm_) {
      out.push_back({h + "self_attn.q_norm.weight", g + "attn_q_norm.weight", &L.q_norm_, true, 1});
      out.push_back({h + "self_attn.k_norm.weight", g + "attn_k_norm.weight", &L.k_norm_, true, 1});
    }
    out.push_back(
        {h + "post_attention_layernorm.weight", g + "ffn_norm.weight", &L.ffn_norm_, true, 0});
    out.push_back({h + "mlp.gate_proj.weight", g + "ffn_gate.weight", &L.w_gate_, false, 0});
    out.push_back({h + "mlp.up_proj.weight", g + "ffn_up.weight", &L.w_up_, false, 0});
    out.push_back({h + "mlp.down_proj.weight", g + "ffn_down.weight", &L.w_down_, false, 0});
  }
  out.push_back({"model.norm.weight", "output_norm.weight", &w.output_norm_, true, 0});
  if (!c.tied_embeddings_) out.push_back({"lm_head.weight", "output.weight", &w.output_, false, 0});
  return out;
}

// Values in the file's order: Q/K rows (and their biases/norms) in rotate-half order.
std::vector<float> file_values(const NamedTensor& t, int64_t head_dim) {
  if (t.qk_heads_ == 0) return t.tensor_->data_;
  return to_rotate_half(t.tensor_->data_, t.qk_heads_, head_dim, t.vector_ ? 1 : t.tensor_->cols_);
}

std::string hf_architecture(const std::string& arch) {
  if (arch == "mistral") return "MistralForCausalLM";
  if (arch == "qwen2") return "Qwen2ForCausalLM";
  if (arch == "qwen3") return "Qwen3ForCausalLM";
  return "LlamaForCausalLM";
}

void write_hf_config(const ModelConfig& c, const fs::path& dir) {
  const json j = {{"architectures", {hf_architecture(c.arch_)}},
                  {"hidden_act", "silu"},
                  {"hidden_size", c.d_model_},
                  {"intermediate_size", c.d_ff_},
                  {"num_hidden_layers", c.n_layers_},
                  {"num_attention_heads", c.n_heads_},
                  {"num_key_value_heads", c.n_kv_heads_},
                  {"head_dim", c.head_dim_},
                  {"vocab_size", c.vocab_},
                  {"max_position_embeddings", c.max_positions_},
                  {"rms_norm_eps", c.rms_eps_},
                  {"rope_theta", c.rope_theta_},
                  {"tie_word_embeddings", c.tied_embeddings_}};
  test::write_text((dir / "config.json").string(), j.dump(2));
}

enum class Dtype { kF32, kF16, kBF16 };

// An HF checkpoint of `w` in `dir`: config.json and `n_shards` safetensors files, with
// model.safetensors.index.json when `with_index`.
void write_hf_checkpoint(const ModelWeights& w, const fs::path& dir, Dtype dtype = Dtype::kF32,
                         int n_shards = 1, bool with_index = false) {
  fs::create_directories(dir);
  write_hf_config(w.config_, dir);
  std::vector<SafetensorsWriter> shards(static_cast<size_t>(n_shards));
  std::vector<std::string> names;
  for (int s = 0; s < n_shards; ++s) {
    names.push_back(n_shards == 1 ? "model.safetensors"
                                  : "model-0000" + std::to_string(s + 1) + "-of-0000" +
                                        std::to_string(n_shards) + ".safetensors");
  }
  json weight_map = json::object();
  size_t i = 0;
  for (const NamedTensor& t : named_tensors(w)) {
    const size_t s = i++ % shards.size();
    const std::vector<float> v = file_values(t, w.config_.head_dim_);
    const std::vector<int64_t> shape =
        t.vector_ ? std::vector<int64_t>{t.tensor_->cols_}
                  : std::vector<int64_t>{t.tensor_->rows_, t.tensor_->cols_};
    switch (dtype) {
      case Dtype::kF32:
        shards[s].add(t.hf_name_, "F32", shape, test::f32_bytes(v));
        break;
      case Dtype::kF16:
        shards[s].add(t.hf_name_, "F16", shape, test::f16_bytes(v));
        break;
      case Dtype::kBF16:
        shards[s].add(t.hf_name_, "BF16", shape, test::bf16_bytes(v));
        break;
    }
    weight_map[t.hf_name_] = names[s];
  }
  for (size_t s = 0; s < shards.size(); ++s) shards[s].write((dir / names[s]).string());
  if (with_index) {
    test::write_text((dir / "model.safetensors.index.json").string(),
                     json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump());
  }
}

// A GGUF of `w` as llama.cpp's converter lays it out: llama/mistral Q/K in adjacent-pair order,
// qwen2/qwen3 Q/K (and biases, q/k norms) left in HF rotate-half order.
GgufWriter gguf_of(const ModelWeights& w) {
  const ModelConfig& c = w.config_;
  const bool rotate_half = c.arch_ == "qwen2" || c.arch_ == "qwen3";
  const std::string p = c.arch_ + ".";
  GgufWriter g;
  g.add_string("general.architecture", c.arch_);
  g.add_u32(p + "block_count", static_cast<uint32_t>(c.n_layers_));
  g.add_u32(p + "context_length", static_cast<uint32_t>(c.max_positions_));
  g.add_u32(p + "embedding_length", static_cast<uint32_t>(c.d_model_));
  g.add_u32(p + "feed_forward_length", static_cast<uint32_t>(c.d_ff_));
  g.add_u32(p + "attention.head_count", static_cast<uint32_t>(c.n_heads_));
  g.add_u32(p + "attention.head_count_kv", static_cast<uint32_t>(c.n_kv_heads_));
  g.add_u32(p + "attention.key_length", static_cast<uint32_t>(c.head_dim_));
  g.add_u32(p + "attention.value_length", static_cast<uint32_t>(c.head_dim_));
  g.add_f32(p + "attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_eps_));
  g.add_f32(p + "rope.freq_base", static_cast<float>(c.rope_theta_));
  for (const NamedTensor& t : named_tensors(w)) {
    const std::vector<float> v = rotate_half ? file_values(t, c.head_dim_) : t.tensor_->data_;
    const std::vector<uint64_t> ne =
        t.vector_ ? std::vector<uint64_t>{static_cast<uint64_t>(t.tensor_->cols_)}
                  : std::vector<uint64_t>{static_cast<uint64_t>(t.tensor_->cols_),
                                          static_cast<uint64_t>(t.tensor_->rows_)};
    g.add_f32_tensor(t.gguf_name_, ne, v);
  }
  return g;
}

// Sizes exercise GQA and (for qwen3) a head_dim that is not d_model / n_heads.
ModelConfig small_config(const std::string& arch) {
  ModelConfig c;
  c.name_ = "small-" + arch;
  c.arch_ = arch;
  c.n_layers_ = 2;
  c.d_model_ = 32;
  c.n_heads_ = 4;
  c.n_kv_heads_ = 2;
  c.head_dim_ = arch == "qwen3" ? 16 : 8;
  c.d_ff_ = 48;
  c.vocab_ = 50;
  c.max_positions_ = 64;
  // float32-representable, so a GGUF's float32 metadata holds them exactly.
  c.rms_eps_ = 0.0000009999999974752427;
  c.rope_theta_ = 1000000.0;
  c.qkv_bias_ = arch == "qwen2";
  c.qk_norm_ = arch == "qwen3";
  return c;
}

TEST(LoadWeights, OracleGgufShapesAndValues) {
  const ModelWeights w = load_weights(kOracleDir + "tiny-mha.gguf");
  EXPECT_EQ(w.config_.name_, "tiny-mha");
  ASSERT_EQ(w.layers_.size(), 2u);
  EXPECT_EQ(w.tok_embd_.rows_, 260);
  EXPECT_EQ(w.tok_embd_.cols_, 64);
  EXPECT_FLOAT_EQ(w.tok_embd_.data_[0], -1.6038367748260498f);
  EXPECT_FLOAT_EQ(w.tok_embd_.row(259)[63], -0.7783625721931458f);
  const LayerWeights& l0 = w.layers_[0];
  EXPECT_EQ(l0.attn_norm_.data_.size(), 64u);
  EXPECT_FLOAT_EQ(l0.attn_norm_.data_[0], 0.9315244555473328f);
  EXPECT_EQ(l0.wq_.rows_, 64);
  EXPECT_EQ(l0.wq_.cols_, 64);
  // llama-architecture GGUF Q rows are already in adjacent-pair order: taken as stored.
  EXPECT_FLOAT_EQ(l0.wq_.row(1)[1], 0.16956228017807007f);
  EXPECT_EQ(l0.w_gate_.rows_, 172);
  EXPECT_EQ(l0.w_gate_.cols_, 64);
  EXPECT_EQ(w.layers_[1].w_down_.rows_, 64);
  EXPECT_EQ(w.layers_[1].w_down_.cols_, 172);
  EXPECT_FLOAT_EQ(w.layers_[1].w_down_.data_[0], -0.07375895977020264f);
  EXPECT_TRUE(l0.bq_.empty());
  EXPECT_TRUE(l0.q_norm_.empty());
  EXPECT_FLOAT_EQ(w.output_norm_.data_[0], 1.1253962516784668f);
  EXPECT_EQ(w.output_.rows_, 260);
  EXPECT_FLOAT_EQ(w.output_.data_.back(), -0.0024179797619581223f);

  const ModelWeights g = load_weights(kOracleDir + "tiny-gqa-s.gguf");
  ASSERT_EQ(g.layers_.size(), 3u);
  EXPECT_EQ(g.layers_[2].wk_.rows_, 32);
  EXPECT_EQ(g.layers_[2].wk_.cols_, 128);
  EXPECT_EQ(g.layers_[2].wo_.rows_, 128);
}

TEST(LoadWeights, OracleAsHfCheckpointIsIdentical) {
  const ModelWeights gguf = load_weights(kOracleDir + "tiny-mha.gguf");
  TempDir dir;
  const fs::path one = dir.path() / "tiny-mha";
  write_hf_checkpoint(gguf, one);
  const ModelWeights hf = load_weights(one.string());
  EXPECT_EQ(hf.config_.name_, "tiny-mha");
  expect_same_weights(gguf, hf);
  // The .safetensors file itself, with config.json beside it.
  expect_same_weights(gguf, load_weights((one / "model.safetensors").string()));
}

TEST(LoadWeights, ShardedHfCheckpoints) {
  const ModelWeights gguf = load_weights(kOracleDir + "tiny-gqa-s.gguf");
  TempDir dir;
  const fs::path indexed = dir.path() / "indexed";
  write_hf_checkpoint(gguf, indexed, Dtype::kF32, 3, true);
  expect_same_weights(gguf, load_weights(indexed.string()));
  expect_same_weights(gguf, load_weights((indexed / "model.safetensors.index.json").string()));
  const fs::path globbed = dir.path() / "globbed";
  write_hf_checkpoint(gguf, globbed, Dtype::kF32, 2, false);
  expect_same_weights(gguf, load_weights(globbed.string()));
}

TEST(LoadWeights, HalfPrecisionHfCheckpoints) {
  const ModelWeights gguf = load_weights(kOracleDir + "tiny-mha.gguf");
  for (Dtype dtype : {Dtype::kF16, Dtype::kBF16}) {
    TempDir dir;
    write_hf_checkpoint(gguf, dir.path(), dtype);
    const ModelWeights hf = load_weights(dir.path().string());
    // Expected: the F32 weights rounded to the file's precision.
    ModelWeights rounded = gguf;
    auto round = [&](FloatTensor& t) {
      for (float& v : t.data_) {
        v = dtype == Dtype::kF16 ? fp16_to_float(test::float_to_fp16(v))
                                 : bf16_to_float(test::float_to_bf16(v));
      }
    };
    round(rounded.tok_embd_);
    round(rounded.output_norm_);
    round(rounded.output_);
    for (auto& L : rounded.layers_) {
      for (FloatTensor* t : {&L.attn_norm_, &L.wq_, &L.wk_, &L.wv_, &L.wo_, &L.ffn_norm_,
                             &L.w_gate_, &L.w_up_, &L.w_down_}) {
        round(*t);
      }
    }
    expect_same_weights(rounded, hf);
  }
}

TEST(LoadWeights, HfQkRowsArePermutedToAdjacentPairs) {
  // Mark every HF row of q_proj with its index and every q_norm element with its index, then
  // check the loaded order against the convention written out by hand.
  ModelConfig c = small_config("qwen3");
  c.n_layers_ = 1;
  ModelWeights w = synthetic_weights(c, 7);
  TempDir dir;
  write_hf_checkpoint(w, dir.path());
  SafetensorsWriter st;
  for (const NamedTensor& t : named_tensors(w)) {
    std::vector<float> v = file_values(t, c.head_dim_);
    if (t.hf_name_ == "model.layers.0.self_attn.q_proj.weight") {
      for (int64_t r = 0; r < t.tensor_->rows_; ++r) {
        std::fill_n(v.begin() + r * t.tensor_->cols_, t.tensor_->cols_, static_cast<float>(r));
      }
    }
    if (t.hf_name_ == "model.layers.0.self_attn.q_norm.weight") {
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
    }
    const std::vector<int64_t> shape =
        t.vector_ ? std::vector<int64_t>{t.tensor_->cols_}
                  : std::vector<int64_t>{t.tensor_->rows_, t.tensor_->cols_};
    st.add(t.hf_name_, "F32", shape, test::f32_bytes(v));
  }
  st.write(dir.file("model.safetensors"));
  const ModelWeights hf = load_weights(dir.path().string());
  // head_dim 16: loaded row 2j is HF row j, row 2j+1 is HF row j + 8, per head of 16 rows.
  const std::vector<float> head0 = {0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15};
  for (int64_t r = 0; r < 16; ++r) {
    EXPECT_EQ(hf.layers_[0].wq_.row(r)[0], head0[static_cast<size_t>(r)]) << r;
    EXPECT_EQ(hf.layers_[0].wq_.row(16 + r)[5], 16 + head0[static_cast<size_t>(r)]) << r;
    EXPECT_EQ(hf.layers_[0].q_norm_.data_[static_cast<size_t>(r)], head0[static_cast<size_t>(r)]);
  }
}

TEST(LoadWeights, QwenGgufAndHfLoadToTheSameWeights) {
  for (const std::string arch : {"qwen2", "qwen3", "mistral", "llama"}) {
    SCOPED_TRACE(arch);
    const ModelWeights w = synthetic_weights(small_config(arch), 11);
    TempDir dir;
    gguf_of(w).write(dir.file("m.gguf"));
    write_hf_checkpoint(w, dir.path() / "hf");
    const ModelWeights from_gguf = load_weights(dir.file("m.gguf"));
    const ModelWeights from_hf = load_weights((dir.path() / "hf").string());
    expect_same_weights(w, from_gguf);
    expect_same_weights(w, from_hf);
    EXPECT_EQ(from_gguf.config_.qkv_bias_, arch == "qwen2");
    EXPECT_EQ(from_gguf.config_.qk_norm_, arch == "qwen3");
  }
}

TEST(LoadWeights, TiedEmbeddingsCopyTheEmbedding) {
  ModelConfig c = small_config("llama");
  c.tied_embeddings_ = true;
  const ModelWeights w = synthetic_weights(c, 3);
  expect_same_tensor(w.output_, w.tok_embd_, "synthetic tied output");
  TempDir dir;
  gguf_of(w).write(dir.file("tied.gguf"));
  const ModelWeights g = load_weights(dir.file("tied.gguf"));
  EXPECT_TRUE(g.config_.tied_embeddings_);
  expect_same_tensor(g.output_, w.tok_embd_, "gguf tied output");
  write_hf_checkpoint(w, dir.path() / "hf");
  const ModelWeights h = load_weights((dir.path() / "hf").string());
  EXPECT_TRUE(h.config_.tied_embeddings_);
  expect_same_tensor(h.output_, w.tok_embd_, "hf tied output");
}

TEST(LoadWeights, WrongShapeNamesTensorExpectedAndActual) {
  const ModelWeights w = synthetic_weights(small_config("llama"), 5);
  TempDir dir;
  {
    // A transposed K projection: ne [16, 32] instead of [32, 16].
    ModelWeights t = w;
    std::swap(t.layers_[1].wk_.rows_, t.layers_[1].wk_.cols_);
    gguf_of(t).write(dir.file("bad.gguf"));
  }
  const std::string msg = error_of([&] { load_weights(dir.file("bad.gguf")); });
  EXPECT_THAT(msg, HasSubstr(dir.file("bad.gguf")));
  EXPECT_THAT(msg, HasSubstr("tensor 'blk.1.attn_k.weight'"));
  EXPECT_THAT(msg, HasSubstr("shape [16, 32]"));
  EXPECT_THAT(msg, HasSubstr("expected [32, 16]"));

  ModelWeights t = w;
  t.layers_[0].w_down_.cols_ = 47;
  t.layers_[0].w_down_.data_.resize(static_cast<size_t>(32 * 47));
  write_hf_checkpoint(t, dir.path() / "hf");
  const std::string hf_msg = error_of([&] { load_weights((dir.path() / "hf").string()); });
  EXPECT_THAT(hf_msg, HasSubstr("model.safetensors"));
  EXPECT_THAT(hf_msg, HasSubstr("tensor 'model.layers.0.mlp.down_proj.weight'"));
  EXPECT_THAT(hf_msg, HasSubstr("shape [32, 47]"));
  EXPECT_THAT(hf_msg, HasSubstr("expected [32, 48]"));
}

TEST(LoadWeights, MissingAndUnexpectedTensors) {
  ModelConfig c = small_config("llama");
  const ModelWeights w = synthetic_weights(c, 5);
  TempDir dir;
  {
    // Untied config without lm_head.weight in the checkpoint.
    ModelWeights t = w;
    t.config_.tied_embeddings_ = true;
    write_hf_checkpoint(t, dir.path() / "nohead");
    write_hf_config(c, dir.path() / "nohead");
    const std::string msg = error_of([&] { load_weights((dir.path() / "nohead").string()); });
    EXPECT_THAT(msg, HasSubstr("tensor 'lm_head.weight': missing"));
  }
  {
    GgufWriter g = gguf_of(w);
    g.add_f32_tensor("blk.0.attn_output.bias", {32}, std::vector<float>(32, 0.0f));
    g.write(dir.file("extra.gguf"));
    const std::string msg = error_of([&] { load_weights(dir.file("extra.gguf")); });
    EXPECT_THAT(msg, HasSubstr(dir.file("extra.gguf")));
    EXPECT_THAT(msg, HasSubstr("tensor 'blk.0.attn_output.bias': not part of the model"));
  }
  {
    // Old transformers checkpoints carry rotary_emb.inv_freq buffers: ignored.
    write_hf_checkpoint(w, dir.path() / "invfreq");
    SafetensorsWriter extra;
    extra.add_f32("model.layers.0.self_attn.rotary_emb.inv_freq", {4}, {1, 2, 3, 4});
    extra.write((dir.path() / "invfreq" / "extra.safetensors").string());
    expect_same_weights(w, load_weights((dir.path() / "invfreq").string()));
  }
}

TEST(LoadWeights, CheckpointLayoutErrors) {
  const ModelWeights w = synthetic_weights(small_config("llama"), 5);
  TempDir dir;
  EXPECT_THAT(error_of([&] { load_weights(dir.file("absent.gguf")); }),
              HasSubstr(dir.file("absent.gguf") + ": not found"));
  EXPECT_THAT(error_of([&] { load_weights(dir.path().string()); }),
              HasSubstr("no *.safetensors files"));

  write_hf_checkpoint(w, dir.path() / "noconfig");
  fs::remove(dir.path() / "noconfig" / "config.json");
  EXPECT_THAT(error_of([&] { load_weights((dir.path() / "noconfig").string()); }),
              HasSubstr((dir.path() / "noconfig" / "config.json").string() + ": not found"));

  test::write_text(dir.file("notes.txt"), "x");
  EXPECT_THAT(error_of([&] { load_weights(dir.file("notes.txt")); }),
              HasSubstr("not a .gguf file, a .safetensors file or a model directory"));

  const fs::path twice = dir.path() / "twice";
  write_hf_checkpoint(w, twice, Dtype::kF32, 2, false);
  SafetensorsWriter dup;
  dup.add_f32("model.norm.weight", {32}, std::vector<float>(32, 1.0f));
  dup.write((twice / "model-00003-of-00003.safetensors").string());
  EXPECT_THAT(error_of([&] { load_weights(twice.string()); }),
              HasSubstr("tensor 'model.norm.weight': also in"));

  const fs::path escape = dir.path() / "escape";
  write_hf_checkpoint(w, escape, Dtype::kF32, 1, true);
  test::write_text((escape / "model.safetensors.index.json").string(),
                   R"({"weight_map": {"model.norm.weight": "../model.safetensors"}})");
  EXPECT_THAT(error_of([&] { load_weights(escape.string()); }),
              HasSubstr("weight_map.model.norm.weight: '../model.safetensors' is not a file name"));

  const fs::path wrong = dir.path() / "wrong-index";
  write_hf_checkpoint(w, wrong, Dtype::kF32, 2, true);
  test::write_text((wrong / "model.safetensors.index.json").string(),
                   R"({"weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors"}})");
  EXPECT_THAT(error_of([&] { load_weights(wrong.string()); }),
              HasSubstr("weight_map.model.norm.weight: not found in shard"));
}

TEST(SyntheticWeights, DeterministicAndShapedByTheConfig) {
  const ModelConfig c = small_config("qwen2");
  const ModelWeights a = synthetic_weights(c, 42);
  const ModelWeights b = synthetic_weights(c, 42);
  expect_same_weights(a, b);
  const ModelWeights other = synthetic_weights(c, 43);
  EXPECT_NE(a.layers_[0].wq_.data_, other.layers_[0].wq_.data_);

  EXPECT_EQ(a.tok_embd_.rows_, 50);
  EXPECT_EQ(a.tok_embd_.cols_, 32);
  ASSERT_EQ(a.layers_.size(), 2u);
  const LayerWeights& L = a.layers_[1];
  EXPECT_EQ(L.wq_.rows_, 32);
  EXPECT_EQ(L.wk_.rows_, 16);
  EXPECT_EQ(L.wo_.cols_, 32);
  EXPECT_EQ(L.bq_.data_.size(), 32u);
  EXPECT_EQ(L.bk_.data_.size(), 16u);
  EXPECT_TRUE(L.q_norm_.empty());
  EXPECT_EQ(L.w_down_.rows_, 32);
  EXPECT_EQ(L.w_down_.cols_, 48);
  EXPECT_EQ(a.output_.rows_, 50);
  // Untied: an independent head, not a copy of the embedding.
  EXPECT_NE(a.output_.data_, a.tok_embd_.data_);
}

TEST(SyntheticWeights, Statistics) {
  ModelConfig c = small_config("llama");
  c.d_model_ = 256;
  c.d_ff_ = 512;
  c.n_heads_ = 8;
  c.n_kv_heads_ = 8;
  c.head_dim_ = 32;
  const ModelWeights w = synthetic_weights(c, 1);
  auto moments = [](const std::vector<float>& v) {
    double s = 0, s2 = 0;
    for (float x : v) {
      s += x;
      s2 += static_cast<double>(x) * x;
    }
    const double mean = s / static_cast<double>(v.size());
    return std::make_pair(mean, std::sqrt(s2 / static_cast<double>(v.size()) - mean * mean));
  };
  // w_up is [512][256]: 131072 samples of N(0, 1/sqrt(256)).
  const auto [up_mean, up_std] = moments(w.layers_[0].w_up_.data_);
  EXPECT_NEAR(up_mean, 0.0, 0.002);
  EXPECT_NEAR(up_std, 1.0 / 16.0, 0.002);
  // w_down is [256][512]: its scale follows its own input width.
  EXPECT_NEAR(moments(w.layers_[0].w_down_.data_).second, 1.0 / std::sqrt(512.0), 0.002);
  const auto [norm_mean, norm_std] = moments(w.layers_[1].ffn_norm_.data_);
  EXPECT_NEAR(norm_mean, 1.0, 0.02);
  EXPECT_GT(norm_std, 0.0);
  EXPECT_LT(norm_std, 0.1);
}

TEST(SyntheticWeights, RejectsAnInvalidConfig) {
  ModelConfig c = small_config("llama");
  c.n_kv_heads_ = 3;  // 4 heads do not split into groups of 3
  EXPECT_THROW(synthetic_weights(c, 1), Error);
}

std::vector<float> read_oracle_logits(const std::string& name) {
  std::ifstream in(kOracleDir + name + ".logits.bin", std::ios::binary);
  std::vector<float> v;
  float x = 0;
  while (in.read(reinterpret_cast<char*>(&x), sizeof x)) v.push_back(x);
  return v;
}

TEST(LoadWeights, GgufAndHfCheckpointGiveTheSameLogits) {
  const ModelWeights gguf = load_weights(kOracleDir + "tiny-mha.gguf");
  TempDir dir;
  write_hf_checkpoint(gguf, dir.path());
  const ModelWeights hf = load_weights(dir.path().string());
  const std::vector<int32_t> tokens = {1, 5, 9, 42, 100, 7, 3, 250, 17, 64, 33, 2};
  FloatReference ref_gguf(gguf);
  FloatReference ref_hf(hf);
  const std::vector<float> a = ref_gguf.forward(tokens);
  const std::vector<float> b = ref_hf.forward(tokens);
  EXPECT_EQ(a, b);
  const std::vector<float> oracle = read_oracle_logits("tiny-mha");
  ASSERT_EQ(b.size(), oracle.size());
  double max_diff = 0;
  for (size_t i = 0; i < b.size(); ++i)
    max_diff = std::max(max_diff, std::fabs(double(b[i]) - oracle[i]));
  EXPECT_LT(max_diff, 1e-4);
}

}  // namespace
}  // namespace hw
