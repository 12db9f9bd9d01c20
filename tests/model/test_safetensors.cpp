// safetensors reader: F32/F16/BF16 round trips with known values, header details
// (__metadata__, scalars, empty tensors), and malformed files that must each be rejected with an
// error naming the file and the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "common/error.h"
#include "model/safetensors.h"
#include "tests/model/format_writers.h"

namespace hw {
namespace {

using test::SafetensorsWriter;
using test::TempDir;
using ::testing::HasSubstr;

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

TEST(Safetensors, RoundTripsEveryFloatDtype) {
  TempDir dir;
  SafetensorsWriter w;
  w.metadata_ = {{"format", "pt"}};
  w.add_f32("model.norm.weight", {4}, {1.5f, -2.0f, 0.0f, 3.25f});
  test::ByteWriter f16;
  for (uint16_t h : {0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff, 0x8000}) f16.u16(h);
  w.add("w16", "F16", {2, 3}, f16.data_);
  test::ByteWriter bf16;
  for (uint16_t h : {0x3f80, 0x4049, 0xbf00, 0x4780}) bf16.u16(h);
  w.add("wbf", "BF16", {2, 2}, bf16.data_);
  w.add("scalar", "F32", {}, test::f32_bytes({42.0f}));
  w.add("empty", "F32", {0, 8}, {});
  w.write(dir.file("m.safetensors"));

  const SafetensorsFile f = SafetensorsFile::open(dir.file("m.safetensors"));
  EXPECT_EQ(f.tensors().size(), 5u);
  EXPECT_EQ(f.find_tensor("__metadata__"), nullptr);
  EXPECT_EQ(f.data_offset_bytes() % 8, 0u);
  const SafetensorsTensorInfo& norm = f.tensor("model.norm.weight");
  EXPECT_EQ(norm.dtype_, "F32");
  EXPECT_EQ(norm.shape_, (std::vector<int64_t>{4}));
  EXPECT_EQ(f.dequantize(norm), (std::vector<float>{1.5f, -2.0f, 0.0f, 3.25f}));
  const SafetensorsTensorInfo& w16 = f.tensor("w16");
  EXPECT_EQ(w16.shape_, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w16.elements(), 6);
  EXPECT_EQ(f.dequantize(w16), (std::vector<float>{1.0f, -2.0f, 0.333251953125f,
                                                   std::ldexp(1.0f, -24), 65504.0f, -0.0f}));
  EXPECT_EQ(f.dequantize(f.tensor("wbf")), (std::vector<float>{1.0f, 3.140625f, -0.5f, 65536.0f}));
  EXPECT_EQ(f.dequantize(f.tensor("scalar")), (std::vector<float>{42.0f}));
  EXPECT_TRUE(f.dequantize(f.tensor("empty")).empty());
  EXPECT_THAT(error_of([&] { f.tensor("lm_head.weight"); }), HasSubstr("tensor 'lm_head.weight'"));
}

TEST(Safetensors, ParsesFromMemoryWithItsName) {
  SafetensorsWriter w;
  w.add_f32("a", {2}, {1.0f, 2.0f});
  const std::vector<uint8_t> bytes = w.bytes();
  const SafetensorsFile f = SafetensorsFile::parse({bytes.data(), bytes.size()}, "buffer");
  EXPECT_EQ(f.name(), "buffer");
  EXPECT_EQ(f.dequantize(f.tensor("a"))[1], 2.0f);
}

TEST(Safetensors, OtherDtypesParseButDoNotConvert) {
  TempDir dir;
  SafetensorsWriter w;
  w.add("ids", "I32", {2}, test::f32_bytes({0.0f, 0.0f}));
  w.write(dir.file("i.safetensors"));
  const SafetensorsFile f = SafetensorsFile::open(dir.file("i.safetensors"));
  const std::string msg = error_of([&] { f.dequantize(f.tensor("ids")); });
  EXPECT_THAT(msg, HasSubstr(dir.file("i.safetensors")));
  EXPECT_THAT(msg, HasSubstr("tensor 'ids': dtype I32"));
}

struct CorruptCase {
  const char* name_;
  std::function<std::vector<uint8_t>()> make_;
  std::vector<std::string> expected_;
};

std::vector<uint8_t> with_header(const std::string& header, size_t data_bytes = 16) {
  SafetensorsWriter w;
  w.header_override_ = header;
  std::vector<uint8_t> b = w.bytes();
  b.resize(b.size() + data_bytes, 0);
  return b;
}

std::vector<CorruptCase> corrupt_cases() {
  return {
      {"shorter_than_length",
       [] {
         return std::vector<uint8_t>{1, 2, 3};
       },
       {"header length", "truncated"}},
      {"length_beyond_file",
       [] {
         SafetensorsWriter w;
         w.add_f32("a", {2}, {1, 2});
         w.header_length_override_ = uint64_t{1} << 40;
         return w.bytes();
       },
       {"header length", "exceeds"}},
      {"bad_json",
       [] { return with_header("{\"a\": {\"dtype\": \"F32\", "); },
       {"header JSON", "not valid JSON"}},
      {"not_an_object",
       [] { return with_header("[1, 2, 3]"); },
       {"header JSON", "must be an object"}},
      {"duplicate_name",
       [] {
         return with_header(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                            R"( "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})");
       },
       {"header JSON", "duplicate tensor name 'a'"}},
      {"entry_not_object",
       [] { return with_header(R"({"a": 5})"); },
       {"tensor 'a'", "must be an object"}},
      {"missing_dtype",
       [] { return with_header(R"({"a": {"shape": [1], "data_offsets": [0, 4]}})"); },
       {"tensor 'a' dtype", "missing"}},
      {"unknown_dtype",
       [] {
         return with_header(R"({"a": {"dtype": "F12", "shape": [1], "data_offsets": [0, 4]}})");
       },
       {"tensor 'a' dtype", "unknown dtype 'F12'"}},
      {"negative_shape",
       [] {
         return with_header(R"({"a": {"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 4]}})");
       },
       {"tensor 'a' shape", "non-negative integers"}},
      {"fractional_shape",
       [] {
         return with_header(R"({"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})");
       },
       {"tensor 'a' shape", "non-negative integers"}},
      {"absurd_shape",
       [] {
         return with_header(
             R"({"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 4]}})");
       },
       {"tensor 'a' shape", "overflows 64 bits"}},
      {"absurd_byte_size",
       [] {
         return with_header(
             R"({"a": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 4]}})");
       },
       {"tensor 'a' shape", "byte size"}},
      {"missing_offsets",
       [] { return with_header(R"({"a": {"dtype": "F32", "shape": [1]}})"); },
       {"tensor 'a' data_offsets", "[begin, end]"}},
      {"negative_offset",
       [] {
         return with_header(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})");
       },
       {"tensor 'a' data_offsets", "non-negative"}},
      {"offsets_reversed",
       [] {
         return with_header(R"({"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})");
       },
       {"tensor 'a' data_offsets", "not a range inside the data region"}},
      {"offsets_beyond_data",
       [] {
         return with_header(R"({"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}})");
       },
       {"tensor 'a' data_offsets", "data region of 16 bytes"}},
      {"offsets_not_matching_shape",
       [] {
         return with_header(R"({"a": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 16]}})");
       },
       {"tensor 'a' data_offsets", "shape [2,2] of F16 needs 8"}},
      {"overlapping",
       [] {
         return with_header(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                            R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})");
       },
       {"tensor 'b' data_offsets", "overlaps tensor 'a'"}},
  };
}

TEST(SafetensorsErrors, CorruptFilesNameTheFileAndField) {
  TempDir dir;
  for (const CorruptCase& c : corrupt_cases()) {
    SCOPED_TRACE(c.name_);
    const std::string path = dir.file(std::string(c.name_) + ".safetensors");
    test::write_file(path, c.make_());
    const std::string msg = error_of([&] { SafetensorsFile::open(path); });
    EXPECT_THAT(msg, HasSubstr(path + ": "));
    for (const auto& s : c.expected_) EXPECT_THAT(msg, HasSubstr(s));
  }
}

TEST(SafetensorsErrors, AValidHeaderWrittenTheSameWayParses) {
  // Guards the corruption cases: the same raw-header path accepts a well-formed header.
  const std::vector<uint8_t> b = with_header(
      R"({"__metadata__": {"k": "v"}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
      R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})");
  const SafetensorsFile f = SafetensorsFile::parse({b.data(), b.size()}, "ok");
  EXPECT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[1].name_, "b");
}

}  // namespace
}  // namespace hw
