// Device discovery for the CUDA reference: whether a usable GPU is present, and why not, so
// tests and commands can skip or refuse with a clear message on machines without one.
#pragma once
#include <string>

namespace hw::gpu {

// Number of CUDA devices usable by this process (0 when the driver or a device is missing).
int device_count();
// "" when a device is usable, else the CUDA runtime's reason (e.g. "no CUDA-capable device").
std::string unavailable_reason();

}  // namespace hw::gpu
