// libFuzzer target: GGUF parsing, dequantization of every decodable tensor and the
// GGUF -> ModelConfig mapping, on arbitrary bytes. The only acceptable failure is hw::Error;
// anything else (a sanitizer report, another exception, a crash) is a parser bug.
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "model/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const hw::GgufFile g = hw::GgufFile::parse({data, size}, "fuzz.gguf");
    for (const auto& t : g.tensors()) {
      if (hw::ggml_type_info(t.type_)->dequantizable_) (void)g.dequantize(t);
    }
    (void)hw::model_config_from_gguf(g);
  } catch (const hw::Error&) {
  }
  return 0;
}
