// Speed of the chip-numerics golden model (model/golden_model.h): decode tokens/s on a
// synthetic model of Llama 3.2 1B's full shape (16 layers, 128,256-token vocabulary, tied
// embeddings) at w8a8, w4a8 and hc1-mix on 1 and 2 threads, and on the tiny-gqa-s oracle; the
// time to quantize that 1B model; the integer GEMV in GOP/s (2 ops per weight) for each kernel
// and width on Llama 3.2 1B's FFN shapes (one thread); and the single-core streaming-read
// bandwidth that bounds a batch-1 GEMV whose weights do not fit in cache. docs/benchmarks.md
// records results.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "model/golden_model.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"
#include "model/weights.h"

namespace hw {
namespace {

// Decoded positions before the cache is reset, so every iteration attends over a short context.
constexpr int64_t kContextPositions = 64;
// Llama 3.2 1B's FFN: d_model 2048, d_ff 8192.
constexpr int64_t kDModel = 2048;
constexpr int64_t kDff = 8192;
// The read-bandwidth buffer: far beyond the 105 MiB L3 of the measuring machine.
constexpr int64_t kStreamBytes = int64_t{1} << 30;

NumericsProfile bench_profile(const std::string& name) {
  // Clip search only changes which integers are stored, not the work per token; without it the
  // 1.2 billion weights quantize in seconds.
  return load_numerics_profile(name, {"numerics.weights.clip_search=false"});
}

// Quantized tensor by tensor from the synthetic source: the float model is never held.
const QuantizedModel& llama_1b(const std::string& profile) {
  static std::map<std::string, std::unique_ptr<QuantizedModel>> models;
  auto& slot = models[profile];
  if (!slot) {
    const std::unique_ptr<WeightSource> src = synthetic_weight_source(load_model_config("llama-3.2-1b"), 1);
    slot = std::make_unique<QuantizedModel>(quantize_model(*src, bench_profile(profile)));
  }
  return *slot;
}

// state.range(0): compute threads of the GEMV (results are the same for every count).
void decode(benchmark::State& state, const QuantizedModel& model) {
  set_compute_threads(state.range(0) > 0 ? static_cast<int>(state.range(0)) : 1);
  GoldenModel golden(model, kContextPositions);
  int32_t token = 1;
  for (auto _ : state) {
    if (golden.position() >= kContextPositions) golden.reset();
    token = GoldenModel::sample(golden.step({token}));
    benchmark::DoNotOptimize(token);
  }
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(std::string("gemv kernel ") + gemv_auto_kernel_name() + ", " +
                 std::to_string(compute_threads()) + " threads");
  set_compute_threads(0);
}

// Wall time (UseRealTime): with two threads the CPU time of the main thread alone would hide
// the helper's work.
void BM_GoldenDecodeLlama32_1b_W8A8(benchmark::State& state) { decode(state, llama_1b("w8a8")); }
BENCHMARK(BM_GoldenDecodeLlama32_1b_W8A8)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();

void BM_GoldenDecodeLlama32_1b_W4A8(benchmark::State& state) { decode(state, llama_1b("w4a8")); }
BENCHMARK(BM_GoldenDecodeLlama32_1b_W4A8)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();

void BM_GoldenDecodeLlama32_1b_Hc1Mix(benchmark::State& state) { decode(state, llama_1b("hc1-mix")); }
BENCHMARK(BM_GoldenDecodeLlama32_1b_Hc1Mix)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();

// Quantizing Llama 3.2 1B's full shape from the synthetic source with the profile as shipped
// (clip search on): the "1B model under 20 s" figure; Arg = threads.
void BM_QuantizeLlama32_1b(benchmark::State& state, const std::string& profile) {
  set_compute_threads(static_cast<int>(state.range(0)));
  const ModelConfig config = load_model_config("llama-3.2-1b");
  for (auto _ : state) {
    const std::unique_ptr<WeightSource> src = synthetic_weight_source(config, 1);
    const QuantizedModel q = quantize_model(*src, load_numerics_profile(profile));
    benchmark::DoNotOptimize(q.tok_embd_.packed_.data());
  }
  set_compute_threads(0);
}
BENCHMARK_CAPTURE(BM_QuantizeLlama32_1b, w4a8, std::string("w4a8"))->Arg(2)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

void BM_GoldenDecodeTinyGqaS(benchmark::State& state) {
  static const QuantizedModel model = quantize_model(
      load_weights(std::string(HARDWIRE_SHARED_DIR) + "/oracle/tiny-gqa-s.gguf"),
      load_numerics_profile("w8a8"));
  decode(state, model);
}
BENCHMARK(BM_GoldenDecodeTinyGqaS)->Arg(1);

// A seeded matrix of `bits`-bit values in the chip format (per-channel or per-group scales),
// packed two per byte when it qualifies, as quantize_matrix does.
QuantizedMatrix random_matrix(int64_t rows, int64_t cols, int64_t group_size, int bits) {
  QuantizedMatrix m;
  m.name_ = "bench";
  m.rows_ = rows;
  m.cols_ = cols;
  m.group_size_ = group_size;
  m.groups_per_row_ = (cols + group_size - 1) / group_size;
  std::mt19937_64 rng(7);
  const int qmax = (1 << (bits - 1)) - 1;
  std::vector<int8_t> values(static_cast<size_t>(rows * cols));
  for (auto& v : values) v = static_cast<int8_t>(static_cast<int>(rng() % (2 * qmax + 1)) - qmax);
  m.scale_m_.assign(static_cast<size_t>(rows * m.groups_per_row_), 1 << 14);
  m.row_exp_.assign(static_cast<size_t>(rows), 20);
  m.bits_.assign(static_cast<size_t>(rows * m.groups_per_row_), static_cast<uint8_t>(bits));
  pack_values(m, values.data());
  return m;
}

void gemv_bench(benchmark::State& state, int64_t rows, int64_t cols, int64_t group_size,
                int bits, GemvKernel kernel) {
  if (!gemv_kernel_available(kernel)) {
    state.SkipWithError("kernel not available on this CPU");
    return;
  }
  const QuantizedMatrix m = random_matrix(rows, cols, group_size, bits);
  std::vector<int8_t> x(static_cast<size_t>(cols));
  std::mt19937_64 rng(9);
  for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  std::vector<int64_t> acc(static_cast<size_t>(rows));
  set_compute_threads(1);
  for (auto _ : state) {
    gemv(m, x.data(), acc.data(), kernel);
    benchmark::DoNotOptimize(acc.data());
    benchmark::ClobberMemory();
  }
  const double ops = 2.0 * static_cast<double>(rows) * static_cast<double>(cols);
  state.counters["GOP_per_s"] = benchmark::Counter(
      ops * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
  const double bytes = static_cast<double>(m.packed_.size());
  state.counters["weight_GB_per_s"] = benchmark::Counter(
      bytes * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
  set_compute_threads(0);
}

// Int8 weights with per-channel scales (w8a8), and int4 weights with group-32 scales (w4a8,
// packed two per byte), on the FFN up (8192 x 2048) and down (2048 x 8192) shapes.
void BM_GemvInt8FfnUpPortable(benchmark::State& s) { gemv_bench(s, kDff, kDModel, kDModel, 8, GemvKernel::kPortable); }
void BM_GemvInt8FfnUpAvx2(benchmark::State& s) { gemv_bench(s, kDff, kDModel, kDModel, 8, GemvKernel::kAvx2); }
void BM_GemvInt8FfnDownAvx2(benchmark::State& s) { gemv_bench(s, kDModel, kDff, kDff, 8, GemvKernel::kAvx2); }
void BM_GemvInt4G32FfnUpPortable(benchmark::State& s) { gemv_bench(s, kDff, kDModel, 32, 4, GemvKernel::kPortable); }
void BM_GemvInt4G32FfnUpAvx2(benchmark::State& s) { gemv_bench(s, kDff, kDModel, 32, 4, GemvKernel::kAvx2); }
void BM_GemvInt4G32FfnDownAvx2(benchmark::State& s) { gemv_bench(s, kDModel, kDff, 32, 4, GemvKernel::kAvx2); }
void BM_GemvInt3G32FfnUpPortable(benchmark::State& s) { gemv_bench(s, kDff, kDModel, 32, 3, GemvKernel::kPortable); }
void BM_GemvInt3G32FfnUpAvx2(benchmark::State& s) { gemv_bench(s, kDff, kDModel, 32, 3, GemvKernel::kAvx2); }
void BM_GemvInt6G32FfnUpAvx2(benchmark::State& s) { gemv_bench(s, kDff, kDModel, 32, 6, GemvKernel::kAvx2); }
void BM_GemvInt8FfnUpVnni(benchmark::State& s) { gemv_bench(s, kDff, kDModel, kDModel, 8, GemvKernel::kAvx512Vnni); }
void BM_GemvInt4G32FfnUpVnni(benchmark::State& s) { gemv_bench(s, kDff, kDModel, 32, 4, GemvKernel::kAvx512Vnni); }
void BM_GemvInt3G32FfnUpVnni(benchmark::State& s) { gemv_bench(s, kDff, kDModel, 32, 3, GemvKernel::kAvx512Vnni); }
void BM_GemvInt6G32FfnUpVnni(benchmark::State& s) { gemv_bench(s, kDff, kDModel, 32, 6, GemvKernel::kAvx512Vnni); }
BENCHMARK(BM_GemvInt8FfnUpPortable)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInt8FfnUpAvx2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInt8FfnDownAvx2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInt4G32FfnUpPortable)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInt4G32FfnUpAvx2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInt4G32FfnDownAvx2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInt3G32FfnUpPortable)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInt3G32FfnUpAvx2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInt6G32FfnUpAvx2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInt8FfnUpVnni)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInt4G32FfnUpVnni)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInt3G32FfnUpVnni)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInt6G32FfnUpVnni)->Unit(benchmark::kMicrosecond);

// Single-core read bandwidth over a buffer far larger than the caches: the ceiling for a GEMV
// that streams its weights from DRAM once per token.
void BM_StreamRead(benchmark::State& state) {
  std::vector<int64_t> buf(static_cast<size_t>(kStreamBytes / 8));
  std::iota(buf.begin(), buf.end(), int64_t{0});
  for (auto _ : state) {
    int64_t sum = 0;
    for (int64_t v : buf) sum += v;
    benchmark::DoNotOptimize(sum);
  }
  state.counters["GB_per_s"] = benchmark::Counter(
      static_cast<double>(kStreamBytes) * static_cast<double>(state.iterations()) * 1e-9,
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_StreamRead)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hw
