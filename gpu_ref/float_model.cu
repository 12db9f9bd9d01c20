// CUDA kernels of the float forward pass and GpuFloatReference (see float_model.h). Kernel
// shapes as in chip_model.cu: matrix products one warp per output row over a tile of tokens
// (one 16-byte weight load per lane and step: 4 F32 or 8 F16/BF16 values, converted to F32);
// RMSNorm, q/k norm + RoPE and attention one block per (item, token); element-wise steps one
// thread per element. The arithmetic of each step follows model/float_ref.cpp (RMSNorm and
// softmax sums in double, the RoPE angle in double, everything else F32).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <initializer_list>
#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"
#include "gpu_ref/cuda_util.cuh"
#include "gpu_ref/device.h"
#include "gpu_ref/float_model.h"
#include "gpu_ref/launch.h"
#include "model/float_ref.h"

namespace hw::gpu {
namespace {

constexpr int kMaxHeadDim = 256;

struct DevFloatMatrix {
  const void* data_ = nullptr;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  int64_t row_stride_ = 0;  // elements
  WeightType type_ = WeightType::kF32;
};

__device__ inline float bf16_to_float(uint16_t b) { return __uint_as_float(static_cast<uint32_t>(b) << 16); }
__device__ inline float half_to_float(uint16_t h) { return __half2float(__ushort_as_half(h)); }

// Element c of row r, decoded (embedding lookups).
__device__ inline float load_weight(const DevFloatMatrix& w, int64_t r, int64_t c) {
  const int64_t i = r * w.row_stride_ + c;
  switch (w.type_) {
    case WeightType::kF32: return static_cast<const float*>(w.data_)[i];
    case WeightType::kF16: return half_to_float(static_cast<const uint16_t*>(w.data_)[i]);
    case WeightType::kBF16: return bf16_to_float(static_cast<const uint16_t*>(w.data_)[i]);
  }
  return 0.0f;
}

// Dot product of one 16-byte weight vector (at column c0) with x[c0..].
template <WeightType kType>
__device__ inline float dot_vector(const uint4 raw, const float* x) {
  if constexpr (kType == WeightType::kF32) {
    const float4 xv = *reinterpret_cast<const float4*>(x);
    float s = __uint_as_float(raw.x) * xv.x;
    s += __uint_as_float(raw.y) * xv.y;
    s += __uint_as_float(raw.z) * xv.z;
    s += __uint_as_float(raw.w) * xv.w;
    return s;
  } else {
    const float4 x0 = *reinterpret_cast<const float4*>(x);
    const float4 x1 = *reinterpret_cast<const float4*>(x + 4);
    const uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
    const float xs[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const uint16_t lo = static_cast<uint16_t>(words[i] & 0xFFFFu);
      const uint16_t hi = static_cast<uint16_t>(words[i] >> 16);
      const float w0 = kType == WeightType::kF16 ? half_to_float(lo) : bf16_to_float(lo);
      const float w1 = kType == WeightType::kF16 ? half_to_float(hi) : bf16_to_float(hi);
      s += w0 * xs[2 * i];
      s += w1 * xs[2 * i + 1];
    }
    return s;
  }
}

// Up to three products over the same input in one launch (launch.h, group_matvec_launch).
constexpr int kMaxGroup = 3;
struct FloatMatmulGroup {
  DevFloatMatrix w_[kMaxGroup];
  const float* bias_[kMaxGroup] = {};
  float* out_[kMaxGroup] = {};
  int64_t first_block_[kMaxGroup + 1] = {};
  int n_ = 0;
};

// out[t][r] = W[r] . x[t] (+ bias[r]); with `residual`, out[t][r] += W[r] . x[t]; for each
// matrix of the group.
template <WeightType kType>
__global__ void __launch_bounds__(kMatvecWarpsPerBlock * kWarpSize)
    float_matmul_kernel(FloatMatmulGroup group, const float* x, int64_t x_stride,
                        int64_t n_tokens, bool residual) {
  constexpr int64_t kPerVector = kType == WeightType::kF32 ? 4 : 8;
  int j = 0;
  while (j + 1 < group.n_ && blockIdx.x >= group.first_block_[j + 1]) ++j;
  const DevFloatMatrix& w = group.w_[j];
  const float* bias = group.bias_[j];
  float* out = group.out_[j];
  const int64_t out_stride = w.rows_;
  const int warp = threadIdx.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;
  const int64_t r =
      (static_cast<int64_t>(blockIdx.x) - group.first_block_[j]) * kMatvecWarpsPerBlock + warp;
  if (r >= w.rows_) return;
  const int64_t t0 = static_cast<int64_t>(blockIdx.y) * kTokenTile;
  const int nt = static_cast<int>(min(static_cast<int64_t>(kTokenTile), n_tokens - t0));
  const uint4* row = reinterpret_cast<const uint4*>(
      static_cast<const uint8_t*>(w.data_) + r * w.row_stride_ * (kType == WeightType::kF32 ? 4 : 2));
  const int64_t vectors = w.row_stride_ / kPerVector;
  const float* xt = x + t0 * x_stride;
  float acc[kTokenTile];
#pragma unroll
  for (int t = 0; t < kTokenTile; ++t) acc[t] = 0.0f;
#pragma unroll 4
  for (int64_t k = lane; k < vectors; k += kWarpSize) {
    const uint4 raw = __ldg(row + k);
#pragma unroll
    for (int t = 0; t < kTokenTile; ++t) {
      if (t < nt) acc[t] += dot_vector<kType>(raw, xt + t * x_stride + k * kPerVector);
    }
  }
#pragma unroll
  for (int t = 0; t < kTokenTile; ++t) acc[t] = warp_reduce(acc[t], SumOp{});
  if (lane != 0) return;
  for (int t = 0; t < nt; ++t) {
    float* dst = out + (t0 + t) * out_stride + r;
    if (residual) {
      *dst += acc[t];
    } else {
      *dst = bias ? acc[t] + bias[r] : acc[t];
    }
  }
}

__global__ void embed_kernel(DevFloatMatrix e, const int32_t* tokens, float* x, int64_t d) {
  const int64_t t = blockIdx.y;
  for (int64_t c = blockIdx.x * blockDim.x + threadIdx.x; c < d;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    x[t * d + c] = load_weight(e, tokens[t], c);
  }
}

// 1/sqrt(mean(x^2) + eps) as hw::rms_norm: squares in F32, summed in double.
__device__ float block_rms_scale(const float* x, int64_t n, double eps) {
  double ss = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) ss += static_cast<double>(x[i] * x[i]);
  ss = block_reduce(ss, SumOp{}, 0.0);
  const float mean = static_cast<float>(ss / static_cast<double>(n));
  return 1.0f / sqrtf(mean + static_cast<float>(eps));
}

// out[t] = RMSNorm(x[t]) * weight.
__global__ void rms_norm_kernel(const float* x, int64_t n, const float* weight, double eps,
                                float* out, int64_t out_stride) {
  const int64_t t = blockIdx.y;
  const float* xr = x + t * n;
  const float scale = block_rms_scale(xr, n, eps);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    out[t * out_stride + i] = (xr[i] * scale) * weight[i];
  }
}

// Per (head, token): Qwen3's q/k norm when present, then adjacent-pair RoPE at the position.
__global__ void qk_norm_rope_kernel(float* q, float* k, int64_t n_heads, int64_t head_dim,
                                    int64_t q_dim, int64_t kv_dim, const int32_t* positions,
                                    const float* q_norm, const float* k_norm, double eps,
                                    const double* freqs) {
  const int64_t t = blockIdx.y;
  const int64_t h = blockIdx.x;
  const bool is_q = h < n_heads;
  float* x = is_q ? q + t * q_dim + h * head_dim : k + t * kv_dim + (h - n_heads) * head_dim;
  const float* g = is_q ? q_norm : k_norm;
  if (g) {
    const float scale = block_rms_scale(x, head_dim, eps);
    for (int64_t i = threadIdx.x; i < head_dim; i += blockDim.x) x[i] = (x[i] * scale) * g[i];
    __syncthreads();
  }
  const double pos = static_cast<double>(positions[t]);
  for (int64_t i = threadIdx.x; i < head_dim / 2; i += blockDim.x) {
    const double angle = pos * freqs[i];
    const float c = static_cast<float>(cos(angle));
    const float s = static_cast<float>(sin(angle));
    const float x0 = x[2 * i];
    const float x1 = x[2 * i + 1];
    x[2 * i] = x0 * c - x1 * s;
    x[2 * i + 1] = x0 * s + x1 * c;
  }
}

// K and V rows of each token into the cache row of (sequence, position).
__global__ void kv_write_kernel(const float* k, const float* v, int64_t kv_dim,
                                const int32_t* seqs, const int32_t* positions, int64_t capacity,
                                float* k_cache, float* v_cache) {
  const int64_t t = blockIdx.y;
  const int64_t row = static_cast<int64_t>(seqs[t]) * capacity + positions[t];
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < kv_dim;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    k_cache[row * kv_dim + i] = k[t * kv_dim + i];
    v_cache[row * kv_dim + i] = v[t * kv_dim + i];
  }
}

struct AttentionArgs {
  const float* q_ = nullptr;
  int64_t n_heads_ = 0, head_dim_ = 0, group_ = 0, q_dim_ = 0, kv_dim_ = 0;
  const int32_t* seqs_ = nullptr;
  const int32_t* positions_ = nullptr;
  int64_t capacity_ = 0;
  const float* k_cache_ = nullptr;
  const float* v_cache_ = nullptr;
  float* scores_ = nullptr;  // [tokens][n_heads][capacity]
  float* out_ = nullptr;     // [tokens][out_stride]
  int64_t out_stride_ = 0;
};

// Per (query head, token): softmax(q k_j / sqrt(head_dim)) over positions 0..position, then the
// weighted sum of v_j (hw::attention_head_group for one head; softmax as hw::softmax).
__global__ void attention_kernel(AttentionArgs a) {
  __shared__ float qh[kMaxHeadDim];
  const int64_t t = blockIdx.y;
  const int64_t h = blockIdx.x;
  const int64_t hd = a.head_dim_;
  const int64_t g = h / a.group_;
  for (int64_t i = threadIdx.x; i < hd; i += blockDim.x) qh[i] = a.q_[t * a.q_dim_ + h * hd + i];
  __syncthreads();
  const int64_t n_keys = static_cast<int64_t>(a.positions_[t]) + 1;
  const int64_t base = static_cast<int64_t>(a.seqs_[t]) * a.capacity_;
  const float* k = a.k_cache_ + base * a.kv_dim_ + g * hd;
  const float* v = a.v_cache_ + base * a.kv_dim_ + g * hd;
  float* s = a.scores_ + (t * a.n_heads_ + h) * a.capacity_;
  const float scale = 1.0f / sqrtf(static_cast<float>(hd));
  float local_max = -INFINITY;
  for (int64_t j = threadIdx.x; j < n_keys; j += blockDim.x) {
    const float* kr = k + j * a.kv_dim_;
    float dot = 0.0f;
    for (int64_t i = 0; i < hd; ++i) dot += kr[i] * qh[i];
    s[j] = dot * scale;
    local_max = fmaxf(local_max, s[j]);
  }
  const float max_value = block_reduce(local_max, MaxOp{}, -INFINITY);
  double sum = 0.0;
  for (int64_t j = threadIdx.x; j < n_keys; j += blockDim.x) {
    s[j] = expf(s[j] - max_value);
    sum += static_cast<double>(s[j]);
  }
  sum = block_reduce(sum, SumOp{}, 0.0);
  const float inv_sum = static_cast<float>(1.0 / sum);
  for (int64_t j = threadIdx.x; j < n_keys; j += blockDim.x) s[j] *= inv_sum;
  __syncthreads();
  float* out = a.out_ + t * a.out_stride_ + h * hd;
  for (int64_t d = threadIdx.x; d < hd; d += blockDim.x) {
    float acc = 0.0f;
    for (int64_t j = 0; j < n_keys; ++j) acc += s[j] * v[j * a.kv_dim_ + d];
    out[d] = acc;
  }
}

// hidden[t] = silu(gate[t]) * up[t] (hw::silu).
__global__ void swiglu_kernel(const float* gate, const float* up, int64_t n, float* hidden,
                              int64_t hidden_stride) {
  const int64_t t = blockIdx.y;
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float gv = gate[t * n + i];
    hidden[t * hidden_stride + i] = gv / (1.0f + expf(-gv)) * up[t * n + i];
  }
}

// Index of the largest logit of each row, the lowest among equals (hw::argmax).
__global__ void argmax_kernel(const float* logits, int64_t vocab, int32_t* out) {
  const int64_t t = blockIdx.y;
  const float* row = logits + t * vocab;
  // Order-preserving integer image of the float in the high half, 2^32 - 1 - index low.
  long long best = LLONG_MIN;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
    const int32_t bits = __float_as_int(row[i]);
    // -0.0 equals +0.0 (as hw::argmax compares them).
    const int32_t ordered =
        bits >= 0 ? bits : (bits == INT_MIN ? 0 : static_cast<int32_t>(bits ^ 0x7FFFFFFF));
    const long long key = static_cast<long long>(ordered) * 4294967296LL +
                          static_cast<long long>(0xFFFFFFFFu - static_cast<uint32_t>(i));
    best = key > best ? key : best;
  }
  best = block_reduce(best, MaxOp{}, LLONG_MIN);
  if (threadIdx.x == 0) {
    out[t] = static_cast<int32_t>(0xFFFFFFFFu - static_cast<uint32_t>(best & 0xFFFFFFFFLL));
  }
}

struct FloatMatrixBuffer {
  DeviceArray<uint8_t> bytes_;
  DevFloatMatrix view_;
  void upload(const FloatTensor& t, WeightType type) {
    const FloatMatrixLayout p = pack_float_matrix(t, type);
    bytes_ = to_device(p.bytes_);
    view_ = {bytes_.get(), p.rows_, p.cols_, p.row_stride_, type};
  }
  int64_t bytes() const { return static_cast<int64_t>(bytes_.size()); }
};

struct FloatLayerBuffers {
  DeviceArray<float> attn_norm_, ffn_norm_, q_norm_, k_norm_, bq_, bk_, bv_;
  FloatMatrixBuffer wq_, wk_, wv_, wo_, w_gate_, w_up_, w_down_;
};

void check_shape(const FloatTensor& t, int64_t rows, int64_t cols, const std::string& name) {
  if (t.rows_ != rows || t.cols_ != cols || static_cast<int64_t>(t.data_.size()) != rows * cols) {
    throw make_error("GpuFloatReference: tensor " + name,
                     "expected [" + std::to_string(rows) + "][" + std::to_string(cols) +
                         "], got [" + std::to_string(t.rows_) + "][" + std::to_string(t.cols_) + "]",
                     "the weights do not belong to this model config");
  }
}

void check_length(const FloatTensor& t, int64_t n, const std::string& name) {
  if (static_cast<int64_t>(t.data_.size()) != n) {
    throw make_error("GpuFloatReference: tensor " + name,
                     "expected " + std::to_string(n) + " values, got " +
                         std::to_string(t.data_.size()),
                     "the weights do not belong to this model config");
  }
}

}  // namespace

struct GpuFloatReference::Impl {
  FloatMatrixBuffer tok_embd_, output_;
  DeviceArray<float> output_norm_;
  DeviceArray<double> freqs_;
  std::vector<FloatLayerBuffers> layers_;
  int64_t xn_stride_ = 0, attn_stride_ = 0, hidden_stride_ = 0;
  DeviceArray<int32_t> tokens_, seqs_, positions_, sampled_;
  DeviceArray<float> residual_, xn_, q_, k_, v_, attn_, gate_, up_, hidden_, logits_;
  DeviceArray<float> k_cache_, v_cache_, scores_;
  cudaStream_t stream_ = nullptr;  // blocking: ordered with the legacy-stream copies
  GraphCache graphs_;               // decode steps by batch size
  Impl() { cuda_check(cudaStreamCreate(&stream_), "cudaStreamCreate"); }
  ~Impl() {
    if (stream_) cudaStreamDestroy(stream_);
  }
};

GpuFloatReference::GpuFloatReference(const ModelWeights& weights, int64_t kv_capacity_positions,
                                     WeightType type, int64_t max_sequences,
                                     int64_t max_batch_tokens)
    : config_(weights.config_), type_(type) {
  const std::string reason = unavailable_reason();
  if (!reason.empty()) {
    throw make_error("CUDA reference", "no usable GPU (" + reason + ")",
                     "run on a machine with an NVIDIA GPU, or use the CPU (--device cpu)");
  }
  impl_ = std::make_unique<Impl>();  // creates a stream: only once a device is known usable
  const ModelConfig& c = config_;
  c.validate();
  if (c.head_dim_ > kMaxHeadDim) {
    throw make_error("GpuFloatReference", "head_dim " + std::to_string(c.head_dim_) +
                                              " exceeds the supported " + std::to_string(kMaxHeadDim));
  }
  if (max_sequences < 1 || max_batch_tokens < 1) {
    throw make_error("GpuFloatReference", "max_sequences and max_batch_tokens must be at least 1");
  }
  if (static_cast<int64_t>(weights.layers_.size()) != c.n_layers_) {
    throw make_error("GpuFloatReference", "config has " + std::to_string(c.n_layers_) +
                                              " layers, weights have " +
                                              std::to_string(weights.layers_.size()));
  }
  capacity_ = kv_capacity_positions > 0 ? kv_capacity_positions : c.max_positions_;
  max_sequences_ = max_sequences;
  max_batch_ = std::max(max_batch_tokens, max_sequences);
  positions_.assign(static_cast<size_t>(max_sequences_), 0);
  Impl& d = *impl_;

  check_shape(weights.tok_embd_, c.vocab_, c.d_model_, "token_embd");
  check_length(weights.output_norm_, c.d_model_, "output_norm");
  const FloatTensor& out_w =
      weights.output_.empty() && c.tied_embeddings_ ? weights.tok_embd_ : weights.output_;
  check_shape(out_w, c.vocab_, c.d_model_, "output");
  d.tok_embd_.upload(weights.tok_embd_, type);
  d.output_.upload(out_w, type);
  d.output_norm_ = to_device(weights.output_norm_.data_);
  d.freqs_ = to_device(rope_frequencies(c));
  d.layers_.resize(static_cast<size_t>(c.n_layers_));
  for (int64_t l = 0; l < c.n_layers_; ++l) {
    const LayerWeights& w = weights.layers_[static_cast<size_t>(l)];
    FloatLayerBuffers& b = d.layers_[static_cast<size_t>(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    check_length(w.attn_norm_, c.d_model_, p + "attn_norm");
    check_length(w.ffn_norm_, c.d_model_, p + "ffn_norm");
    check_shape(w.wq_, c.q_dim(), c.d_model_, p + "attn_q");
    check_shape(w.wk_, c.kv_dim(), c.d_model_, p + "attn_k");
    check_shape(w.wv_, c.kv_dim(), c.d_model_, p + "attn_v");
    check_shape(w.wo_, c.d_model_, c.q_dim(), p + "attn_output");
    check_shape(w.w_gate_, c.d_ff_, c.d_model_, p + "ffn_gate");
    check_shape(w.w_up_, c.d_ff_, c.d_model_, p + "ffn_up");
    check_shape(w.w_down_, c.d_model_, c.d_ff_, p + "ffn_down");
    b.attn_norm_ = to_device(w.attn_norm_.data_);
    b.ffn_norm_ = to_device(w.ffn_norm_.data_);
    if (c.qk_norm_) {
      check_length(w.q_norm_, c.head_dim_, p + "attn_q_norm");
      check_length(w.k_norm_, c.head_dim_, p + "attn_k_norm");
      b.q_norm_ = to_device(w.q_norm_.data_);
      b.k_norm_ = to_device(w.k_norm_.data_);
    }
    if (c.qkv_bias_) {
      check_length(w.bq_, c.q_dim(), p + "attn_q.bias");
      check_length(w.bk_, c.kv_dim(), p + "attn_k.bias");
      check_length(w.bv_, c.kv_dim(), p + "attn_v.bias");
      b.bq_ = to_device(w.bq_.data_);
      b.bk_ = to_device(w.bk_.data_);
      b.bv_ = to_device(w.bv_.data_);
    }
    b.wq_.upload(w.wq_, type);
    b.wk_.upload(w.wk_, type);
    b.wv_.upload(w.wv_, type);
    b.wo_.upload(w.wo_, type);
    b.w_gate_.upload(w.w_gate_, type);
    b.w_up_.upload(w.w_up_, type);
    b.w_down_.upload(w.w_down_, type);
  }

  // Matrix inputs are padded to 8 floats (the widest vector of an F16/BF16 row) and stay zero
  // past their width, so padded weight columns multiply zeros.
  const size_t T = static_cast<size_t>(max_batch_);
  d.xn_stride_ = padded_stride(c.d_model_, 2);
  d.attn_stride_ = padded_stride(c.q_dim(), 2);
  d.hidden_stride_ = padded_stride(c.d_ff_, 2);
  d.tokens_.resize(T);
  d.seqs_.resize(T);
  d.positions_.resize(T);
  d.sampled_.resize(T);
  d.residual_.resize(T * static_cast<size_t>(c.d_model_));
  d.xn_.resize(T * static_cast<size_t>(d.xn_stride_));
  d.q_.resize(T * static_cast<size_t>(c.q_dim()));
  d.k_.resize(T * static_cast<size_t>(c.kv_dim()));
  d.v_.resize(T * static_cast<size_t>(c.kv_dim()));
  d.attn_.resize(T * static_cast<size_t>(d.attn_stride_));
  d.gate_.resize(T * static_cast<size_t>(c.d_ff_));
  d.up_.resize(T * static_cast<size_t>(c.d_ff_));
  d.hidden_.resize(T * static_cast<size_t>(d.hidden_stride_));
  d.logits_.resize(T * static_cast<size_t>(c.vocab_));
  const size_t rows = static_cast<size_t>(c.n_layers_ * max_sequences_ * capacity_);
  d.k_cache_.resize(rows * static_cast<size_t>(c.kv_dim()));
  d.v_cache_.resize(rows * static_cast<size_t>(c.kv_dim()));
  d.scores_.resize(T * static_cast<size_t>(c.n_heads_ * capacity_));
}

GpuFloatReference::~GpuFloatReference() = default;

int64_t GpuFloatReference::weight_bytes_per_token() const {
  const Impl& d = *impl_;
  int64_t bytes = d.output_.bytes();
  for (const FloatLayerBuffers& b : d.layers_) {
    bytes += b.wq_.bytes() + b.wk_.bytes() + b.wv_.bytes() + b.wo_.bytes() + b.w_gate_.bytes() +
             b.w_up_.bytes() + b.w_down_.bytes();
  }
  return bytes;
}

void GpuFloatReference::run_batch(const int32_t* tokens, const int32_t* seqs,
                                  const int32_t* positions, int64_t n, bool graph) {
  const ModelConfig& c = config_;
  Impl& d = *impl_;
  d.tokens_.upload(tokens, static_cast<size_t>(n));
  d.seqs_.upload(seqs, static_cast<size_t>(n));
  d.positions_.upload(positions, static_cast<size_t>(n));
  const int64_t hd = c.head_dim_;
  const double eps = c.rms_eps_;

  // One launch for up to three products of the same input: (matrix, bias or null, output).
  struct Product {
    const FloatMatrixBuffer* w_;
    const DeviceArray<float>* bias_;
    DeviceArray<float>* out_;
  };
  auto matmuls = [&](std::initializer_list<Product> products, const DeviceArray<float>& x,
                     int64_t x_stride, bool residual) {
    FloatMatmulGroup g;
    std::vector<int64_t> rows;
    for (const Product& pr : products) {
      g.w_[g.n_] = pr.w_->view_;
      g.bias_[g.n_] = pr.bias_ && pr.bias_->size() > 0 ? pr.bias_->get() : nullptr;
      g.out_[g.n_] = pr.out_->get();
      rows.push_back(pr.w_->view_.rows_);
      ++g.n_;
    }
    const GroupLaunch L = group_matvec_launch(rows, n);
    for (int j = 0; j <= g.n_; ++j) g.first_block_[j] = L.first_block_[static_cast<size_t>(j)];
    const dim3 grid(L.launch_.grid_x_, L.launch_.grid_y_);
    switch (type_) {
      case WeightType::kF32:
        float_matmul_kernel<WeightType::kF32><<<grid, L.launch_.block_, 0, d.stream_>>>(g, x.get(), x_stride, n, residual);
        break;
      case WeightType::kF16:
        float_matmul_kernel<WeightType::kF16><<<grid, L.launch_.block_, 0, d.stream_>>>(g, x.get(), x_stride, n, residual);
        break;
      case WeightType::kBF16:
        float_matmul_kernel<WeightType::kBF16><<<grid, L.launch_.block_, 0, d.stream_>>>(g, x.get(), x_stride, n, residual);
        break;
    }
    check_launch("float_matmul_kernel");
  };
  auto matmul = [&](const FloatMatrixBuffer& w, const DeviceArray<float>& x, int64_t x_stride,
                    const DeviceArray<float>* bias, DeviceArray<float>& out, bool residual) {
    matmuls({Product{&w, bias, &out}}, x, x_stride, residual);
  };
  auto norm = [&](const DeviceArray<float>& weight) {
    const Launch L = per_item_launch(n, 1, c.d_model_);
    rms_norm_kernel<<<dim3(1, L.grid_y_), L.block_, 0, d.stream_>>>(d.residual_.get(), c.d_model_, weight.get(),
                                                     eps, d.xn_.get(), d.xn_stride_);
    check_launch("rms_norm_kernel");
  };

  // Every kernel of the batch, on d.stream_ (captured as a graph for decode steps).
  auto enqueue = [&]() {
    {
      const Launch L = elementwise_launch(n, c.d_model_);
      embed_kernel<<<dim3(L.grid_x_, L.grid_y_), L.block_, 0, d.stream_>>>(d.tok_embd_.view_, d.tokens_.get(),
                                                            d.residual_.get(), c.d_model_);
      check_launch("embed_kernel");
    }
    const size_t layer_rows = static_cast<size_t>(max_sequences_ * capacity_);
    for (int64_t l = 0; l < c.n_layers_; ++l) {
      const FloatLayerBuffers& b = d.layers_[static_cast<size_t>(l)];
      norm(b.attn_norm_);
      matmuls({{&b.wq_, &b.bq_, &d.q_}, {&b.wk_, &b.bk_, &d.k_}, {&b.wv_, &b.bv_, &d.v_}}, d.xn_,
              d.xn_stride_, false);
      {
        const Launch L = per_item_launch(n, c.n_heads_ + c.n_kv_heads_, hd);
        qk_norm_rope_kernel<<<dim3(L.grid_x_, L.grid_y_), L.block_, 0, d.stream_>>>(
            d.q_.get(), d.k_.get(), c.n_heads_, hd, c.q_dim(), c.kv_dim(), d.positions_.get(),
            c.qk_norm_ ? b.q_norm_.get() : nullptr, c.qk_norm_ ? b.k_norm_.get() : nullptr, eps,
            d.freqs_.get());
        check_launch("qk_norm_rope_kernel");
      }
      float* k_cache = d.k_cache_.get() + static_cast<size_t>(l) * layer_rows * c.kv_dim();
      float* v_cache = d.v_cache_.get() + static_cast<size_t>(l) * layer_rows * c.kv_dim();
      {
        const Launch L = elementwise_launch(n, c.kv_dim());
        kv_write_kernel<<<dim3(L.grid_x_, L.grid_y_), L.block_, 0, d.stream_>>>(
            d.k_.get(), d.v_.get(), c.kv_dim(), d.seqs_.get(), d.positions_.get(), capacity_,
            k_cache, v_cache);
        check_launch("kv_write_kernel");
      }
      {
        AttentionArgs a;
        a.q_ = d.q_.get();
        a.n_heads_ = c.n_heads_;
        a.head_dim_ = hd;
        a.group_ = c.group_size();
        a.q_dim_ = c.q_dim();
        a.kv_dim_ = c.kv_dim();
        a.seqs_ = d.seqs_.get();
        a.positions_ = d.positions_.get();
        a.capacity_ = capacity_;
        a.k_cache_ = k_cache;
        a.v_cache_ = v_cache;
        a.scores_ = d.scores_.get();
        a.out_ = d.attn_.get();
        a.out_stride_ = d.attn_stride_;
        attention_kernel<<<dim3(static_cast<unsigned>(c.n_heads_), static_cast<unsigned>(n)), 256, 0, d.stream_>>>(a);
        check_launch("attention_kernel");
      }
      matmul(b.wo_, d.attn_, d.attn_stride_, nullptr, d.residual_, true);
      norm(b.ffn_norm_);
      matmuls({{&b.w_gate_, nullptr, &d.gate_}, {&b.w_up_, nullptr, &d.up_}}, d.xn_, d.xn_stride_,
              false);
      {
        const Launch L = elementwise_launch(n, c.d_ff_);
        swiglu_kernel<<<dim3(L.grid_x_, L.grid_y_), L.block_, 0, d.stream_>>>(d.gate_.get(), d.up_.get(), c.d_ff_,
                                                               d.hidden_.get(), d.hidden_stride_);
        check_launch("swiglu_kernel");
      }
      matmul(b.w_down_, d.hidden_, d.hidden_stride_, nullptr, d.residual_, true);
    }
    norm(d.output_norm_);
    matmul(d.output_, d.xn_, d.xn_stride_, nullptr, d.logits_, false);
  };
  if (!graph || !d.graphs_.launch(d.stream_, n, enqueue)) enqueue();
  cuda_check(cudaDeviceSynchronize(), "forward pass");
}

std::vector<float> GpuFloatReference::forward(const std::vector<int32_t>& tokens) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return {};
  if (positions_[0] + n > capacity_) {
    throw make_error("GpuFloatReference",
                     "sequence of " + std::to_string(positions_[0] + n) +
                         " positions exceeds the KV cache capacity of " +
                         std::to_string(capacity_) + " positions",
                     "shorten the sequence, reset(), or construct with a larger capacity");
  }
  for (int64_t i = 0; i < n; ++i) {
    const int32_t t = tokens[static_cast<size_t>(i)];
    if (t < 0 || t >= config_.vocab_) {
      throw make_error("GpuFloatReference", "token id " + std::to_string(t) + " at index " +
                                                std::to_string(i) + " is outside the vocabulary [0, " +
                                                std::to_string(config_.vocab_) + ")");
    }
  }
  const int64_t vocab = config_.vocab_;
  std::vector<float> logits(static_cast<size_t>(n * vocab));
  for (const auto& [b, e] : token_chunks(n, max_batch_)) {
    const int64_t m = e - b;
    std::vector<int32_t> seqs(static_cast<size_t>(m), 0), pos(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) pos[static_cast<size_t>(i)] = static_cast<int32_t>(positions_[0] + i);
    run_batch(tokens.data() + b, seqs.data(), pos.data(), m);
    positions_[0] += m;
    impl_->logits_.download(logits.data() + b * vocab, static_cast<size_t>(m * vocab));
  }
  return logits;
}

void GpuFloatReference::reset() { std::fill(positions_.begin(), positions_.end(), 0); }

int64_t GpuFloatReference::sequence_position(int64_t sequence) const {
  return positions_.at(static_cast<size_t>(sequence));
}

std::vector<int32_t> GpuFloatReference::decode_batch(const std::vector<int32_t>& tokens) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n < 1 || n > max_sequences_) {
    throw make_error("GpuFloatReference::decode_batch",
                     std::to_string(n) + " tokens for " + std::to_string(max_sequences_) +
                         " sequences",
                     "give one token per sequence, at most max_sequences");
  }
  std::vector<int32_t> seqs(static_cast<size_t>(n)), pos(static_cast<size_t>(n));
  for (int64_t b = 0; b < n; ++b) {
    if (positions_[static_cast<size_t>(b)] >= capacity_) {
      throw make_error("GpuFloatReference::decode_batch",
                       "sequence " + std::to_string(b) + " has filled its KV cache of " +
                           std::to_string(capacity_) + " positions",
                       "reset() or construct with a larger capacity");
    }
    const int32_t t = tokens[static_cast<size_t>(b)];
    if (t < 0 || t >= config_.vocab_) {
      throw make_error("GpuFloatReference::decode_batch",
                       "token id " + std::to_string(t) + " is outside the vocabulary");
    }
    seqs[static_cast<size_t>(b)] = static_cast<int32_t>(b);
    pos[static_cast<size_t>(b)] = static_cast<int32_t>(positions_[static_cast<size_t>(b)]);
  }
  run_batch(tokens.data(), seqs.data(), pos.data(), n, /*graph=*/true);
  const Launch L = per_item_launch(n, 1, config_.vocab_);
  argmax_kernel<<<dim3(1, L.grid_y_), L.block_, 0, impl_->stream_>>>(impl_->logits_.get(), config_.vocab_,
                                                 impl_->sampled_.get());
  check_launch("argmax_kernel");
  std::vector<int32_t> next(static_cast<size_t>(n));
  impl_->sampled_.download(next.data(), next.size());
  for (int64_t b = 0; b < n; ++b) ++positions_[static_cast<size_t>(b)];
  return next;
}

std::vector<int32_t> generate_greedy(GpuFloatReference& reference,
                                     const std::vector<int32_t>& prompt, int64_t n_new) {
  if (n_new < 0) {
    throw make_error("generate_greedy", "number of tokens to generate is negative (" +
                                            std::to_string(n_new) + ")");
  }
  if (n_new == 0) return {};
  if (prompt.empty()) {
    throw make_error("generate_greedy", "the prompt is empty", "give at least one token");
  }
  const int64_t needed = reference.position() + static_cast<int64_t>(prompt.size()) + n_new - 1;
  if (needed > reference.capacity()) {
    throw make_error("generate_greedy",
                     "prompt plus generated tokens need " + std::to_string(needed) +
                         " positions, the KV cache holds " + std::to_string(reference.capacity()),
                     "generate fewer tokens or use a shorter prompt");
  }
  const int64_t vocab = reference.config().vocab_;
  std::vector<float> logits = reference.forward(prompt);
  std::vector<int32_t> generated;
  generated.push_back(argmax(logits.data() + logits.size() - static_cast<size_t>(vocab), vocab));
  while (static_cast<int64_t>(generated.size()) < n_new) {
    logits = reference.forward({generated.back()});
    generated.push_back(argmax(logits.data(), vocab));
  }
  return generated;
}

}  // namespace hw::gpu
