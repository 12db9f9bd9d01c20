// Device discovery through the CUDA runtime (see device.h).
#include <cuda_runtime.h>

#include "gpu_ref/device.h"

namespace hw::gpu {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

std::string unavailable_reason() {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return cudaGetErrorString(err);
  }
  return n > 0 ? std::string() : std::string("no CUDA device");
}

}  // namespace hw::gpu
