// libFuzzer target: safetensors header parsing and F32/F16/BF16 conversion of every tensor, on
// arbitrary bytes. The only acceptable failure is hw::Error; anything else is a parser bug.
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const hw::SafetensorsFile f = hw::SafetensorsFile::parse({data, size}, "fuzz.safetensors");
    for (const auto& t : f.tensors()) {
      if (t.dtype_ == "F32" || t.dtype_ == "F16" || t.dtype_ == "BF16") (void)f.dequantize(t);
    }
  } catch (const hw::Error&) {
  }
  return 0;
}
