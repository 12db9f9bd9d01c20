// The chip-format integer GEMV on a GPU: the same contract and the same bits as hw::gemv
// (model/quantizer.h): acc[r] = sum_g scale_m[r][g] * dot_i8(row r, group g; x), int32 group
// sums, int64 total. One thread block per row; each thread sums whole groups with fx::dot_i8,
// the function the CPU kernels use, so only the order of int64 additions differs (exact).
#pragma once
#include <cstdint>

#include "model/quantizer.h"

namespace hw::gpu {

// Copies the matrix and x to the device, runs the kernel, copies acc (w.rows_ values) back.
// Throws hw::Error with the CUDA runtime's message when no device is usable.
void gemv(const QuantizedMatrix& w, const int8_t* x, int64_t* acc);

}  // namespace hw::gpu
