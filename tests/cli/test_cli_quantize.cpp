// End-to-end tests of `hardwire quantize` and of chip images in `emulate` and
// `simulate --functional`: a checkpoint quantized once and loaded from its image gives the same
// tokens as quantizing it on the fly, and misuse is reported with the fix.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli/cli_test_util.h"

namespace hw::test {
namespace {

std::string oracle(const std::string& model) {
  return std::string(HARDWIRE_SHARED_DIR) + "/oracle/" + model + ".gguf";
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("hardwire_cli_quantize_" + name)).string();
}

nlohmann::json json_run(const std::string& args) {
  const RunResult r = run_hardwire(args);
  EXPECT_EQ(r.exit_code_, 0) << args << "\n" << r.output_;
  return nlohmann::json::parse(r.output_);
}

TEST(CliQuantize, ImageGivesTheSameTokensAsTheCheckpoint) {
  const std::string image = temp_path("gqa.hwchip");
  const nlohmann::json q = json_run("quantize --model " + oracle("tiny-gqa-s") +
                                    " --numerics hc1-mix --out " + image + " --json");
  for (const char* key : {"file_bytes", "file_xxh64", "model_xxh64", "quantize_s", "peak_rss_bytes",
                          "weight_value_bytes", "mean_weight_bits"}) {
    EXPECT_TRUE(q.contains(key)) << key;
  }
  EXPECT_EQ(q["file_bytes"].get<uint64_t>(), std::filesystem::file_size(image));
  const nlohmann::json from_image = json_run("emulate --model " + image + " --tokens 3,1,4 --n 8 --json");
  const nlohmann::json from_gguf =
      json_run("emulate --model " + oracle("tiny-gqa-s") + " --numerics hc1-mix --tokens 3,1,4 --n 8 --json");
  EXPECT_EQ(from_image["generated"], from_gguf["generated"]);
  EXPECT_EQ(from_image["tokens"], from_gguf["tokens"]);
  EXPECT_EQ(from_image["numerics"], "hc1-mix");
  // Threads do not change the tokens.
  EXPECT_EQ(json_run("emulate --model " + image + " --tokens 3,1,4 --n 8 --json --threads 1")["generated"],
            from_image["generated"]);
  std::filesystem::remove(image);
}

TEST(CliQuantize, ImageRefusesOtherNumericsAndDamage) {
  const std::string image = temp_path("mha.hwchip");
  ASSERT_EQ(run_hardwire("quantize --model " + oracle("tiny-mha") + " --numerics w4a8 --out " + image).exit_code_, 0);
  RunResult r = run_hardwire("emulate --model " + image + " --numerics w8a8 --tokens 1 --n 2", true);
  EXPECT_NE(r.exit_code_, 0);
  EXPECT_THAT(r.output_, ::testing::HasSubstr("chip image"));
  r = run_hardwire("quantize --model " + image + " --out " + temp_path("again.hwchip"), true);
  EXPECT_NE(r.exit_code_, 0);
  EXPECT_THAT(r.output_, ::testing::HasSubstr("already a chip image"));
  std::filesystem::resize_file(image, std::filesystem::file_size(image) - 1);
  r = run_hardwire("emulate --model " + image + " --tokens 1 --n 2", true);
  EXPECT_NE(r.exit_code_, 0);
  std::filesystem::remove(image);
}

#ifdef HARDWIRE_HAVE_SYSTEMC
TEST(CliQuantize, SimulateFunctionalTakesTheImage) {
  const std::string image = temp_path("sim.hwchip");
  ASSERT_EQ(run_hardwire("quantize --model " + oracle("tiny-mha") + " --numerics w8a8 --out " + image).exit_code_, 0);
  const nlohmann::json sim = json_run("simulate --model " + image +
                                      " --numerics w8a8 --chip hc1-like --functional --tokens 1,5,9 "
                                      "--gen 6 --no-progress --json");
  const nlohmann::json emu =
      json_run("emulate --model " + oracle("tiny-mha") + " --numerics w8a8 --tokens 1,5,9 --n 6 --json");
  EXPECT_EQ(sim["generated"], emu["generated"]);
  const RunResult r = run_hardwire("simulate --model " + image +
                                       " --numerics hc1-mix --functional --tokens 1 --gen 2 --no-progress",
                                   true);
  EXPECT_NE(r.exit_code_, 0);
  EXPECT_THAT(r.output_, ::testing::HasSubstr("--numerics w8a8"));
  std::filesystem::remove(image);
}
#endif

}  // namespace
}  // namespace hw::test
