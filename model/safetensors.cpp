// safetensors reader (see safetensors.h). Format (huggingface/safetensors README):
//   u64 little-endian N | N bytes of UTF-8 JSON header | data region
// Header entries: "name": {"dtype": "F16", "shape": [rows, cols], "data_offsets": [begin, end]}
// with offsets relative to the data region; "__metadata__" maps strings to strings.
#include "model/safetensors.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "common/error.h"
#include "model/gguf.h"

namespace hw {
namespace {

using nlohmann::json;

struct DtypeRow {
  const char* name_;
  int64_t bytes_;
};

// Every dtype the safetensors format defines, so a file holding others still parses; only F32,
// F16 and BF16 convert to float here.
const DtypeRow kDtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
    {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
    {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8},
};

int64_t dtype_bytes(const std::string& dtype) {
  for (const auto& row : kDtypes) {
    if (dtype == row.name_) return row.bytes_;
  }
  return 0;
}

std::string known_dtypes() {
  std::string s;
  for (const auto& row : kDtypes) {
    if (!s.empty()) s += ", ";
    s += row.name_;
  }
  return s;
}

}  // namespace

int64_t SafetensorsTensorInfo::elements() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;  // the parser rejected shapes whose product overflows
  return n;
}

std::string SafetensorsTensorInfo::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < shape_.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape_[i]);
  }
  return s + "]";
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.file_ = std::make_unique<MappedFile>(path);
  f.bytes_ = f.file_->bytes();
  f.name_ = path;
  f.parse_all();
  return f;
}

SafetensorsFile SafetensorsFile::parse(ByteSpan bytes, const std::string& name) {
  SafetensorsFile f;
  f.bytes_ = bytes;
  f.name_ = name;
  f.parse_all();
  return f;
}

void SafetensorsFile::parse_all() {
  ByteCursor c(bytes_, name_);
  c.set_context("header");
  const uint64_t header_bytes = c.u64("length");
  if (header_bytes > c.remaining()) {
    c.fail("length",
           std::to_string(header_bytes) + " exceeds the " + std::to_string(c.remaining()) +
               " bytes after it",
           "the file is truncated or not a safetensors file");
  }
  const std::string_view text = c.take_string(header_bytes, "JSON");
  data_offset_bytes_ = c.offset();
  const uint64_t data_bytes = c.remaining();

  // Duplicate top-level names would silently shadow each other in a json object; catch them
  // while parsing.
  std::unordered_set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && duplicate.empty()) {
      const std::string key = parsed.get<std::string>();
      if (!seen.insert(key).second) duplicate = key;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::exception& e) {
    c.fail("JSON", std::string("not valid JSON: ") + e.what(), "the header is corrupt");
  }
  if (!duplicate.empty()) c.fail("JSON", "duplicate tensor name '" + duplicate + "'");
  if (!header.is_object()) {
    c.fail("JSON", std::string("must be an object, got ") + header.type_name());
  }

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    c.set_context("tensor '" + name + "'");
    if (!entry.is_object()) c.fail("", std::string("must be an object, got ") + entry.type_name());
    SafetensorsTensorInfo t;
    t.name_ = name;

    auto dtype_it = entry.find("dtype");
    if (dtype_it == entry.end() || !dtype_it->is_string()) {
      c.fail("dtype", "missing or not a string");
    }
    t.dtype_ = dtype_it->get<std::string>();
    t.dtype_bytes_ = dtype_bytes(t.dtype_);
    if (t.dtype_bytes_ == 0) {
      c.fail("dtype", "unknown dtype '" + t.dtype_ + "'", "safetensors dtypes: " + known_dtypes());
    }

    auto shape_it = entry.find("shape");
    if (shape_it == entry.end() || !shape_it->is_array())
      c.fail("shape", "missing or not an array");
    int64_t elements = 1;
    for (const json& d : *shape_it) {
      if (!d.is_number_unsigned()) {
        c.fail("shape", "dimensions must be non-negative integers, got " + shape_it->dump());
      }
      const uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          __builtin_mul_overflow(elements, static_cast<int64_t>(dim), &elements)) {
        c.fail("shape", "element count of " + shape_it->dump() + " overflows 64 bits");
      }
      t.shape_.push_back(static_cast<int64_t>(dim));
    }
    int64_t expected_bytes = 0;
    if (__builtin_mul_overflow(elements, t.dtype_bytes_, &expected_bytes)) {
      c.fail("shape", "byte size of " + shape_it->dump() + " overflows 64 bits");
    }

    auto off_it = entry.find("data_offsets");
    if (off_it == entry.end() || !off_it->is_array() || off_it->size() != 2 ||
        !(*off_it)[0].is_number_unsigned() || !(*off_it)[1].is_number_unsigned()) {
      c.fail("data_offsets", "must be [begin, end] with non-negative integers");
    }
    t.begin_bytes_ = (*off_it)[0].get<uint64_t>();
    t.end_bytes_ = (*off_it)[1].get<uint64_t>();
    if (t.begin_bytes_ > t.end_bytes_ || t.end_bytes_ > data_bytes) {
      c.fail("data_offsets",
             off_it->dump() + " is not a range inside the data region of " +
                 std::to_string(data_bytes) + " bytes",
             "the file is truncated or its header is corrupt");
    }
    if (t.end_bytes_ - t.begin_bytes_ != static_cast<uint64_t>(expected_bytes)) {
      c.fail("data_offsets",
             off_it->dump() + " spans " + std::to_string(t.end_bytes_ - t.begin_bytes_) +
                 " bytes, but shape " + shape_it->dump() + " of " + t.dtype_ + " needs " +
                 std::to_string(expected_bytes),
             "the header is corrupt");
    }
    tensors_.push_back(std::move(t));
  }

  std::sort(tensors_.begin(), tensors_.end(),
            [](const SafetensorsTensorInfo& a, const SafetensorsTensorInfo& b) {
              return a.begin_bytes_ != b.begin_bytes_ ? a.begin_bytes_ < b.begin_bytes_
                                                      : a.end_bytes_ < b.end_bytes_;
            });
  for (size_t i = 1; i < tensors_.size(); ++i) {
    const auto& prev = tensors_[i - 1];
    const auto& cur = tensors_[i];
    if (prev.end_bytes_ > cur.begin_bytes_) {
      c.set_context("tensor '" + cur.name_ + "'");
      c.fail("data_offsets",
             "[" + std::to_string(cur.begin_bytes_) + ", " + std::to_string(cur.end_bytes_) +
                 ") overlaps tensor '" + prev.name_ + "' [" + std::to_string(prev.begin_bytes_) +
                 ", " + std::to_string(prev.end_bytes_) + ")",
             "the header is corrupt");
    }
  }
  for (size_t i = 0; i < tensors_.size(); ++i) tensor_index_.emplace(tensors_[i].name_, i);
}

const SafetensorsTensorInfo* SafetensorsFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const SafetensorsTensorInfo& SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsTensorInfo* t = find_tensor(name);
  if (t == nullptr) {
    throw make_error(name_, "tensor '" + name + "': not in the file",
                     "the checkpoint is incomplete or not a Llama-family model");
  }
  return *t;
}

ByteSpan SafetensorsFile::tensor_bytes(const SafetensorsTensorInfo& tensor) const {
  return bytes_.sub(data_offset_bytes_ + tensor.begin_bytes_,
                    tensor.end_bytes_ - tensor.begin_bytes_, name_,
                    "tensor '" + tensor.name_ + "' data");
}

namespace {

uint32_t float_type_of(const SafetensorsTensorInfo& tensor, const std::string& file) {
  if (tensor.dtype_ == "F32") return static_cast<uint32_t>(GgmlType::kF32);
  if (tensor.dtype_ == "F16") return static_cast<uint32_t>(GgmlType::kF16);
  if (tensor.dtype_ == "BF16") return static_cast<uint32_t>(GgmlType::kBF16);
  throw make_error(file,
                   "tensor '" + tensor.name_ + "': dtype " + tensor.dtype_ + " cannot be converted to float",
                   "supported safetensors dtypes: F32, F16, BF16");
}

}  // namespace

void SafetensorsFile::dequantize_rows(const SafetensorsTensorInfo& tensor, int64_t r0, int64_t n,
                                      float* dst) const {
  const uint32_t type_id = float_type_of(tensor, name_);
  const int64_t cols = tensor.shape_.empty() ? 1 : tensor.shape_.back();
  const int64_t rows = cols > 0 ? tensor.elements() / cols : 0;
  if (r0 < 0 || n < 0 || r0 + n > rows) {
    throw make_error(name_, "tensor '" + tensor.name_ + "': rows [" + std::to_string(r0) + ", " +
                                std::to_string(r0 + n) + ") are outside its " +
                                std::to_string(rows) + " rows");
  }
  const uint64_t row_bytes = static_cast<uint64_t>(cols * tensor.dtype_bytes_);
  const ByteSpan span = tensor_bytes(tensor).sub(static_cast<uint64_t>(r0) * row_bytes,
                                                 static_cast<uint64_t>(n) * row_bytes, name_,
                                                 "tensor '" + tensor.name_ + "' rows");
  dequantize_ggml(type_id, span, n * cols, dst, name_ + ": tensor '" + tensor.name_ + "'");
  if (file_) file_->drop_pages(span);
}

std::vector<float> SafetensorsFile::dequantize(const SafetensorsTensorInfo& tensor) const {
  uint32_t type_id = 0;
  if (tensor.dtype_ == "F32") {
    type_id = static_cast<uint32_t>(GgmlType::kF32);
  } else if (tensor.dtype_ == "F16") {
    type_id = static_cast<uint32_t>(GgmlType::kF16);
  } else if (tensor.dtype_ == "BF16") {
    type_id = static_cast<uint32_t>(GgmlType::kBF16);
  } else {
    throw make_error(
        name_,
        "tensor '" + tensor.name_ + "': dtype " + tensor.dtype_ + " cannot be converted to float",
        "supported safetensors dtypes: F32, F16, BF16");
  }
  std::vector<float> out(static_cast<size_t>(tensor.elements()));
  dequantize_ggml(type_id, tensor_bytes(tensor), tensor.elements(), out.data(),
                  name_ + ": tensor '" + tensor.name_ + "'");
  return out;
}

}  // namespace hw
