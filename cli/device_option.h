// `--device cpu|cuda` (and `--weight-type` for the float path) of `hardwire ref` and
// `hardwire emulate`: one place that picks the CPU references (model/) or the CUDA ones
// (gpu_ref/), and that stops with a clear message when CUDA cannot run here (a build without
// nvcc, or no usable GPU). Both devices compute with the same stored weights: with
// --weight-type f16/bf16 the CPU float reference runs on the weights rounded to that type.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "gpu_ref/layout.h"
#include "gpu_ref/trace.h"
#include "model/float_ref.h"
#include "model/golden_model.h"
#include "model/quantizer.h"
#include "model/weights.h"

#ifdef HARDWIRE_HAVE_CUDA
#include "gpu_ref/chip_model.h"
#include "gpu_ref/device.h"
#include "gpu_ref/float_model.h"
#endif

namespace hw::cli {

struct DeviceOptions {
  std::string device_ = "cpu";
  std::string weight_type_ = "f32";
};

inline void add_device_option(CLI::App* cmd, DeviceOptions& o) {
  cmd->add_option("--device", o.device_,
                  "Where to run the reference: cpu, or cuda (the CUDA reference, docs/gpu_ref.md; "
                  "needs an NVIDIA GPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
}

inline void add_weight_type_option(CLI::App* cmd, DeviceOptions& o) {
  cmd->add_option("--weight-type", o.weight_type_,
                  "Storage type of the matrices: f32, f16 or bf16 (both devices compute in F32 "
                  "on the weights rounded to it)")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))
      ->capture_default_str();
}

// Whether to use the CUDA reference; throws with the reason when --device cuda cannot run.
inline bool use_cuda(const DeviceOptions& o) {
  if (o.device_ != "cuda") return false;
#ifdef HARDWIRE_HAVE_CUDA
  const std::string reason = gpu::unavailable_reason();
  if (!reason.empty()) {
    throw make_error("--device cuda", "no usable GPU (" + reason + ")",
                     "run on a machine with an NVIDIA GPU, or use --device cpu (same results: "
                     "bit for bit for emulate, within the stated tolerance for ref)");
  }
  return true;
#else
  throw make_error("--device cuda", "this hardwire was built without the CUDA reference",
                   "rebuild where nvcc is installed (docs/gpu_ref.md), or use --device cpu");
#endif
}

// Fails fast (before loading weights) when --device cuda cannot run here.
inline void check_device(const DeviceOptions& o) { (void)use_cuda(o); }

// Logits after every token of the float forward pass, [n][vocab].
inline std::vector<float> float_logits(const ModelWeights& w, const std::vector<int32_t>& tokens,
                                       const DeviceOptions& o) {
  const gpu::WeightType type = gpu::parse_weight_type(o.weight_type_, "--weight-type");
  if (use_cuda(o)) {
#ifdef HARDWIRE_HAVE_CUDA
    gpu::GpuFloatReference reference(w, static_cast<int64_t>(tokens.size()), type);
    return reference.forward(tokens);
#endif
  }
  if (type == gpu::WeightType::kF32) {
    FloatReference reference(w);
    return reference.forward(tokens);
  }
  const ModelWeights rounded = gpu::round_weights(w, type);
  FloatReference reference(rounded);
  return reference.forward(tokens);
}

// Greedy continuation of the float forward pass.
inline std::vector<int32_t> float_generate(const ModelWeights& w,
                                           const std::vector<int32_t>& prompt, int64_t n_new,
                                           const DeviceOptions& o) {
  const gpu::WeightType type = gpu::parse_weight_type(o.weight_type_, "--weight-type");
  if (use_cuda(o)) {
#ifdef HARDWIRE_HAVE_CUDA
    gpu::GpuFloatReference reference(
        w, std::max<int64_t>(static_cast<int64_t>(prompt.size()) + n_new - 1, 1), type);
    return gpu::generate_greedy(reference, prompt, n_new);
#endif
  }
  if (type == gpu::WeightType::kF32) {
    FloatReference reference(w);
    return generate_greedy(reference, prompt, n_new);
  }
  const ModelWeights rounded = gpu::round_weights(w, type);
  FloatReference reference(rounded);
  return generate_greedy(reference, prompt, n_new);
}

// Greedy continuation of the chip numerics (bit-identical on both devices); the float logits of
// every consumed position are appended to `logits`.
inline std::vector<int32_t> chip_generate(const QuantizedModel& qm, int64_t capacity_positions,
                                          const std::vector<int32_t>& prompt, int64_t n_new,
                                          std::vector<float>* logits, const DeviceOptions& o) {
  if (use_cuda(o)) {
#ifdef HARDWIRE_HAVE_CUDA
    gpu::GpuGoldenModel model(qm, capacity_positions);
    return model.generate(prompt, n_new, logits);
#endif
  }
  GoldenModel golden(qm, capacity_positions);
  return golden.generate(prompt, n_new, logits);
}

// The reference of `simulate --check-against cpu|cuda` (gpu_ref/trace.h): the CPU golden model,
// or the CUDA one holding `users` sequences. capacity_positions: the longest context of a user.
inline gpu::TokenRunner check_reference(const std::string& name, const QuantizedModel& qm,
                                        int64_t users, int64_t capacity_positions) {
  if (name == "cpu") return gpu::cpu_token_runner(qm, capacity_positions);
  if (name == "cuda") {
#ifdef HARDWIRE_HAVE_CUDA
    const std::string reason = gpu::unavailable_reason();
    if (!reason.empty()) {
      throw make_error("--check-against cuda", "no usable GPU (" + reason + ")",
                       "use --check-against cpu (the golden model), or run on a machine with an "
                       "NVIDIA GPU");
    }
    return gpu::cuda_token_runner(qm, users, capacity_positions);
#else
    (void)users;
    throw make_error("--check-against cuda", "this hardwire was built without the CUDA reference",
                     "use --check-against cpu, or rebuild where nvcc is installed");
#endif
  }
  throw make_error("--check-against", "unknown reference '" + name + "'", "use cpu or cuda");
}

}  // namespace hw::cli
