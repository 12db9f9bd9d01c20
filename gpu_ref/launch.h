// Launch geometry of the CUDA reference's kernels, as plain host functions so the CPU tests
// check it (grid sizes, token tiling, padded strides) without a GPU. Every kernel in
// chip_model.cu / float_model.cu takes its grid and block from here.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace hw::gpu {

constexpr int kWarpSize = 32;
// Matrix products: one warp per output row, this many rows (warps) per thread block.
constexpr int kMatvecWarpsPerBlock = 8;
// Tokens that share one read of a weight row (matrix-matrix product over a token tile); the
// per-token accumulators live in registers, so the tile is small.
constexpr int kTokenTile = 8;
// Bytes each lane loads per step of a matrix row (one 128-bit load): 16 int8, 8 f16/bf16, 4 f32.
constexpr int kVectorBytes = 16;
constexpr int kMaxBlockThreads = 1024;
// CUDA's limit on gridDim.y and gridDim.z.
constexpr int64_t kMaxGridYZ = 65535;
constexpr int64_t kMaxGridX = 2147483647;

struct Launch {
  unsigned grid_x_ = 1;
  unsigned grid_y_ = 1;
  unsigned block_ = 1;
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Row stride in elements of a matrix row of `cols` elements of `elem_bytes` each, padded so
// every row starts on a 16-byte boundary and holds a whole number of 16-byte vectors.
inline int64_t padded_stride(int64_t cols, int64_t elem_bytes) {
  const int64_t per_vector = kVectorBytes / elem_bytes;
  return ceil_div(cols, per_vector) * per_vector;
}

// Token tiles of a batch of n tokens (grid.y of the matrix products).
inline int64_t token_tiles(int64_t n_tokens) { return ceil_div(n_tokens, kTokenTile); }

// Matrix product of `rows` output rows for n tokens: kMatvecWarpsPerBlock warps per block, one
// warp per row; grid.y walks the token tiles.
inline Launch matvec_launch(int64_t rows, int64_t n_tokens) {
  if (rows <= 0 || n_tokens <= 0) {
    throw make_error("gpu launch", "matrix product of " + std::to_string(rows) + " rows for " +
                                       std::to_string(n_tokens) + " tokens");
  }
  const int64_t gx = ceil_div(rows, kMatvecWarpsPerBlock);
  const int64_t gy = token_tiles(n_tokens);
  if (gx > kMaxGridX || gy > kMaxGridYZ) {
    throw make_error("gpu launch", "grid " + std::to_string(gx) + " x " + std::to_string(gy) +
                                       " exceeds CUDA's limits",
                     "process fewer tokens per batch");
  }
  return {static_cast<unsigned>(gx), static_cast<unsigned>(gy),
          static_cast<unsigned>(kMatvecWarpsPerBlock * kWarpSize)};
}

// Several matrix products over the same input in one launch (q, k, v; gate, up): the row
// blocks of matrix j follow those of matrix j - 1 along grid.x, from first_block_[j];
// first_block_.back() is grid.x. One launch instead of three keeps small decode steps from
// being bound by launch latency.
struct GroupLaunch {
  Launch launch_;
  std::vector<int64_t> first_block_;  // size rows.size() + 1
};
inline GroupLaunch group_matvec_launch(const std::vector<int64_t>& rows, int64_t n_tokens) {
  if (rows.empty()) throw make_error("gpu launch", "empty group of matrix products");
  GroupLaunch g;
  g.first_block_.push_back(0);
  for (const int64_t r : rows) {
    const Launch one = matvec_launch(r, n_tokens);
    g.launch_ = one;
    g.first_block_.push_back(g.first_block_.back() + one.grid_x_);
  }
  if (g.first_block_.back() > kMaxGridX) {
    throw make_error("gpu launch", "grouped matrix products exceed CUDA's grid limit");
  }
  g.launch_.grid_x_ = static_cast<unsigned>(g.first_block_.back());
  return g;
}

// Threads of a block that reduces a vector of n elements: a power of two from 32 to 1024, the
// smallest that gives every thread at least one element (the reduction helpers assume a power
// of two and whole warps).
inline int reduce_block_threads(int64_t n) {
  int t = kWarpSize;
  while (t < kMaxBlockThreads && t < n) t *= 2;
  return t;
}

// One block per (token, item): e.g. per (token, head) in attention. grid.x = items.
inline Launch per_item_launch(int64_t n_tokens, int64_t items, int64_t elements_per_item) {
  if (n_tokens <= 0 || items <= 0 || n_tokens > kMaxGridYZ) {
    throw make_error("gpu launch", std::to_string(items) + " items for " +
                                       std::to_string(n_tokens) + " tokens",
                     "process at most 65535 tokens per batch");
  }
  return {static_cast<unsigned>(items), static_cast<unsigned>(n_tokens),
          static_cast<unsigned>(reduce_block_threads(elements_per_item))};
}

// Element-wise kernels over n_tokens x n elements: 256 threads, grid.x over the elements.
inline Launch elementwise_launch(int64_t n_tokens, int64_t n) {
  constexpr int kThreads = 256;
  if (n_tokens <= 0 || n <= 0 || n_tokens > kMaxGridYZ) {
    throw make_error("gpu launch", "element-wise kernel over " + std::to_string(n_tokens) +
                                       " x " + std::to_string(n));
  }
  return {static_cast<unsigned>(ceil_div(n, kThreads)), static_cast<unsigned>(n_tokens),
          static_cast<unsigned>(kThreads)};
}

// [begin, end) chunks of at most max_batch tokens: a long prompt runs as several batches.
inline std::vector<std::pair<int64_t, int64_t>> token_chunks(int64_t n, int64_t max_batch) {
  if (max_batch <= 0) throw make_error("gpu launch", "batch size must be positive");
  std::vector<std::pair<int64_t, int64_t>> chunks;
  for (int64_t b = 0; b < n; b += max_batch) chunks.emplace_back(b, std::min(n, b + max_batch));
  return chunks;
}

}  // namespace hw::gpu
