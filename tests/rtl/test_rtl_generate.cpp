// The checked-in generated RTL (rtl/gen/, what the Verilated tests and the co-simulation run:
// layer 0 of tiny-mha, tiny-gqa-s and tiny-trained-a) is exactly what the generator writes
// today, and the generator's output is deterministic and names rows/columns.
#include <gtest/gtest.h>

#include <algorithm>
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
  ASSERT_EQ(files.size(), 13u);  // 2 norms, 7 matrices, rope, attention, activation, manifest
  for (const rtl::GeneratedFile& f : files) {
    const std::string path = kGen + "tiny-mha-w4a8-l0/" + f.name_;
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    EXPECT_EQ(read_file(path), f.text_) << path << " is stale: regenerate (docs/rtl.md)";
  }
}

// The other oracle models' layer 0 (co-simulation), module names prefixed by the model so that
// all of them verilate into one library.
TEST(RtlGenerate, CheckedInOracleLayersEqualFreshGeneration) {
  for (const char* name : {"tiny-gqa-s", "tiny-trained-a"}) {
    SCOPED_TRACE(name);
    const LoadedModel* m = oracle_model(name, "w4a8");
    if (!m) GTEST_SKIP() << "oracle model " << name << " missing";
    std::string prefix = std::string("hw_") + name + "_";
    std::replace(prefix.begin(), prefix.end(), '-', '_');
    const auto files =
        rtl::generate_layer(m->qm, *m->golden, 0, 16, 4, rtl::Fabric::kProductSelect, prefix);
    ASSERT_EQ(files.size(), 13u);
    for (const rtl::GeneratedFile& f : files) {
      if (f.name_ != "layer0.json") {
        EXPECT_EQ(f.name_.rfind(prefix, 0), 0u) << f.name_;
      }
      const std::string path = kGen + name + "-w4a8-l0/" + f.name_;
      ASSERT_TRUE(std::filesystem::exists(path)) << path;
      EXPECT_EQ(read_file(path), f.text_) << path << " is stale: regenerate (docs/rtl.md)";
    }
  }
  // GQA: k and v have kv heads x head_dim = 2 x 16 rows.
  EXPECT_TRUE(std::filesystem::exists(kGen + "tiny-gqa-s-w4a8-l0/hw_tiny_gqa_s_mv_l0_attn_k_r0_31.sv"));
}

TEST(RtlGenerate, ModulePrefixMustStartAModuleName) {
  const LoadedModel* m = tiny_mha("w4a8");
  if (!m) GTEST_SKIP() << "oracle model missing";
  rtl::MatvecSpec spec;
  spec.tensor_ = "attn_k";
  spec.module_prefix_ = "hw_x_";
  rtl::MatvecInfo info;
  rtl::generate_matvec(m->qm, spec, &info);
  EXPECT_EQ(info.module_, "hw_x_mv_l0_attn_k_r0_63");
  spec.module_prefix_ = "tiny-mha_";
  EXPECT_THROW(rtl::generate_matvec(m->qm, spec), hw::Error);
  spec.module_prefix_ = "0hw_";
  EXPECT_THROW(rtl::generate_matvec(m->qm, spec), hw::Error);
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
