// GGUF reader: the llama.cpp oracle files (metadata, shapes, values), every metadata type and
// the F16/BF16/Q8_0/Q4_0 block formats through a round trip with the test writer, GGUF
// metadata -> ModelConfig, and a battery of malformed files that must each be rejected with an
// error naming the file and the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "common/error.h"
#include "model/float_ref.h"
#include "model/gguf.h"
#include "tests/model/format_writers.h"

namespace hw {
namespace {

using test::GgufTensorSpec;
using test::GgufWriter;
using test::TempDir;
using ::testing::HasSubstr;
namespace gt = test::gguf_type;
namespace mt = test::ggml_type;

const std::string kOracleDir = std::string(HARDWIRE_SHARED_DIR) + "/oracle/";

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected hw::Error";
  return {};
}

TEST(GgufOracle, TinyMhaHeaderAndMetadata) {
  const GgufFile g = GgufFile::open(kOracleDir + "tiny-mha.gguf");
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.alignment_bytes(), 32u);
  // 7828 bytes of header and tensor infos, padded to the 32-byte alignment.
  EXPECT_EQ(g.data_offset_bytes(), 7840u);
  EXPECT_EQ(g.size_bytes(), 537504u);
  EXPECT_EQ(g.metadata().size(), 21u);
  EXPECT_EQ(g.tensors().size(), 21u);
  EXPECT_EQ(g.get_string("general.architecture"), "llama");
  EXPECT_EQ(g.get_string("general.name"), "tiny-mha");
  EXPECT_EQ(g.get_int("llama.block_count"), 2);
  EXPECT_EQ(g.find("llama.block_count")->type_, GgufValueType::kUint32);
  EXPECT_FLOAT_EQ(static_cast<float>(g.get_float("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  EXPECT_TRUE(g.get_bool("tokenizer.ggml.add_bos_token"));
  const GgufValue* tokens = g.find("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  ASSERT_EQ(tokens->type_, GgufValueType::kArray);
  EXPECT_EQ(tokens->array_type_, GgufValueType::kString);
  ASSERT_EQ(tokens->array_.size(), 260u);
  EXPECT_EQ(tokens->array_[0].string_, "<unk>");
  EXPECT_EQ(tokens->array_[1].string_, "<s>");
  EXPECT_EQ(tokens->array_[3].string_, "<0x00>");
  const GgufValue* types = g.find("tokenizer.ggml.token_type");
  ASSERT_NE(types, nullptr);
  EXPECT_EQ(types->array_type_, GgufValueType::kInt32);
  EXPECT_EQ(types->array_[0].int_, 2);
  EXPECT_EQ(types->array_[3].int_, 6);
  EXPECT_EQ(g.find("no.such.key"), nullptr);
}

TEST(GgufOracle, TinyMhaTensorsAndValues) {
  const GgufFile g = GgufFile::open(kOracleDir + "tiny-mha.gguf");
  const GgufTensorInfo& emb = g.tensor("token_embd.weight");
  EXPECT_EQ(emb.ne_, (std::vector<int64_t>{64, 260}));
  EXPECT_EQ(emb.type_, static_cast<uint32_t>(GgmlType::kF32));
  EXPECT_EQ(emb.offset_bytes_, 0u);
  EXPECT_EQ(emb.size_bytes_, 64u * 260u * 4u);
  EXPECT_EQ(emb.cols(), 64);
  EXPECT_EQ(emb.rows(), 260);
  EXPECT_EQ(g.tensor("blk.0.attn_norm.weight").ne_, (std::vector<int64_t>{64}));
  EXPECT_EQ(g.tensor("blk.1.ffn_gate.weight").ne_, (std::vector<int64_t>{64, 172}));
  EXPECT_EQ(g.tensor("blk.1.ffn_down.weight").ne_, (std::vector<int64_t>{172, 64}));
  EXPECT_EQ(g.tensor("output.weight").offset_bytes_, 463104u);

  // Values read independently from the file bytes (little-endian float32 at data offset +
  // tensor offset).
  const std::vector<float> e = g.dequantize(emb);
  ASSERT_EQ(e.size(), 64u * 260u);
  EXPECT_FLOAT_EQ(e[0], -1.6038367748260498f);
  EXPECT_FLOAT_EQ(e[1], 0.06409991532564163f);
  EXPECT_FLOAT_EQ(e[3], 0.15261919796466827f);
  EXPECT_FLOAT_EQ(e.back(), -0.7783625721931458f);
  const std::vector<float> n = g.dequantize(g.tensor("blk.0.attn_norm.weight"));
  EXPECT_FLOAT_EQ(n[0], 0.9315244555473328f);
  EXPECT_FLOAT_EQ(n[2], 1.0426558256149292f);
  const std::vector<float> q = g.dequantize(g.tensor("blk.0.attn_q.weight"));
  EXPECT_FLOAT_EQ(q[64 + 1], 0.16956228017807007f);  // row 1, column 1
  EXPECT_FLOAT_EQ(g.dequantize(g.tensor("output.weight")).back(), -0.0024179797619581223f);
  EXPECT_THAT(error_of([&] { g.tensor("blk.9.attn_q.weight"); }),
              HasSubstr("tensor 'blk.9.attn_q.weight'"));
}

TEST(GgufOracle, ConfigFromBothModels) {
  const ModelConfig mha = model_config_from_gguf(kOracleDir + "tiny-mha.gguf");
  EXPECT_EQ(mha.name_, "tiny-mha");
  EXPECT_EQ(mha.arch_, "llama");
  EXPECT_EQ(mha.n_layers_, 2);
  EXPECT_EQ(mha.d_model_, 64);
  EXPECT_EQ(mha.n_heads_, 4);
  EXPECT_EQ(mha.n_kv_heads_, 4);
  EXPECT_EQ(mha.head_dim_, 16);
  EXPECT_EQ(mha.d_ff_, 172);
  EXPECT_EQ(mha.vocab_, 260);
  EXPECT_EQ(mha.max_positions_, 128);
  EXPECT_NEAR(mha.rms_eps_, 1e-5, 1e-12);
  EXPECT_EQ(mha.rope_theta_, 10000.0);
  EXPECT_FALSE(mha.tied_embeddings_);
  EXPECT_FALSE(mha.qkv_bias_);
  EXPECT_FALSE(mha.qk_norm_);
  EXPECT_FALSE(mha.rope_scaling_.enabled_);

  const ModelConfig gqa = model_config_from_gguf(kOracleDir + "tiny-gqa-s.gguf");
  EXPECT_EQ(gqa.name_, "tiny-gqa-s");
  EXPECT_EQ(gqa.n_layers_, 3);
  EXPECT_EQ(gqa.d_model_, 128);
  EXPECT_EQ(gqa.n_heads_, 8);
  EXPECT_EQ(gqa.n_kv_heads_, 2);
  EXPECT_EQ(gqa.head_dim_, 16);
  EXPECT_EQ(gqa.d_ff_, 128);
  EXPECT_EQ(gqa.vocab_, 300);
  EXPECT_EQ(gqa.max_positions_, 256);
  EXPECT_EQ(gqa.rope_theta_, 500000.0);
  const GgufFile g = GgufFile::open(kOracleDir + "tiny-gqa-s.gguf");
  EXPECT_EQ(g.tensor("blk.2.attn_k.weight").ne_, (std::vector<int64_t>{128, 32}));
}

TEST(GgufHalf, KnownBitPatterns) {
  EXPECT_EQ(fp16_to_float(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_float(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_float(0x3800), 0.5f);
  EXPECT_EQ(fp16_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_float(0x3555), 0.333251953125f);
  EXPECT_EQ(fp16_to_float(0x0400), std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(fp16_to_float(0x0001), std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(fp16_to_float(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_TRUE(std::signbit(fp16_to_float(0x8000)));
  EXPECT_EQ(fp16_to_float(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_float(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(fp16_to_float(0x7e00)));
  EXPECT_EQ(bf16_to_float(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_float(0x4049), 3.140625f);
  EXPECT_EQ(bf16_to_float(0xbf00), -0.5f);
  // The test writer's encoder agrees with the reader's decoder on every finite half.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = fp16_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(test::float_to_fp16(f), h) << "half 0x" << std::hex << h;
  }
}

// A GGUF holding every metadata type and one tensor of each dequantizable block format with
// hand-computed values.
struct RoundTripFile {
  GgufWriter writer_;
  RoundTripFile() {
    GgufWriter& w = writer_;
    w.layout_alignment_ = 64;
    w.add_u32("general.alignment", 64);
    w.add_raw("t.u8", gt::kUint8, {200});
    w.add_raw("t.i8", gt::kInt8, {0xfb});           // -5
    w.add_raw("t.u16", gt::kUint16, {0x60, 0xea});  // 60000
    w.add_raw("t.i16", gt::kInt16, {0xd4, 0xfe});   // -300
    w.add_i32("t.i32", -7);
    w.add_u64("t.u64", uint64_t{1} << 40);
    test::ByteWriter i64;
    i64.u64(static_cast<uint64_t>(-(int64_t{1} << 40)));
    w.add_raw("t.i64", gt::kInt64, i64.data_);
    w.add_f32("t.f32", 0.25f);
    test::ByteWriter f64;
    f64.f64(-1e300);
    w.add_raw("t.f64", gt::kFloat64, f64.data_);
    w.add_bool("t.bool", true);
    w.add_string("t.str", "h\xc3\xa9llo");
    test::ByteWriter u32s;
    u32s.u32(gt::kUint32);
    u32s.u64(3);
    for (uint32_t v : {1u, 2u, 3u}) u32s.u32(v);
    w.add_raw("t.u32s", gt::kArray, u32s.data_);
    w.add_string_array("t.strs", {"a", "", "bc"});
    // [["x", "y"], [], ["z"]]
    test::ByteWriter nested;
    nested.u32(gt::kArray);
    nested.u64(3);
    for (const auto& inner : std::vector<std::vector<std::string>>{{"x", "y"}, {}, {"z"}}) {
      nested.u32(gt::kString);
      nested.u64(inner.size());
      for (const auto& s : inner) nested.gguf_string(s);
    }
    w.add_raw("t.nested", gt::kArray, nested.data_);

    // F16: exactly representable values, including the extremes.
    test::ByteWriter f16;
    for (uint16_t h : {0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x3555, 0x8000, 0x0400}) f16.u16(h);
    w.add_tensor({"f16", {8}, mt::kF16, f16.data_, std::nullopt, false});
    test::ByteWriter bf16;
    for (uint16_t h : {0x3f80, 0x4049, 0xbf00, 0x0000}) bf16.u16(h);
    w.add_tensor({"bf16", {2, 2}, mt::kBF16, bf16.data_, std::nullopt, false});
    // Q8_0, two rows of one block: d = 0.5 with q = 8j - 128, then d = 2^-6 with q = j - 16.
    test::ByteWriter q8;
    q8.u16(0x3800);
    for (int j = 0; j < 32; ++j) q8.u8(static_cast<uint8_t>(static_cast<int8_t>(8 * j - 128)));
    q8.u16(0x2400);
    for (int j = 0; j < 32; ++j) q8.u8(static_cast<uint8_t>(static_cast<int8_t>(j - 16)));
    w.add_tensor({"q8", {32, 2}, mt::kQ8_0, q8.data_, std::nullopt, false});
    // Q4_0, two blocks: d = 0.25 with byte j = j | (15 - j) << 4, then d = -2 with 0x80.
    test::ByteWriter q4;
    q4.u16(0x3400);
    for (int j = 0; j < 16; ++j) q4.u8(static_cast<uint8_t>(j | ((15 - j) << 4)));
    q4.u16(0xc000);
    for (int j = 0; j < 16; ++j) q4.u8(0x80);
    w.add_tensor({"q4", {64}, mt::kQ4_0, q4.data_, std::nullopt, false});
  }
};

TEST(GgufRoundTrip, EveryMetadataType) {
  TempDir dir;
  RoundTripFile f;
  f.writer_.write(dir.file("rt.gguf"));
  const GgufFile g = GgufFile::open(dir.file("rt.gguf"));
  EXPECT_EQ(g.alignment_bytes(), 64u);
  EXPECT_EQ(g.data_offset_bytes() % 64, 0u);
  EXPECT_EQ(g.get_int("t.u8"), 200);
  EXPECT_EQ(g.get_int("t.i8"), -5);
  EXPECT_EQ(g.get_int("t.u16"), 60000);
  EXPECT_EQ(g.get_int("t.i16"), -300);
  EXPECT_EQ(g.get_int("t.i32"), -7);
  EXPECT_EQ(g.get_int("t.u64"), int64_t{1} << 40);
  EXPECT_EQ(g.get_int("t.i64"), -(int64_t{1} << 40));
  EXPECT_EQ(g.get_float("t.f32"), 0.25);
  EXPECT_EQ(g.get_float("t.f64"), -1e300);
  EXPECT_TRUE(g.get_bool("t.bool"));
  EXPECT_EQ(g.get_string("t.str"), "h\xc3\xa9llo");
  const GgufValue* u32s = g.find("t.u32s");
  ASSERT_NE(u32s, nullptr);
  ASSERT_EQ(u32s->array_.size(), 3u);
  EXPECT_EQ(u32s->array_[2].uint_, 3u);
  const GgufValue* strs = g.find("t.strs");
  ASSERT_EQ(strs->array_.size(), 3u);
  EXPECT_EQ(strs->array_[1].string_, "");
  EXPECT_EQ(strs->array_[2].string_, "bc");
  const GgufValue* nested = g.find("t.nested");
  ASSERT_EQ(nested->array_type_, GgufValueType::kArray);
  ASSERT_EQ(nested->array_.size(), 3u);
  EXPECT_EQ(nested->array_[0].array_type_, GgufValueType::kString);
  ASSERT_EQ(nested->array_[0].array_.size(), 2u);
  EXPECT_EQ(nested->array_[0].array_[1].string_, "y");
  EXPECT_TRUE(nested->array_[1].array_.empty());
  EXPECT_EQ(nested->array_[2].array_[0].string_, "z");
  // Type mismatches name the key.
  EXPECT_THAT(error_of([&] { g.get_int("t.str"); }), HasSubstr("t.str: must be an integer"));
  EXPECT_THAT(error_of([&] { g.get_float("t.u8"); }), HasSubstr("t.u8"));
  EXPECT_THAT(error_of([&] { g.get_string("missing.key"); }), HasSubstr("missing.key"));
}

TEST(GgufRoundTrip, DequantizesEveryBlockFormat) {
  TempDir dir;
  RoundTripFile f;
  f.writer_.write(dir.file("rt.gguf"));
  const GgufFile g = GgufFile::open(dir.file("rt.gguf"));

  EXPECT_EQ(g.dequantize(g.tensor("f16")),
            (std::vector<float>{1.0f, -2.0f, 0.5f, 65504.0f, std::ldexp(1.0f, -24), 0.333251953125f,
                                -0.0f, std::ldexp(1.0f, -14)}));
  EXPECT_EQ(g.dequantize(g.tensor("bf16")), (std::vector<float>{1.0f, 3.140625f, -0.5f, 0.0f}));

  const GgufTensorInfo& q8 = g.tensor("q8");
  EXPECT_EQ(q8.size_bytes_, 68u);
  const std::vector<float> v8 = g.dequantize(q8);
  ASSERT_EQ(v8.size(), 64u);
  EXPECT_EQ(v8[0], -64.0f);   // 0.5 * -128
  EXPECT_EQ(v8[16], 0.0f);    // 0.5 * 0
  EXPECT_EQ(v8[31], 60.0f);   // 0.5 * 120
  EXPECT_EQ(v8[32], -0.25f);  // 2^-6 * -16
  EXPECT_EQ(v8[63], 15.0f / 64.0f);
  for (int j = 0; j < 32; ++j) {
    EXPECT_EQ(v8[j], 0.5f * static_cast<float>(8 * j - 128)) << j;
    EXPECT_EQ(v8[32 + j], static_cast<float>(j - 16) / 64.0f) << j;
  }

  const GgufTensorInfo& q4 = g.tensor("q4");
  EXPECT_EQ(q4.size_bytes_, 36u);
  const std::vector<float> v4 = g.dequantize(q4);
  ASSERT_EQ(v4.size(), 64u);
  EXPECT_EQ(v4[0], -2.0f);   // low nibble 0: (0 - 8) * 0.25
  EXPECT_EQ(v4[15], 1.75f);  // low nibble 15
  EXPECT_EQ(v4[16], 1.75f);  // high nibble of byte 0 is 15
  EXPECT_EQ(v4[31], -2.0f);  // high nibble of byte 15 is 0
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(v4[j], 0.25f * static_cast<float>(j - 8)) << j;
    EXPECT_EQ(v4[16 + j], 0.25f * static_cast<float>(7 - j)) << j;
    EXPECT_EQ(v4[32 + j], 16.0f) << j;  // low nibble 0: -2 * -8
    EXPECT_EQ(v4[48 + j], 0.0f) << j;   // high nibble 8
  }
}

TEST(GgufRoundTrip, ParsesFromMemoryWithItsName) {
  RoundTripFile f;
  const std::vector<uint8_t> bytes = f.writer_.bytes();
  const GgufFile g = GgufFile::parse({bytes.data(), bytes.size()}, "in-memory");
  EXPECT_EQ(g.name(), "in-memory");
  EXPECT_EQ(g.tensors().size(), 4u);
  std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + 12);
  EXPECT_THAT(error_of([&] {
                GgufFile::parse({cut.data(), cut.size()}, "in-memory");
              }),
              HasSubstr("in-memory: header n_tensors: truncated"));
}

TEST(GgufRoundTrip, UnsupportedBlockTypeParsesButDoesNotDequantize) {
  TempDir dir;
  GgufWriter w;
  // One Q4_K super-block: 256 values in 144 bytes.
  w.add_tensor({"k4", {256}, mt::kQ4_K, std::vector<uint8_t>(144, 0), std::nullopt, false});
  w.write(dir.file("k.gguf"));
  const GgufFile g = GgufFile::open(dir.file("k.gguf"));
  EXPECT_EQ(g.tensor("k4").size_bytes_, 144u);
  const std::string msg = error_of([&] { g.dequantize(g.tensor("k4")); });
  EXPECT_THAT(msg, HasSubstr(dir.file("k.gguf")));
  EXPECT_THAT(msg, HasSubstr("tensor 'k4'"));
  EXPECT_THAT(msg, HasSubstr("Q4_K"));
}

TEST(GgufErrors, MissingFileNamesThePath) {
  TempDir dir;
  EXPECT_THAT(error_of([&] { GgufFile::open(dir.file("absent.gguf")); }),
              HasSubstr(dir.file("absent.gguf") + ": cannot open"));
}

// A small valid file the corruption cases start from: two F32 tensors after two metadata keys.
GgufWriter base_writer() {
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_string_array("tokenizer.ggml.tokens", {"a", "b"});
  w.add_f32_tensor("a", {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  w.add_f32_tensor("b", {8}, {1, 2, 3, 4, 5, 6, 7, 8});
  return w;
}

struct CorruptCase {
  const char* name_;
  std::function<std::vector<uint8_t>()> make_;
  std::vector<std::string> expected_;  // substrings of the error besides the file path
};

std::vector<uint8_t> with_writer(const std::function<void(GgufWriter&)>& edit) {
  GgufWriter w = base_writer();
  edit(w);
  return w.bytes();
}

std::vector<uint8_t> u64_le(uint64_t v) {
  test::ByteWriter b;
  b.u64(v);
  return b.data_;
}

// A count or length far beyond any test file.
constexpr uint64_t kHuge = uint64_t{1} << 50;

std::vector<CorruptCase> corrupt_cases() {
  return {
      {"empty", [] { return std::vector<uint8_t>{}; }, {"header magic", "truncated"}},
      {"truncated_header",
       [] {
         auto b = base_writer().bytes();
         b.resize(10);
         return b;
       },
       {"header n_tensors", "truncated"}},
      {"truncated_metadata",
       [] {
         GgufWriter w = base_writer();
         w.add_string("general.name", std::string(300, 'x'));
         auto b = w.bytes();
         // Cut inside the name: header 24 + entry 0 (45) + entry 1 (63), then this entry's key
         // (8 + 12), type (4) and length (8), then 100 of its 300 bytes.
         b.resize(24 + 45 + 63 + 8 + 12 + 4 + 8 + 100);
         return b;
       },
       {"metadata 'general.name' string length", "exceeds"}},
      {"truncated_tensor_info",
       [] {
         auto b = base_writer().bytes();
         // Tensor infos start at 132; 'a' has its name (9), n_dims (4), then ne[0].
         b.resize(132 + 9 + 4 + 7);
         return b;
       },
       {"tensor 'a' ne[0]", "truncated"}},
      {"truncated_data",
       [] {
         auto b = base_writer().bytes();
         b.resize(b.size() - 4);
         return b;
       },
       {"tensor 'b' data", "beyond the end of the file"}},
      {"bad_magic",
       [] { return with_writer([](GgufWriter& w) { w.magic_ = "GGUX"; }); },
       {"header magic", "bad magic 'GGUX'"}},
      {"version_1",
       [] { return with_writer([](GgufWriter& w) { w.version_ = 1; }); },
       {"header version", "unsupported GGUF version 1"}},
      {"version_big_endian",
       [] { return with_writer([](GgufWriter& w) { w.version_ = 0x03000000u; }); },
       {"header version", "big-endian"}},
      {"n_kv_absurd",
       [] { return with_writer([](GgufWriter& w) { w.n_kv_override_ = kHuge; }); },
       {"header n_kv", "cannot fit"}},
      {"n_tensors_absurd",
       [] { return with_writer([](GgufWriter& w) { w.n_tensors_override_ = kHuge; }); },
       {"header n_tensors", "cannot fit"}},
      {"key_length_beyond_file",
       [] {
         auto b = base_writer().bytes();
         const auto len = u64_le(kHuge);
         std::copy(len.begin(), len.end(), b.begin() + 24);  // first key's length
         return b;
       },
       {"metadata entry #0 key length", "exceeds"}},
      {"string_length_beyond_file",
       [] {
         return with_writer([](GgufWriter& w) {
           auto payload = u64_le(kHuge);
           payload.insert(payload.end(), {'a', 'b', 'c'});
           w.add_raw("general.name", gt::kString, payload);
         });
       },
       {"metadata 'general.name' string length", "exceeds"}},
      {"string_array_length_beyond_file",
       [] {
         return with_writer([](GgufWriter& w) {
           test::ByteWriter p;
           p.u32(gt::kString);
           p.u64(kHuge);
           w.add_raw("tokenizer.ggml.merges", gt::kArray, p.data_);
         });
       },
       {"metadata 'tokenizer.ggml.merges' array length", "cannot fit"}},
      {"u32_array_length_beyond_file",
       [] {
         return with_writer([](GgufWriter& w) {
           test::ByteWriter p;
           p.u32(gt::kUint32);
           p.u64(1000);
           w.add_raw("tokenizer.ggml.token_type", gt::kArray, p.data_);
         });
       },
       {"metadata 'tokenizer.ggml.token_type' array length", "1000 elements of uint32"}},
      {"unknown_value_type",
       [] { return with_writer([](GgufWriter& w) {
              w.add_raw("x.y", 13, {0, 0, 0, 0});
            }); },
       {"metadata 'x.y' value type", "unknown value type 13"}},
      {"unknown_array_element_type",
       [] {
         return with_writer([](GgufWriter& w) {
           test::ByteWriter p;
           p.u32(99);
           p.u64(0);
           w.add_raw("x.arr", gt::kArray, p.data_);
         });
       },
       {"metadata 'x.arr' array element type", "unknown value type 99"}},
      {"bool_not_0_or_1",
       [] { return with_writer([](GgufWriter& w) { w.add_raw("x.flag", gt::kBool, {2}); }); },
       {"metadata 'x.flag' value", "bool"}},
      {"arrays_nested_too_deep",
       [] {
         return with_writer([](GgufWriter& w) {
           test::ByteWriter p;
           for (int i = 0; i < 40; ++i) {
             p.u32(gt::kArray);
             p.u64(1);
           }
           p.u32(gt::kUint8);
           p.u64(0);
           w.add_raw("x.deep", gt::kArray, p.data_);
         });
       },
       {"metadata 'x.deep' array", "nested"}},
      {"duplicate_key",
       [] { return with_writer([](GgufWriter& w) { w.add_string("general.architecture", "x"); }); },
       {"metadata 'general.architecture'", "duplicate metadata key"}},
      {"alignment_not_power_of_two",
       [] { return with_writer([](GgufWriter& w) { w.add_u32("general.alignment", 48); }); },
       {"general.alignment", "power of two"}},
      {"alignment_zero",
       [] { return with_writer([](GgufWriter& w) { w.add_u32("general.alignment", 0); }); },
       {"general.alignment", "power of two"}},
      {"alignment_wrong_type",
       [] { return with_writer([](GgufWriter& w) { w.add_string("general.alignment", "32"); }); },
       {"general.alignment", "unsigned integer"}},
      {"n_dims_5",
       [] {
         return with_writer([](GgufWriter& w) { w.add_f32_tensor("c", {1, 1, 1, 1, 1}, {1}); });
       },
       {"tensor 'c' n_dims", "must be 1..4, got 5"}},
      {"n_dims_0",
       [] { return with_writer([](GgufWriter& w) { w.add_f32_tensor("c", {}, {}); }); },
       {"tensor 'c' n_dims", "got 0"}},
      {"zero_dimension",
       [] { return with_writer([](GgufWriter& w) {
              w.add_f32_tensor("c", {4, 0}, {});
            }); },
       {"tensor 'c' ne[1]", "zero-sized dimension"}},
      {"element_count_overflow",
       [] {
         return with_writer([](GgufWriter& w) {
           w.add_tensor(
               {"c", {uint64_t{1} << 32, uint64_t{1} << 32}, mt::kF32, {}, std::nullopt, true});
         });
       },
       {"tensor 'c' ne[1]", "overflows"}},
      {"dimension_above_int64",
       [] {
         return with_writer([](GgufWriter& w) {
           w.add_tensor({"c", {~uint64_t{0}}, mt::kF32, {}, std::nullopt, true});
         });
       },
       {"tensor 'c' ne[0]", "overflows"}},
      {"byte_size_overflow",
       [] {
         return with_writer([](GgufWriter& w) {
           w.add_tensor({"c", {uint64_t{1} << 62}, mt::kF32, {}, std::nullopt, true});
         });
       },
       {"tensor 'c' ne", "overflows"}},
      {"unknown_dtype",
       [] {
         return with_writer([](GgufWriter& w) {
           w.add_tensor({"c", {8}, 99, std::vector<uint8_t>(32, 0), std::nullopt, false});
         });
       },
       {"tensor 'c' type", "unknown ggml type id 99"}},
      {"row_not_multiple_of_block",
       [] {
         return with_writer([](GgufWriter& w) {
           w.add_tensor({"c", {16}, mt::kQ8_0, std::vector<uint8_t>(34, 0), std::nullopt, false});
         });
       },
       {"tensor 'c' ne[0]", "block size 32"}},
      {"misaligned_offset",
       [] {
         return with_writer([](GgufWriter& w) {
           w.add_tensor({"c", {1}, mt::kF32, {0, 0, 0, 0}, uint64_t{100}, false});
         });
       },
       {"tensor 'c' offset", "not a multiple of the alignment 32"}},
      {"data_beyond_end",
       [] {
         return with_writer([](GgufWriter& w) {
           w.add_tensor({"c", {8}, mt::kF32, {}, uint64_t{1} << 40, true});
         });
       },
       {"tensor 'c' data", "beyond the end of the file"}},
      {"offset_near_uint64_max",
       [] {
         return with_writer([](GgufWriter& w) {
           w.add_tensor({"c", {8}, mt::kF32, {}, ~uint64_t{31}, true});
         });
       },
       {"tensor 'c' data", "beyond the end of the file"}},
      {"overlapping_tensors",
       [] {
         return with_writer([](GgufWriter& w) {
           w.add_tensor({"c", {4}, mt::kF32, {}, uint64_t{0}, true});
         });
       },
       {"offset", "overlaps tensor"}},
      {"duplicate_tensor_name",
       [] { return with_writer([](GgufWriter& w) {
              w.add_f32_tensor("a", {2}, {1, 2});
            }); },
       {"tensor 'a' name", "duplicate tensor name"}},
  };
}

TEST(GgufErrors, CorruptFilesNameTheFileAndField) {
  TempDir dir;
  for (const CorruptCase& c : corrupt_cases()) {
    SCOPED_TRACE(c.name_);
    const std::string path = dir.file(std::string(c.name_) + ".gguf");
    test::write_file(path, c.make_());
    const std::string msg = error_of([&] { GgufFile::open(path); });
    EXPECT_THAT(msg, HasSubstr(path + ": "));
    for (const auto& s : c.expected_) EXPECT_THAT(msg, HasSubstr(s));
  }
}

TEST(GgufErrors, BaseFileOfTheCorruptionCasesIsValid) {
  const std::vector<uint8_t> bytes = base_writer().bytes();
  const GgufFile g = GgufFile::parse({bytes.data(), bytes.size()}, "base");
  EXPECT_EQ(g.tensors().size(), 2u);
  EXPECT_EQ(g.dequantize(g.tensor("b"))[7], 8.0f);
}

// Minimal llama-architecture metadata for model_config_from_gguf, with one key left out.
GgufWriter config_writer(const std::string& skip_key, const std::string& arch = "llama") {
  GgufWriter w;
  const std::string p = arch + ".";
  w.add_string("general.architecture", arch);
  auto u32 = [&](const std::string& k, uint32_t v) {
    if (k != skip_key) w.add_u32(k, v);
  };
  u32(p + "block_count", 1);
  u32(p + "embedding_length", 8);
  u32(p + "feed_forward_length", 16);
  u32(p + "attention.head_count", 2);
  u32(p + "attention.head_count_kv", 1);
  u32(p + "context_length", 32);
  if (p + "attention.layer_norm_rms_epsilon" != skip_key) {
    w.add_f32(p + "attention.layer_norm_rms_epsilon", 1e-6f);
  }
  w.add_f32_tensor("token_embd.weight", {8, 10}, std::vector<float>(80, 0.0f));
  return w;
}

TEST(GgufConfig, MinimalMetadataAndDefaults) {
  const std::vector<uint8_t> bytes = config_writer("").bytes();
  const ModelConfig c =
      model_config_from_gguf(GgufFile::parse({bytes.data(), bytes.size()}, "/some/dir/mini.gguf"));
  EXPECT_EQ(c.name_, "mini");
  EXPECT_EQ(c.head_dim_, 4);  // no key_length: embedding_length / head_count
  EXPECT_EQ(c.n_kv_heads_, 1);
  EXPECT_EQ(c.vocab_, 10);
  EXPECT_EQ(c.rope_theta_, 10000.0);  // llama.cpp's default base
  EXPECT_TRUE(c.tied_embeddings_);    // no output.weight
  EXPECT_NEAR(c.rms_eps_, 1e-6, 1e-12);
}

TEST(GgufConfig, Qwen3KeysUseTheirPrefix) {
  GgufWriter w = config_writer("", "qwen3");
  w.add_u32("qwen3.attention.key_length", 8);
  w.add_u32("qwen3.attention.value_length", 8);
  w.add_f32("qwen3.rope.freq_base", 1e6f);
  const std::vector<uint8_t> bytes = w.bytes();
  const ModelConfig c =
      model_config_from_gguf(GgufFile::parse({bytes.data(), bytes.size()}, "q.gguf"));
  EXPECT_EQ(c.arch_, "qwen3");
  EXPECT_EQ(c.head_dim_, 8);
  EXPECT_EQ(c.q_dim(), 16);
  EXPECT_TRUE(c.qk_norm_);
  EXPECT_FALSE(c.qkv_bias_);
  EXPECT_EQ(c.rope_theta_, 1e6);
}

// llama.cpp stores llama3 RoPE scaling as per-pair divisors (rope_freqs.weight); the rates they
// give must be llama3's rule as computed from an HF config.json, to float32 precision.
TEST(GgufConfig, RopeFreqsTensorGivesLlama3Rates) {
  ModelConfig hf = load_model_config("llama-3.1-8b");
  const std::vector<double> want = rope_frequencies(hf);
  ModelConfig plain = hf;
  plain.rope_scaling_ = RopeScaling{};
  const std::vector<double> base = rope_frequencies(plain);
  std::vector<float> factors;
  for (size_t i = 0; i < want.size(); ++i) factors.push_back(static_cast<float>(base[i] / want[i]));
  EXPECT_GT(factors.back(), 7.9f);  // lowest frequencies are divided by factor 8
  EXPECT_FLOAT_EQ(factors.front(), 1.0f);

  GgufWriter w = config_writer("llama.embedding_length");
  w.add_u32("llama.embedding_length", 256);
  w.add_u32("llama.attention.key_length", 128);
  w.add_f32("llama.rope.freq_base", 500000.0f);
  w.add_f32_tensor("rope_freqs.weight", {64}, factors);
  const std::vector<uint8_t> bytes = w.bytes();
  const ModelConfig c =
      model_config_from_gguf(GgufFile::parse({bytes.data(), bytes.size()}, "l3.gguf"));
  ASSERT_EQ(c.rope_freq_factors_.size(), 64u);
  const std::vector<double> got = rope_frequencies(c);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i] / want[i], 1.0, 1e-6) << i;
}

TEST(GgufConfig, ErrorsNameTheFileAndKey) {
  TempDir dir;
  struct Case {
    std::string name_;
    std::function<GgufWriter()> make_;
    std::vector<std::string> expected_;
  };
  const std::vector<Case> cases = {
      {"no_block_count",
       [] { return config_writer("llama.block_count"); },
       {"llama.block_count", "missing required metadata key"}},
      {"no_eps",
       [] { return config_writer("llama.attention.layer_norm_rms_epsilon"); },
       {"llama.attention.layer_norm_rms_epsilon", "missing"}},
      {"no_context",
       [] { return config_writer("llama.context_length"); },
       {"llama.context_length", "missing"}},
      {"no_arch",
       [] {
         GgufWriter w;
         w.add_u32("llama.block_count", 1);
         return w;
       },
       {"general.architecture", "missing"}},
      {"unsupported_arch",
       [] { return config_writer("", "gpt2"); },
       {"general.architecture", "'gpt2' is not supported"}},
      {"rope_freqs_wrong_length",
       [] {
         GgufWriter w = config_writer("");
         w.add_f32_tensor("rope_freqs.weight", {3}, {1.0f, 8.0f, 8.0f});
         return w;
       },
       {"rope_freqs.weight", "expected ["}},
      {"rope_freqs_not_positive",
       [] {
         GgufWriter w = config_writer("");
         w.add_f32_tensor("rope_freqs.weight", {2}, {1.0f, 0.0f});
         return w;
       },
       {"rope_freqs.weight", "not a positive finite number"}},
      {"rope_scaling_linear",
       [] {
         GgufWriter w = config_writer("");
         w.add_string("llama.rope.scaling.type", "linear");
         return w;
       },
       {"llama.rope.scaling.type", "'linear' is not supported"}},
      {"partial_rotary",
       [] {
         GgufWriter w = config_writer("");
         w.add_u32("llama.rope.dimension_count", 2);
         return w;
       },
       {"llama.rope.dimension_count", "partial rotary"}},
      {"moe",
       [] {
         GgufWriter w = config_writer("");
         w.add_u32("llama.expert_count", 8);
         return w;
       },
       {"llama.expert_count", "mixture-of-experts"}},
      {"block_count_wrong_type",
       [] {
         GgufWriter w = config_writer("llama.block_count");
         w.add_string("llama.block_count", "one");
         return w;
       },
       {"llama.block_count", "must be an integer, got string"}},
      {"vocab_size_disagrees",
       [] {
         GgufWriter w = config_writer("");
         w.add_u32("llama.vocab_size", 11);
         return w;
       },
       {"llama.vocab_size", "disagrees"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name_);
    const std::string path = dir.file(c.name_ + ".gguf");
    c.make_().write(path);
    const std::string msg = error_of([&] { model_config_from_gguf(path); });
    EXPECT_THAT(msg, HasSubstr(path));
    for (const auto& s : c.expected_) EXPECT_THAT(msg, HasSubstr(s));
  }
}

}  // namespace
}  // namespace hw
