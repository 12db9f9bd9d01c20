// Tests of model descriptions: every shipped preset must reproduce the published parameter
// count exactly, derived sizes must follow from the hyperparameters, and every malformed or
// unsupported config.json must be rejected with a message naming the offending field.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "model/model_config.h"

namespace hw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A minimal valid Llama config (Llama 3.1 8B's shape) that error tests mutate one key of.
json base_llama() {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"hidden_size", 4096},
          {"intermediate_size", 14336},
          {"num_hidden_layers", 32},
          {"num_attention_heads", 32},
          {"num_key_value_heads", 8},
          {"vocab_size", 128256},
          {"max_position_embeddings", 131072},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 500000.0},
          {"tie_word_embeddings", false}};
}

// Message of the hw::Error `fn` throws; fails the test when it throws nothing.
template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected hw::Error";
  return {};
}

std::string hf_error(const json& j) {
  return error_of([&] { model_config_from_hf_json(j.dump(), "test/config.json"); });
}

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("hardwire_test_model_config_" + std::string(info->name()) + "_" +
             std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path write(const std::string& rel, const std::string& text) const {
    fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct PresetCase {
  const char* name_;
  int64_t params_;
};

// Published parameter counts (HF model cards / safetensors index totals).
const PresetCase kPresets[] = {
    {"llama-3.1-8b", 8030261248LL},  {"llama-3.1-70b", 70553706496LL},
    {"llama-3.2-1b", 1235814400LL},  {"llama-3.2-3b", 3212749824LL},
    {"mistral-7b", 7241732096LL},    {"qwen2.5-7b", 7615616512LL},
    {"qwen3-8b", 8190735360LL},
};

TEST(ModelPresets, ExactPublishedParameterCounts) {
  for (const auto& p : kPresets) {
    const ModelConfig m = load_model_config(p.name_);
    EXPECT_EQ(m.params(), p.params_) << p.name_;
    EXPECT_EQ(m.name_, p.name_);
  }
}

TEST(ModelPresets, ListMatchesShippedFiles) {
  // Other presets (small test models) may ship too; the published ones must all be listed.
  const auto names = model_preset_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const auto& p : kPresets) {
    EXPECT_NE(std::find(names.begin(), names.end(), p.name_), names.end()) << p.name_;
  }
}

TEST(ModelPresets, Llama31_8bDerivedSizes) {
  const ModelConfig m = load_model_config("llama-3.1-8b");
  EXPECT_EQ(m.arch_, "llama");
  EXPECT_EQ(m.n_layers_, 32);
  EXPECT_EQ(m.d_model_, 4096);
  EXPECT_EQ(m.head_dim_, 128);
  EXPECT_EQ(m.q_dim(), 4096);
  EXPECT_EQ(m.kv_dim(), 1024);
  EXPECT_EQ(m.group_size(), 4);
  EXPECT_EQ(m.d_ff_, 14336);
  EXPECT_EQ(m.vocab_, 128256);
  EXPECT_EQ(m.max_positions_, 131072);
  EXPECT_DOUBLE_EQ(m.rope_theta_, 500000.0);
  EXPECT_DOUBLE_EQ(m.rms_eps_, 1e-5);
  EXPECT_FALSE(m.tied_embeddings_);
  EXPECT_FALSE(m.qkv_bias_);
  EXPECT_FALSE(m.qk_norm_);
  EXPECT_EQ(m.sliding_window_, 0);
  ASSERT_TRUE(m.rope_scaling_.enabled_);
  EXPECT_DOUBLE_EQ(m.rope_scaling_.factor_, 8.0);
  EXPECT_DOUBLE_EQ(m.rope_scaling_.low_freq_factor_, 1.0);
  EXPECT_DOUBLE_EQ(m.rope_scaling_.high_freq_factor_, 4.0);
  EXPECT_EQ(m.rope_scaling_.original_max_positions_, 8192);
  // public-figures.md: 2 x 32 x 8 x 128 values per token = 64 KiB at 8 bit.
  EXPECT_EQ(m.kv_bytes_per_token(8), 65536);
  EXPECT_EQ(m.kv_bytes_per_token(16), 131072);
  EXPECT_EQ(m.weight_bytes(16), 2 * m.params());
  EXPECT_EQ(m.weight_bytes(8), m.params());
  EXPECT_EQ(m.weight_bytes(4), m.params() / 2);
  // 4 * 4096 + 3 * 4096 * 14336 + 2 * 4096 * 1024 + 2 * 4096 * 4096 + 2 * 4096
  EXPECT_EQ(m.params_per_layer(), 218112000);
}

TEST(ModelPresets, LayerTensorOrderAndShapes) {
  const ModelConfig m = load_model_config("llama-3.1-8b");
  const auto t = m.layer_tensors();
  const std::vector<std::string> names = {"attn_norm", "attn_q",   "attn_k",   "attn_v",
                                          "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                                          "ffn_down"};
  ASSERT_EQ(t.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(t[i].name_, names[i]);
  EXPECT_EQ(t[1].rows_, 4096);  // attn_q [q_dim][d_model]
  EXPECT_EQ(t[1].cols_, 4096);
  EXPECT_EQ(t[2].rows_, 1024);  // attn_k [kv_dim][d_model]
  EXPECT_EQ(t[4].rows_, 4096);  // attn_output [d_model][q_dim]
  EXPECT_EQ(t[8].rows_, 4096);  // ffn_down [d_model][d_ff]
  EXPECT_EQ(t[8].cols_, 14336);
  const auto g = m.global_tensors();
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].name_, "token_embd");
  EXPECT_EQ(g[2].name_, "output");
  EXPECT_EQ(g[2].elements(), 128256LL * 4096);
}

TEST(ModelPresets, TiedEmbeddingsCountedOnce) {
  const ModelConfig m = load_model_config("llama-3.2-1b");
  EXPECT_TRUE(m.tied_embeddings_);
  EXPECT_EQ(m.head_dim_, 64);
  EXPECT_DOUBLE_EQ(m.rope_scaling_.factor_, 32.0);
  const auto g = m.global_tensors();
  ASSERT_EQ(g.size(), 2u);
  for (const auto& t : g) EXPECT_NE(t.name_, "output");
  ModelConfig untied = m;
  untied.tied_embeddings_ = false;
  EXPECT_EQ(untied.params() - m.params(), m.vocab_ * m.d_model_);
}

TEST(ModelPresets, Qwen2HasQkvBiases) {
  const ModelConfig m = load_model_config("qwen2.5-7b");
  EXPECT_EQ(m.arch_, "qwen2");
  EXPECT_TRUE(m.qkv_bias_);
  EXPECT_FALSE(m.qk_norm_);
  EXPECT_FALSE(m.rope_scaling_.enabled_);
  EXPECT_EQ(m.sliding_window_, 0);  // use_sliding_window false
  EXPECT_EQ(m.group_size(), 7);
  int64_t bias = 0;
  for (const auto& t : m.layer_tensors()) {
    if (t.name_.size() > 5 && t.name_.compare(t.name_.size() - 5, 5, ".bias") == 0) {
      bias += t.elements();
    }
  }
  EXPECT_EQ(bias, m.q_dim() + 2 * m.kv_dim());
}

TEST(ModelPresets, Qwen3HasHeadNorms) {
  const ModelConfig m = load_model_config("qwen3-8b");
  EXPECT_EQ(m.arch_, "qwen3");
  EXPECT_TRUE(m.qk_norm_);
  EXPECT_FALSE(m.qkv_bias_);
  EXPECT_EQ(m.head_dim_, 128);
  EXPECT_EQ(m.n_layers_, 36);
  int found = 0;
  for (const auto& t : m.layer_tensors()) {
    if (t.name_ == "attn_q_norm" || t.name_ == "attn_k_norm") {
      EXPECT_EQ(t.elements(), 128);
      ++found;
    }
  }
  EXPECT_EQ(found, 2);
}

TEST(ModelPresets, MistralRecordsSlidingWindow) {
  const ModelConfig m = load_model_config("mistral-7b");
  EXPECT_EQ(m.arch_, "mistral");
  EXPECT_EQ(m.sliding_window_, 4096);
  EXPECT_EQ(m.vocab_, 32000);
  EXPECT_DOUBLE_EQ(m.rope_theta_, 10000.0);
}

TEST(ModelPresets, BitWidthsRoundUpOverTheWholeModel) {
  const ModelConfig m = load_model_config("llama-3.2-1b");
  const int64_t p = m.params();
  EXPECT_EQ(m.weight_bytes(3), (p * 3 + 7) / 8);
  EXPECT_EQ(m.weight_bytes(1), (p + 7) / 8);
  EXPECT_EQ(m.kv_bytes_per_token(3), (2 * 16 * 512 * 3 + 7) / 8);
  EXPECT_NE(error_of([&] { m.weight_bytes(0); }), "");
}

TEST(ModelPresets, CaseInsensitiveName) {
  EXPECT_EQ(load_model_config("Llama-3.1-8B").params(), 8030261248LL);
}

TEST(ModelPresets, UnknownPresetSuggestsClosest) {
  const std::string msg = error_of([] { load_model_config("llama-3.1-9b"); });
  EXPECT_NE(msg.find("llama-3.1-9b"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'llama-3.1-8b'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("qwen3-8b"), std::string::npos) << msg;  // the list of presets
}

TEST(ModelConfigHf, ValidBaseParses) {
  const ModelConfig m = model_config_from_hf_json(base_llama().dump(), "dir/my-model.json");
  EXPECT_EQ(m.name_, "my-model");
  EXPECT_EQ(m.params(), 8030261248LL);
}

TEST(ModelConfigHf, DefaultsFollowTransformers) {
  json j = base_llama();
  j.erase("num_key_value_heads");
  j.erase("rope_theta");
  j.erase("tie_word_embeddings");
  j["rope_scaling"] = nullptr;
  const ModelConfig m = model_config_from_hf_json(j.dump(), "c.json");
  EXPECT_EQ(m.n_kv_heads_, m.n_heads_);
  EXPECT_DOUBLE_EQ(m.rope_theta_, 10000.0);
  EXPECT_FALSE(m.tied_embeddings_);
  EXPECT_FALSE(m.rope_scaling_.enabled_);
}

TEST(ModelConfigHf, ExplicitHeadDimMayDifferFromHiddenOverHeads) {
  json j = base_llama();
  j["hidden_size"] = 1000;  // not divisible by 32, fine with explicit head_dim
  j["head_dim"] = 64;
  const ModelConfig m = model_config_from_hf_json(j.dump(), "c.json");
  EXPECT_EQ(m.q_dim(), 2048);
  EXPECT_EQ(m.layer_tensors()[1].cols_, 1000);
}

TEST(ModelConfigHf, UnknownArchitectureListsSupported) {
  json j = base_llama();
  j["architectures"] = {"GPT2LMHeadModel"};
  const std::string msg = hf_error(j);
  EXPECT_NE(msg.find("test/config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("architectures"), std::string::npos) << msg;
  EXPECT_NE(msg.find("GPT2LMHeadModel"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Qwen3ForCausalLM"), std::string::npos) << msg;
}

TEST(ModelConfigHf, EmptyArchitectures) {
  json j = base_llama();
  j["architectures"] = json::array();
  EXPECT_NE(hf_error(j).find("architectures"), std::string::npos);
}

TEST(ModelConfigHf, MissingFieldsNamed) {
  for (const char* key : {"architectures", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads", "vocab_size", "max_position_embeddings",
                          "rms_norm_eps"}) {
    json j = base_llama();
    j.erase(key);
    const std::string msg = hf_error(j);
    EXPECT_NE(msg.find(std::string("'") + key + "'"), std::string::npos) << key << ": " << msg;
    EXPECT_NE(msg.find("test/config.json"), std::string::npos) << msg;
  }
}

TEST(ModelConfigHf, NonPositiveSizesNamed) {
  for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads", "num_key_value_heads", "vocab_size",
                          "max_position_embeddings"}) {
    for (int bad : {0, -4}) {
      json j = base_llama();
      j[key] = bad;
      const std::string msg = hf_error(j);
      EXPECT_NE(msg.find(key), std::string::npos) << msg;
      EXPECT_NE(msg.find("positive"), std::string::npos) << msg;
    }
  }
  json j = base_llama();
  j["rms_norm_eps"] = 0.0;
  EXPECT_NE(hf_error(j).find("rms_norm_eps"), std::string::npos);
  j = base_llama();
  j["head_dim"] = 0;
  EXPECT_NE(hf_error(j).find("head_dim"), std::string::npos);
}

TEST(ModelConfigHf, WrongTypesNamed) {
  json j = base_llama();
  j["hidden_size"] = "4096";
  EXPECT_NE(hf_error(j).find("hidden_size"), std::string::npos);
  j = base_llama();
  j["num_hidden_layers"] = 32.5;
  EXPECT_NE(hf_error(j).find("num_hidden_layers"), std::string::npos);
  j = base_llama();
  j["tie_word_embeddings"] = "yes";
  EXPECT_NE(hf_error(j).find("tie_word_embeddings"), std::string::npos);
  j = base_llama();
  j["rope_theta"] = "big";
  EXPECT_NE(hf_error(j).find("rope_theta"), std::string::npos);
  j = base_llama();
  j["vocab_size"] = 1e30;
  EXPECT_NE(hf_error(j).find("vocab_size"), std::string::npos);
}

TEST(ModelConfigHf, HiddenNotDivisibleByHeads) {
  json j = base_llama();
  j["hidden_size"] = 4100;
  const std::string msg = hf_error(j);
  EXPECT_NE(msg.find("hidden_size"), std::string::npos) << msg;
  EXPECT_NE(msg.find("num_attention_heads"), std::string::npos) << msg;
  EXPECT_NE(msg.find("head_dim"), std::string::npos) << msg;
}

TEST(ModelConfigHf, HeadsNotMultipleOfKvHeads) {
  json j = base_llama();
  j["num_key_value_heads"] = 6;
  const std::string msg = hf_error(j);
  EXPECT_NE(msg.find("num_attention_heads"), std::string::npos) << msg;
  EXPECT_NE(msg.find("num_key_value_heads"), std::string::npos) << msg;
}

TEST(ModelConfigHf, OddHeadDimRejected) {
  json j = base_llama();
  j["head_dim"] = 127;
  EXPECT_NE(hf_error(j).find("head_dim"), std::string::npos);
}

TEST(ModelConfigHf, MlpBiasRejected) {
  json j = base_llama();
  j["mlp_bias"] = true;
  EXPECT_NE(hf_error(j).find("mlp_bias"), std::string::npos);
  j["mlp_bias"] = false;
  EXPECT_NO_THROW(model_config_from_hf_json(j.dump(), "c.json"));
}

TEST(ModelConfigHf, AttentionBiasRejectedOutsideQwen2) {
  for (const char* arch : {"LlamaForCausalLM", "MistralForCausalLM", "Qwen3ForCausalLM"}) {
    json j = base_llama();
    j["architectures"] = {arch};
    j["attention_bias"] = true;
    const std::string msg = hf_error(j);
    EXPECT_NE(msg.find("attention_bias"), std::string::npos) << msg;
    EXPECT_NE(msg.find("o_proj"), std::string::npos) << msg;
  }
  json j = base_llama();
  j["architectures"] = {"Qwen2ForCausalLM"};
  const ModelConfig m = model_config_from_hf_json(j.dump(), "c.json");
  EXPECT_TRUE(m.qkv_bias_);
}

TEST(ModelConfigHf, OnlySiluActivation) {
  json j = base_llama();
  j["hidden_act"] = "gelu";
  EXPECT_NE(hf_error(j).find("hidden_act"), std::string::npos);
}

TEST(ModelConfigHf, UnsupportedRopeScalingNamed) {
  for (const char* type : {"linear", "dynamic", "yarn"}) {
    json j = base_llama();
    j["rope_scaling"] = {{"rope_type", type}, {"factor", 4.0}};
    const std::string msg = hf_error(j);
    EXPECT_NE(msg.find("rope_scaling.rope_type"), std::string::npos) << msg;
    EXPECT_NE(msg.find(type), std::string::npos) << msg;
  }
  json j = base_llama();
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  EXPECT_NE(hf_error(j).find("rope_scaling.type"), std::string::npos);
  j["rope_scaling"] = {{"factor", 2.0}};
  EXPECT_NE(hf_error(j).find("rope_type"), std::string::npos);
  j["rope_scaling"] = 3;
  EXPECT_NE(hf_error(j).find("rope_scaling"), std::string::npos);
}

TEST(ModelConfigHf, Llama3RopeScalingFieldsChecked) {
  json j = base_llama();
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0}};
  EXPECT_NE(hf_error(j).find("rope_scaling.original_max_position_embeddings"),
            std::string::npos);
  j["rope_scaling"]["original_max_position_embeddings"] = 8192;
  j["rope_scaling"]["high_freq_factor"] = 1.0;
  EXPECT_NE(hf_error(j).find("rope_scaling.high_freq_factor"), std::string::npos);
  j["rope_scaling"]["high_freq_factor"] = 4.0;
  j["rope_scaling"]["factor"] = -1.0;
  EXPECT_NE(hf_error(j).find("rope_scaling.factor"), std::string::npos);
  j["rope_scaling"]["factor"] = 8.0;
  EXPECT_TRUE(model_config_from_hf_json(j.dump(), "c.json").rope_scaling_.enabled_);
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_FALSE(model_config_from_hf_json(j.dump(), "c.json").rope_scaling_.enabled_);
}

TEST(ModelConfigHf, QwenSlidingWindowRejectedWhenEnabled) {
  json j = base_llama();
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["use_sliding_window"] = true;
  j["sliding_window"] = 4096;
  EXPECT_NE(hf_error(j).find("use_sliding_window"), std::string::npos);
}

TEST(ModelConfigHf, MistralSlidingWindowNullMeansNone) {
  json j = base_llama();
  j["architectures"] = {"MistralForCausalLM"};
  j["sliding_window"] = nullptr;
  EXPECT_EQ(model_config_from_hf_json(j.dump(), "c.json").sliding_window_, 0);
  j["sliding_window"] = -1;
  EXPECT_NE(hf_error(j).find("sliding_window"), std::string::npos);
}

TEST(ModelConfigHf, MalformedJson) {
  const std::string msg =
      error_of([] { model_config_from_hf_json("{\"hidden_size\": 4096,", "broken.json"); });
  EXPECT_NE(msg.find("broken.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("JSON"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { model_config_from_hf_json("[1, 2]", "list.json"); }).find("object"),
            std::string::npos);
}

TEST(ModelConfigHf, HugeSizesDoNotOverflow) {
  json j = base_llama();
  j["hidden_size"] = 1LL << 40;
  j["head_dim"] = 128;
  j["vocab_size"] = 1LL << 40;
  EXPECT_NE(hf_error(j).find("overflow"), std::string::npos);
}

TEST(ModelConfigLoad, FileAndDirectory) {
  TempDir dir;
  const fs::path file = dir.write("my-llama.json", base_llama().dump());
  ModelConfig m = load_model_config(file.string());
  EXPECT_EQ(m.name_, "my-llama");
  EXPECT_EQ(m.params(), 8030261248LL);
  dir.write("Some-Model/config.json", base_llama().dump());
  m = load_model_config((dir.path() / "Some-Model").string());
  EXPECT_EQ(m.name_, "Some-Model");
  m = load_model_config((dir.path() / "Some-Model").string() + "/");
  EXPECT_EQ(m.name_, "Some-Model");
}

TEST(ModelConfigLoad, BadFileErrorsNameTheFile) {
  TempDir dir;
  json j = base_llama();
  j.erase("vocab_size");
  const fs::path file = dir.write("bad/config.json", j.dump());
  const std::string msg = error_of([&] { load_model_config(file.string()); });
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("vocab_size"), std::string::npos) << msg;

  fs::create_directories(dir.path() / "empty");
  const std::string empty = error_of([&] { load_model_config((dir.path() / "empty").string()); });
  EXPECT_NE(empty.find("config.json"), std::string::npos) << empty;

  const std::string missing =
      error_of([&] { load_model_config((dir.path() / "nope.json").string()); });
  EXPECT_NE(missing.find("not found"), std::string::npos) << missing;
  const std::string missing_gguf =
      error_of([&] { load_model_config((dir.path() / "nope.gguf").string()); });
  EXPECT_NE(missing_gguf.find("nope.gguf"), std::string::npos) << missing_gguf;
}

TEST(ModelConfigLoad, ConfigsDirFromEnvironment) {
  TempDir dir;
  dir.write("models/tiny.json", base_llama().dump());
  ASSERT_EQ(::setenv("HARDWIRE_CONFIGS", dir.path().c_str(), 1), 0);
  EXPECT_EQ(configs_dir(), dir.path().string());
  EXPECT_EQ(model_preset_names(), std::vector<std::string>{"tiny"});
  EXPECT_EQ(load_model_config("tiny").name_, "tiny");
  ASSERT_EQ(::setenv("HARDWIRE_CONFIGS", (dir.path() / "absent").c_str(), 1), 0);
  const std::string msg = error_of([] { configs_dir(); });
  EXPECT_NE(msg.find("HARDWIRE_CONFIGS"), std::string::npos) << msg;
  ::unsetenv("HARDWIRE_CONFIGS");
  EXPECT_TRUE(fs::is_directory(fs::path(configs_dir()) / "models"));
}

TEST(ModelConfigValidate, NamesFields) {
  ModelConfig m = load_model_config("llama-3.1-8b");
  EXPECT_NO_THROW(m.validate());
  ModelConfig bad = m;
  bad.arch_ = "gpt2";
  EXPECT_NE(error_of([&] { bad.validate(); }).find("arch"), std::string::npos);
  bad = m;
  bad.d_ff_ = 0;
  EXPECT_NE(error_of([&] { bad.validate(); }).find("d_ff"), std::string::npos);
  bad = m;
  bad.n_kv_heads_ = 5;
  EXPECT_NE(error_of([&] { bad.validate(); }).find("n_kv_heads"), std::string::npos);
  bad = m;
  bad.rope_scaling_.high_freq_factor_ = 0.5;
  EXPECT_NE(error_of([&] { bad.validate(); }).find("rope_scaling"), std::string::npos);
  bad = m;
  bad.sliding_window_ = -1;
  EXPECT_NE(error_of([&] { bad.validate(); }).find("sliding_window"), std::string::npos);
}

}  // namespace
}  // namespace hw
