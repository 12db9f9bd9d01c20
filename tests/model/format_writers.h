// Test-only writers of GGUF and safetensors files, written from the format specifications
// independently of the readers under test. Every field can be overridden so the tests can
// produce the malformed files the readers must reject (bad magic, absurd counts, overlapping
// or misaligned tensors, broken JSON headers, ...). Also a scratch directory helper.
#pragma once
#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hw::test {

// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hardwire-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// IEEE binary16 with round-to-nearest-even (subnormals, overflow to inf, NaN kept NaN).
inline uint16_t float_to_fp16(float f) {
  uint32_t x = 0;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
  const int32_t e = static_cast<int32_t>(exp) - 127 + 15;
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t m = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (m & 1u))) ++m;
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t half = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(half);
}

// bfloat16 with round-to-nearest-even.
inline uint16_t float_to_bf16(float f) {
  uint32_t x = 0;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

// Little-endian byte buffer.
struct ByteWriter {
  std::vector<uint8_t> data_;

  void u8(uint8_t v) { data_.push_back(v); }
  void u16(uint16_t v) {
    for (int i = 0; i < 2; ++i) data_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) data_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) data_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void f32(float v) {
    uint32_t b = 0;
    std::memcpy(&b, &v, 4);
    u32(b);
  }
  void f64(double v) {
    uint64_t b = 0;
    std::memcpy(&b, &v, 8);
    u64(b);
  }
  void raw(const std::vector<uint8_t>& bytes) {
    data_.insert(data_.end(), bytes.begin(), bytes.end());
  }
  void raw(const std::string& bytes) { data_.insert(data_.end(), bytes.begin(), bytes.end()); }
  // GGUF string: u64 length + bytes.
  void gguf_string(const std::string& s) {
    u64(s.size());
    raw(s);
  }
  void pad_to(uint64_t alignment) {
    while (data_.size() % alignment != 0) data_.push_back(0);
  }
};

inline std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  ByteWriter w;
  for (float x : v) w.f32(x);
  return w.data_;
}
inline std::vector<uint8_t> f16_bytes(const std::vector<float>& v) {
  ByteWriter w;
  for (float x : v) w.u16(float_to_fp16(x));
  return w.data_;
}
inline std::vector<uint8_t> bf16_bytes(const std::vector<float>& v) {
  ByteWriter w;
  for (float x : v) w.u16(float_to_bf16(x));
  return w.data_;
}

// GGUF value type ids and ggml type ids (GGUF spec / ggml.h), repeated here so the writer does
// not depend on the reader's headers.
namespace gguf_type {
constexpr uint32_t kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5,
                   kFloat32 = 6, kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11,
                   kFloat64 = 12;
}
namespace ggml_type {
constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ8_0 = 8, kQ4_K = 12, kBF16 = 30;
}

struct GgufTensorSpec {
  std::string name_;
  std::vector<uint64_t> ne_;
  uint32_t type_ = ggml_type::kF32;
  std::vector<uint8_t> data_;
  std::optional<uint64_t> offset_override_;  // otherwise laid out in order, aligned
  bool omit_data_ = false;                   // write the info but not the bytes
};

class GgufWriter {
 public:
  std::string magic_ = "GGUF";
  uint32_t version_ = 3;
  uint64_t layout_alignment_ =
      32;  // alignment used to lay out data (write general.alignment yourself)
  std::optional<uint64_t> n_tensors_override_;
  std::optional<uint64_t> n_kv_override_;

  // A metadata entry with its value bytes exactly as given.
  void add_raw(const std::string& key, uint32_t type, const std::vector<uint8_t>& payload) {
    kvs_.push_back({key, type, payload});
  }
  void add_string(const std::string& key, const std::string& v) {
    ByteWriter w;
    w.gguf_string(v);
    add_raw(key, gguf_type::kString, w.data_);
  }
  void add_u32(const std::string& key, uint32_t v) {
    ByteWriter w;
    w.u32(v);
    add_raw(key, gguf_type::kUint32, w.data_);
  }
  void add_i32(const std::string& key, int32_t v) {
    ByteWriter w;
    w.u32(static_cast<uint32_t>(v));
    add_raw(key, gguf_type::kInt32, w.data_);
  }
  void add_u64(const std::string& key, uint64_t v) {
    ByteWriter w;
    w.u64(v);
    add_raw(key, gguf_type::kUint64, w.data_);
  }
  void add_f32(const std::string& key, float v) {
    ByteWriter w;
    w.f32(v);
    add_raw(key, gguf_type::kFloat32, w.data_);
  }
  void add_bool(const std::string& key, bool v) {
    add_raw(key, gguf_type::kBool, {static_cast<uint8_t>(v ? 1 : 0)});
  }
  void add_string_array(const std::string& key, const std::vector<std::string>& items) {
    ByteWriter w;
    w.u32(gguf_type::kString);
    w.u64(items.size());
    for (const auto& s : items) w.gguf_string(s);
    add_raw(key, gguf_type::kArray, w.data_);
  }

  void add_tensor(GgufTensorSpec spec) { tensors_.push_back(std::move(spec)); }
  void add_f32_tensor(const std::string& name, const std::vector<uint64_t>& ne,
                      const std::vector<float>& values) {
    add_tensor({name, ne, ggml_type::kF32, f32_bytes(values), std::nullopt, false});
  }

  std::vector<uint8_t> bytes() const {
    ByteWriter w;
    w.raw(magic_);
    w.u32(version_);
    w.u64(n_tensors_override_.value_or(tensors_.size()));
    w.u64(n_kv_override_.value_or(kvs_.size()));
    for (const auto& kv : kvs_) {
      w.gguf_string(kv.key_);
      w.u32(kv.type_);
      w.raw(kv.payload_);
    }
    std::vector<uint64_t> offsets;
    uint64_t cursor = 0;
    for (const auto& t : tensors_) {
      uint64_t off = (cursor + layout_alignment_ - 1) / layout_alignment_ * layout_alignment_;
      if (t.offset_override_) off = *t.offset_override_;
      offsets.push_back(off);
      if (!t.offset_override_) cursor = off + t.data_.size();
      w.gguf_string(t.name_);
      w.u32(static_cast<uint32_t>(t.ne_.size()));
      for (uint64_t d : t.ne_) w.u64(d);
      w.u32(t.type_);
      w.u64(off);
    }
    w.pad_to(layout_alignment_);
    const size_t data_start = w.data_.size();
    for (size_t i = 0; i < tensors_.size(); ++i) {
      if (tensors_[i].omit_data_) continue;
      const size_t begin = data_start + offsets[i];
      if (w.data_.size() < begin + tensors_[i].data_.size()) {
        w.data_.resize(begin + tensors_[i].data_.size(), 0);
      }
      std::copy(tensors_[i].data_.begin(), tensors_[i].data_.end(), w.data_.begin() + begin);
    }
    return w.data_;
  }

  void write(const std::string& path) const { write_file(path, bytes()); }

 private:
  struct Kv {
    std::string key_;
    uint32_t type_;
    std::vector<uint8_t> payload_;
  };
  std::vector<Kv> kvs_;
  std::vector<GgufTensorSpec> tensors_;
};

struct SafetensorsTensorSpec {
  std::string name_;
  std::string dtype_;
  std::vector<int64_t> shape_;
  std::vector<uint8_t> data_;
  std::optional<std::pair<uint64_t, uint64_t>> offsets_override_;
};

class SafetensorsWriter {
 public:
  nlohmann::json metadata_;                     // written as __metadata__ when not null
  std::optional<std::string> header_override_;  // raw header text instead of the generated one
  std::optional<uint64_t> header_length_override_;

  void add(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape,
           const std::vector<uint8_t>& data) {
    tensors_.push_back({name, dtype, shape, data, std::nullopt});
  }
  void add(SafetensorsTensorSpec spec) { tensors_.push_back(std::move(spec)); }
  void add_f32(const std::string& name, const std::vector<int64_t>& shape,
               const std::vector<float>& values) {
    add(name, "F32", shape, f32_bytes(values));
  }

  std::vector<uint8_t> bytes() const {
    nlohmann::json header = nlohmann::json::object();
    if (!metadata_.is_null()) header["__metadata__"] = metadata_;
    std::vector<uint8_t> data;
    for (const auto& t : tensors_) {
      const uint64_t begin = data.size();
      data.insert(data.end(), t.data_.begin(), t.data_.end());
      const auto offsets =
          t.offsets_override_.value_or(std::make_pair(begin, uint64_t{data.size()}));
      header[t.name_] = {{"dtype", t.dtype_},
                         {"shape", t.shape_},
                         {"data_offsets", {offsets.first, offsets.second}}};
    }
    std::string text = header_override_.value_or(header.dump());
    // The format pads the header with spaces to an 8-byte boundary.
    while (!header_override_ && text.size() % 8 != 0) text += ' ';
    ByteWriter w;
    w.u64(header_length_override_.value_or(text.size()));
    w.raw(text);
    w.raw(data);
    return w.data_;
  }

  void write(const std::string& path) const { write_file(path, bytes()); }

 private:
  std::vector<SafetensorsTensorSpec> tensors_;
};

}  // namespace hw::test
