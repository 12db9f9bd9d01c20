// CUDA kernel of the chip-format GEMV (see gemv.h) and its host wrapper.
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "gpu_ref/gemv.h"
#include "model/fixed_point.h"

namespace hw::gpu {
namespace {

constexpr int kThreadsPerRow = 128;

__global__ void gemv_kernel(const int8_t* values, const uint16_t* scale_m, const int8_t* x,
                            int64_t cols, int64_t group_size, int64_t groups_per_row,
                            int64_t* acc) {
  __shared__ long long partial[kThreadsPerRow];
  const int64_t r = blockIdx.x;
  const int8_t* row = values + r * cols;
  long long sum = 0;
  for (int64_t g = threadIdx.x; g < groups_per_row; g += blockDim.x) {
    const int64_t c0 = g * group_size;
    const int64_t n = group_size < cols - c0 ? group_size : cols - c0;
    sum += static_cast<long long>(fx::dot_i8(row + c0, x + c0, n)) *
           scale_m[r * groups_per_row + g];
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) acc[r] = partial[0];
}

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    throw make_error("gpu gemv", std::string(what) + ": " + cudaGetErrorString(err),
                     "the CUDA reference needs a GPU; the CPU golden model gives the same bits");
  }
}

// Device buffer freed on scope exit, so an error path does not leak device memory.
template <typename T>
struct DeviceBuffer {
  T* ptr_ = nullptr;
  DeviceBuffer(size_t n, const char* what) { check(cudaMalloc(&ptr_, n * sizeof(T)), what); }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

}  // namespace

void gemv(const QuantizedMatrix& w, const int8_t* x, int64_t* acc) {
  if (w.rows_ == 0) return;
  const std::vector<int8_t> host_values = unpack_values(w);
  DeviceBuffer<int8_t> values(host_values.size(), "cudaMalloc(values)");
  DeviceBuffer<uint16_t> scales(w.scale_m_.size(), "cudaMalloc(scales)");
  DeviceBuffer<int8_t> xs(static_cast<size_t>(w.cols_), "cudaMalloc(x)");
  DeviceBuffer<int64_t> out(static_cast<size_t>(w.rows_), "cudaMalloc(acc)");
  check(cudaMemcpy(values.ptr_, host_values.data(), host_values.size(), cudaMemcpyHostToDevice),
        "copy values");
  check(cudaMemcpy(scales.ptr_, w.scale_m_.data(), w.scale_m_.size() * sizeof(uint16_t),
                   cudaMemcpyHostToDevice),
        "copy scales");
  check(cudaMemcpy(xs.ptr_, x, static_cast<size_t>(w.cols_), cudaMemcpyHostToDevice), "copy x");
  gemv_kernel<<<static_cast<unsigned>(w.rows_), kThreadsPerRow>>>(
      values.ptr_, scales.ptr_, xs.ptr_, w.cols_, w.group_size_, w.groups_per_row_, out.ptr_);
  check(cudaGetLastError(), "kernel launch");
  check(cudaMemcpy(acc, out.ptr_, static_cast<size_t>(w.rows_) * sizeof(int64_t),
                   cudaMemcpyDeviceToHost),
        "copy acc");
}

}  // namespace hw::gpu
