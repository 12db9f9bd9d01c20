// CUDA kernels of the chip-numerics forward pass and GpuGoldenModel (see chip_model.h).
// Kernel shapes (gpu_ref/launch.h): matrix products are one warp per output row over a tile of
// kTokenTile tokens (16-byte loads, __dp4a on 16-value chunks); norms, quantizations, q/k norm +
// RoPE, KV writes and attention are one block per (item, token) with exact integer block
// reductions; element-wise steps one thread per element. Every arithmetic step is a
// model/fixed_point.h function, the same the CPU golden model runs.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <initializer_list>
#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"
#include "gpu_ref/chip_model.h"
#include "gpu_ref/cuda_util.cuh"
#include "gpu_ref/device.h"
#include "gpu_ref/launch.h"
#include "gpu_ref/layout.h"
#include "model/fixed_point.h"

namespace hw::gpu {
namespace {

constexpr int kMaxHeadDim = 256;  // docs/numerics.md section 7 bounds scores for head_dim <= 256

// A chip matrix resident on the device (layout.h, ChipMatrixLayout).
struct DevMatrix {
  const int8_t* values_ = nullptr;
  const uint16_t* scale_m_ = nullptr;
  const int32_t* row_exp_ = nullptr;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  int64_t row_stride_ = 0;
  int64_t group_size_ = 0;
  int64_t groups_per_row_ = 0;
  bool chunked_ = false;
};

struct DevGain {
  const int16_t* values_ = nullptr;
  int frac_bits_ = 0;
};

// ---- Kernels -------------------------------------------------------------------------------

// Quantizes n values of one vector with the whole block (fx::quantize_dynamic in parallel: the
// max-reduction is exact, the per-element step is fx::quantize_value). Every thread returns
// the scale.
template <typename T>
__device__ fx::Dyadic block_quantize(const T* x, int64_t n, int frac_bits, int32_t qmax,
                                     int8_t* out) {
  uint64_t amax = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const uint64_t a = fx::abs_u64(static_cast<int64_t>(x[i]));
    amax = a > amax ? a : amax;
  }
  amax = block_reduce(amax, MaxOp{}, uint64_t{0});
  if (amax == 0) {
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) out[i] = 0;
    return {};
  }
  const fx::Dyadic s = fx::quantize_scale(amax, qmax);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    out[i] = fx::quantize_value(static_cast<int64_t>(x[i]), s, qmax);
  }
  return {s.m_, s.e_ + frac_bits};
}

// 1/rms of n values as fx::inv_rms computes it, with block reductions of max|x| and the sum of
// squares.
__device__ fx::Dyadic block_inv_rms(const int32_t* x, int64_t n, const fx::RmsConstants& c,
                                    const uint32_t* rsqrt_table, int table_bits, int newton) {
  uint64_t amax = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const uint64_t a = fx::abs_u64(x[i]);
    amax = a > amax ? a : amax;
  }
  amax = block_reduce(amax, MaxOp{}, uint64_t{0});
  const int sh = fx::norm_shift(amax);
  uint64_t ss = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) ss += fx::norm_square(x[i], sh);
  ss = block_reduce(ss, SumOp{}, uint64_t{0});
  return fx::inv_rms_finish(ss, sh, c, rsqrt_table, table_bits, newton);
}

// residual[t] = embedding row of tokens[t] (fx::embed_value per element).
__global__ void embed_kernel(DevMatrix e, const int32_t* tokens, int residual_frac,
                             int32_t* residual, int64_t d) {
  const int64_t t = blockIdx.y;
  const int64_t token = tokens[t];
  const int8_t* row = e.values_ + token * e.row_stride_;
  const uint16_t* m = e.scale_m_ + token * e.groups_per_row_;
  const int32_t exp = e.row_exp_[token];
  for (int64_t c = blockIdx.x * blockDim.x + threadIdx.x; c < e.cols_;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    residual[t * d + c] = fx::embed_value(row[c], m[c / e.group_size_], exp, residual_frac);
  }
}

// x_q[t], x_scale[t] = RMSNorm(x[t]) * gain quantized (fx::rms_norm_quantize in parallel).
__global__ void rms_quantize_kernel(const int32_t* x, int64_t n, DevGain gain,
                                    fx::RmsConstants c, const uint32_t* rsqrt_table,
                                    int table_bits, int newton, int32_t qmax, int8_t* out,
                                    int64_t out_stride, fx::Dyadic* scale) {
  const int64_t t = blockIdx.y;
  const int32_t* xr = x + t * n;
  const fx::Dyadic inv = block_inv_rms(xr, n, c, rsqrt_table, table_bits, newton);
  uint64_t amax = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const uint64_t a = fx::abs_u64(static_cast<int64_t>(xr[i]) * gain.values_[i]);
    amax = a > amax ? a : amax;
  }
  amax = block_reduce(amax, MaxOp{}, uint64_t{0});
  int8_t* o = out + t * out_stride;
  fx::Dyadic s;
  if (amax == 0) {
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) o[i] = 0;
  } else {
    const fx::Dyadic q = fx::quantize_scale(amax, qmax);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      o[i] = fx::quantize_value(static_cast<int64_t>(xr[i]) * gain.values_[i], q, qmax);
    }
    s = {q.m_, q.e_ + c.frac_bits_ + gain.frac_bits_};
  }
  if (threadIdx.x == 0) scale[t] = fx::dyadic_mul(s, inv);
}

// Static activation scales (profile activations.scales: static): x_q[t] = RMSNorm(x[t]) * gain
// quantized with the calibrated scale, x_scale[t] = that scale (GoldenModel's
// norm_quantize_static: the normalization folded into the multiplier r = inv_rms * 1/scale).
__global__ void rms_static_kernel(const int32_t* x, int64_t n, DevGain gain, fx::RmsConstants c,
                                  const uint32_t* rsqrt_table, int table_bits, int newton,
                                  int32_t qmax, fx::Dyadic scale, fx::Dyadic inv_scale,
                                  int8_t* out, int64_t out_stride, fx::Dyadic* x_scale) {
  const int64_t t = blockIdx.y;
  const int32_t* xr = x + t * n;
  const fx::Dyadic inv = block_inv_rms(xr, n, c, rsqrt_table, table_bits, newton);
  const fx::Dyadic r = fx::dyadic_mul(inv, inv_scale);
  const int frac = c.frac_bits_ + gain.frac_bits_;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    out[t * out_stride + i] =
        fx::quantize_static_value(static_cast<int64_t>(xr[i]) * gain.values_[i], r, frac, qmax);
  }
  if (threadIdx.x == 0) x_scale[t] = scale;
}

// x_q[t] = x[t] quantized with a calibrated static scale (GoldenModel's quantize_static).
__global__ void quantize_static_kernel(const int32_t* x, int64_t n, int frac_bits, int32_t qmax,
                                       fx::Dyadic scale, fx::Dyadic inv_scale, int8_t* out,
                                       int64_t out_stride, fx::Dyadic* x_scale) {
  const int64_t t = blockIdx.y;
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[t * out_stride + i] = fx::quantize_static_value(x[t * n + i], inv_scale, frac_bits, qmax);
  }
  if (blockIdx.x == 0 && threadIdx.x == 0) x_scale[t] = scale;
}

// x_q[t], x_scale[t] = QUANT(x[t]) (fx::quantize_dynamic in parallel).
__global__ void quantize_kernel(const int32_t* x, int64_t n, int frac_bits, int32_t qmax,
                                int8_t* out, int64_t out_stride, fx::Dyadic* scale) {
  const int64_t t = blockIdx.y;
  const fx::Dyadic s = block_quantize(x + t * n, n, frac_bits, qmax, out + t * out_stride);
  if (threadIdx.x == 0) scale[t] = s;
}

// out[t][r] = requantize(W x_q[t]) (+ bias[r]), or with `residual` out[t][r] += it, saturating.
// One warp per row r; the warp's lanes take 16-value chunks (chunked layout) or whole groups.
// Up to three products over the same input in one launch (launch.h, group_matvec_launch).
constexpr int kMaxGroup = 3;
struct MatmulGroup {
  DevMatrix w_[kMaxGroup];
  const int32_t* bias_[kMaxGroup] = {};
  int32_t* out_[kMaxGroup] = {};
  int64_t first_block_[kMaxGroup + 1] = {};
  int n_ = 0;
};

__global__ void __launch_bounds__(kMatvecWarpsPerBlock * kWarpSize)
    chip_matmul_kernel(MatmulGroup group, const int8_t* x, int64_t x_stride,
                       const fx::Dyadic* x_scale, int64_t n_tokens, int out_frac, bool residual) {
  int j = 0;
  while (j + 1 < group.n_ && blockIdx.x >= group.first_block_[j + 1]) ++j;
  const DevMatrix& w = group.w_[j];
  const int32_t* bias = group.bias_[j];
  int32_t* out = group.out_[j];
  const int64_t out_stride = w.rows_;
  const int warp = threadIdx.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;
  const int64_t r = (static_cast<int64_t>(blockIdx.x) - group.first_block_[j]) * kMatvecWarpsPerBlock + warp;
  if (r >= w.rows_) return;
  const int64_t t0 = static_cast<int64_t>(blockIdx.y) * kTokenTile;
  const int nt = static_cast<int>(min(static_cast<int64_t>(kTokenTile), n_tokens - t0));
  const int8_t* row = w.values_ + r * w.row_stride_;
  const uint16_t* m = w.scale_m_ + r * w.groups_per_row_;
  const int8_t* xt = x + t0 * x_stride;
  long long acc[kTokenTile];
#pragma unroll
  for (int t = 0; t < kTokenTile; ++t) acc[t] = 0;
  if (w.chunked_) {
    const int64_t chunks = w.row_stride_ / kChunkValues;
#pragma unroll 4
    for (int64_t k = lane; k < chunks; k += kWarpSize) {
      const int4 wv = __ldg(reinterpret_cast<const int4*>(row + k * kChunkValues));
      const long long mk = m[chunk_group(k, w.group_size_, w.groups_per_row_)];
#pragma unroll
      for (int t = 0; t < kTokenTile; ++t) {
        if (t < nt) {
          const int4 xv = *reinterpret_cast<const int4*>(xt + t * x_stride + k * kChunkValues);
          int d = __dp4a(wv.x, xv.x, 0);
          d = __dp4a(wv.y, xv.y, d);
          d = __dp4a(wv.z, xv.z, d);
          d = __dp4a(wv.w, xv.w, d);
          acc[t] += static_cast<long long>(d) * mk;
        }
      }
    }
  } else {
    for (int64_t g = lane; g < w.groups_per_row_; g += kWarpSize) {
      const int64_t c0 = g * w.group_size_;
      const int64_t len = min(w.group_size_, w.cols_ - c0);
#pragma unroll
      for (int t = 0; t < kTokenTile; ++t) {
        if (t < nt) {
          acc[t] += static_cast<long long>(fx::dot_i8(row + c0, xt + t * x_stride + c0, len)) * m[g];
        }
      }
    }
  }
#pragma unroll
  for (int t = 0; t < kTokenTile; ++t) acc[t] = warp_reduce(acc[t], SumOp{});
  if (lane != 0) return;
  for (int t = 0; t < nt; ++t) {
    const fx::Dyadic xs = x_scale[t0 + t];
    const int32_t v = fx::requantize(acc[t], fx::Dyadic{xs.m_, xs.e_ + w.row_exp_[r]}, out_frac);
    int32_t* dst = out + (t0 + t) * out_stride + r;
    if (residual) {
      *dst = fx::add_saturate(*dst, v);
    } else {
      *dst = bias ? fx::add_saturate(v, bias[r]) : v;
    }
  }
}

// Per (head, token): Qwen3's q/k RMSNorm when present, then RoPE at the token's position.
// Heads 0..n_heads-1 are q's, the rest k's.
__global__ void qk_norm_rope_kernel(int32_t* q, int32_t* k, int64_t n_heads, int64_t head_dim,
                                    int64_t q_dim, int64_t kv_dim, const int32_t* positions,
                                    bool qk_norm, DevGain q_gain, DevGain k_gain,
                                    fx::RmsConstants c, const uint32_t* rsqrt_table,
                                    int table_bits, int newton, const uint32_t* rope_step,
                                    const int32_t* sin_table, int rope_bits) {
  const int64_t t = blockIdx.y;
  const int64_t h = blockIdx.x;
  const bool is_q = h < n_heads;
  int32_t* x = is_q ? q + t * q_dim + h * head_dim : k + t * kv_dim + (h - n_heads) * head_dim;
  if (qk_norm) {
    const DevGain g = is_q ? q_gain : k_gain;
    const fx::Dyadic inv = block_inv_rms(x, head_dim, c, rsqrt_table, table_bits, newton);
    for (int64_t i = threadIdx.x; i < head_dim; i += blockDim.x) {
      x[i] = fx::rms_norm_fixed_value(x[i], g.values_[i], g.frac_bits_, inv);
    }
    __syncthreads();
  }
  const uint32_t pos = static_cast<uint32_t>(positions[t]);
  for (int64_t i = threadIdx.x; i < head_dim / 2; i += blockDim.x) {
    const uint32_t phase = pos * rope_step[i];
    const int32_t cs = fx::cos_q30(phase, sin_table, rope_bits);
    const int32_t sn = fx::sin_q30(phase, sin_table, rope_bits);
    fx::rope_rotate(x + 2 * i, x + 2 * i + 1, cs, sn);
  }
}

// Per (kv head, token): K and V quantized into the cache row of (sequence, position).
__global__ void kv_write_kernel(const int32_t* k, const int32_t* v, int64_t kv_dim,
                                int64_t head_dim, int64_t n_kv_heads, const int32_t* seqs,
                                const int32_t* positions, int64_t capacity, int frac_bits,
                                int32_t qmax, int8_t* k_cache, int8_t* v_cache,
                                fx::Dyadic* k_scale, fx::Dyadic* v_scale) {
  const int64_t t = blockIdx.y;
  const int64_t g = blockIdx.x;
  const int64_t row = static_cast<int64_t>(seqs[t]) * capacity + positions[t];
  const fx::Dyadic ks = block_quantize(k + t * kv_dim + g * head_dim, head_dim, frac_bits, qmax,
                                       k_cache + row * kv_dim + g * head_dim);
  const fx::Dyadic vs = block_quantize(v + t * kv_dim + g * head_dim, head_dim, frac_bits, qmax,
                                       v_cache + row * kv_dim + g * head_dim);
  if (threadIdx.x == 0) {
    k_scale[row * n_kv_heads + g] = ks;
    v_scale[row * n_kv_heads + g] = vs;
  }
}

struct AttentionArgs {
  const int32_t* q_ = nullptr;
  int64_t n_heads_ = 0, head_dim_ = 0, group_ = 0, n_kv_heads_ = 0, q_dim_ = 0, kv_dim_ = 0;
  const int32_t* seqs_ = nullptr;
  const int32_t* positions_ = nullptr;
  int64_t capacity_ = 0;
  const int8_t* k_cache_ = nullptr;
  const int8_t* v_cache_ = nullptr;
  const fx::Dyadic* k_scale_ = nullptr;
  const fx::Dyadic* v_scale_ = nullptr;
  fx::Dyadic score_scale_;
  int frac_bits_ = 0;
  int32_t act_qmax_ = 0;
  const int32_t* exp2_table_ = nullptr;
  int exp2_bits_ = 0;
  int64_t* z_ = nullptr;   // [tokens][n_heads][capacity]: scores, then weights a_j
  uint32_t* p_ = nullptr;  // [tokens][n_heads][capacity]: probabilities
  int32_t* out_ = nullptr;
};

// Per (query head, token): fx::attention_head over positions 0..position of its sequence, the
// loops over keys split across the block, the max / sum / min between them block reductions.
__global__ void attention_kernel(AttentionArgs a) {
  __shared__ int8_t qh[kMaxHeadDim];
  const int64_t t = blockIdx.y;
  const int64_t h = blockIdx.x;
  const int64_t hd = a.head_dim_;
  const int64_t g = h / a.group_;
  const fx::Dyadic qs = block_quantize(a.q_ + t * a.q_dim_ + h * hd, hd, a.frac_bits_,
                                       a.act_qmax_, qh);
  __syncthreads();
  const fx::Dyadic qc = fx::dyadic_mul(qs, a.score_scale_);
  const int64_t n_keys = static_cast<int64_t>(a.positions_[t]) + 1;
  const int64_t base = static_cast<int64_t>(a.seqs_[t]) * a.capacity_;
  int64_t* z = a.z_ + (t * a.n_heads_ + h) * a.capacity_;
  uint32_t* p = a.p_ + (t * a.n_heads_ + h) * a.capacity_;
  const int8_t* k = a.k_cache_ + base * a.kv_dim_ + g * hd;
  const int8_t* v = a.v_cache_ + base * a.kv_dim_ + g * hd;
  const fx::Dyadic* ks = a.k_scale_ + base * a.n_kv_heads_ + g;
  const fx::Dyadic* vs = a.v_scale_ + base * a.n_kv_heads_ + g;

  long long z_max = -fx::kInt32Max;
  for (int64_t j = threadIdx.x; j < n_keys; j += blockDim.x) {
    const int64_t zj = fx::attention_score(fx::dot_i8(qh, k + j * a.kv_dim_, hd),
                                           ks[j * a.n_kv_heads_], qc);
    z[j] = zj;
    z_max = zj > z_max ? zj : z_max;
  }
  z_max = block_reduce(z_max, MaxOp{}, static_cast<long long>(-fx::kInt32Max));
  unsigned long long sum = 0;
  for (int64_t j = threadIdx.x; j < n_keys; j += blockDim.x) {
    p[j] = fx::exp2_neg(z_max - z[j], a.exp2_table_, a.exp2_bits_);
    sum += p[j];
  }
  sum = block_reduce(sum, SumOp{}, 0ull);
  const fx::Dyadic inv = fx::dyadic_ratio(1, sum);
  int32_t e_min = fx::kInt32Max;
  for (int64_t j = threadIdx.x; j < n_keys; j += blockDim.x) {
    const uint32_t pi = fx::attention_prob(p[j], inv);
    p[j] = pi;
    const fx::Dyadic vj = vs[j * a.n_kv_heads_];
    if (fx::attention_uses(pi, vj) && vj.e_ < e_min) e_min = vj.e_;
  }
  e_min = block_reduce(e_min, MinOp{}, fx::kInt32Max);
  int32_t* out = a.out_ + t * a.q_dim_ + h * hd;
  if (e_min == fx::kInt32Max) {
    for (int64_t d = threadIdx.x; d < hd; d += blockDim.x) out[d] = 0;
    return;
  }
  for (int64_t j = threadIdx.x; j < n_keys; j += blockDim.x) {
    z[j] = fx::attention_weight(p[j], vs[j * a.n_kv_heads_], e_min);
  }
  __syncthreads();
  for (int64_t d = threadIdx.x; d < hd; d += blockDim.x) {
    int64_t acc = 0;
    for (int64_t j = 0; j < n_keys; ++j) {
      const int64_t w = z[j];
      if (w != 0) acc += w * v[j * a.kv_dim_ + d];
    }
    out[d] = fx::attention_out(acc, e_min, a.frac_bits_);
  }
}

// hidden = silu(gate) * up per element (fx::swiglu_fixed).
__global__ void swiglu_kernel(const int32_t* gate, const int32_t* up, int32_t* hidden, int64_t n,
                              int frac_bits, const int32_t* sigmoid_table, int table_bits) {
  const int64_t t = blockIdx.y;
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    hidden[t * n + i] = fx::swiglu_fixed(gate[t * n + i], up[t * n + i], frac_bits, sigmoid_table,
                                         table_bits);
  }
}

// out[t] = index of the largest logit of row t, the lowest among equals (GoldenModel::sample).
__global__ void argmax_kernel(const int32_t* logits, int64_t vocab, int32_t* out) {
  const int64_t t = blockIdx.y;
  const int32_t* row = logits + t * vocab;
  // Key: logit in the high half, 2^32 - 1 - index in the low half: the max key is the largest
  // logit at the lowest index.
  long long best = LLONG_MIN;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
    const long long key = static_cast<long long>(row[i]) * 4294967296LL +
                          static_cast<long long>(0xFFFFFFFFu - static_cast<uint32_t>(i));
    best = key > best ? key : best;
  }
  best = block_reduce(best, MaxOp{}, LLONG_MIN);
  if (threadIdx.x == 0) {
    out[t] = static_cast<int32_t>(0xFFFFFFFFu - static_cast<uint32_t>(best & 0xFFFFFFFFLL));
  }
}

int32_t qmax_of(int bits) { return (int32_t{1} << (bits - 1)) - 1; }

// Device copy of a chip matrix and its view.
struct MatrixBuffers {
  DeviceArray<int8_t> values_;
  DeviceArray<uint16_t> scale_m_;
  DeviceArray<int32_t> row_exp_;
  DevMatrix view_;
  int64_t bytes_ = 0;

  void upload(const QuantizedMatrix& m) {
    const ChipMatrixLayout p = pack_chip_matrix(m);
    values_ = to_device(p.values_);
    scale_m_ = to_device(p.scale_m_);
    row_exp_ = to_device(p.row_exp_);
    view_ = {values_.get(), scale_m_.get(), row_exp_.get(), p.rows_, p.cols_, p.row_stride_,
             p.group_size_, p.groups_per_row_, p.chunked_};
    bytes_ = static_cast<int64_t>(p.values_.size() + p.scale_m_.size() * 2 + p.row_exp_.size() * 4);
  }
};

struct GainBuffer {
  DeviceArray<int16_t> values_;
  DevGain view_;
  void upload(const QuantizedGain& g) {
    values_ = to_device(g.values_);
    view_ = {values_.get(), g.frac_bits_};
  }
};

struct LayerBuffers {
  GainBuffer attn_norm_, ffn_norm_, q_norm_, k_norm_;
  MatrixBuffers wq_, wk_, wv_, wo_, w_gate_, w_up_, w_down_;
  DeviceArray<int32_t> bq_, bk_, bv_;
};

}  // namespace

struct GpuGoldenModel::Impl {
  NumericsTables tables_;
  DeviceArray<uint32_t> rsqrt_, rope_step_;
  DeviceArray<int32_t> exp2_, sigmoid_, sin_;
  MatrixBuffers tok_embd_, output_;
  GainBuffer output_norm_;
  std::vector<LayerBuffers> layers_;
  int32_t act_qmax_ = 0, kv_qmax_ = 0;
  bool static_scales_ = false;
  int64_t xq_stride_ = 0;
  // Activations of up to max_tokens tokens.
  DeviceArray<int32_t> tokens_, seqs_, positions_, sampled_;
  DeviceArray<int32_t> residual_, q_, k_, v_, attn_, gate_, up_, hidden_, logits_;
  DeviceArray<int8_t> xq_;
  DeviceArray<fx::Dyadic> xscale_;
  // KV cache: [layer][sequence][capacity][kv_dim] values, [layer][sequence][capacity][n_kv] scales.
  DeviceArray<int8_t> k_cache_, v_cache_;
  DeviceArray<fx::Dyadic> k_scale_, v_scale_;
  DeviceArray<int64_t> z_;
  DeviceArray<uint32_t> p_;
  TokenState trace_;  // host copy handed to the trace callback
  cudaStream_t stream_ = nullptr;  // blocking: ordered with the legacy-stream copies
  GraphCache graphs_;               // decode steps by batch size
  Impl() { cuda_check(cudaStreamCreate(&stream_), "cudaStreamCreate"); }
  ~Impl() {
    if (stream_) cudaStreamDestroy(stream_);
  }
};

GpuGoldenModel::GpuGoldenModel(const QuantizedModel& model, int64_t kv_capacity_positions,
                               int64_t max_sequences, int64_t max_batch_tokens,
                               ActScaleMode act_scales)
    : model_(model) {
  const std::string reason = unavailable_reason();
  if (!reason.empty()) {
    throw make_error("CUDA reference", "no usable GPU (" + reason + ")",
                     "run on a machine with an NVIDIA GPU, or use the CPU (--device cpu)");
  }
  impl_ = std::make_unique<Impl>();  // creates a stream: only once a device is known usable
  const ModelConfig& c = model_.config_;
  c.validate();
  if (static_cast<int64_t>(model_.layers_.size()) != c.n_layers_) {
    throw make_error("GpuGoldenModel", "quantized model has " +
                                           std::to_string(model_.layers_.size()) +
                                           " layers, its config " + std::to_string(c.n_layers_));
  }
  if (c.head_dim_ > kMaxHeadDim) {
    throw make_error("GpuGoldenModel", "head_dim " + std::to_string(c.head_dim_) +
                                           " exceeds the supported " + std::to_string(kMaxHeadDim));
  }
  if (max_sequences < 1 || max_batch_tokens < 1) {
    throw make_error("GpuGoldenModel", "max_sequences and max_batch_tokens must be at least 1");
  }
  capacity_ = kv_capacity_positions > 0 ? kv_capacity_positions : c.max_positions_;
  max_sequences_ = max_sequences;
  max_batch_ = std::max(max_batch_tokens, max_sequences);
  positions_.assign(static_cast<size_t>(max_sequences_), 0);
  Impl& d = *impl_;
  d.tables_ = build_numerics_tables(c, model_.profile_);
  d.rsqrt_ = to_device(d.tables_.rsqrt_);
  d.rope_step_ = to_device(d.tables_.rope_step_);
  d.exp2_ = to_device(d.tables_.exp2_);
  d.sigmoid_ = to_device(d.tables_.sigmoid_);
  d.sin_ = to_device(d.tables_.sin_);
  d.act_qmax_ = qmax_of(model_.profile_.activation_bits_);
  d.kv_qmax_ = qmax_of(model_.profile_.kv_bits_);
  d.static_scales_ = act_scales == ActScaleMode::kProfile && model_.profile_.static_act_scales_;
  if (d.static_scales_ && static_cast<int64_t>(model_.act_scales_.size()) != c.n_layers_) {
    throw make_error("GpuGoldenModel",
                     "profile '" + model_.profile_.name_ +
                         "' has activations.scales: static, but the quantized model holds no "
                         "calibrated scales",
                     "quantize with quantize_model (it calibrates on "
                     "numerics.calibration.tokens_file)");
  }

  d.tok_embd_.upload(model_.tok_embd_);
  if (!c.tied_embeddings_) d.output_.upload(model_.output_);
  d.output_norm_.upload(model_.output_norm_);
  d.layers_.resize(static_cast<size_t>(c.n_layers_));
  for (int64_t l = 0; l < c.n_layers_; ++l) {
    const QuantizedLayer& q = model_.layers_[static_cast<size_t>(l)];
    LayerBuffers& b = d.layers_[static_cast<size_t>(l)];
    b.attn_norm_.upload(q.attn_norm_);
    b.ffn_norm_.upload(q.ffn_norm_);
    if (c.qk_norm_) {
      b.q_norm_.upload(q.q_norm_);
      b.k_norm_.upload(q.k_norm_);
    }
    b.wq_.upload(q.wq_);
    b.wk_.upload(q.wk_);
    b.wv_.upload(q.wv_);
    b.wo_.upload(q.wo_);
    b.w_gate_.upload(q.w_gate_);
    b.w_up_.upload(q.w_up_);
    b.w_down_.upload(q.w_down_);
    b.bq_ = to_device(q.bq_);
    b.bk_ = to_device(q.bk_);
    b.bv_ = to_device(q.bv_);
  }

  const size_t T = static_cast<size_t>(max_batch_);
  d.xq_stride_ = padded_stride(std::max({c.d_model_, c.q_dim(), c.d_ff_}), 1);
  d.tokens_.resize(T);
  d.seqs_.resize(T);
  d.positions_.resize(T);
  d.sampled_.resize(T);
  d.residual_.resize(T * static_cast<size_t>(c.d_model_));
  d.q_.resize(T * static_cast<size_t>(c.q_dim()));
  d.k_.resize(T * static_cast<size_t>(c.kv_dim()));
  d.v_.resize(T * static_cast<size_t>(c.kv_dim()));
  d.attn_.resize(T * static_cast<size_t>(c.q_dim()));
  d.gate_.resize(T * static_cast<size_t>(c.d_ff_));
  d.up_.resize(T * static_cast<size_t>(c.d_ff_));
  d.hidden_.resize(T * static_cast<size_t>(c.d_ff_));
  d.logits_.resize(T * static_cast<size_t>(c.vocab_));
  d.xq_.resize(T * static_cast<size_t>(d.xq_stride_));
  d.xscale_.resize(T);
  const size_t rows = static_cast<size_t>(c.n_layers_ * max_sequences_ * capacity_);
  d.k_cache_.resize(rows * static_cast<size_t>(c.kv_dim()));
  d.v_cache_.resize(rows * static_cast<size_t>(c.kv_dim()));
  d.k_scale_.resize(rows * static_cast<size_t>(c.n_kv_heads_));
  d.v_scale_.resize(rows * static_cast<size_t>(c.n_kv_heads_));
  d.z_.resize(T * static_cast<size_t>(c.n_heads_ * capacity_));
  d.p_.resize(T * static_cast<size_t>(c.n_heads_ * capacity_));

  // The traced state has GoldenModel::make_state's sizes.
  TokenState& s = d.trace_;
  s.residual_.assign(static_cast<size_t>(c.d_model_), 0);
  s.x_q_.assign(static_cast<size_t>(std::max({c.d_model_, c.q_dim(), c.d_ff_})), 0);
  s.q_.assign(static_cast<size_t>(c.q_dim()), 0);
  s.k_.assign(static_cast<size_t>(c.kv_dim()), 0);
  s.v_.assign(static_cast<size_t>(c.kv_dim()), 0);
  s.attn_.assign(static_cast<size_t>(c.q_dim()), 0);
  s.gate_.assign(static_cast<size_t>(c.d_ff_), 0);
  s.up_.assign(static_cast<size_t>(c.d_ff_), 0);
  s.hidden_.assign(static_cast<size_t>(c.d_ff_), 0);
  s.logits_.assign(static_cast<size_t>(c.vocab_), 0);
}

GpuGoldenModel::~GpuGoldenModel() = default;

int64_t GpuGoldenModel::weight_bytes_per_token() const {
  const Impl& d = *impl_;
  int64_t bytes = config().tied_embeddings_ ? d.tok_embd_.bytes_ : d.output_.bytes_;
  for (const LayerBuffers& b : d.layers_) {
    bytes += b.wq_.bytes_ + b.wk_.bytes_ + b.wv_.bytes_ + b.wo_.bytes_ + b.w_gate_.bytes_ +
             b.w_up_.bytes_ + b.w_down_.bytes_;
  }
  return bytes;
}

void GpuGoldenModel::run_batch(const int32_t* tokens, const int32_t* seqs,
                               const int32_t* positions, int64_t n,
                               const BlockCallback* on_block, bool graph) {
  const ModelConfig& c = model_.config_;
  const NumericsProfile& p = model_.profile_;
  Impl& d = *impl_;
  const NumericsTables& tb = d.tables_;
  d.tokens_.upload(tokens, static_cast<size_t>(n));
  d.seqs_.upload(seqs, static_cast<size_t>(n));
  d.positions_.upload(positions, static_cast<size_t>(n));
  const int af = p.activation_frac_bits_;
  const int fr = p.residual_frac_bits_;
  const int64_t hd = c.head_dim_;
  TokenState& s = d.trace_;

  // Copies of the device state for the traced run (one token).
  auto get = [&](DeviceArray<int32_t>& a, std::vector<int32_t>& h) { a.download(h.data(), h.size()); };
  auto get_xq = [&](int64_t width) {
    d.xq_.download(s.x_q_.data(), static_cast<size_t>(width));
    d.xscale_.download(&s.x_scale_, 1);
  };
  auto trace = [&](const char* block, int64_t layer) {
    cuda_check(cudaDeviceSynchronize(), block);
    if (on_block) (*on_block)(block, layer, s);
  };

  // `sc`: the block's static scale, used when the profile has static activation scales.
  auto norm = [&](DevGain g, const StaticActScale& sc) {
    const Launch L = per_item_launch(n, 1, c.d_model_);
    if (d.static_scales_) {
      rms_static_kernel<<<dim3(1, L.grid_y_), L.block_, 0, d.stream_>>>(
          d.residual_.get(), c.d_model_, g, tb.model_norm_, d.rsqrt_.get(), p.rsqrt_table_bits_,
          p.newton_steps_, d.act_qmax_, sc.scale_, sc.inv_, d.xq_.get(), d.xq_stride_,
          d.xscale_.get());
      check_launch("rms_static_kernel");
      return;
    }
    rms_quantize_kernel<<<dim3(1, L.grid_y_), L.block_, 0, d.stream_>>>(
        d.residual_.get(), c.d_model_, g, tb.model_norm_, d.rsqrt_.get(), p.rsqrt_table_bits_,
        p.newton_steps_, d.act_qmax_, d.xq_.get(), d.xq_stride_, d.xscale_.get());
    check_launch("rms_quantize_kernel");
  };
  auto quantize = [&](const DeviceArray<int32_t>& x, int64_t width, const StaticActScale& sc) {
    if (d.static_scales_) {
      const Launch L = elementwise_launch(n, width);
      quantize_static_kernel<<<dim3(L.grid_x_, L.grid_y_), L.block_, 0, d.stream_>>>(
          x.get(), width, af, d.act_qmax_, sc.scale_, sc.inv_, d.xq_.get(), d.xq_stride_,
          d.xscale_.get());
      check_launch("quantize_static_kernel");
      return;
    }
    const Launch L = per_item_launch(n, 1, width);
    quantize_kernel<<<dim3(1, L.grid_y_), L.block_, 0, d.stream_>>>(x.get(), width, af, d.act_qmax_, d.xq_.get(),
                                                       d.xq_stride_, d.xscale_.get());
    check_launch("quantize_kernel");
  };
  // One launch for up to three products of x_q: (matrix, bias or null, output) each.
  struct Product {
    const MatrixBuffers* w_;
    const DeviceArray<int32_t>* bias_;
    DeviceArray<int32_t>* out_;
  };
  auto matmuls = [&](std::initializer_list<Product> products, int out_frac, bool residual) {
    MatmulGroup g;
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
    chip_matmul_kernel<<<dim3(L.launch_.grid_x_, L.launch_.grid_y_), L.launch_.block_, 0, d.stream_>>>(
        g, d.xq_.get(), d.xq_stride_, d.xscale_.get(), n, out_frac, residual);
    check_launch("chip_matmul_kernel");
  };
  auto matmul = [&](const MatrixBuffers& w, int out_frac, const DeviceArray<int32_t>* bias,
                    DeviceArray<int32_t>& out, bool residual) {
    matmuls({Product{&w, bias, &out}}, out_frac, residual);
  };

  // Every kernel of the batch, on d.stream_ (captured as a graph for decode steps).
  auto enqueue = [&]() {
    {
      const Launch L = elementwise_launch(n, c.d_model_);
      embed_kernel<<<dim3(L.grid_x_, L.grid_y_), L.block_, 0, d.stream_>>>(d.tok_embd_.view_, d.tokens_.get(), fr,
                                                            d.residual_.get(), c.d_model_);
      check_launch("embed_kernel");
    }
    if (on_block) {
      s.position_ = positions[0];
      get(d.residual_, s.residual_);
      trace("embed", -1);
    }
    const size_t layer_rows = static_cast<size_t>(max_sequences_ * capacity_);
    const LayerActScales kNoScales;
    for (int64_t l = 0; l < c.n_layers_; ++l) {
      const LayerBuffers& b = d.layers_[static_cast<size_t>(l)];
      const LayerActScales& as = d.static_scales_ ? model_.act_scales_[static_cast<size_t>(l)] : kNoScales;
      norm(b.attn_norm_.view_, as.attn_in_);
      if (on_block) {
        get_xq(c.d_model_);
        trace("attn_norm", l);
      }
      matmuls({{&b.wq_, &b.bq_, &d.q_}, {&b.wk_, &b.bk_, &d.k_}, {&b.wv_, &b.bv_, &d.v_}}, af, false);
      if (on_block) {
        get(d.q_, s.q_);
        get(d.k_, s.k_);
        get(d.v_, s.v_);
        trace("qkv", l);
      }
      {
        const Launch L = per_item_launch(n, c.n_heads_ + c.n_kv_heads_, hd);
        qk_norm_rope_kernel<<<dim3(L.grid_x_, L.grid_y_), L.block_, 0, d.stream_>>>(
            d.q_.get(), d.k_.get(), c.n_heads_, hd, c.q_dim(), c.kv_dim(), d.positions_.get(),
            c.qk_norm_, b.q_norm_.view_, b.k_norm_.view_, tb.head_norm_, d.rsqrt_.get(),
            p.rsqrt_table_bits_, p.newton_steps_, d.rope_step_.get(), d.sin_.get(),
            p.rope_table_bits_);
        check_launch("qk_norm_rope_kernel");
      }
      if (on_block) {
        get(d.q_, s.q_);
        get(d.k_, s.k_);
        trace("rope", l);
      }
      const size_t kv_off = static_cast<size_t>(l) * layer_rows;
      {
        const Launch L = per_item_launch(n, c.n_kv_heads_, hd);
        kv_write_kernel<<<dim3(L.grid_x_, L.grid_y_), L.block_, 0, d.stream_>>>(
            d.k_.get(), d.v_.get(), c.kv_dim(), hd, c.n_kv_heads_, d.seqs_.get(), d.positions_.get(),
            capacity_, af, d.kv_qmax_, d.k_cache_.get() + kv_off * c.kv_dim(),
            d.v_cache_.get() + kv_off * c.kv_dim(), d.k_scale_.get() + kv_off * c.n_kv_heads_,
            d.v_scale_.get() + kv_off * c.n_kv_heads_);
        check_launch("kv_write_kernel");
      }
      if (on_block) trace("kv_write", l);
      {
        AttentionArgs a;
        a.q_ = d.q_.get();
        a.n_heads_ = c.n_heads_;
        a.head_dim_ = hd;
        a.group_ = c.group_size();
        a.n_kv_heads_ = c.n_kv_heads_;
        a.q_dim_ = c.q_dim();
        a.kv_dim_ = c.kv_dim();
        a.seqs_ = d.seqs_.get();
        a.positions_ = d.positions_.get();
        a.capacity_ = capacity_;
        a.k_cache_ = d.k_cache_.get() + kv_off * c.kv_dim();
        a.v_cache_ = d.v_cache_.get() + kv_off * c.kv_dim();
        a.k_scale_ = d.k_scale_.get() + kv_off * c.n_kv_heads_;
        a.v_scale_ = d.v_scale_.get() + kv_off * c.n_kv_heads_;
        a.score_scale_ = tb.score_scale_;
        a.frac_bits_ = af;
        a.act_qmax_ = d.act_qmax_;
        a.exp2_table_ = d.exp2_.get();
        a.exp2_bits_ = p.exp2_table_bits_;
        a.z_ = d.z_.get();
        a.p_ = d.p_.get();
        a.out_ = d.attn_.get();
        // 256 threads: the key loops are long, head_dim-wide loops use what they need.
        attention_kernel<<<dim3(static_cast<unsigned>(c.n_heads_), static_cast<unsigned>(n)), 256, 0, d.stream_>>>(a);
        check_launch("attention_kernel");
      }
      if (on_block) {
        get(d.attn_, s.attn_);
        trace("attention", l);
      }
      quantize(d.attn_, c.q_dim(), as.attn_out_);
      matmul(b.wo_, fr, nullptr, d.residual_, true);
      if (on_block) {
        get_xq(c.q_dim());
        get(d.residual_, s.residual_);
        trace("o_proj", l);
      }
      norm(b.ffn_norm_.view_, as.ffn_in_);
      if (on_block) {
        get_xq(c.d_model_);
        trace("ffn_norm", l);
      }
      matmuls({{&b.w_gate_, nullptr, &d.gate_}, {&b.w_up_, nullptr, &d.up_}}, af, false);
      {
        const Launch L = elementwise_launch(n, c.d_ff_);
        swiglu_kernel<<<dim3(L.grid_x_, L.grid_y_), L.block_, 0, d.stream_>>>(d.gate_.get(), d.up_.get(),
                                                               d.hidden_.get(), c.d_ff_, af,
                                                               d.sigmoid_.get(), p.silu_table_bits_);
        check_launch("swiglu_kernel");
      }
      quantize(d.hidden_, c.d_ff_, as.ffn_hidden_);
      matmul(b.w_down_, fr, nullptr, d.residual_, true);
      if (on_block) {
        get(d.gate_, s.gate_);
        get(d.up_, s.up_);
        get(d.hidden_, s.hidden_);
        get_xq(c.d_ff_);
        get(d.residual_, s.residual_);
        trace("ffn", l);
      }
    }
    norm(d.output_norm_.view_, model_.final_act_scale_);
    if (on_block) {
      get_xq(c.d_model_);
      trace("final_norm", -1);
    }
    matmul(c.tied_embeddings_ ? d.tok_embd_ : d.output_, p.logit_frac_bits_, nullptr, d.logits_,
           false);
    if (on_block) {
      get(d.logits_, s.logits_);
      trace("lm_head", -1);
    }
  };
  if (!graph || on_block != nullptr || !d.graphs_.launch(d.stream_, n, enqueue)) enqueue();
  cuda_check(cudaDeviceSynchronize(), "forward pass");
}

void GpuGoldenModel::check_tokens(const std::vector<int32_t>& tokens) const {
  const int64_t end = positions_[0] + static_cast<int64_t>(tokens.size());
  if (end > capacity_) {
    throw make_error("GpuGoldenModel",
                     "sequence of " + std::to_string(end) +
                         " positions exceeds the KV cache capacity of " +
                         std::to_string(capacity_) + " positions",
                     "shorten the sequence, reset(), or construct with a larger capacity");
  }
  for (int32_t t : tokens) {
    if (t < 0 || t >= model_.config_.vocab_) {
      throw make_error("GpuGoldenModel", "token id " + std::to_string(t) +
                                             " is outside the vocabulary [0, " +
                                             std::to_string(model_.config_.vocab_) + ")");
    }
  }
}

const std::vector<int32_t>& GpuGoldenModel::step(const std::vector<int32_t>& tokens) {
  check_tokens(tokens);
  const int64_t vocab = config().vocab_;
  for (const auto& [b, e] : token_chunks(static_cast<int64_t>(tokens.size()), max_batch_)) {
    const int64_t n = e - b;
    std::vector<int32_t> seqs(static_cast<size_t>(n), 0), pos(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = static_cast<int32_t>(positions_[0] + i);
    run_batch(tokens.data() + b, seqs.data(), pos.data(), n, nullptr);
    positions_[0] += n;
    last_logits_.resize(static_cast<size_t>(vocab));
    impl_->logits_.download(last_logits_.data(), static_cast<size_t>(vocab),
                            static_cast<size_t>((n - 1) * vocab));
  }
  return last_logits_;
}

float GpuGoldenModel::logit_to_float(int32_t logit) const {
  return static_cast<float>(std::ldexp(static_cast<double>(logit), -model_.profile_.logit_frac_bits_));
}

std::vector<float> GpuGoldenModel::forward(const std::vector<int32_t>& tokens) {
  check_tokens(tokens);
  const int64_t vocab = config().vocab_;
  std::vector<float> out;
  out.reserve(tokens.size() * static_cast<size_t>(vocab));
  std::vector<int32_t> rows;
  for (const auto& [b, e] : token_chunks(static_cast<int64_t>(tokens.size()), max_batch_)) {
    const int64_t n = e - b;
    std::vector<int32_t> seqs(static_cast<size_t>(n), 0), pos(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = static_cast<int32_t>(positions_[0] + i);
    run_batch(tokens.data() + b, seqs.data(), pos.data(), n, nullptr);
    positions_[0] += n;
    rows.resize(static_cast<size_t>(n * vocab));
    impl_->logits_.download(rows.data(), rows.size());
    for (int32_t v : rows) out.push_back(logit_to_float(v));
    last_logits_.assign(rows.end() - vocab, rows.end());
  }
  return out;
}

std::vector<int32_t> GpuGoldenModel::generate(const std::vector<int32_t>& prompt, int64_t n_new,
                                              std::vector<float>* logits) {
  if (n_new < 0) {
    throw make_error("GpuGoldenModel::generate", "number of tokens to generate is negative (" +
                                                     std::to_string(n_new) + ")");
  }
  if (prompt.empty()) {
    throw make_error("GpuGoldenModel::generate", "the prompt is empty", "give at least one token");
  }
  const int64_t needed = positions_[0] + static_cast<int64_t>(prompt.size()) + std::max<int64_t>(n_new - 1, 0);
  if (needed > capacity_) {
    throw make_error("GpuGoldenModel::generate",
                     "prompt plus generated tokens need " + std::to_string(needed) +
                         " positions, the KV cache holds " + std::to_string(capacity_),
                     "generate fewer tokens or use a shorter prompt");
  }
  if (logits) {
    const std::vector<float> l = forward(prompt);
    logits->insert(logits->end(), l.begin(), l.end());
  } else {
    step(prompt);
  }
  std::vector<int32_t> generated;
  if (n_new == 0) return generated;
  generated.push_back(GoldenModel::sample(last_logits_));
  while (static_cast<int64_t>(generated.size()) < n_new) {
    step({generated.back()});
    if (logits) {
      for (int32_t v : last_logits_) logits->push_back(logit_to_float(v));
    }
    generated.push_back(GoldenModel::sample(last_logits_));
  }
  return generated;
}

void GpuGoldenModel::reset() {
  std::fill(positions_.begin(), positions_.end(), 0);
  last_logits_.clear();
}

int64_t GpuGoldenModel::sequence_position(int64_t sequence) const {
  return positions_.at(static_cast<size_t>(sequence));
}

std::vector<int32_t> GpuGoldenModel::decode_batch(const std::vector<int32_t>& tokens) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n < 1 || n > max_sequences_) {
    throw make_error("GpuGoldenModel::decode_batch",
                     std::to_string(n) + " tokens for " + std::to_string(max_sequences_) +
                         " sequences",
                     "give one token per sequence, at most max_sequences");
  }
  std::vector<int32_t> seqs(static_cast<size_t>(n)), pos(static_cast<size_t>(n));
  for (int64_t b = 0; b < n; ++b) {
    if (positions_[static_cast<size_t>(b)] >= capacity_) {
      throw make_error("GpuGoldenModel::decode_batch",
                       "sequence " + std::to_string(b) + " has filled its KV cache of " +
                           std::to_string(capacity_) + " positions",
                       "reset() or construct with a larger capacity");
    }
    const int32_t t = tokens[static_cast<size_t>(b)];
    if (t < 0 || t >= config().vocab_) {
      throw make_error("GpuGoldenModel::decode_batch",
                       "token id " + std::to_string(t) + " is outside the vocabulary");
    }
    seqs[static_cast<size_t>(b)] = static_cast<int32_t>(b);
    pos[static_cast<size_t>(b)] = static_cast<int32_t>(positions_[static_cast<size_t>(b)]);
  }
  run_batch(tokens.data(), seqs.data(), pos.data(), n, nullptr, /*graph=*/true);
  const Launch L = per_item_launch(n, 1, config().vocab_);
  argmax_kernel<<<dim3(1, L.grid_y_), L.block_, 0, impl_->stream_>>>(impl_->logits_.get(), config().vocab_,
                                                 impl_->sampled_.get());
  check_launch("argmax_kernel");
  std::vector<int32_t> next(static_cast<size_t>(n));
  impl_->sampled_.download(next.data(), next.size());
  for (int64_t b = 0; b < n; ++b) ++positions_[static_cast<size_t>(b)];
  return next;
}

int32_t GpuGoldenModel::run_token_traced(int64_t sequence, int32_t token,
                                         const BlockCallback& on_block) {
  if (sequence < 0 || sequence >= max_sequences_) {
    throw make_error("GpuGoldenModel::run_token_traced",
                     "sequence " + std::to_string(sequence) + " outside 0.." +
                         std::to_string(max_sequences_ - 1));
  }
  const size_t sq = static_cast<size_t>(sequence);
  if (positions_[sq] >= capacity_) {
    throw make_error("GpuGoldenModel::run_token_traced",
                     "sequence " + std::to_string(sequence) + " has filled its KV cache of " +
                         std::to_string(capacity_) + " positions");
  }
  if (token < 0 || token >= config().vocab_) {
    throw make_error("GpuGoldenModel::run_token_traced",
                     "token id " + std::to_string(token) + " is outside the vocabulary");
  }
  const int32_t seq = static_cast<int32_t>(sequence);
  const int32_t pos = static_cast<int32_t>(positions_[sq]);
  run_batch(&token, &seq, &pos, 1, &on_block);
  const Launch L = per_item_launch(1, 1, config().vocab_);
  argmax_kernel<<<dim3(1, L.grid_y_), L.block_, 0, impl_->stream_>>>(impl_->logits_.get(), config().vocab_,
                                                 impl_->sampled_.get());
  check_launch("argmax_kernel");
  int32_t next = 0;
  impl_->sampled_.download(&next, 1);
  ++positions_[sq];
  return next;
}

TokenRunner cuda_token_runner(const QuantizedModel& model, int64_t users,
                              int64_t capacity_positions) {
  auto gpu = std::make_shared<GpuGoldenModel>(model, capacity_positions, users, 1);
  return [gpu](int64_t user, int32_t token, int64_t position, const TraceCallback& on_block) {
    if (user < 0 || user >= gpu->max_sequences()) {
      throw make_error("check-against cuda", "user " + std::to_string(user) + " outside the " +
                                                 std::to_string(gpu->max_sequences()) +
                                                 " sequences the GPU model holds");
    }
    if (position != gpu->sequence_position(user)) {
      throw make_error("check-against cuda",
                       "user " + std::to_string(user) + " position " + std::to_string(position) +
                           " out of order (the GPU model is at " +
                           std::to_string(gpu->sequence_position(user)) + ")");
    }
    return gpu->run_token_traced(user, token, on_block);
  };
}

}  // namespace hw::gpu
