// A GPU described as a chip (configs/gpus/<name>.yaml, tree rooted at "gpu") and its
// roofline-plus-batching model of decode serving: every decode step reads the weights once and
// the KV cache of every user in the batch from HBM (memory time), and does 2 FLOPs per matmul
// weight per user plus the attention FLOPs (compute time); the step takes the longer of the two.
// The batch is limited by the KV memory left beside the weights. Prefill is compute time.
// Requests are served by in-flight batching: B users each prefill P tokens and decode G tokens,
// and the GPU runs the B prefills and the G batched decode steps one after the other, so
//   tokens_per_s_total = B * G / (B * t_prefill + G * t_step).
// Efficiencies are inputs cited in the config (memory from gpt-fast's measured A100 bandwidth,
// compute from Llama 3 MFU); nothing is fitted to the TensorRT-LLM throughput figures the tests
// compare against. The JSON keys match `hardwire estimate` on a chip.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/param_tree.h"
#include "model/model_config.h"
#include "power/estimator.h"

namespace hw {

struct GpuConfig {
  std::string name_;
  std::string source_;
  std::string description_;
  double memory_bytes_ = 0;             // HBM / unified memory capacity
  double memory_bandwidth_bytes_per_s_ = 0;
  double peak_ops_per_s_ = 0;           // dense tensor peak at the weight format
  double memory_efficiency_ = 1;        // achieved / peak bandwidth in decode
  double compute_efficiency_ = 1;       // achieved / peak FLOPs (model FLOPs utilization)
  int weight_bits_ = 8;
  int kv_bits_ = 8;
  double kv_memory_fraction_ = 0.9;     // of the memory left after the weights
  int64_t max_batch_ = 1;
  int64_t prefill_chunk_tokens_ = 8192; // prompt tokens per prefill forward pass
  double busy_power_w_ = 0;             // board power while serving
  double idle_power_w_ = 0;             // powered, model loaded, no requests

  // {"gpu": {...}, "gpu_units": {...}, "gpu_source": file}.
  nlohmann::json to_json() const;
  ParamValues params_;
};

ParamSchema gpu_schema();

// A shipped name (configs/gpus/<name>.yaml) or a YAML path with a top-level "gpu:" block.
GpuConfig load_gpu_config(const std::string& name_or_path,
                          const std::vector<std::string>& overrides);
// True when `name_or_path` names a GPU description: a shipped GPU name that is not a chip
// preset, or a YAML file whose top level holds "gpu:". Lets `estimate --chip` take either.
bool is_gpu_config(const std::string& name_or_path);
std::vector<std::string> gpu_preset_names();

struct GpuEstimate {
  int64_t users_requested_ = 0;
  int64_t users_admitted_ = 0;
  int64_t users_rejected_ = 0;
  int64_t batch_ = 0;                  // users decoding together
  int64_t max_users_at_context_ = 0;   // KV capacity in users at the longest context
  int64_t max_context_tokens_1_user_ = 0;
  double mean_context_tokens_ = 0;
  double weight_bytes_ = 0;
  double kv_bytes_per_token_ = 0;
  double kv_capacity_bytes_ = 0;
  double kv_peak_bytes_ = 0;
  double step_memory_s_ = 0;           // one decode step, HBM time
  double step_compute_s_ = 0;          // one decode step, compute time
  double step_s_ = 0;
  double prefill_s_ = 0;               // one request's share of the batch's prefill time
  double ttft_s_ = 0;                  // one request's prompt alone
  double tokens_per_s_total_ = 0;
  double tokens_per_s_per_user_ = 0;   // tokens_per_s_total / batch (prefill stalls included)
  double decode_tokens_per_s_per_user_ = 0;  // 1 / step
  double power_w_ = 0;
  double energy_per_token_j_ = 0;
  // Device-seconds per token at this operating point (for cost allocation and sizing).
  double s_per_input_token_ = 0;
  double s_per_output_token_ = 0;
  bool memory_bound_ = true;
  int weight_bits_ = 0;
  int kv_bits_ = 0;

  nlohmann::json to_json() const;
};

// `weight_bits` / `kv_bits` <= 0 take the GPU config's formats.
GpuEstimate gpu_estimate(const ModelConfig& model, const GpuConfig& gpu,
                         const WorkloadPoint& point, int weight_bits = 0, int kv_bits = 0);

}  // namespace hw
