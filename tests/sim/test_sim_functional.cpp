// Functional mode of the SystemC chip model: tokens carrying the golden numerics through the
// block modules produce exactly the ids GoldenModel::generate produces (what `hardwire emulate`
// prints) for the llama.cpp oracle models and a synthetic model, for one user and for several
// users interleaved in the pipeline, with and without a shared prompt prefix. Also: functional
// mode does not change the timing, the timeline and VCD files, flat engine state, and the
// once-per-process guard.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "chip/chip_config.h"
#include "model/golden_model.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"
#include "model/weights.h"
#include "sim_test_util.h"

namespace hw {
namespace {

using test::run_in_child;
using test::same_requests;
using test::sim_tiny_chip;
using test::sim_tiny_model;
using test::timing_options;

std::string oracle(const std::string& file) {
  return std::string(HARDWIRE_SHARED_DIR) + "/oracle/" + file;
}

// What `hardwire emulate` generates: the golden model alone, one fresh sequence per prompt.
std::vector<int32_t> golden_generate(const QuantizedModel& q, const std::vector<int32_t>& prompt,
                                     int64_t n_new) {
  GoldenModel g(q, static_cast<int64_t>(prompt.size()) + n_new);
  return g.generate(prompt, n_new);
}

// Simulates `users` users (user i gets prompts[i % n]) in functional mode on `chip` and checks
// every user's ids against the golden model.
void expect_same_tokens(const ModelWeights& weights, const std::string& numerics,
                        const ChipConfig& chip, const std::vector<std::vector<int32_t>>& prompts,
                        int64_t users, int64_t n_new, int64_t shared_prefix = 0) {
  const NumericsProfile profile = load_numerics_profile(numerics);
  const QuantizedModel q = quantize_model(weights, profile);
  sim::SimOptions o;
  o.weight_bits_ = profile.mean_weight_bits(weights.config_);
  o.kv_bits_ = profile.kv_bits();
  o.functional_model_ = &q;
  o.prompts_ = prompts;
  const nlohmann::json r = run_in_child(
      weights.config_, chip, same_requests(users, 1, n_new, shared_prefix), o);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  ASSERT_EQ(r["mode"], "functional");
  ASSERT_EQ(r["users"].size(), static_cast<size_t>(users));
  for (int64_t u = 0; u < users; ++u) {
    SCOPED_TRACE("user " + std::to_string(u));
    const auto& prompt = prompts[static_cast<size_t>(u) % prompts.size()];
    EXPECT_EQ(r["users"][static_cast<size_t>(u)]["generated"].get<std::vector<int32_t>>(),
              golden_generate(q, prompt, n_new));
  }
  if (users == 1) {
    EXPECT_EQ(r["generated"].get<std::vector<int32_t>>(), golden_generate(q, prompts[0], n_new));
  }
}

ChipConfig hc1() { return load_chip_config("hc1-like", {}); }

TEST(SimFunctional, OracleMhaOneUserMatchesGolden) {
  const ModelWeights w = load_weights(oracle("tiny-mha.gguf"));
  expect_same_tokens(w, "w8a8", hc1(), {{1, 5, 9, 42, 100, 7}}, 1, 16);
}

TEST(SimFunctional, OracleGqaSeveralUsersMatchGolden) {
  // Five users over three prompts of different lengths: prefill of one user interleaves with
  // decode of the others in the same pipeline, each with its own KV cache.
  const ModelWeights w = load_weights(oracle("tiny-gqa-s.gguf"));
  expect_same_tokens(w, "hc1-mix", hc1(), {{1, 5, 9}, {7, 3}, {100, 200, 3, 4, 17, 250}}, 5, 12);
}

TEST(SimFunctional, SyntheticModelWithSharedPrefixMatchesGolden) {
  // The first 4 ids are shared: later users copy that KV instead of computing it.
  const ModelWeights w = synthetic_weights(load_model_config("tiny-llama"), 11);
  expect_same_tokens(w, "w4a8", hc1(), {{3, 1, 4, 1, 5, 9}, {3, 1, 4, 1, 2}, {3, 1, 4, 1, 7, 7, 7}},
                     4, 10, 4);
}

TEST(SimFunctional, SyntheticModelOnSmallChipMatchesGolden) {
  // The tiny chip's KV holds 100 positions: users wait for admission and run in waves.
  const ModelWeights w = synthetic_weights(load_model_config("tiny-llama"), 5);
  ChipConfig chip = sim_tiny_chip({"chip.rom.capacity=8 Mbit"});
  expect_same_tokens(w, "w8a8", chip, {{10, 20, 30, 40}, {50, 60}}, 6, 20);
}

TEST(SimFunctional, FunctionalModeDoesNotChangeTiming) {
  const ModelWeights w = synthetic_weights(load_model_config("tiny-llama"), 5);
  const NumericsProfile profile = load_numerics_profile("w8a8");
  const QuantizedModel q = quantize_model(w, profile);
  const ChipConfig chip = sim_tiny_chip({"chip.rom.capacity=8 Mbit"});
  sim::SimOptions timing = timing_options();
  timing.weight_bits_ = profile.mean_weight_bits(w.config_);
  sim::SimOptions functional = timing;
  functional.functional_model_ = &q;
  functional.prompts_ = {{1, 2, 3, 4, 5}};
  const auto requests = same_requests(3, 5, 7);
  const nlohmann::json a = run_in_child(w.config_, chip, requests, timing);
  const nlohmann::json b = run_in_child(w.config_, chip, requests, functional);
  ASSERT_FALSE(a.contains("error")) << a.dump();
  ASSERT_FALSE(b.contains("error")) << b.dump();
  EXPECT_EQ(a["cycles"], b["cycles"]);
  EXPECT_EQ(a["stall_cycles"], b["stall_cycles"]);
  EXPECT_EQ(a["inter_token_latency_s"], b["inter_token_latency_s"]);
}

TEST(SimOutputs, TimelineAndVcdFiles) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("hw_sim_out_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  sim::SimOptions o = timing_options();
  o.timeline_path_ = (dir / "t.json").string();
  o.vcd_path_ = (dir / "w.vcd").string();
  const nlohmann::json r =
      run_in_child(sim_tiny_model(), sim_tiny_chip(), same_requests(1, 3, 2), o);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["vcd_file"], o.vcd_path_);
  std::ifstream tf(o.timeline_path_);
  const nlohmann::json t = nlohmann::json::parse(tf);
  // Positions 0 and 1 run the embedding, 2 x 10 layer stages and reach final_norm, where a prompt
  // token that produces no output is dropped (a one-cycle visit, as at the cycle level): 22
  // each; positions 2 (last prompt) and 3 (decode) also run lm_head and sampler: 24 each.
  // 44 + 48 slices.
  int64_t slices = 0;
  int64_t decode = 0;
  for (const auto& e : t["traceEvents"]) {
    if (e["ph"] == "X") {
      ++slices;
      if (e["cat"] == "decode") ++decode;
      EXPECT_GE(e["dur"].get<double>(), 0.0);
    }
  }
  EXPECT_EQ(slices, 92);
  EXPECT_EQ(decode, 24);
  EXPECT_EQ(t["otherData"]["slices_dropped"], 0);
  std::ifstream vf(o.vcd_path_);
  std::stringstream vcd;
  vcd << vf.rdbuf();
  EXPECT_THAT(vcd.str(), ::testing::HasSubstr("qkv_busy"));
  EXPECT_THAT(vcd.str(), ::testing::HasSubstr("kv_used_positions"));
  EXPECT_THAT(vcd.str(), ::testing::HasSubstr("$enddefinitions"));
  // The last time step's changes are in the file: tokens_generated ends at the 2 generated.
  const std::string text = vcd.str();
  const size_t var = text.find(" tokens_generated ");
  ASSERT_NE(var, std::string::npos);
  std::istringstream decl(text.substr(text.rfind('\n', var) + 1, var - text.rfind('\n', var)));
  std::string word, id;
  for (int i = 0; i < 4 && decl >> word; ++i) id = word;  // $var wire 32 <id>
  std::string last;
  std::istringstream lines(text.substr(text.find("$enddefinitions")));
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > id.size() + 1 && line[0] == 'b' &&
        line.compare(line.size() - id.size() - 1, std::string::npos, " " + id) == 0) {
      last = line.substr(1, line.size() - id.size() - 2);
    }
  }
  ASSERT_FALSE(last.empty()) << text.substr(0, 3000);
  EXPECT_EQ(std::stoll(last, nullptr, 2), 2) << "last tokens_generated value in the VCD";
  std::filesystem::remove_all(dir);
}

TEST(SimOutputs, EngineStateDoesNotGrowWithGeneratedTokens) {
  // Same users, 4x the tokens: the model's own state (FIFO rings, queues, histograms) is equal.
  const ChipConfig chip = sim_tiny_chip({"chip.attention.kv_sram.capacity=256 KiB"});
  const nlohmann::json a =
      run_in_child(sim_tiny_model(), chip, same_requests(4, 8, 100), timing_options());
  const nlohmann::json b =
      run_in_child(sim_tiny_model(), chip, same_requests(4, 8, 400), timing_options());
  ASSERT_FALSE(a.contains("error")) << a.dump();
  ASSERT_FALSE(b.contains("error")) << b.dump();
  EXPECT_EQ(b["tokens_generated"], 4 * a["tokens_generated"].get<int64_t>());
  EXPECT_EQ(a["engine_state_bytes"], b["engine_state_bytes"]);
}

TEST(SimOutputs, SecondSimulationInOneProcessIsRefused) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    std::string message = "no error";
    try {
      sim::run_simulation(sim_tiny_model(), sim_tiny_chip(), same_requests(1, 2, 2),
                          timing_options());
      sim::run_simulation(sim_tiny_model(), sim_tiny_chip(), same_requests(1, 2, 2),
                          timing_options());
    } catch (const Error& e) {
      message = e.what();
    }
    if (write(fds[1], message.data(), message.size()) < 0) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  char buf[1024];
  const ssize_t n = read(fds[0], buf, sizeof buf);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_GT(n, 0);
  EXPECT_THAT(std::string(buf, static_cast<size_t>(n)), ::testing::HasSubstr("once per process"));
}

TEST(SimOutputs, WeightsThatDoNotFitAreReported) {
  const nlohmann::json r = run_in_child(load_model_config("llama-3.1-8b"), sim_tiny_chip(),
                                        same_requests(1, 2, 2), timing_options());
  ASSERT_TRUE(r.contains("error"));
  EXPECT_THAT(r["error"].get<std::string>(), ::testing::HasSubstr("weight ROM"));
}

}  // namespace
}  // namespace hw
