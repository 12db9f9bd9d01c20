// Chip image file (chip_image.h). Layout, all little-endian:
//   bytes 0..7    magic "HWCHIPIM"
//   bytes 8..11   format version (1)
//   bytes 12..15  zero
//   bytes 16..23  header length H
//   bytes 24..    header: JSON (model config, resolved numerics profile, and for every array
//                 its offset and length in bytes from the start of the file)
//   ...           the arrays, each starting at a multiple of 64 bytes, zero padding between
//   last 8 bytes  XXH64 (seed 0) of everything before them
// The arrays are written and read sequentially in header order, hashing as they go, so neither
// side holds more than the quantized model itself.
#include "model/chip_image.h"

#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "common/error.h"

namespace hw {
namespace {

using nlohmann::json;

constexpr char kMagic[8] = {'H', 'W', 'C', 'H', 'I', 'P', 'I', 'M'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kAlign = 64;
constexpr uint64_t kFixedHeaderBytes = 24;

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kP3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kP4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kP5 = 0x27D4EB2F165667C5ULL;

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
uint64_t read64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint32_t read32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t xround(uint64_t acc, uint64_t input) {
  acc += input * kP2;
  acc = rotl(acc, 31);
  return acc * kP1;
}
uint64_t merge_round(uint64_t acc, uint64_t val) {
  acc ^= xround(0, val);
  return acc * kP1 + kP4;
}

}  // namespace

Xxh64::Xxh64(uint64_t seed) : seed_(seed) {
  v_[0] = seed + kP1 + kP2;
  v_[1] = seed + kP2;
  v_[2] = seed;
  v_[3] = seed - kP1;
}

void Xxh64::update(const void* data, size_t size) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  total_ += size;
  if (buffered_ + size < 32) {
    std::memcpy(buffer_ + buffered_, p, size);
    buffered_ += size;
    return;
  }
  if (buffered_ > 0) {
    const size_t fill = 32 - buffered_;
    std::memcpy(buffer_ + buffered_, p, fill);
    for (int i = 0; i < 4; ++i) v_[i] = xround(v_[i], read64(buffer_ + 8 * i));
    p += fill;
    size -= fill;
    buffered_ = 0;
  }
  while (size >= 32) {
    for (int i = 0; i < 4; ++i) v_[i] = xround(v_[i], read64(p + 8 * i));
    p += 32;
    size -= 32;
  }
  std::memcpy(buffer_, p, size);
  buffered_ = size;
}

uint64_t Xxh64::digest() const {
  uint64_t h = 0;
  if (total_ >= 32) {
    h = rotl(v_[0], 1) + rotl(v_[1], 7) + rotl(v_[2], 12) + rotl(v_[3], 18);
    for (int i = 0; i < 4; ++i) h = merge_round(h, v_[i]);
  } else {
    h = seed_ + kP5;
  }
  h += total_;
  const uint8_t* p = buffer_;
  size_t n = buffered_;
  while (n >= 8) {
    h ^= xround(0, read64(p));
    h = rotl(h, 27) * kP1 + kP4;
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    h ^= static_cast<uint64_t>(read32(p)) * kP1;
    h = rotl(h, 23) * kP2 + kP3;
    p += 4;
    n -= 4;
  }
  while (n > 0) {
    h ^= *p * kP5;
    h = rotl(h, 11) * kP1;
    ++p;
    --n;
  }
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

uint64_t xxh64(const void* data, size_t size, uint64_t seed) {
  Xxh64 h(seed);
  h.update(data, size);
  return h.digest();
}

namespace {

// ---------------------------------------------------------------------------------------------
// Every array of a quantized model, in one order, with a name: the image writes them in it and
// quantized_model_hash hashes them in it.

struct ArrayRef {
  std::string name_;
  void* data_;
  uint64_t bytes_;
  // Sizes the destination before a read (the header gives the byte count); returns its data.
  std::function<void*(uint64_t bytes)> resize_;
};

template <typename T>
ArrayRef array_of(const std::string& name, std::vector<T>& v) {
  return {name, v.data(), v.size() * sizeof(T), [&v, name](uint64_t bytes) {
            if (bytes % sizeof(T) != 0) {
              throw make_error("chip image: array " + name, "length is not a whole number of elements");
            }
            v.resize(static_cast<size_t>(bytes / sizeof(T)));
            return static_cast<void*>(v.data());
          }};
}

void matrix_arrays(const std::string& name, QuantizedMatrix& m, std::vector<ArrayRef>& out) {
  out.push_back(array_of(name + ".packed", m.packed_));
  out.push_back(array_of(name + ".scale_m", m.scale_m_));
  out.push_back(array_of(name + ".row_exp", m.row_exp_));
  out.push_back(array_of(name + ".bits", m.bits_));
}

// Matrices by name, in model order (tok_embd, output, then per layer q k v o gate up down).
std::vector<std::pair<std::string, QuantizedMatrix*>> matrices_of(QuantizedModel& q) {
  std::vector<std::pair<std::string, QuantizedMatrix*>> out;
  out.emplace_back("token_embd", &q.tok_embd_);
  if (!q.config_.tied_embeddings_) out.emplace_back("output", &q.output_);
  for (size_t l = 0; l < q.layers_.size(); ++l) {
    QuantizedLayer& L = q.layers_[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    out.emplace_back(p + "attn_q", &L.wq_);
    out.emplace_back(p + "attn_k", &L.wk_);
    out.emplace_back(p + "attn_v", &L.wv_);
    out.emplace_back(p + "attn_output", &L.wo_);
    out.emplace_back(p + "ffn_gate", &L.w_gate_);
    out.emplace_back(p + "ffn_up", &L.w_up_);
    out.emplace_back(p + "ffn_down", &L.w_down_);
  }
  return out;
}

std::vector<std::pair<std::string, QuantizedGain*>> gains_of(QuantizedModel& q) {
  std::vector<std::pair<std::string, QuantizedGain*>> out;
  out.emplace_back("output_norm", &q.output_norm_);
  for (size_t l = 0; l < q.layers_.size(); ++l) {
    QuantizedLayer& L = q.layers_[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    out.emplace_back(p + "attn_norm", &L.attn_norm_);
    out.emplace_back(p + "ffn_norm", &L.ffn_norm_);
    out.emplace_back(p + "attn_q_norm", &L.q_norm_);
    out.emplace_back(p + "attn_k_norm", &L.k_norm_);
  }
  return out;
}

std::vector<ArrayRef> arrays_of(QuantizedModel& q) {
  std::vector<ArrayRef> out;
  for (auto& [name, m] : matrices_of(q)) matrix_arrays(name, *m, out);
  for (auto& [name, g] : gains_of(q)) out.push_back(array_of(name + ".values", g->values_));
  for (size_t l = 0; l < q.layers_.size(); ++l) {
    QuantizedLayer& L = q.layers_[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    out.push_back(array_of(p + "attn_q.bias", L.bq_));
    out.push_back(array_of(p + "attn_k.bias", L.bk_));
    out.push_back(array_of(p + "attn_v.bias", L.bv_));
  }
  return out;
}

json dyadic_json(const fx::Dyadic& d) { return json::array({d.m_, d.e_}); }
fx::Dyadic dyadic_from(const json& j) {
  fx::Dyadic d;
  d.m_ = j.at(0).get<decltype(d.m_)>();
  d.e_ = j.at(1).get<decltype(d.e_)>();
  return d;
}
json act_scale_json(const StaticActScale& s) { return {dyadic_json(s.scale_), dyadic_json(s.inv_)}; }
StaticActScale act_scale_from(const json& j) { return {dyadic_from(j.at(0)), dyadic_from(j.at(1))}; }

// The scalar fields of a quantized model (everything but the arrays): shapes, exponents, scales.
json scalars_json(QuantizedModel& q) {
  json j;
  json mats = json::object();
  for (auto& [name, m] : matrices_of(q)) {
    mats[name] = {{"rows", m->rows_},
                  {"cols", m->cols_},
                  {"group_size", m->group_size_},
                  {"groups_per_row", m->groups_per_row_},
                  {"storage_bits", m->storage_bits_}};
  }
  j["matrices"] = mats;
  json gains = json::object();
  for (auto& [name, g] : gains_of(q)) gains[name] = g->frac_bits_;
  j["gain_frac_bits"] = gains;
  json layers = json::array();
  for (const LayerActScales& l : q.act_scales_) {
    layers.push_back({act_scale_json(l.attn_in_), act_scale_json(l.attn_out_),
                      act_scale_json(l.ffn_in_), act_scale_json(l.ffn_hidden_)});
  }
  j["act_scales"] = layers;
  j["final_act_scale"] = act_scale_json(q.final_act_scale_);
  return j;
}

void scalars_from(const json& j, QuantizedModel& q) {
  for (auto& [name, m] : matrices_of(q)) {
    const json& e = j.at("matrices").at(name);
    m->name_ = name;
    m->rows_ = e.at("rows").get<int64_t>();
    m->cols_ = e.at("cols").get<int64_t>();
    m->group_size_ = e.at("group_size").get<int64_t>();
    m->groups_per_row_ = e.at("groups_per_row").get<int64_t>();
    m->storage_bits_ = e.at("storage_bits").get<int>();
  }
  for (auto& [name, g] : gains_of(q)) g->frac_bits_ = j.at("gain_frac_bits").at(name).get<int32_t>();
  q.act_scales_.clear();
  for (const json& l : j.at("act_scales")) {
    q.act_scales_.push_back({act_scale_from(l.at(0)), act_scale_from(l.at(1)), act_scale_from(l.at(2)),
                             act_scale_from(l.at(3))});
  }
  q.final_act_scale_ = act_scale_from(j.at("final_act_scale"));
}

json config_json(const ModelConfig& c) {
  return {{"name", c.name_},
          {"arch", c.arch_},
          {"n_layers", c.n_layers_},
          {"d_model", c.d_model_},
          {"n_heads", c.n_heads_},
          {"n_kv_heads", c.n_kv_heads_},
          {"head_dim", c.head_dim_},
          {"d_ff", c.d_ff_},
          {"vocab", c.vocab_},
          {"max_positions", c.max_positions_},
          {"rms_eps", c.rms_eps_},
          {"rope_theta", c.rope_theta_},
          {"rope_scaling",
           {{"enabled", c.rope_scaling_.enabled_},
            {"factor", c.rope_scaling_.factor_},
            {"low_freq_factor", c.rope_scaling_.low_freq_factor_},
            {"high_freq_factor", c.rope_scaling_.high_freq_factor_},
            {"original_max_positions", c.rope_scaling_.original_max_positions_}}},
          {"rope_freq_factors", c.rope_freq_factors_},
          {"tied_embeddings", c.tied_embeddings_},
          {"qkv_bias", c.qkv_bias_},
          {"qk_norm", c.qk_norm_},
          {"sliding_window", c.sliding_window_}};
}

ModelConfig config_from(const json& j) {
  ModelConfig c;
  c.name_ = j.at("name").get<std::string>();
  c.arch_ = j.at("arch").get<std::string>();
  c.n_layers_ = j.at("n_layers").get<int64_t>();
  c.d_model_ = j.at("d_model").get<int64_t>();
  c.n_heads_ = j.at("n_heads").get<int64_t>();
  c.n_kv_heads_ = j.at("n_kv_heads").get<int64_t>();
  c.head_dim_ = j.at("head_dim").get<int64_t>();
  c.d_ff_ = j.at("d_ff").get<int64_t>();
  c.vocab_ = j.at("vocab").get<int64_t>();
  c.max_positions_ = j.at("max_positions").get<int64_t>();
  c.rms_eps_ = j.at("rms_eps").get<double>();
  c.rope_theta_ = j.at("rope_theta").get<double>();
  const json& rs = j.at("rope_scaling");
  c.rope_scaling_.enabled_ = rs.at("enabled").get<bool>();
  c.rope_scaling_.factor_ = rs.at("factor").get<double>();
  c.rope_scaling_.low_freq_factor_ = rs.at("low_freq_factor").get<double>();
  c.rope_scaling_.high_freq_factor_ = rs.at("high_freq_factor").get<double>();
  c.rope_scaling_.original_max_positions_ = rs.at("original_max_positions").get<int64_t>();
  c.rope_freq_factors_ = j.at("rope_freq_factors").get<std::vector<double>>();
  c.tied_embeddings_ = j.at("tied_embeddings").get<bool>();
  c.qkv_bias_ = j.at("qkv_bias").get<bool>();
  c.qk_norm_ = j.at("qk_norm").get<bool>();
  c.sliding_window_ = j.at("sliding_window").get<int64_t>();
  c.validate();
  return c;
}

// The profile's resolved tree re-read through the schema (JSON is YAML), so an image written by
// one build is checked like a file by the next.
NumericsProfile profile_from(const json& j, const std::string& path) {
  const YAML::Node root = YAML::Load(json{{"numerics", j.at("tree")}}.dump());
  NumericsProfile p = numerics_profile_from_yaml(root, j.at("name").get<std::string>(),
                                                 path + " (chip image)");
  return p;
}

uint64_t padded(uint64_t at) { return (at + kAlign - 1) / kAlign * kAlign; }

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

uint64_t quantized_model_hash(const QuantizedModel& model) {
  QuantizedModel& q = const_cast<QuantizedModel&>(model);  // arrays_of only reads here
  Xxh64 h;
  const std::string scalars = scalars_json(q).dump();
  h.update(scalars.data(), scalars.size());
  for (const ArrayRef& a : arrays_of(q)) {
    const uint64_t n = a.bytes_;
    uint8_t len[8];
    put_u64(len, n);
    h.update(len, 8);
    if (n > 0) h.update(a.data_, static_cast<size_t>(n));
  }
  return h.digest();
}

ChipImageInfo save_chip_image(const std::string& path, const QuantizedModel& model) {
  QuantizedModel& q = const_cast<QuantizedModel&>(model);  // arrays are only read
  const std::vector<ArrayRef> arrays = arrays_of(q);
  // The header's size depends on the offsets it lists; offsets start after a padded header
  // whose length is fixed first with placeholder offsets of the final width.
  json header;
  header["format"] = "hardwire chip image";
  header["version"] = kFormatVersion;
  header["model"] = config_json(q.config_);
  const json pj = q.profile_.to_json();
  header["numerics"] = {{"name", q.profile_.name_},
                        {"source", q.profile_.source_},
                        {"tree", pj.at("numerics")}};
  header["scalars"] = scalars_json(q);
  header["value_bits"] = q.value_bits();
  auto layout = [&](uint64_t data_start) {
    json list = json::array();
    uint64_t at = data_start;
    for (const ArrayRef& a : arrays) {
      at = padded(at);
      list.push_back({a.name_, at, a.bytes_});
      at += a.bytes_;
    }
    return std::make_pair(list, at);
  };
  // Iterate until the header length is stable (offsets only grow the text).
  uint64_t data_start = padded(kFixedHeaderBytes + 4096);
  std::string text;
  uint64_t end = 0;
  for (int it = 0; it < 8; ++it) {
    auto [list, e] = layout(data_start);
    header["arrays"] = list;
    text = header.dump();
    end = e;
    const uint64_t need = padded(kFixedHeaderBytes + text.size());
    if (need == data_start) break;
    data_start = need;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw make_error(path, "cannot create the chip image", "check the directory and permissions");
  Xxh64 h;
  uint64_t written = 0;
  auto write = [&](const void* p, uint64_t n) {
    out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    h.update(p, static_cast<size_t>(n));
    written += n;
  };
  auto pad_to = [&](uint64_t at) {
    static const uint8_t kZeros[kAlign] = {};
    while (written < at) write(kZeros, std::min<uint64_t>(kAlign, at - written));
  };
  uint8_t fixed[kFixedHeaderBytes] = {};
  std::memcpy(fixed, kMagic, 8);
  put_u32(fixed + 8, kFormatVersion);
  put_u64(fixed + 16, text.size());
  write(fixed, kFixedHeaderBytes);
  write(text.data(), text.size());
  for (const ArrayRef& a : arrays) {
    pad_to(padded(written));
    if (a.bytes_ > 0) write(a.data_, a.bytes_);
  }
  pad_to(end);
  uint8_t tail[8];
  const uint64_t digest = h.digest();
  put_u64(tail, digest);
  out.write(reinterpret_cast<const char*>(tail), 8);
  out.close();
  if (!out) throw make_error(path, "writing the chip image failed", "check free disk space");
  ChipImageInfo info;
  info.path_ = path;
  info.file_bytes_ = written + 8;
  info.hash_ = digest;
  info.model_hash_ = quantized_model_hash(model);
  return info;
}

bool is_chip_image(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  if (!in.read(magic, 8)) return false;
  return std::memcmp(magic, kMagic, 8) == 0;
}

ModelConfig chip_image_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint8_t fixed[kFixedHeaderBytes];
  if (!in.read(reinterpret_cast<char*>(fixed), kFixedHeaderBytes) ||
      std::memcmp(fixed, kMagic, 8) != 0) {
    throw make_error(path, "not a chip image", "make one with hardwire quantize");
  }
  const uint64_t header_bytes = read64(fixed + 16);
  constexpr uint64_t kMaxHeaderBytes = uint64_t{1} << 30;
  if (header_bytes > kMaxHeaderBytes) throw make_error(path, "chip image header length is implausible");
  std::string text(static_cast<size_t>(header_bytes), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_bytes))) {
    throw make_error(path, "truncated chip image header");
  }
  try {
    return config_from(json::parse(text).at("model"));
  } catch (const json::exception& e) {
    throw make_error(path, std::string("chip image header: ") + e.what());
  }
}

QuantizedModel load_chip_image(const std::string& path, ChipImageInfo* info) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw make_error(path, "cannot open the chip image", "check the path");
  in.seekg(0, std::ios::end);
  const uint64_t file_bytes = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  Xxh64 h;
  uint64_t consumed = 0;
  auto read = [&](void* p, uint64_t n, const std::string& what) {
    if (consumed + n + 8 > file_bytes || !in.read(static_cast<char*>(p), static_cast<std::streamsize>(n))) {
      throw make_error(path, "truncated while reading " + what,
                       "the file is incomplete; write it again with hardwire quantize");
    }
    h.update(p, static_cast<size_t>(n));
    consumed += n;
  };
  uint8_t fixed[kFixedHeaderBytes];
  if (file_bytes < kFixedHeaderBytes + 8) {
    throw make_error(path, "not a chip image (too short)", "make one with hardwire quantize");
  }
  read(fixed, kFixedHeaderBytes, "the fixed header");
  if (std::memcmp(fixed, kMagic, 8) != 0) {
    throw make_error(path, "not a chip image (no HWCHIPIM magic)", "make one with hardwire quantize");
  }
  const uint32_t version = read32(fixed + 8);
  if (version != kFormatVersion) {
    throw make_error(path, "chip image format version " + std::to_string(version) +
                               ", this build reads version " + std::to_string(kFormatVersion),
                     "re-quantize the model with this build");
  }
  const uint64_t header_bytes = read64(fixed + 16);
  if (header_bytes > file_bytes) throw make_error(path, "header length beyond the end of the file");
  std::string text(static_cast<size_t>(header_bytes), '\0');
  read(text.data(), header_bytes, "the header");
  QuantizedModel q;
  json header;
  try {
    header = json::parse(text);
    q.config_ = config_from(header.at("model"));
    q.profile_ = profile_from(header.at("numerics"), path);
    q.layers_.resize(static_cast<size_t>(q.config_.n_layers_));
    scalars_from(header.at("scalars"), q);
  } catch (const json::exception& e) {
    throw make_error(path, std::string("chip image header: ") + e.what(),
                     "the file is damaged or from another program");
  }
  std::vector<ArrayRef> arrays = arrays_of(q);
  const json& list = header.at("arrays");
  if (list.size() != arrays.size()) {
    throw make_error(path, "chip image lists " + std::to_string(list.size()) + " arrays, the model needs " +
                               std::to_string(arrays.size()));
  }
  std::vector<uint8_t> skip(kAlign);
  for (size_t i = 0; i < arrays.size(); ++i) {
    const std::string name = list[i].at(0).get<std::string>();
    const uint64_t offset = list[i].at(1).get<uint64_t>();
    const uint64_t bytes = list[i].at(2).get<uint64_t>();
    if (name != arrays[i].name_ || offset < consumed || offset - consumed >= kAlign) {
      throw make_error(path, "chip image array " + std::to_string(i) + " ('" + name +
                                 "') is not where the format puts it");
    }
    read(skip.data(), offset - consumed, "padding");
    void* dst = arrays[i].resize_(bytes);
    if (bytes > 0) read(dst, bytes, "array '" + name + "'");
  }
  // Trailing padding up to the hash.
  while (consumed + 8 < file_bytes) {
    const uint64_t n = std::min<uint64_t>(kAlign, file_bytes - 8 - consumed);
    read(skip.data(), n, "padding");
  }
  uint8_t tail[8];
  if (!in.read(reinterpret_cast<char*>(tail), 8)) throw make_error(path, "truncated before the hash");
  const uint64_t stored = read64(tail);
  const uint64_t digest = h.digest();
  if (stored != digest) {
    throw make_error(path, "hash mismatch: the file is damaged (stored XXH64 " + std::to_string(stored) +
                               ", computed " + std::to_string(digest) + ")",
                     "write it again with hardwire quantize");
  }
  // Shapes must agree with the config and the packed sizes with the shapes.
  for (auto& [name, m] : matrices_of(q)) {
    const int64_t groups = m->rows_ * m->groups_per_row_;
    if (static_cast<int64_t>(m->packed_.size()) != m->rows_ * m->row_bytes() ||
        static_cast<int64_t>(m->scale_m_.size()) != groups ||
        static_cast<int64_t>(m->bits_.size()) != groups ||
        static_cast<int64_t>(m->row_exp_.size()) != m->rows_) {
      throw make_error(path, "matrix " + name + ": array sizes do not match its shape");
    }
  }
  if (info) {
    info->path_ = path;
    info->file_bytes_ = file_bytes;
    info->hash_ = digest;
    info->model_hash_ = quantized_model_hash(q);
  }
  return q;
}

}  // namespace hw
