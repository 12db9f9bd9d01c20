// Packed weight layouts of QuantizedMatrix (quantizer.h; docs/numerics.md, "Packed weight
// layouts"): the only form in which matrix values are held. Per row, per block of 64 columns,
// a value v of a container of width s is stored as u = v + 2^(s-1) (unsigned, never 0 since
// |v| <= 2^(s-1) - 1) split into bit planes chosen so that a SIMD kernel decodes 32 columns
// with a few shifts and masks:
//   s = 4: 32 bytes, byte i = u[i] | u[32+i] << 4                      (nibble plane)
//   s = 6: the nibble plane of u & 15, then 16 bytes, byte j = the 2-bit fields u >> 4 of
//          columns j, 16+j, 32+j, 48+j at bits 0, 2, 4, 6             (pair plane)
//   s = 3: the pair plane of u & 3, then 8 bytes, a little-endian 64-bit word whose bit c is
//          bit 2 of u[c]                                               (bit plane)
//   s = 8: the int8 values themselves, cols bytes per row (any shape).
#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "model/quantizer.h"

namespace hw {
namespace {

constexpr int64_t kBlock = 64;

int64_t block_bytes(int storage_bits) { return kBlock * storage_bits / 8; }

int offset_of(int storage_bits) { return 1 << (storage_bits - 1); }

// u values of one 64-column block from its packed bytes.
void decode_block(int storage_bits, const uint8_t* p, uint8_t* u) {
  switch (storage_bits) {
    case 4:
      for (int i = 0; i < 32; ++i) {
        u[i] = p[i] & 15;
        u[32 + i] = p[i] >> 4;
      }
      return;
    case 6:
      for (int i = 0; i < 32; ++i) {
        u[i] = p[i] & 15;
        u[32 + i] = p[i] >> 4;
      }
      for (int j = 0; j < 16; ++j) {
        for (int k = 0; k < 4; ++k) u[16 * k + j] |= static_cast<uint8_t>(((p[32 + j] >> (2 * k)) & 3) << 4);
      }
      return;
    case 3: {
      uint64_t hi = 0;
      for (int b = 0; b < 8; ++b) hi |= static_cast<uint64_t>(p[16 + b]) << (8 * b);
      for (int j = 0; j < 16; ++j) {
        for (int k = 0; k < 4; ++k) u[16 * k + j] = (p[j] >> (2 * k)) & 3;
      }
      for (int c = 0; c < 64; ++c) u[c] |= static_cast<uint8_t>(((hi >> c) & 1) << 2);
      return;
    }
    default:
      throw make_error("unpack", "container width " + std::to_string(storage_bits) + " has no block layout");
  }
}

void encode_block(int storage_bits, const uint8_t* u, uint8_t* p) {
  switch (storage_bits) {
    case 4:
      for (int i = 0; i < 32; ++i) p[i] = static_cast<uint8_t>(u[i] | (u[32 + i] << 4));
      return;
    case 6:
      for (int i = 0; i < 32; ++i) p[i] = static_cast<uint8_t>((u[i] & 15) | ((u[32 + i] & 15) << 4));
      for (int j = 0; j < 16; ++j) {
        uint8_t b = 0;
        for (int k = 0; k < 4; ++k) b = static_cast<uint8_t>(b | ((u[16 * k + j] >> 4) << (2 * k)));
        p[32 + j] = b;
      }
      return;
    case 3: {
      for (int j = 0; j < 16; ++j) {
        uint8_t b = 0;
        for (int k = 0; k < 4; ++k) b = static_cast<uint8_t>(b | ((u[16 * k + j] & 3) << (2 * k)));
        p[j] = b;
      }
      uint64_t hi = 0;
      for (int c = 0; c < 64; ++c) hi |= static_cast<uint64_t>((u[c] >> 2) & 1) << c;
      for (int b = 0; b < 8; ++b) p[16 + b] = static_cast<uint8_t>(hi >> (8 * b));
      return;
    }
    default:
      throw make_error("pack", "container width " + std::to_string(storage_bits) + " has no block layout");
  }
}

}  // namespace

int packed_storage_bits(int max_bits, int64_t cols, int64_t group_size, int64_t groups_per_row) {
  if (max_bits > 6) return 8;
  if (cols % kBlock != 0) return 8;
  const bool groups_ok = groups_per_row == 1 || group_size == 32 || group_size % kBlock == 0;
  if (!groups_ok) return 8;
  if (max_bits <= 3) return 3;
  if (max_bits == 4) return 4;
  return 6;
}

int64_t QuantizedMatrix::row_bytes() const {
  return storage_bits_ == 8 ? cols_ : (cols_ / kBlock) * block_bytes(storage_bits_);
}

void QuantizedMatrix::unpack_row(int64_t r, int8_t* out) const {
  const uint8_t* p = row_data(r);
  if (storage_bits_ == 8) {
    std::memcpy(out, p, static_cast<size_t>(cols_));
    return;
  }
  const int off = offset_of(storage_bits_);
  const int64_t bb = block_bytes(storage_bits_);
  uint8_t u[kBlock];
  for (int64_t b = 0; b < cols_ / kBlock; ++b) {
    decode_block(storage_bits_, p + b * bb, u);
    for (int64_t i = 0; i < kBlock; ++i) out[b * kBlock + i] = static_cast<int8_t>(u[i] - off);
  }
}

int QuantizedMatrix::value(int64_t r, int64_t c) const {
  const uint8_t* p = row_data(r);
  if (storage_bits_ == 8) return static_cast<int8_t>(p[c]);
  uint8_t u[kBlock];
  decode_block(storage_bits_, p + (c / kBlock) * block_bytes(storage_bits_), u);
  return u[c % kBlock] - offset_of(storage_bits_);
}

void pack_row(QuantizedMatrix& m, int64_t r, const int8_t* values) {
  uint8_t* p = m.packed_.data() + r * m.row_bytes();
  if (m.storage_bits_ == 8) {
    std::memcpy(p, values, static_cast<size_t>(m.cols_));
    return;
  }
  const int off = offset_of(m.storage_bits_);
  const int64_t bb = block_bytes(m.storage_bits_);
  uint8_t u[kBlock];
  for (int64_t b = 0; b < m.cols_ / kBlock; ++b) {
    for (int64_t i = 0; i < kBlock; ++i) {
      const int v = values[b * kBlock + i];
      if (v <= -off || v >= off) {
        throw make_error("pack: tensor " + m.name_,
                         "value " + std::to_string(v) + " at row " + std::to_string(r) +
                             " does not fit the " + std::to_string(m.storage_bits_) + "-bit container");
      }
      u[i] = static_cast<uint8_t>(v + off);
    }
    encode_block(m.storage_bits_, u, p + b * bb);
  }
}

void pack_values(QuantizedMatrix& m, const int8_t* values) {
  int max_bits = 2;
  for (uint8_t b : m.bits_) max_bits = std::max<int>(max_bits, b);
  m.storage_bits_ = packed_storage_bits(max_bits, m.cols_, m.group_size_, m.groups_per_row_);
  m.packed_.assign(static_cast<size_t>(m.rows_ * m.row_bytes()), 0);
  for (int64_t r = 0; r < m.rows_; ++r) pack_row(m, r, values + r * m.cols_);
}

std::vector<int8_t> unpack_values(const QuantizedMatrix& m) {
  std::vector<int8_t> out(static_cast<size_t>(m.rows_ * m.cols_));
  for (int64_t r = 0; r < m.rows_; ++r) m.unpack_row(r, out.data() + r * m.cols_);
  return out;
}

int64_t QuantizedMatrix::stored_bytes() const {
  return static_cast<int64_t>(packed_.size() + scale_m_.size() * sizeof(uint16_t) +
                              row_exp_.size() * sizeof(int32_t) + bits_.size());
}

}  // namespace hw
