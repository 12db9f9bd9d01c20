// Read-only mmap of weight files and the bounds-checked byte views the parsers read through
// (see mapped_file.h).
#include "model/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/error.h"

namespace hw {

ByteSpan ByteSpan::sub(uint64_t offset, uint64_t length, const std::string& name,
                       const std::string& field) const {
  if (offset > size_bytes_ || length > size_bytes_ - offset) {
    throw make_error(name,
                     field + ": bytes [" + std::to_string(offset) + ", " + std::to_string(offset) +
                         " + " + std::to_string(length) + ") lie beyond the end of the file (" +
                         std::to_string(size_bytes_) + " bytes)",
                     "the file is truncated or its header is corrupt");
  }
  return {data_ + offset, length};
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw make_error(path, std::string("cannot open: ") + std::strerror(errno),
                     "check the path and permissions");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw make_error(path, std::string("cannot stat: ") + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw make_error(path, "not a regular file", "give the path of a .gguf or .safetensors file");
  }
  size_bytes_ = static_cast<uint64_t>(st.st_size);
  if (size_bytes_ > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(size_bytes_), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw make_error(path, std::string("cannot mmap: ") + std::strerror(err));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  // The mapping keeps the file contents reachable; the descriptor is no longer needed.
  ::close(fd);
}

MappedFile::~MappedFile() { release(); }

void MappedFile::drop_pages(ByteSpan range) const {
  if (data_ == nullptr || range.data_ < data_ || range.data_ + range.size_bytes_ > data_ + size_bytes_) {
    return;
  }
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(range.data_) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(range.data_) + range.size_bytes_) / page * page;
  if (end > begin) {
    // Advice only: a failure leaves the pages resident, which is still correct.
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(other.data_), size_bytes_(other.size_bytes_) {
  other.data_ = nullptr;
  other.size_bytes_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    data_ = other.data_;
    size_bytes_ = other.size_bytes_;
    other.data_ = nullptr;
    other.size_bytes_ = 0;
  }
  return *this;
}

void MappedFile::release() noexcept {
  if (data_ != nullptr) {
    ::munmap(const_cast<uint8_t*>(data_), static_cast<size_t>(size_bytes_));
    data_ = nullptr;
  }
  size_bytes_ = 0;
}

void ByteCursor::fail(const std::string& field, const std::string& what,
                      const std::string& hint) const {
  std::string where = context_;
  if (!field.empty()) where += where.empty() ? field : " " + field;
  throw make_error(name_, (where.empty() ? "" : where + ": ") + what, hint);
}

const uint8_t* ByteCursor::need(uint64_t length, const char* field) {
  if (length > remaining()) {
    fail(field,
         "truncated: needs " + std::to_string(length) + " bytes at offset " +
             std::to_string(offset_) + " but the file has " + std::to_string(bytes_.size_bytes_) +
             " bytes",
         "the file is cut short or the length field is corrupt");
  }
  const uint8_t* p = bytes_.data_ + offset_;
  offset_ += length;
  return p;
}

uint8_t ByteCursor::u8(const char* field) { return *need(1, field); }
uint16_t ByteCursor::u16(const char* field) { return load_le16(need(2, field)); }
uint32_t ByteCursor::u32(const char* field) { return load_le32(need(4, field)); }
uint64_t ByteCursor::u64(const char* field) { return load_le64(need(8, field)); }

ByteSpan ByteCursor::take(uint64_t length, const char* field) {
  const uint8_t* p = need(length, field);
  return {p, length};
}

std::string_view ByteCursor::take_string(uint64_t length, const char* field) {
  const uint8_t* p = need(length, field);
  return std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(length));
}

void ByteCursor::seek(uint64_t offset, const char* field) {
  if (offset > bytes_.size_bytes_) {
    fail(field,
         "offset " + std::to_string(offset) + " is beyond the end of the file (" +
             std::to_string(bytes_.size_bytes_) + " bytes)",
         "the file is truncated or its header is corrupt");
  }
  offset_ = offset;
}

}  // namespace hw
