// CUDA helpers shared by the .cu files of gpu_ref/: error checks that throw hw::Error with the
// runtime's message, an owning device buffer, and block-wide reductions. The reductions are
// over integers (max, min, sum of uint64) or floats/doubles where the float path allows any
// order; integer ones are exact, so the chip-numerics kernels give the golden model's bits in
// any thread order. Block sizes must be whole warps and at most 1024 threads.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace hw::gpu {

inline void cuda_check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    throw make_error("CUDA reference", std::string(what) + ": " + cudaGetErrorString(err),
                     "the CUDA reference needs a working GPU (see docs/gpu_ref.md)");
  }
}

// A device array freed on scope exit.
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(size_t n) { resize(n); }
  ~DeviceArray() { release(); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& o) noexcept : ptr_(o.ptr_), n_(o.n_) { o.ptr_ = nullptr; o.n_ = 0; }
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = o.ptr_;
      n_ = o.n_;
      o.ptr_ = nullptr;
      o.n_ = 0;
    }
    return *this;
  }
  // Allocates n zeroed elements (zero padding of rows and vectors relies on it).
  void resize(size_t n) {
    release();
    if (n == 0) return;
    cuda_check(cudaMalloc(&ptr_, n * sizeof(T)), "cudaMalloc");
    cuda_check(cudaMemset(ptr_, 0, n * sizeof(T)), "cudaMemset");
    n_ = n;
  }
  void upload(const T* host, size_t n, size_t offset = 0) {
    if (n == 0) return;
    cuda_check(cudaMemcpy(ptr_ + offset, host, n * sizeof(T), cudaMemcpyHostToDevice), "copy to device");
  }
  void upload(const std::vector<T>& host) {
    if (host.size() > n_) resize(host.size());
    upload(host.data(), host.size());
  }
  void download(T* host, size_t n, size_t offset = 0) const {
    if (n == 0) return;
    cuda_check(cudaMemcpy(host, ptr_ + offset, n * sizeof(T), cudaMemcpyDeviceToHost), "copy to host");
  }
  void zero() {
    if (n_) cuda_check(cudaMemset(ptr_, 0, n_ * sizeof(T)), "cudaMemset");
  }
  T* get() const { return ptr_; }
  size_t size() const { return n_; }

 private:
  void release() {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    n_ = 0;
  }
  T* ptr_ = nullptr;
  size_t n_ = 0;
};

template <typename T>
DeviceArray<T> to_device(const std::vector<T>& host) {
  DeviceArray<T> d(host.size());
  d.upload(host.data(), host.size());
  return d;
}

inline void check_launch(const char* kernel) { cuda_check(cudaGetLastError(), kernel); }

// Decode steps as CUDA graphs: a decode step of a given batch size launches the same kernels
// with the same arguments every time (tokens and positions are read from device memory), so
// it is captured once per batch size and replayed, which removes the per-kernel launch latency
// that otherwise bounds small models at batch 1. `stream` must be a blocking stream (created
// without cudaStreamNonBlocking), so the legacy-stream copies before and after stay ordered.
class GraphCache {
 public:
  GraphCache() = default;
  GraphCache(const GraphCache&) = delete;
  GraphCache& operator=(const GraphCache&) = delete;
  ~GraphCache() {
    for (auto& [n, exec] : execs_) cudaGraphExecDestroy(exec);
  }
  // Launches the kernels `enqueue` puts on `stream` for batch size n from the graph of n,
  // capturing it first. Returns false (and stops using graphs) when capture or instantiation
  // fails; the caller then calls enqueue() itself.
  template <typename F>
  bool launch(cudaStream_t stream, int64_t n, F&& enqueue) {
    if (!enabled_) return false;
    auto it = execs_.find(n);
    if (it == execs_.end()) {
      cudaGraph_t graph = nullptr;
      cudaGraphExec_t exec = nullptr;
      bool ok = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
      if (ok) {
        try {
          enqueue();
        } catch (...) {
          ok = false;
        }
        ok = cudaStreamEndCapture(stream, &graph) == cudaSuccess && ok;
        ok = ok && cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess;
        if (graph) cudaGraphDestroy(graph);
      }
      if (!ok) {
        cudaGetLastError();  // clear the capture error; direct launches follow
        enabled_ = false;
        return false;
      }
      it = execs_.emplace(n, exec).first;
    }
    cuda_check(cudaGraphLaunch(it->second, stream), "cudaGraphLaunch");
    return true;
  }

 private:
  std::map<int64_t, cudaGraphExec_t> execs_;
  bool enabled_ = true;
};

// ---- Block reductions: every thread passes its value and gets the block's result. ----------
struct MaxOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a > b ? a : b; }
};
struct MinOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a < b ? a : b; }
};
struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a + b; }
};

template <typename T, typename Op>
__device__ T warp_reduce(T v, Op op) {
  for (int off = 16; off > 0; off /= 2) v = op(v, __shfl_xor_sync(0xFFFFFFFFu, v, off));
  return v;
}

// Block-wide reduction through shared memory (32 slots): warp results, then warp 0.
template <typename T, typename Op>
__device__ T block_reduce(T v, Op op, T identity) {
  __shared__ T slots[32];
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  v = warp_reduce(v, op);
  __syncthreads();  // slots may still be read by a previous reduction
  if (lane == 0) slots[warp] = v;
  __syncthreads();
  const int n_warps = (blockDim.x + 31) >> 5;
  T r = lane < n_warps ? slots[lane] : identity;
  r = warp_reduce(r, op);
  return r;
}

}  // namespace hw::gpu
