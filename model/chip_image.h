// Chip image: a quantized model as one file (`hardwire quantize`), so a large checkpoint is
// quantized once and every later run (`emulate`, `quality`, `simulate --functional`) loads the
// exact bits the chip holds: the model config, the resolved numerics profile, every packed
// matrix with its scales, the norm gains, biases and static activation scales, and an XXH64 hash
// of the whole file that is checked on load. docs/numerics.md, "Chip image", gives the layout.
#pragma once
#include <cstdint>
#include <string>

#include "model/quantizer.h"

namespace hw {

// XXH64 (Collet's xxHash, 64-bit) over a byte stream, fed in pieces of any size.
class Xxh64 {
 public:
  explicit Xxh64(uint64_t seed = 0);
  void update(const void* data, size_t size);
  uint64_t digest() const;

 private:
  uint64_t v_[4];
  uint64_t seed_;
  uint64_t total_ = 0;
  uint8_t buffer_[32];
  size_t buffered_ = 0;
};
uint64_t xxh64(const void* data, size_t size, uint64_t seed = 0);

// A 64-bit fingerprint of every stored bit of a quantized model (packed values, scales, widths,
// gains, biases, static scales) in a fixed order, independent of how it is laid out in a file:
// the golden-hash tests pin it per oracle model and profile.
uint64_t quantized_model_hash(const QuantizedModel& model);

struct ChipImageInfo {
  std::string path_;
  uint64_t file_bytes_ = 0;
  uint64_t hash_ = 0;   // XXH64 of the file before its last 8 bytes (which hold it)
  uint64_t model_hash_ = 0;  // quantized_model_hash of the contents
};

// Writes `model` to `path` (overwriting). Throws hw::Error naming the path on I/O failure.
ChipImageInfo save_chip_image(const std::string& path, const QuantizedModel& model);
// Reads an image; checks the magic, the format version and the hash (hw::Error naming the path
// and what is wrong, e.g. "hash mismatch: the file is damaged"). `info`, when given, is filled.
QuantizedModel load_chip_image(const std::string& path, ChipImageInfo* info = nullptr);
// Whether `path` is a readable file starting with the chip-image magic.
bool is_chip_image(const std::string& path);
// The model config stored in an image (its header only; load_model_config uses it, so every
// command that takes a model spec accepts an image).
ModelConfig chip_image_config(const std::string& path);

}  // namespace hw
