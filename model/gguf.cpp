// GGUF reader (see gguf.h). Layout, from the GGUF specification (ggml docs/gguf.md):
//   magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv x { string key | u32 value type | value }         string = u64 length + bytes
//   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset }
//   padding to general.alignment (default 32) | data section (tensor offsets are relative to it)
// Everything is little-endian. All reads go through ByteCursor, and every size the header
// claims is checked against the bytes actually left before anything is allocated for it.
#include "model/gguf.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>

#include "common/error.h"

namespace hw {
namespace {

// GGUF specification: general.alignment defaults to 32 bytes.
constexpr uint64_t kDefaultAlignmentBytes = 32;
// GGML_MAX_DIMS in ggml.h.
constexpr uint32_t kMaxDims = 4;
// Nested arrays are legal GGUF but no known writer nests more than one level; the bound keeps a
// crafted file from recursing the parser off the stack.
constexpr int kMaxArrayDepth = 8;
// Smallest possible encodings, used to reject counts that cannot fit in the bytes left:
// a key-value is an (empty) key length, a type and a one-byte value; a tensor info is an
// (empty) name length, n_dims, one dimension, a type and an offset.
constexpr uint64_t kMinKeyValueBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
// Smallest encodings of array elements whose size is not fixed.
constexpr uint64_t kMinStringBytes = 8;
constexpr uint64_t kMinArrayBytes = 4 + 8;

struct TypeRow {
  uint32_t id_;
  GgmlTypeInfo info_;
};

// ggml type ids with their block geometry (block size in values, bytes per block), as listed in
// llama.cpp's gguf-py/gguf/constants.py GGML_QUANT_SIZES. Every known type is listed so that a
// file quantized to any of them still parses (its config and shapes can be read); only the
// five marked true can be dequantized here.
const TypeRow kGgmlTypes[] = {
    {0, {"F32", 1, 4, true}},
    {1, {"F16", 1, 2, true}},
    {2, {"Q4_0", 32, 2 + 16, true}},
    {3, {"Q4_1", 32, 2 + 2 + 16, false}},
    {6, {"Q5_0", 32, 2 + 4 + 16, false}},
    {7, {"Q5_1", 32, 2 + 2 + 4 + 16, false}},
    {8, {"Q8_0", 32, 2 + 32, true}},
    {9, {"Q8_1", 32, 4 + 4 + 32, false}},
    {10, {"Q2_K", 256, 2 + 2 + 256 / 16 + 256 / 4, false}},
    {11, {"Q3_K", 256, 2 + 256 / 4 + 256 / 8 + 12, false}},
    {12, {"Q4_K", 256, 2 + 2 + 256 / 2 + 12, false}},
    {13, {"Q5_K", 256, 2 + 2 + 256 / 2 + 256 / 8 + 12, false}},
    {14, {"Q6_K", 256, 2 + 256 / 2 + 256 / 4 + 256 / 16, false}},
    {15, {"Q8_K", 256, 4 + 256 + 256 / 8, false}},
    {16, {"IQ2_XXS", 256, 2 + 256 / 4, false}},
    {17, {"IQ2_XS", 256, 2 + 256 / 4 + 256 / 32, false}},
    {18, {"IQ3_XXS", 256, 2 + 256 / 4 + 256 / 8, false}},
    {19, {"IQ1_S", 256, 2 + 256 / 8 + 256 / 16, false}},
    {20, {"IQ4_NL", 32, 2 + 16, false}},
    {21, {"IQ3_S", 256, 2 + 256 / 4 + 256 / 8 + 256 / 32 + 4, false}},
    {22, {"IQ2_S", 256, 2 + 256 / 4 + 256 / 16, false}},
    {23, {"IQ4_XS", 256, 2 + 2 + 256 / 2 + 256 / 64, false}},
    {24, {"I8", 1, 1, false}},
    {25, {"I16", 1, 2, false}},
    {26, {"I32", 1, 4, false}},
    {27, {"I64", 1, 8, false}},
    {28, {"F64", 1, 8, false}},
    {29, {"IQ1_M", 256, 256 / 8 + 256 / 16 + 256 / 32, false}},
    {30, {"BF16", 1, 2, true}},
    {34, {"TQ1_0", 256, 2 + 4 * 13, false}},
    {35, {"TQ2_0", 256, 2 + 64, false}},
    {39, {"MXFP4", 32, 1 + 16, false}},
};

const char* const kDequantizableTypes = "F32, F16, BF16, Q8_0, Q4_0";

uint64_t fixed_value_bytes(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
      return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32:
      return 4;
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64:
      return 8;
    case GgufValueType::kString:
    case GgufValueType::kArray:
      return 0;
  }
  return 0;
}

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::kFloat64); }

std::string_view read_string(ByteCursor& c, const char* length_field, const char* bytes_field) {
  const uint64_t n = c.u64(length_field);
  if (n > c.remaining()) {
    c.fail(length_field,
           "string length " + std::to_string(n) + " exceeds the " + std::to_string(c.remaining()) +
               " bytes left in the file",
           "the file is truncated or corrupt");
  }
  return c.take_string(n, bytes_field);
}

GgufValue read_value(ByteCursor& c, GgufValueType type, int depth) {
  GgufValue v;
  v.type_ = type;
  switch (type) {
    case GgufValueType::kUint8:
      v.uint_ = c.u8("value");
      break;
    case GgufValueType::kInt8:
      v.int_ = static_cast<int8_t>(c.u8("value"));
      break;
    case GgufValueType::kUint16:
      v.uint_ = c.u16("value");
      break;
    case GgufValueType::kInt16:
      v.int_ = static_cast<int16_t>(c.u16("value"));
      break;
    case GgufValueType::kUint32:
      v.uint_ = c.u32("value");
      break;
    case GgufValueType::kInt32:
      v.int_ = static_cast<int32_t>(c.u32("value"));
      break;
    case GgufValueType::kUint64:
      v.uint_ = c.u64("value");
      break;
    case GgufValueType::kInt64:
      v.int_ = static_cast<int64_t>(c.u64("value"));
      break;
    case GgufValueType::kFloat32: {
      const uint32_t bits = c.u32("value");
      float f = 0.0f;
      std::memcpy(&f, &bits, sizeof f);
      v.float_ = f;
      break;
    }
    case GgufValueType::kFloat64: {
      const uint64_t bits = c.u64("value");
      double d = 0.0;
      std::memcpy(&d, &bits, sizeof d);
      v.float_ = d;
      break;
    }
    case GgufValueType::kBool: {
      const uint8_t b = c.u8("value");
      if (b > 1) c.fail("value", "bool must be 0 or 1, got " + std::to_string(b));
      v.uint_ = b;
      break;
    }
    case GgufValueType::kString:
      v.string_ = read_string(c, "string length", "string bytes");
      break;
    case GgufValueType::kArray: {
      if (depth >= kMaxArrayDepth) {
        c.fail("array",
               "arrays nested more than " + std::to_string(kMaxArrayDepth) + " levels deep",
               "the file is corrupt");
      }
      const uint32_t et = c.u32("array element type");
      if (!known_value_type(et)) {
        c.fail("array element type", "unknown value type " + std::to_string(et),
               "valid GGUF value types are 0..12");
      }
      v.array_type_ = static_cast<GgufValueType>(et);
      const uint64_t n = c.u64("array length");
      uint64_t min_bytes = fixed_value_bytes(v.array_type_);
      if (v.array_type_ == GgufValueType::kString) min_bytes = kMinStringBytes;
      if (v.array_type_ == GgufValueType::kArray) min_bytes = kMinArrayBytes;
      if (n > c.remaining() / min_bytes) {
        c.fail("array length",
               std::to_string(n) + " elements of " + gguf_value_type_name(v.array_type_) +
                   " cannot fit in the " + std::to_string(c.remaining()) +
                   " bytes left in the file",
               "the file is truncated or corrupt");
      }
      v.array_.reserve(static_cast<size_t>(n));
      for (uint64_t i = 0; i < n; ++i) v.array_.push_back(read_value(c, v.array_type_, depth + 1));
      break;
    }
  }
  return v;
}

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

Error key_error(const GgufFile& g, const std::string& key, const std::string& what,
                const std::string& hint = {}) {
  return make_error(g.name(), key + ": " + what, hint);
}

}  // namespace

const char* gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
      return "uint8";
    case GgufValueType::kInt8:
      return "int8";
    case GgufValueType::kUint16:
      return "uint16";
    case GgufValueType::kInt16:
      return "int16";
    case GgufValueType::kUint32:
      return "uint32";
    case GgufValueType::kInt32:
      return "int32";
    case GgufValueType::kFloat32:
      return "float32";
    case GgufValueType::kBool:
      return "bool";
    case GgufValueType::kString:
      return "string";
    case GgufValueType::kArray:
      return "array";
    case GgufValueType::kUint64:
      return "uint64";
    case GgufValueType::kInt64:
      return "int64";
    case GgufValueType::kFloat64:
      return "float64";
  }
  return "unknown";
}

bool GgufValue::is_integer() const {
  switch (type_) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
      return true;
    default:
      return false;
  }
}

bool GgufValue::is_float() const {
  return type_ == GgufValueType::kFloat32 || type_ == GgufValueType::kFloat64;
}

const GgmlTypeInfo* ggml_type_info(uint32_t type_id) {
  for (const auto& row : kGgmlTypes) {
    if (row.id_ == type_id) return &row.info_;
  }
  return nullptr;
}

std::string ggml_type_name(uint32_t type_id) {
  const GgmlTypeInfo* info = ggml_type_info(type_id);
  return info ? info->name_ : "unknown type " + std::to_string(type_id);
}

int64_t GgufTensorInfo::elements() const {
  int64_t n = 1;
  for (int64_t d : ne_) n *= d;  // the parser rejected shapes whose product overflows
  return n;
}

int64_t GgufTensorInfo::rows() const {
  int64_t n = 1;
  for (size_t i = 1; i < ne_.size(); ++i) n *= ne_[i];
  return n;
}

std::string GgufTensorInfo::shape_string() const { return dims_string(ne_); }

float fp16_to_float(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu;
  const uint32_t mantissa = half & 0x3ffu;
  uint32_t bits = 0;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf or NaN (payload kept)
  } else {
    // Rebias the exponent from 15 (half) to 127 (float).
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f = 0.0f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

float bf16_to_float(uint16_t bf16) {
  const uint32_t bits = static_cast<uint32_t>(bf16) << 16;
  float f = 0.0f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

void dequantize_ggml(uint32_t type_id, ByteSpan src, int64_t n, float* dst,
                     const std::string& what) {
  const GgmlTypeInfo* info = ggml_type_info(type_id);
  if (info == nullptr || !info->dequantizable_) {
    throw make_error(what, "cannot dequantize tensor type " + ggml_type_name(type_id),
                     std::string("supported: ") + kDequantizableTypes +
                         "; convert the model to one of them (e.g. llama.cpp's "
                         "convert_hf_to_gguf.py --outtype f16) or load its HF safetensors");
  }
  if (n < 0 || n % info->block_elements_ != 0 ||
      src.size_bytes_ != static_cast<uint64_t>(n / info->block_elements_) *
                             static_cast<uint64_t>(info->block_bytes_)) {
    throw make_error(what, std::to_string(n) + " elements of " + info->name_ + " need " +
                               std::to_string(n / info->block_elements_ * info->block_bytes_) +
                               " bytes, got " + std::to_string(src.size_bytes_));
  }
  const uint8_t* p = src.data_;
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::kF32:
      for (int64_t i = 0; i < n; ++i) {
        const uint32_t bits = load_le32(p + 4 * i);
        std::memcpy(dst + i, &bits, sizeof(float));
      }
      break;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_float(load_le16(p + 2 * i));
      break;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(load_le16(p + 2 * i));
      break;
    case GgmlType::kQ8_0:
      // Block of 32: fp16 scale d, then 32 int8 q; value = d * q.
      for (int64_t b = 0; b < n / 32; ++b, p += 34) {
        const float d = fp16_to_float(load_le16(p));
        for (int j = 0; j < 32; ++j)
          dst[b * 32 + j] = d * static_cast<float>(static_cast<int8_t>(p[2 + j]));
      }
      break;
    case GgmlType::kQ4_0:
      // Block of 32: fp16 scale d, then 16 bytes; byte j holds element j in its low nibble and
      // element j + 16 in its high nibble; value = d * (nibble - 8).
      for (int64_t b = 0; b < n / 32; ++b, p += 18) {
        const float d = fp16_to_float(load_le16(p));
        for (int j = 0; j < 16; ++j) {
          const uint8_t q = p[2 + j];
          dst[b * 32 + j] = d * static_cast<float>(static_cast<int>(q & 0x0f) - 8);
          dst[b * 32 + j + 16] = d * static_cast<float>(static_cast<int>(q >> 4) - 8);
        }
      }
      break;
  }
}

GgufFile GgufFile::open(const std::string& path) {
  GgufFile g;
  g.file_ = std::make_unique<MappedFile>(path);
  g.bytes_ = g.file_->bytes();
  g.name_ = path;
  g.parse_all();
  return g;
}

GgufFile GgufFile::parse(ByteSpan bytes, const std::string& name) {
  GgufFile g;
  g.bytes_ = bytes;
  g.name_ = name;
  g.parse_all();
  return g;
}

void GgufFile::parse_all() {
  ByteCursor c(bytes_, name_);
  c.set_context("header");
  const ByteSpan magic = c.take(4, "magic");
  if (std::memcmp(magic.data_, "GGUF", 4) != 0) {
    std::string got;
    for (uint64_t i = 0; i < 4; ++i) {
      const uint8_t b = magic.data_[i];
      const char* const kHex = "0123456789abcdef";
      got += (b >= 0x20 && b < 0x7f) ? std::string(1, static_cast<char>(b))
                                     : std::string("\\x") + kHex[b >> 4] + kHex[b & 15];
    }
    c.fail("magic", "bad magic '" + got + "', expected 'GGUF'",
           "this is not a GGUF file; give a .gguf or .safetensors checkpoint");
  }
  version_ = c.u32("version");
  if (version_ != 2 && version_ != 3) {
    std::string hint =
        "hardwire reads GGUF v3 (and the identical little-endian v2); "
        "re-convert the model with a current llama.cpp";
    if (version_ == 0x03000000u || version_ == 0x02000000u) {
      hint = "this looks like a big-endian GGUF; convert it to little-endian";
    }
    c.fail("version", "unsupported GGUF version " + std::to_string(version_), hint);
  }
  const uint64_t n_tensors = c.u64("n_tensors");
  const uint64_t n_kv = c.u64("n_kv");
  if (n_kv > c.remaining() / kMinKeyValueBytes) {
    c.fail("n_kv",
           std::to_string(n_kv) + " metadata entries cannot fit in the " +
               std::to_string(c.remaining()) + " bytes left in the file",
           "the header is corrupt");
  }
  if (n_tensors > c.remaining() / kMinTensorInfoBytes ||
      n_kv * kMinKeyValueBytes > c.remaining() - n_tensors * kMinTensorInfoBytes) {
    c.fail("n_tensors",
           std::to_string(n_tensors) + " tensor infos (with " + std::to_string(n_kv) +
               " metadata entries) cannot fit in the " + std::to_string(c.remaining()) +
               " bytes left in the file",
           "the header is corrupt");
  }

  metadata_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    c.set_context("metadata entry #" + std::to_string(i));
    std::string key(read_string(c, "key length", "key"));
    c.set_context("metadata '" + key + "'");
    const uint32_t type = c.u32("value type");
    if (!known_value_type(type)) {
      c.fail("value type", "unknown value type " + std::to_string(type),
             "valid GGUF value types are 0..12");
    }
    if (key_index_.count(key)) c.fail("", "duplicate metadata key", "the file is corrupt");
    GgufValue value = read_value(c, static_cast<GgufValueType>(type), 0);
    key_index_.emplace(key, metadata_.size());
    metadata_.push_back({std::move(key), std::move(value)});
  }

  alignment_bytes_ = kDefaultAlignmentBytes;
  if (const GgufValue* a = find("general.alignment")) {
    if (!a->is_integer() || a->type_ == GgufValueType::kInt8 || a->type_ == GgufValueType::kInt16 ||
        a->type_ == GgufValueType::kInt32 || a->type_ == GgufValueType::kInt64) {
      throw key_error(
          *this, "general.alignment",
          std::string("must be an unsigned integer, got ") + gguf_value_type_name(a->type_));
    }
    const uint64_t align = a->uint_;
    if (align == 0 || (align & (align - 1)) != 0 || align > (uint64_t{1} << 32)) {
      throw key_error(*this, "general.alignment",
                      "must be a power of two (at most 2^32), got " + std::to_string(align),
                      "the GGUF default is 32");
    }
    alignment_bytes_ = align;
  }

  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    c.set_context("tensor info #" + std::to_string(i));
    GgufTensorInfo t;
    t.name_ = std::string(read_string(c, "name length", "name"));
    c.set_context("tensor '" + t.name_ + "'");
    const uint32_t n_dims = c.u32("n_dims");
    if (n_dims == 0 || n_dims > kMaxDims) {
      c.fail("n_dims", "must be 1.." + std::to_string(kMaxDims) + ", got " + std::to_string(n_dims),
             "the tensor info is corrupt");
    }
    int64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const std::string field = "ne[" + std::to_string(d) + "]";
      const uint64_t ne = c.u64(field.c_str());
      if (ne == 0) c.fail(field, "zero-sized dimension", "the tensor info is corrupt");
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          __builtin_mul_overflow(elements, static_cast<int64_t>(ne), &elements)) {
        c.fail(field, "element count overflows 64 bits (dimension " + std::to_string(ne) + ")",
               "the tensor info is corrupt");
      }
      t.ne_.push_back(static_cast<int64_t>(ne));
    }
    t.type_ = c.u32("type");
    const GgmlTypeInfo* info = ggml_type_info(t.type_);
    if (info == nullptr) {
      c.fail("type", "unknown ggml type id " + std::to_string(t.type_),
             "the file is corrupt or from a newer llama.cpp than hardwire knows");
    }
    if (t.ne_[0] % info->block_elements_ != 0) {
      c.fail("ne[0]",
             std::to_string(t.ne_[0]) + " is not a multiple of the " + info->name_ +
                 " block size " + std::to_string(info->block_elements_),
             "the tensor info is corrupt");
    }
    const uint64_t blocks = static_cast<uint64_t>(elements / info->block_elements_);
    if (blocks > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(info->block_bytes_)) {
      c.fail("ne", "byte size overflows 64 bits", "the tensor info is corrupt");
    }
    t.size_bytes_ = blocks * static_cast<uint64_t>(info->block_bytes_);
    t.offset_bytes_ = c.u64("offset");
    if (t.offset_bytes_ % alignment_bytes_ != 0) {
      c.fail("offset",
             std::to_string(t.offset_bytes_) + " is not a multiple of the alignment " +
                 std::to_string(alignment_bytes_),
             "tensor data must start on general.alignment boundaries");
    }
    if (tensor_index_.count(t.name_))
      c.fail("name", "duplicate tensor name", "the file is corrupt");
    tensor_index_.emplace(t.name_, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  const uint64_t pad = (alignment_bytes_ - c.offset() % alignment_bytes_) % alignment_bytes_;
  data_offset_bytes_ = c.offset() + pad;  // c.offset() <= file size, pad < 2^32: no overflow
  const uint64_t size = bytes_.size_bytes_;
  for (const auto& t : tensors_) {
    if (data_offset_bytes_ > size || t.offset_bytes_ > size - data_offset_bytes_ ||
        t.size_bytes_ > size - data_offset_bytes_ - t.offset_bytes_) {
      c.set_context("tensor '" + t.name_ + "'");
      c.fail("data",
             "bytes [" + std::to_string(t.offset_bytes_) + ", " + std::to_string(t.offset_bytes_) +
                 " + " + std::to_string(t.size_bytes_) +
                 ") of the data section (which starts at byte " +
                 std::to_string(data_offset_bytes_) + ") lie beyond the end of the file (" +
                 std::to_string(size) + " bytes)",
             "the file is truncated");
    }
  }
  std::vector<size_t> order(tensors_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return tensors_[a].offset_bytes_ < tensors_[b].offset_bytes_;
  });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto& prev = tensors_[order[i - 1]];
    const auto& cur = tensors_[order[i]];
    if (prev.offset_bytes_ + prev.size_bytes_ > cur.offset_bytes_) {
      c.set_context("tensor '" + cur.name_ + "'");
      c.fail("offset",
             "data [" + std::to_string(cur.offset_bytes_) + ", " +
                 std::to_string(cur.offset_bytes_ + cur.size_bytes_) + ") overlaps tensor '" +
                 prev.name_ + "' [" + std::to_string(prev.offset_bytes_) + ", " +
                 std::to_string(prev.offset_bytes_ + prev.size_bytes_) + ")",
             "the file is corrupt");
    }
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].value_;
}

int64_t GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) {
    throw key_error(*this, key, "missing required metadata key",
                    "the GGUF converter writes it for this architecture; re-convert the model");
  }
  if (!v->is_integer()) {
    throw key_error(*this, key,
                    std::string("must be an integer, got ") + gguf_value_type_name(v->type_));
  }
  const bool is_unsigned = v->type_ == GgufValueType::kUint8 ||
                           v->type_ == GgufValueType::kUint16 ||
                           v->type_ == GgufValueType::kUint32 || v->type_ == GgufValueType::kUint64;
  if (!is_unsigned) return v->int_;
  if (v->uint_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    throw key_error(*this, key, "value " + std::to_string(v->uint_) + " is out of range");
  }
  return static_cast<int64_t>(v->uint_);
}

double GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) {
    throw key_error(*this, key, "missing required metadata key",
                    "the GGUF converter writes it for this architecture; re-convert the model");
  }
  if (!v->is_float()) {
    throw key_error(
        *this, key,
        std::string("must be float32 or float64, got ") + gguf_value_type_name(v->type_));
  }
  return v->float_;
}

std::string GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) throw key_error(*this, key, "missing required metadata key");
  if (v->type_ != GgufValueType::kString) {
    throw key_error(*this, key,
                    std::string("must be a string, got ") + gguf_value_type_name(v->type_));
  }
  return std::string(v->string_);
}

bool GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) throw key_error(*this, key, "missing required metadata key");
  if (v->type_ != GgufValueType::kBool) {
    throw key_error(*this, key,
                    std::string("must be a bool, got ") + gguf_value_type_name(v->type_));
  }
  return v->uint_ != 0;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::tensor(const std::string& name) const {
  const GgufTensorInfo* t = find_tensor(name);
  if (t == nullptr) {
    throw make_error(name_, "tensor '" + name + "': not in the file",
                     "the checkpoint is incomplete or not a Llama-family model");
  }
  return *t;
}

ByteSpan GgufFile::tensor_bytes(const GgufTensorInfo& tensor) const {
  return bytes_.sub(data_offset_bytes_ + tensor.offset_bytes_, tensor.size_bytes_, name_,
                    "tensor '" + tensor.name_ + "' data");
}

std::vector<float> GgufFile::dequantize(const GgufTensorInfo& tensor) const {
  std::vector<float> out(static_cast<size_t>(tensor.elements()));
  dequantize_ggml(tensor.type_, tensor_bytes(tensor), tensor.elements(), out.data(),
                  name_ + ": tensor '" + tensor.name_ + "'");
  return out;
}

void GgufFile::dequantize_rows(const GgufTensorInfo& tensor, int64_t r0, int64_t n,
                               float* dst) const {
  const std::string what = name_ + ": tensor '" + tensor.name_ + "'";
  const GgmlTypeInfo* info = ggml_type_info(tensor.type_);
  const int64_t cols = tensor.cols();
  if (r0 < 0 || n < 0 || r0 + n > tensor.rows() || info == nullptr ||
      cols % info->block_elements_ != 0) {
    throw make_error(what, "rows [" + std::to_string(r0) + ", " + std::to_string(r0 + n) +
                               ") are outside its " + std::to_string(tensor.rows()) +
                               " rows or do not split into whole blocks");
  }
  const uint64_t row_bytes = static_cast<uint64_t>(cols / info->block_elements_) *
                             static_cast<uint64_t>(info->block_bytes_);
  const ByteSpan all = tensor_bytes(tensor);
  const ByteSpan rows = all.sub(static_cast<uint64_t>(r0) * row_bytes,
                                static_cast<uint64_t>(n) * row_bytes, name_,
                                "tensor '" + tensor.name_ + "' rows");
  dequantize_ggml(tensor.type_, rows, n * cols, dst, what);
  if (file_) file_->drop_pages(rows);
}

ModelConfig model_config_from_gguf(const std::string& path) {
  return model_config_from_gguf(GgufFile::open(path));
}

ModelConfig model_config_from_gguf(const GgufFile& g) {
  const char* const kArchKey = "general.architecture";
  const std::string arch = g.get_string(kArchKey);
  if (arch != "llama" && arch != "mistral" && arch != "qwen2" && arch != "qwen3") {
    throw key_error(g, kArchKey, "'" + arch + "' is not supported",
                    "supported: llama, mistral, qwen2, qwen3");
  }
  const std::string p = arch + ".";
  ModelConfig cfg;
  cfg.name_ = std::filesystem::path(g.name()).stem().string();
  cfg.arch_ = arch;
  cfg.n_layers_ = g.get_int(p + "block_count");
  cfg.d_model_ = g.get_int(p + "embedding_length");
  if (const GgufValue* ff = g.find(p + "feed_forward_length");
      ff && ff->type_ == GgufValueType::kArray) {
    throw key_error(g, p + "feed_forward_length", "per-layer FFN sizes are not supported");
  }
  cfg.d_ff_ = g.get_int(p + "feed_forward_length");
  for (const char* k : {"attention.head_count", "attention.head_count_kv"}) {
    if (const GgufValue* v = g.find(p + k); v && v->type_ == GgufValueType::kArray) {
      throw key_error(g, p + k, "per-layer head counts are not supported");
    }
  }
  cfg.n_heads_ = g.get_int(p + "attention.head_count");
  // llama.cpp's default when absent: one kv head per query head.
  cfg.n_kv_heads_ = g.find(p + "attention.head_count_kv") ? g.get_int(p + "attention.head_count_kv")
                                                          : cfg.n_heads_;
  if (g.find(p + "attention.key_length")) {
    cfg.head_dim_ = g.get_int(p + "attention.key_length");
  } else {
    if (cfg.n_heads_ <= 0 || cfg.d_model_ % cfg.n_heads_ != 0) {
      throw key_error(g, p + "attention.key_length",
                      "absent, and " + p + "embedding_length (" + std::to_string(cfg.d_model_) +
                          ") is not a multiple of " + p + "attention.head_count (" +
                          std::to_string(cfg.n_heads_) + ")");
    }
    cfg.head_dim_ = cfg.d_model_ / cfg.n_heads_;
  }
  if (g.find(p + "attention.value_length") &&
      g.get_int(p + "attention.value_length") != cfg.head_dim_) {
    throw key_error(g, p + "attention.value_length",
                    std::to_string(g.get_int(p + "attention.value_length")) +
                        " differs from the key length " + std::to_string(cfg.head_dim_),
                    "hardwire models equal key and value head sizes");
  }
  if (g.find(p + "rope.dimension_count") &&
      g.get_int(p + "rope.dimension_count") != cfg.head_dim_) {
    throw key_error(g, p + "rope.dimension_count",
                    std::to_string(g.get_int(p + "rope.dimension_count")) +
                        " differs from head_dim " + std::to_string(cfg.head_dim_),
                    "partial rotary embeddings are not supported");
  }
  cfg.rms_eps_ = g.get_float(p + "attention.layer_norm_rms_epsilon");
  // llama.cpp's default base when the key is absent.
  cfg.rope_theta_ = g.find(p + "rope.freq_base") ? g.get_float(p + "rope.freq_base") : 10000.0;
  cfg.max_positions_ = g.get_int(p + "context_length");
  if (g.find(p + "expert_count") && g.get_int(p + "expert_count") > 0) {
    throw key_error(g, p + "expert_count", "mixture-of-experts models are not supported");
  }

  if (g.find(p + "rope.scaling.type")) {
    const std::string type = g.get_string(p + "rope.scaling.type");
    if (type != "none") {
      throw key_error(g, p + "rope.scaling.type", "'" + type + "' is not supported",
                      "only llama3-style scaling is modelled, and only from HF config.json "
                      "(rope_scaling); load the safetensors checkpoint instead");
    }
  } else if (g.find(p + "rope.scaling.factor")) {
    const double factor = g.get_float(p + "rope.scaling.factor");
    if (factor != 0.0 && factor != 1.0) {
      throw key_error(g, p + "rope.scaling.factor",
                      "rope scaling (factor " + std::to_string(factor) + ") is not supported",
                      "load the HF safetensors checkpoint with its config.json instead");
    }
  }
  if (const GgufTensorInfo* ff = g.find_tensor("rope_freqs.weight")) {
    const int64_t pairs = cfg.head_dim_ / 2;
    if (ff->ne_.size() != 1 || ff->ne_[0] != pairs) {
      throw make_error(g.name(), "tensor 'rope_freqs.weight': has ne " + ff->shape_string() +
                                     ", expected [" + std::to_string(pairs) + "] (head_dim / 2)");
    }
    for (float v : g.dequantize(*ff)) {
      if (!std::isfinite(v) || v <= 0.0f) {
        throw make_error(g.name(), "tensor 'rope_freqs.weight': factor " + std::to_string(v) +
                                       " is not a positive finite number");
      }
      cfg.rope_freq_factors_.push_back(v);
    }
  }
  if (arch == "mistral" && g.find(p + "attention.sliding_window")) {
    cfg.sliding_window_ = g.get_int(p + "attention.sliding_window");
  }

  if (const GgufTensorInfo* emb = g.find_tensor("token_embd.weight")) {
    if (emb->ne_.size() != 2) {
      throw make_error(g.name(), "tensor 'token_embd.weight': has ne " + emb->shape_string() +
                                     ", expected [n_embd, n_vocab]");
    }
    cfg.vocab_ = emb->ne_[1];
  } else if (const GgufValue* tokens = g.find("tokenizer.ggml.tokens");
             tokens && tokens->type_ == GgufValueType::kArray) {
    cfg.vocab_ = static_cast<int64_t>(tokens->array_.size());
  } else {
    throw make_error(g.name(), "cannot determine the vocabulary size",
                     "the file has neither a token_embd.weight tensor nor tokenizer.ggml.tokens");
  }
  if (g.find(p + "vocab_size") && g.get_int(p + "vocab_size") != cfg.vocab_) {
    throw key_error(g, p + "vocab_size",
                    std::to_string(g.get_int(p + "vocab_size")) +
                        " disagrees with the token embedding's " + std::to_string(cfg.vocab_) +
                        " rows");
  }
  cfg.tied_embeddings_ = g.find_tensor("output.weight") == nullptr;
  cfg.qkv_bias_ = arch == "qwen2" || g.find_tensor("blk.0.attn_q.bias") != nullptr;
  cfg.qk_norm_ = arch == "qwen3" || g.find_tensor("blk.0.attn_q_norm.weight") != nullptr;
  cfg.validate();
  return cfg;
}

}  // namespace hw
