// The GPU roofline-plus-batching model; see gpu_model.h for the formulas.
#include "cost/gpu_model.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "chip/chip_config.h"
#include "common/error.h"

namespace hw {
namespace fs = std::filesystem;

ParamSchema gpu_schema() {
  ParamSchema s("gpu");
  s.add_string("description", "", "free text: which GPU, what the figures are");
  s.add_real("memory.capacity", 0, "B", "HBM (or unified) memory capacity", 1, 1e15).required();
  s.add_real("memory.bandwidth", 0, "B/s", "peak memory bandwidth", 1, 1e16).required();
  s.add_real("compute.peak", 0, "op/s",
             "dense tensor-core peak at the weight format (FLOPs; no sparsity)", 1, 1e20)
      .required();
  s.add_real("efficiency.memory", 0, "",
             "achieved / peak memory bandwidth in decode (cited measurement)", 0.01, 1)
      .required();
  s.add_real("efficiency.compute", 0, "",
             "achieved / peak FLOPs, model FLOPs utilization (cited measurement)", 0.01, 1)
      .required();
  s.add_int("numerics.weight_bits", 8, "bits", "weight format served (8 = FP8)", 1, 32);
  s.add_int("numerics.kv_bits", 8, "bits", "KV cache format (8 = FP8)", 1, 32);
  s.add_real("serving.kv_memory_fraction", 0.9, "",
             "fraction of the memory left after the weights given to the KV cache", 0.01, 1);
  s.add_int("serving.max_batch", 2048, "", "most requests the server batches at once", 1,
            int64_t{1} << 30);
  s.add_int("serving.prefill_chunk_tokens", 8192, "tokens",
            "prompt tokens prefilled together in one forward pass", 1, int64_t{1} << 30);
  s.add_real("power.busy", 0, "W", "board power while serving", 0, 1e5).required();
  s.add_real("power.idle", 0, "W", "board power while idle with the model loaded", 0, 1e5)
      .required();
  return s;
}

nlohmann::json GpuConfig::to_json() const {
  nlohmann::json j = params_.to_json();
  nlohmann::json out;
  out["gpu"] = j.value("gpu", nlohmann::json::object());
  if (j.contains("units")) out["gpu_units"] = j["units"];
  out["gpu_source"] = source_;
  return out;
}

std::vector<std::string> gpu_preset_names() {
  return config_file_stems((fs::path(configs_dir()) / "gpus").string(), ".yaml");
}

namespace {

bool looks_like_path(const std::string& s) {
  const fs::path p(s);
  return s.find('/') != std::string::npos || p.extension() == ".yaml" ||
         p.extension() == ".yml";
}

fs::path resolve_gpu_path(const std::string& name_or_path) {
  if (looks_like_path(name_or_path)) return fs::path(name_or_path);
  return fs::path(configs_dir()) / "gpus" / (name_or_path + ".yaml");
}

}  // namespace

bool is_gpu_config(const std::string& name_or_path) {
  if (name_or_path.empty()) return false;
  std::error_code ec;
  if (!looks_like_path(name_or_path)) {
    const auto chips = chip_preset_names();
    if (std::find(chips.begin(), chips.end(), name_or_path) != chips.end()) return false;
    return fs::is_regular_file(resolve_gpu_path(name_or_path), ec);
  }
  if (!fs::is_regular_file(name_or_path, ec)) return false;
  try {
    const YAML::Node root = YAML::LoadFile(name_or_path);
    return root.IsMap() && root["gpu"] && !root["chip"];
  } catch (const YAML::Exception&) {
    return false;  // the chip loader reports the syntax error
  }
}

GpuConfig load_gpu_config(const std::string& name_or_path,
                          const std::vector<std::string>& overrides) {
  if (name_or_path.empty()) {
    throw make_error("--chip", "empty GPU name", "give a GPU such as h100 or a .yaml path");
  }
  const fs::path path = resolve_gpu_path(name_or_path);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    const auto names = gpu_preset_names();
    std::string list;
    for (size_t i = 0; i < names.size(); ++i) list += (i ? ", " : "") + names[i];
    const std::string near = closest_match(name_or_path, names);
    throw make_error(name_or_path, "no such GPU description (shipped: " + list + ")",
                     near.empty() ? "give the path of a GPU .yaml (configs/gpus/h100.yaml)"
                                  : "did you mean '" + near + "'?");
  }
  const YAML::Node root = load_yaml_file(path.string());
  check_top_level_keys(root, {"gpu"}, path.string());
  if (!root.IsMap() || !root["gpu"]) {
    throw make_error(path.string(), "has no top-level 'gpu:' block",
                     "see configs/gpus/h100.yaml for the layout");
  }
  GpuConfig g;
  g.params_ = resolve_params(gpu_schema(), root, path.string(), overrides);
  const ParamValues& v = g.params_;
  g.name_ = path.stem().string();
  g.source_ = path.string();
  g.description_ = v.get_string("description");
  g.memory_bytes_ = v.get_real("memory.capacity");
  g.memory_bandwidth_bytes_per_s_ = v.get_real("memory.bandwidth");
  g.peak_ops_per_s_ = v.get_real("compute.peak");
  g.memory_efficiency_ = v.get_real("efficiency.memory");
  g.compute_efficiency_ = v.get_real("efficiency.compute");
  g.weight_bits_ = static_cast<int>(v.get_int("numerics.weight_bits"));
  g.kv_bits_ = static_cast<int>(v.get_int("numerics.kv_bits"));
  g.kv_memory_fraction_ = v.get_real("serving.kv_memory_fraction");
  g.max_batch_ = v.get_int("serving.max_batch");
  g.prefill_chunk_tokens_ = v.get_int("serving.prefill_chunk_tokens");
  g.busy_power_w_ = v.get_real("power.busy");
  g.idle_power_w_ = v.get_real("power.idle");
  if (g.idle_power_w_ > g.busy_power_w_) {
    throw make_error(path.string(), "gpu.power.idle is above gpu.power.busy",
                     "idle power is the draw with no requests; it cannot exceed busy power");
  }
  return g;
}

GpuEstimate gpu_estimate(const ModelConfig& model, const GpuConfig& gpu,
                         const WorkloadPoint& point, int weight_bits, int kv_bits) {
  GpuEstimate e;
  e.weight_bits_ = weight_bits > 0 ? weight_bits : gpu.weight_bits_;
  e.kv_bits_ = kv_bits > 0 ? kv_bits : gpu.kv_bits_;
  e.weight_bytes_ = double(model.weight_bytes(e.weight_bits_));
  e.kv_bytes_per_token_ = double(model.kv_bytes_per_token(e.kv_bits_));
  if (e.weight_bytes_ >= gpu.memory_bytes_) {
    throw make_error(gpu.name_, model.name_ + " weights (" +
                                    std::to_string(int64_t(e.weight_bytes_ / 1e9)) +
                                    " GB) do not fit the GPU memory",
                     "use fewer weight bits or a GPU with more memory");
  }
  e.kv_capacity_bytes_ = (gpu.memory_bytes_ - e.weight_bytes_) * gpu.kv_memory_fraction_;
  const int64_t max_ctx = std::max<int64_t>(1, point.max_context_tokens_);
  e.max_context_tokens_1_user_ = std::min<int64_t>(
      model.max_positions_, int64_t(e.kv_capacity_bytes_ / e.kv_bytes_per_token_));
  e.users_requested_ = point.users_;
  const bool fits = max_ctx <= e.max_context_tokens_1_user_;
  e.users_admitted_ = fits ? point.users_ : 0;
  e.users_rejected_ = point.users_ - e.users_admitted_;
  e.max_users_at_context_ =
      fits ? int64_t(e.kv_capacity_bytes_ / (double(max_ctx) * e.kv_bytes_per_token_)) : 0;
  e.batch_ = std::min({e.users_admitted_, e.max_users_at_context_, gpu.max_batch_});
  e.power_w_ = gpu.idle_power_w_;
  if (e.batch_ <= 0) return e;

  const double B = double(e.batch_);
  const double P = std::max(1.0, point.prompt_tokens_);
  const double G = std::max(1.0, point.output_tokens_);
  e.mean_context_tokens_ = P + G / 2.0;
  // FLOPs: 2 per matmul weight per token; the input embedding is a lookup (no FLOPs) unless it
  // is tied to the output projection.
  const double embed = model.tied_embeddings_ ? 0.0 : double(model.vocab_) * double(model.d_model_);
  const double matmul_flops = 2.0 * (double(model.params()) - embed);
  const double attn_flops_per_pos =  // q.k and p.v: 2 MACs per head dim per position per head
      4.0 * double(model.n_layers_) * double(model.n_heads_) * double(model.head_dim_);
  const double flops_per_s = gpu.peak_ops_per_s_ * gpu.compute_efficiency_;
  const double bytes_per_s = gpu.memory_bandwidth_bytes_per_s_ * gpu.memory_efficiency_;

  e.kv_peak_bytes_ = B * double(max_ctx) * e.kv_bytes_per_token_;
  e.step_memory_s_ =
      (e.weight_bytes_ + B * e.mean_context_tokens_ * e.kv_bytes_per_token_) / bytes_per_s;
  e.step_compute_s_ =
      B * (matmul_flops + attn_flops_per_pos * e.mean_context_tokens_) / flops_per_s;
  e.memory_bound_ = e.step_memory_s_ >= e.step_compute_s_;
  e.step_s_ = std::max(e.step_memory_s_, e.step_compute_s_);
  // Causal attention over the prompt: sum_i i ~ P^2 / 2 positions attended.
  const double prefill_compute_s =
      (P * matmul_flops + attn_flops_per_pos * P * P / 2.0) / flops_per_s;
  const double weight_pass_s = e.weight_bytes_ / bytes_per_s;
  // Prompts are prefilled in chunks of up to prefill_chunk_tokens (the batch's prompts share a
  // chunk), each chunk at least one pass over the weights; one request's share of those passes:
  const double passes = std::ceil(B * P / double(gpu.prefill_chunk_tokens_));
  e.prefill_s_ = std::max(prefill_compute_s, passes * weight_pass_s / B);
  // Time to first token of a request alone: its prompt, at least one pass over the weights.
  e.ttft_s_ = std::max(prefill_compute_s, weight_pass_s);

  const double cycle_s = B * e.prefill_s_ + G * e.step_s_;
  e.tokens_per_s_total_ = B * G / cycle_s;
  e.tokens_per_s_per_user_ = e.tokens_per_s_total_ / B;
  e.decode_tokens_per_s_per_user_ = 1.0 / e.step_s_;
  e.power_w_ = gpu.busy_power_w_;
  e.energy_per_token_j_ = e.power_w_ / e.tokens_per_s_total_;
  e.s_per_input_token_ = e.prefill_s_ / P;
  e.s_per_output_token_ = e.step_s_ / B;
  return e;
}

nlohmann::json GpuEstimate::to_json() const {
  return {
      {"tokens_per_s_per_user", tokens_per_s_per_user_},
      {"tokens_per_s_total", tokens_per_s_total_},
      {"decode_tokens_per_s_per_user", decode_tokens_per_s_per_user_},
      {"ttft_s", {{"p50", ttft_s_}, {"p99", ttft_s_}}},
      {"inter_token_latency_s", {{"p50", step_s_}, {"p99", step_s_}}},
      {"mean_context_tokens", mean_context_tokens_},
      {"users_requested", users_requested_},
      {"users_admitted", users_admitted_},
      {"users_rejected", users_rejected_},
      {"peak_concurrent_users", batch_},
      {"max_users_at_context", max_users_at_context_},
      {"max_context_tokens_1_user", max_context_tokens_1_user_},
      {"kv_memory", "hbm"},
      {"kv_capacity_bytes", kv_capacity_bytes_},
      {"kv_dram_peak_bytes", kv_peak_bytes_},
      {"weight_bytes", weight_bytes_},
      {"step_s", step_s_},
      {"step_memory_s", step_memory_s_},
      {"step_compute_s", step_compute_s_},
      {"prefill_s_per_request", prefill_s_},
      {"bound", batch_ > 0 ? (memory_bound_ ? "memory" : "compute") : "none"},
      {"power_w", power_w_},
      {"energy_per_token_j", energy_per_token_j_},
      {"weight_bits", weight_bits_},
      {"kv_bits", kv_bits_},
  };
}

}  // namespace hw
