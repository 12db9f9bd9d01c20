// GPU decode benchmark of the CUDA reference (gpu_ref/): tokens/s and achieved weight-streaming
// bandwidth as a fraction of the device's peak memory bandwidth, for batch-1 and batched decode,
// on the float path (BF16 weights) and the chip-numerics path. Design aim: batch-1 decode reads
// the weights at >= 70% of peak HBM bandwidth (docs/gpu_ref.md).
//
// The model is a preset with seeded synthetic weights (values do not change the work):
// HARDWIRE_GPU_BENCH_MODEL (default llama-3.2-1b; llama-3.1-8b for the headline figure),
// chip numerics profile HARDWIRE_GPU_BENCH_NUMERICS (default w8a8). Bytes per step count the
// matrices once per decode step (the weights every token of the batch shares) and the KV cache
// each sequence reads; peak = 2 x memory clock x bus width (cudaDevAttrMemoryClockRate,
// cudaDevAttrGlobalMemoryBusWidth). Without a GPU every benchmark reports the skip reason.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gpu_ref/chip_model.h"
#include "gpu_ref/device.h"
#include "gpu_ref/float_model.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"
#include "model/weights.h"

namespace hw::gpu {
namespace {

constexpr int64_t kContext = 512;    // KV capacity per sequence; steps wrap around before it
constexpr int64_t kPrefill = 128;    // positions filled before timing (attention does real work)
constexpr int64_t kMaxBatch = 32;

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

double peak_bandwidth_bytes_per_s() {
  int clock_khz = 0, bus_bits = 0;
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, 0);
  cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0);
  return 2.0 * clock_khz * 1e3 * bus_bits / 8.0;
}

const ModelConfig& bench_config() {
  static const ModelConfig c = load_model_config(env_or("HARDWIRE_GPU_BENCH_MODEL", "llama-3.2-1b"));
  return c;
}

GpuFloatReference& float_model() {
  static std::unique_ptr<GpuFloatReference> m;
  if (!m) {
    const ModelWeights w = synthetic_weights(bench_config(), 1);
    m = std::make_unique<GpuFloatReference>(w, kContext, WeightType::kBF16, kMaxBatch, 64);
  }
  return *m;
}

GpuGoldenModel& chip_model() {
  static std::unique_ptr<QuantizedModel> q;
  static std::unique_ptr<GpuGoldenModel> m;
  if (!m) {
    auto source = synthetic_weight_source(bench_config(), 1);
    q = std::make_unique<QuantizedModel>(quantize_model(
        *source, load_numerics_profile(env_or("HARDWIRE_GPU_BENCH_NUMERICS", "w8a8"))));
    m = std::make_unique<GpuGoldenModel>(*q, kContext, kMaxBatch, 64);
  }
  return *m;
}

// Prefills every sequence with kPrefill positions (one decode_batch per position), then times
// decode steps; restarts the sequences before the cache is full.
template <typename Model>
void run_decode(benchmark::State& state, Model& m, double kv_bytes_per_position) {
  const int64_t batch = state.range(0);
  std::vector<int32_t> tokens(static_cast<size_t>(batch));
  auto prefill = [&]() {
    m.reset();
    for (int64_t b = 0; b < batch; ++b) tokens[static_cast<size_t>(b)] = static_cast<int32_t>(b + 1);
    for (int64_t p = 0; p < kPrefill; ++p) tokens = m.decode_batch(tokens);
  };
  prefill();
  double bytes = 0.0;
  int64_t steps = 0;
  for (auto _ : state) {
    if (m.sequence_position(0) >= kContext) {
      state.PauseTiming();
      prefill();
      state.ResumeTiming();
    }
    const double context = static_cast<double>(m.sequence_position(0) + 1);
    tokens = m.decode_batch(tokens);
    bytes += static_cast<double>(m.weight_bytes_per_token()) +
             static_cast<double>(batch) * context * kv_bytes_per_position;
    ++steps;
  }
  const double peak = peak_bandwidth_bytes_per_s();
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(steps * batch), benchmark::Counter::kIsRate);
  state.counters["bandwidth_GBps"] =
      benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
  state.counters["peak_GBps"] = peak / 1e9;
  // (bytes / peak) per second of decode = the fraction of peak bandwidth achieved.
  state.counters["peak_fraction"] = benchmark::Counter(bytes / peak, benchmark::Counter::kIsRate);
  state.counters["weight_MiB"] = static_cast<double>(m.weight_bytes_per_token()) / (1 << 20);
  state.SetLabel(bench_config().name_);
}

bool skip_without_gpu(benchmark::State& state) {
  const std::string reason = unavailable_reason();
  if (reason.empty()) return false;
  state.SkipWithError(("no usable GPU (" + reason + "): GPU benchmarks skipped").c_str());
  for (auto _ : state) {
  }
  return true;
}

void BM_FloatDecodeBf16(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const ModelConfig& c = bench_config();
  // F32 K and V per layer and position.
  run_decode(state, float_model(), 2.0 * 4.0 * static_cast<double>(c.kv_dim() * c.n_layers_));
}

void BM_ChipDecode(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const ModelConfig& c = bench_config();
  // int8 K and V plus one 8-byte scale per kv head, per layer and position.
  run_decode(state, chip_model(),
             2.0 * static_cast<double>((c.kv_dim() + 8 * c.n_kv_heads_) * c.n_layers_));
}

// Device-to-device copy: the bandwidth a plain streaming kernel reaches on this device, beside
// the theoretical peak.
void BM_DeviceCopy(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const size_t bytes = size_t{1} << 30;
  void* a = nullptr;
  void* b = nullptr;
  if (cudaMalloc(&a, bytes) != cudaSuccess || cudaMalloc(&b, bytes) != cudaSuccess) {
    state.SkipWithError("cudaMalloc of 2 x 1 GiB failed");
    for (auto _ : state) {
    }
    return;
  }
  for (auto _ : state) {
    cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);
    cudaDeviceSynchronize();
  }
  // A copy reads and writes every byte.
  state.counters["bandwidth_GBps"] = benchmark::Counter(
      2.0 * static_cast<double>(bytes) * static_cast<double>(state.iterations()) / 1e9,
      benchmark::Counter::kIsRate);
  state.counters["peak_GBps"] = peak_bandwidth_bytes_per_s() / 1e9;
  cudaFree(a);
  cudaFree(b);
}

BENCHMARK(BM_DeviceCopy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FloatDecodeBf16)->Arg(1)->Arg(8)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ChipDecode)->Arg(1)->Arg(8)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace hw::gpu
