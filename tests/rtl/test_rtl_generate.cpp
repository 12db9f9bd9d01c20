// The checked-in generated RTL (rtl/gen/, what the Verilated tests run) is exactly what the
// generator writes today, and the generator's output is deterministic and names rows/columns.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "rtl/rtl_gen.h"
#include "rtl_models.h"

namespace hw::rtltest {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kGen = std::string(HARDWIRE_SOURCE_DIR_STR) + "/rtl/gen/";

TEST(RtlGenerate, CheckedInLayerEqualsFreshGeneration) {
  const LoadedModel* m = tiny_mha("w4a8");
  if (!m) GTEST_SKIP() << "oracle model missing";
  const auto files = rtl::generate_layer(m->qm, *m->golden, 0, 16, 4, rtl::Fabric::kProductSelect);
  ASSERT_EQ(files.size(), 12u);  // 2 norms, 7 matrices, rope, attention, manifest
  for (const rtl::GeneratedFile& f : files) {
    const std::string path = kGen + "tiny-mha-w4a8-l0/" + f.name_;
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    EXPECT_EQ(read_file(path), f.text_) << path << " is stale: regenerate (docs/rtl.md)";
  }
}

TEST(RtlGenerate, CheckedInSliceEqualsFreshGeneration) {
  const LoadedModel* m = tiny_mha("w8a8");
  if (!m) GTEST_SKIP() << "oracle model missing";
  rtl::MatvecSpec spec;
  spec.tensor_ = "ffn_down";
  spec.layer_ = 0;
  spec.row_begin_ = 0;
  spec.row_end_ = 16;
  spec.fabric_ = rtl::Fabric::kConstantMultipliers;
  rtl::MatvecInfo info;
  const std::string text = rtl::generate_matvec(m->qm, spec, &info);
  EXPECT_EQ(info.module_, "hw_mv_l0_ffn_down_r0_15");
  EXPECT_EQ(read_file(kGen + "tiny-mha-w8a8-cm/hw_mv_l0_ffn_down_r0_15.sv"), text);
  // Readable: every row has its function, every chunk names its columns and values.
  EXPECT_NE(text.find("function automatic logic [127:0] w_row00015"), std::string::npos);
  EXPECT_NE(text.find("// cols 160..171: "), std::string::npos);
  // The values in the comments are the quantized weights.
  std::ostringstream first;
  first << "// cols 0..15: " << m->qm.layers_[0].w_down_.value(0, 0) << " ";
  EXPECT_NE(text.find(first.str()), std::string::npos);
}

TEST(RtlGenerate, RejectsBadRowsAndLanes) {
  const LoadedModel* m = tiny_mha("w4a8");
  if (!m) GTEST_SKIP() << "oracle model missing";
  rtl::MatvecSpec spec;
  spec.tensor_ = "attn_q";
  spec.row_begin_ = 10;
  spec.row_end_ = 65;
  EXPECT_THROW(rtl::generate_matvec(m->qm, spec), hw::Error);
  spec.row_end_ = 20;
  spec.lanes_in_ = 12;  // group of 32 columns is not a multiple of 12 lanes
  EXPECT_THROW(rtl::generate_matvec(m->qm, spec), hw::Error);
  spec.lanes_in_ = 16;
  spec.tensor_ = "attn_z";
  EXPECT_THROW(rtl::generate_matvec(m->qm, spec), hw::Error);
}

}  // namespace
}  // namespace hw::rtltest
