// safetensors reader (HuggingFace's checkpoint format) over a memory map: an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}} (the
// "__metadata__" entry is ignored), then the raw data region. The header is validated when the
// file is opened (offsets inside the data region and consistent with shape x dtype size, no
// overlaps, known dtypes, sane shapes), and F32/F16/BF16 tensors are converted to float on
// request.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/mapped_file.h"

namespace hw {

struct SafetensorsTensorInfo {
  std::string name_;
  std::string dtype_;           // "F32", "F16", "BF16", ... as written in the header
  int64_t dtype_bytes_ = 0;     // bytes per element
  std::vector<int64_t> shape_;  // outermost first: a linear weight is [out, in]
  uint64_t begin_bytes_ = 0;    // [begin, end) within the data region
  uint64_t end_bytes_ = 0;

  int64_t elements() const;
  std::string shape_string() const;  // "[128, 64]"
};

class SafetensorsFile {
 public:
  // Maps and parses `path`; errors name the path and the field.
  static SafetensorsFile open(const std::string& path);
  // Parses a caller's buffer (fuzzing, tests); it must outlive the returned object.
  static SafetensorsFile parse(ByteSpan bytes, const std::string& name);

  const std::string& name() const { return name_; }
  uint64_t data_offset_bytes() const { return data_offset_bytes_; }
  // In data-offset order.
  const std::vector<SafetensorsTensorInfo>& tensors() const { return tensors_; }
  const SafetensorsTensorInfo* find_tensor(const std::string& name) const;
  // hw::Error naming the file and the tensor when absent.
  const SafetensorsTensorInfo& tensor(const std::string& name) const;
  ByteSpan tensor_bytes(const SafetensorsTensorInfo& tensor) const;
  // All elements in row-major order as float. hw::Error for dtypes other than F32/F16/BF16.
  std::vector<float> dequantize(const SafetensorsTensorInfo& tensor) const;
  // Rows [r0, r0 + n) (a row is the last dimension; a vector is one row) into dst, straight
  // from the mapped file.
  void dequantize_rows(const SafetensorsTensorInfo& tensor, int64_t r0, int64_t n, float* dst) const;

 private:
  SafetensorsFile() = default;
  void parse_all();

  std::unique_ptr<MappedFile> file_;  // null when parsing a caller's buffer
  ByteSpan bytes_;
  std::string name_;
  uint64_t data_offset_bytes_ = 0;
  std::vector<SafetensorsTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace hw
