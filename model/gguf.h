// GGUF (llama.cpp's model container, version 3; version 2 has the same little-endian layout)
// reader over a memory map: header, every metadata value type, tensor infos, alignment and
// data offset, with F32/F16/BF16/Q8_0/Q4_0 tensors dequantized to float on request. The whole
// header is validated when the file is opened (see the list in docs/models.md, "Weight
// files"), so later accesses cannot fall outside the file. Also maps GGUF metadata to a
// ModelConfig.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/mapped_file.h"
#include "model/model_config.h"

namespace hw {

enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
const char* gguf_value_type_name(GgufValueType type);

// One metadata value. Strings are views into the file (valid while the GgufFile lives).
struct GgufValue {
  GgufValueType type_ = GgufValueType::kUint8;
  uint64_t uint_ = 0;                                 // kUint8..kUint64 and kBool (0/1)
  int64_t int_ = 0;                                   // kInt8..kInt64
  double float_ = 0.0;                                // kFloat32, kFloat64
  std::string_view string_;                           // kString
  GgufValueType array_type_ = GgufValueType::kUint8;  // kArray: element type
  std::vector<GgufValue> array_;                      // kArray: elements

  bool is_integer() const;
  bool is_float() const;
};

struct GgufKeyValue {
  std::string key_;
  GgufValue value_;
};

// ggml tensor element types by their on-disk id (ggml.h `enum ggml_type`).
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ8_0 = 8,
  kBF16 = 30,
};

// Block geometry of a ggml type: `block_elements_` values stored in `block_bytes_` bytes.
struct GgmlTypeInfo {
  const char* name_ = "";
  int64_t block_elements_ = 1;
  int64_t block_bytes_ = 0;
  bool dequantizable_ = false;  // F32, F16, BF16, Q8_0, Q4_0
};
// nullptr for ids that are not ggml types (or were removed from ggml, such as 4 and 5).
const GgmlTypeInfo* ggml_type_info(uint32_t type_id);
std::string ggml_type_name(uint32_t type_id);

struct GgufTensorInfo {
  std::string name_;
  // ggml order: ne_[0] is the contiguous dimension, so an [n_out][n_in] weight is [n_in, n_out].
  std::vector<int64_t> ne_;
  uint32_t type_ = 0;          // GgmlType id (always one ggml_type_info() knows)
  uint64_t offset_bytes_ = 0;  // from the start of the data section
  uint64_t size_bytes_ = 0;

  int64_t elements() const;
  int64_t cols() const { return ne_.empty() ? 0 : ne_[0]; }  // contiguous elements per row
  int64_t rows() const;                                      // product of ne_[1..]
  std::string shape_string() const;                          // "[64, 260]"
};

// Values and halves used by the dequantizers (exact conversions, subnormals included).
float fp16_to_float(uint16_t half);
float bf16_to_float(uint16_t bf16);

// Decodes `n` elements of ggml type `type_id` from `src` (exactly the bytes of n elements) into
// dst. Throws hw::Error naming `what` when the type cannot be dequantized or the sizes disagree.
void dequantize_ggml(uint32_t type_id, ByteSpan src, int64_t n, float* dst,
                     const std::string& what);

class GgufFile {
 public:
  // Maps and parses `path`; every error names the path and the field.
  static GgufFile open(const std::string& path);
  // Parses a caller's buffer (fuzzing, tests); `name` stands for the file in errors and the
  // buffer must outlive the returned object.
  static GgufFile parse(ByteSpan bytes, const std::string& name);

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment_bytes() const { return alignment_bytes_; }
  uint64_t data_offset_bytes() const { return data_offset_bytes_; }
  uint64_t size_bytes() const { return bytes_.size_bytes_; }

  const std::vector<GgufKeyValue>& metadata() const { return metadata_; }
  const GgufValue* find(const std::string& key) const;
  // Typed getters: hw::Error naming the file and key when it is missing, of another type or out
  // of range. get_int accepts every integer type; get_float accepts float32/float64.
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  bool get_bool(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  // hw::Error naming the file and tensor when absent.
  const GgufTensorInfo& tensor(const std::string& name) const;
  ByteSpan tensor_bytes(const GgufTensorInfo& tensor) const;
  // All elements in storage order (ne_[0] fastest). hw::Error for types it cannot decode.
  std::vector<float> dequantize(const GgufTensorInfo& tensor) const;
  // Rows [r0, r0 + n) of the tensor (a row is ne_[0] elements) into dst, straight from the
  // mapped file: the streaming quantizer holds no more than the rows it asked for.
  void dequantize_rows(const GgufTensorInfo& tensor, int64_t r0, int64_t n, float* dst) const;

 private:
  GgufFile() = default;
  void parse_all();

  std::unique_ptr<MappedFile> file_;  // null when parsing a caller's buffer
  ByteSpan bytes_;
  std::string name_;
  uint32_t version_ = 0;
  uint64_t alignment_bytes_ = 0;
  uint64_t data_offset_bytes_ = 0;
  std::vector<GgufKeyValue> metadata_;
  std::unordered_map<std::string, size_t> key_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// ModelConfig from GGUF metadata (general.architecture llama, mistral, qwen2 or qwen3; keys
// under "<arch>."), vocab from token_embd.weight, tied when output.weight is absent. name_ is
// the file stem. Missing keys and unsupported features (a rope_freqs.weight table, rope
// scaling other than none, MoE, partial rotary) are errors naming the key or tensor. Validated.
ModelConfig model_config_from_gguf(const std::string& path);
ModelConfig model_config_from_gguf(const GgufFile& gguf);

}  // namespace hw
