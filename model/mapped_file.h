// Read-only memory map of a weight file (RAII) and the bounds-checked views the GGUF and
// safetensors parsers read through. Checkpoints run to tens of gigabytes, so they are mapped,
// never copied; and every byte a parser touches goes through ByteSpan/ByteCursor, which throw
// hw::Error naming the file and the field instead of reading past the end, whatever the header
// claims.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace hw {

// A borrowed range of bytes; whoever owns the memory (a MappedFile, a caller's buffer) must
// outlive it.
struct ByteSpan {
  const uint8_t* data_ = nullptr;
  uint64_t size_bytes_ = 0;

  // Bytes [offset, offset + length), or hw::Error "<name>: <field>: ..." when that range is not
  // inside this span (overflow-safe).
  ByteSpan sub(uint64_t offset, uint64_t length, const std::string& name,
               const std::string& field) const;
};

class MappedFile {
 public:
  // Maps `path` read-only. Throws hw::Error naming the path when it cannot be opened or mapped.
  // An empty file maps to an empty span.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size_bytes() const { return size_bytes_; }
  ByteSpan bytes() const { return {data_, size_bytes_}; }
  // Bytes [offset, offset + length) of the file, or an error naming the file and `field`.
  ByteSpan span(uint64_t offset, uint64_t length, const std::string& field) const {
    return bytes().sub(offset, length, path_, field);
  }
  // Tells the kernel that the whole pages inside `range` (a span of this mapping) will not be
  // read again soon: they leave this process's resident set (and are read back from the page
  // cache if they are). The streaming quantizer calls it after decoding rows, so a checkpoint
  // larger than memory never becomes resident as a whole.
  void drop_pages(ByteSpan range) const;

 private:
  void release() noexcept;

  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_bytes_ = 0;
};

// Sequential little-endian reader over a span. `name` (the file) prefixes every error; the
// context (e.g. "metadata 'general.name'") is set by the parser as it goes, so a truncated
// read says which field it was reading and where.
class ByteCursor {
 public:
  ByteCursor(ByteSpan bytes, std::string name) : bytes_(bytes), name_(std::move(name)) {}

  uint64_t offset() const { return offset_; }
  uint64_t remaining() const { return bytes_.size_bytes_ - offset_; }
  const std::string& name() const { return name_; }
  void set_context(std::string context) { context_ = std::move(context); }
  const std::string& context() const { return context_; }

  uint8_t u8(const char* field);
  uint16_t u16(const char* field);
  uint32_t u32(const char* field);
  uint64_t u64(const char* field);
  // The next `length` bytes, as a view into the underlying memory.
  ByteSpan take(uint64_t length, const char* field);
  std::string_view take_string(uint64_t length, const char* field);
  // Moves to an absolute offset (<= the span's size).
  void seek(uint64_t offset, const char* field);

  // hw::Error "<name>: <context> <field>: <what>" with an optional hint.
  [[noreturn]] void fail(const std::string& field, const std::string& what,
                         const std::string& hint = {}) const;

 private:
  const uint8_t* need(uint64_t length, const char* field);

  ByteSpan bytes_;
  std::string name_;
  std::string context_;
  uint64_t offset_ = 0;
};

// Little-endian loads from raw bytes (the files are little-endian whatever the host is).
inline uint16_t load_le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t load_le64(const uint8_t* p) {
  return static_cast<uint64_t>(load_le32(p)) | (static_cast<uint64_t>(load_le32(p + 4)) << 32);
}

}  // namespace hw
