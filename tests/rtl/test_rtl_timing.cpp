// Timing of the Verilated matrix blocks against the cycle-level SystemC matrix block
// (sim/cycle_block.h) for the same configuration: tiny-mha layer 0's matrices (16 input
// lanes, 4 output lanes, output_mux 1, one tree register, 1 accumulate stage, 2 requant
// stages, 16-element chunks), and of the RMSNorms and the SwiGLU activation against the
// cycle-level vector blocks (16 lanes, pipeline_depth 4). Both sit between identical producers and consumers on chunk
// channels (sc_fifo, sim/chunk.h) in one SystemC run; every input chunk's write cycle and every
// output chunk's read cycle must be the same, so latency and initiation interval are equal, with
// the consumer always ready and under back-pressure. The RTL side is the co-simulation adapter
// (rtl/cosim.h), so this is also the co-simulation's timing check block by block.
//
// Each comparison runs in a forked child (SystemC elaborates once per process; the parent's
// kernel stays unused, so the Bench tests of this binary still run after these).
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemc>

#include "chip/mapping.h"
#include "rtl/cosim.h"
#include "sim/characterize.h"
#include "sim/cycle_block.h"
#include "sim/cycle_chip.h"
#include "chunk_consumer.h"
#include "chunk_producer.h"

namespace hw {
namespace {

using sim::Chunk;
using sim::ChunkChannel;
using sim::Cycle;

// The tiny-mha shape (rtl/gen/tiny-mha-w4a8-l0) on a chip of the RTL's matrix structure.
ChipMapping rtl_mapping() {
  ChipMapping m;
  m.model_.name_ = "tiny-mha";
  m.model_.arch_ = "llama";
  m.model_.n_layers_ = 2;
  m.model_.d_model_ = 64;
  m.model_.n_heads_ = 4;
  m.model_.n_kv_heads_ = 4;
  m.model_.head_dim_ = 16;
  m.model_.d_ff_ = 172;
  m.model_.vocab_ = 260;
  m.model_.max_positions_ = 128;
  m.chip_.chunk_elements_ = 16;
  for (MatrixBlockConfig* b : {&m.chip_.qkv_, &m.chip_.o_proj_, &m.chip_.ffn_gate_up_,
                               &m.chip_.ffn_down_}) {
    b->input_lanes_ = 16;
    b->output_lanes_ = 4;
    b->output_mux_ = 1;
    b->adder_levels_per_register_ = 0;
    b->accumulate_stages_ = 1;
    b->requant_stages_ = 2;
  }
  // The vector units of the RTL (rtl/activation.sv: 16 lanes, 4 output registers).
  m.chip_.activation_.elements_per_cycle_ = 16;
  m.chip_.activation_.pipeline_depth_cycles_ = 4;
  m.chip_.norm_.elements_per_cycle_ = 16;
  m.chip_.norm_.pipeline_depth_cycles_ = 4;
  m.chip_.rope_.elements_per_cycle_ = 16;
  m.chip_.rope_.pipeline_depth_cycles_ = 4;
  return m;
}

struct Scenario {
  std::string block;
  int64_t vectors = 4;
  int64_t gap = 0;         // idle cycles between vectors at the producer
  int ready_every = 1;     // consumer reads in cycles where cycle % ready_every == 0
};

// One SystemC run: the SystemC block and the RTL block side by side.
nlohmann::json compare(const Scenario& s) {
  const ChipMapping m = rtl_mapping();
  const sim::ClockBase clock(1e9);
  const int64_t d = 64, q = 64, kv = 64, f = 172;
  int64_t inputs = d, outputs = 0;
  const MatrixBlockConfig* mb = nullptr;
  if (s.block == "qkv") outputs = q + 2 * kv, mb = &m.chip_.qkv_;
  if (s.block == "o_proj") inputs = q, outputs = d, mb = &m.chip_.o_proj_;
  if (s.block == "ffn_gate_up") outputs = 2 * f, mb = &m.chip_.ffn_gate_up_;
  if (s.block == "ffn_down") inputs = f, outputs = d, mb = &m.chip_.ffn_down_;
  if (s.block == "activation") inputs = 2 * f, outputs = f;
  const bool norm = s.block == "attn_norm" || s.block == "ffn_norm";
  if (norm) outputs = d;
  const bool rope = s.block == "rope";
  if (rope) inputs = outputs = q + 2 * kv;
  std::vector<sim::Token> tokens(size_t(s.vectors));
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i].seq_ = int64_t(i);
  auto ready = [e = s.ready_every](Cycle c) { return c % e == 0; };

  ChunkChannel sc_in("sc_in", 2), sc_out("sc_out", 2), rtl_in("rtl_in", 2), rtl_out("rtl_out", 2);
  auto gap = [g = s.gap](size_t) { return g; };
  rtltest::ChunkProducer sc_prod("sc_prod", clock, sc_in, tokens, inputs, 16, gap);
  rtltest::ChunkProducer rtl_prod("rtl_prod", clock, rtl_in, tokens, inputs, 16, gap);
  const sim::CycleBlockSpec spec =
      mb     ? sim::matrix_block_spec(s.block, 0, inputs, outputs, *mb)
      : norm ? sim::norm_block_spec(s.block, 0, d, m.chip_.norm_, 16)
      : rope ? sim::rope_block_spec(0, q, kv, m.chip_.rope_, 16)
             : sim::activation_block_spec(0, f, m.chip_.activation_, 16);
  std::unique_ptr<sim::CycleProcess> sc_block =
      sim::make_cycle_block("sc_block", clock, 16, spec, nullptr, false, nullptr);
  sc_block->in_(sc_in);
  sc_block->out_(sc_out);
  sim::RtlBlockRequest r;
  r.mapping_ = &m;
  r.clock_ = &clock;
  r.block_ = s.block;
  r.instance_ = "rtl_block";
  r.layer_ = 0;
  r.chunk_elements_ = 16;
  std::unique_ptr<sim::CycleProcess> rtl_block = rtl::make_rtl_block(r);
  rtl_block->in_(rtl_in);
  rtl_block->out_(rtl_out);
  rtltest::ChunkConsumer sc_cons("sc_cons", clock, sc_out, ready);
  rtltest::ChunkConsumer rtl_cons("rtl_cons", clock, rtl_out, ready);
  sc_core::sc_start(clock.time_of(4000));
  return {{"sc_in", sc_prod.writes_}, {"rtl_in", rtl_prod.writes_},
          {"sc_out", sc_cons.reads_}, {"rtl_out", rtl_cons.reads_},
          {"sc_elements", sc_cons.elements_}, {"rtl_elements", rtl_cons.elements_},
          {"chunks_in", (inputs + 15) / 16}, {"chunks_out", (outputs + 15) / 16}};
}

void expect_same_timing(const Scenario& s) {
  const nlohmann::json j = sim::json_from_child([&] { return compare(s); });
  ASSERT_FALSE(j.contains("error")) << j.dump();
  const auto sc_in = j["sc_in"].get<std::vector<Cycle>>();
  const auto rtl_in = j["rtl_in"].get<std::vector<Cycle>>();
  const auto sc_out = j["sc_out"].get<std::vector<Cycle>>();
  const auto rtl_out = j["rtl_out"].get<std::vector<Cycle>>();
  const int64_t nin = j["chunks_in"], nout = j["chunks_out"];
  ASSERT_EQ(int64_t(sc_in.size()), nin * s.vectors);
  ASSERT_EQ(int64_t(sc_out.size()), nout * s.vectors) << "SystemC block did not finish";
  EXPECT_EQ(rtl_in, sc_in) << "input chunks accepted at different cycles";
  EXPECT_EQ(rtl_out, sc_out) << "output chunks at different cycles";
  EXPECT_EQ(j["rtl_elements"], j["sc_elements"]);
  // Latency: last input chunk written -> last output chunk read (channel to channel).
  const Cycle lat = sc_out[size_t(nout - 1)] - sc_in[size_t(nin - 1)];
  std::printf("%s: latency %lld cycles channel to channel (both sides)\n", s.block.c_str(),
              static_cast<long long>(lat));
}

#define NEED_FRESH_KERNEL()                                                                   \
  if (sc_core::sc_get_status() != sc_core::SC_ELABORATION)                                    \
  GTEST_SKIP() << "the SystemC kernel of this process already ran; run each test alone (ctest)"

// Vectors spaced beyond the block's interval (the previous vector's outputs have left when the
// next one's last chunk arrives), consumer always ready: latency and interval equal, every
// chunk at the same cycle.
TEST(RtlTiming, MatrixBlocksEqualSystemC) {
  NEED_FRESH_KERNEL();
  for (const char* b : {"qkv", "o_proj", "ffn_gate_up", "ffn_down"}) {
    SCOPED_TRACE(b);
    expect_same_timing({b, 4, 100, 1});
  }
}

// Vectors back to back (the producer always has the next chunk): the blocks are output-bound,
// the next vector's last chunk waits for the hold registers and the producer for the block.
TEST(RtlTiming, MatrixBlocksEqualSystemCBackToBack) {
  NEED_FRESH_KERNEL();
  for (const char* b : {"qkv", "o_proj", "ffn_gate_up", "ffn_down"}) {
    SCOPED_TRACE(b);
    expect_same_timing({b, 4, 0, 1});
  }
}

// Back to back and the consumer ready one cycle in three.
TEST(RtlTiming, MatrixBlocksEqualSystemCBackToBackUnderBackPressure) {
  NEED_FRESH_KERNEL();
  for (const char* b : {"qkv", "o_proj", "ffn_gate_up", "ffn_down"}) {
    SCOPED_TRACE(b);
    expect_same_timing({b, 4, 0, 3});
  }
}

// The same under back-pressure: the consumer takes a chunk one cycle in three, so the output
// chunks wait in the channel and the blocks' output stages stall.
TEST(RtlTiming, MatrixBlocksEqualSystemCUnderBackPressure) {
  NEED_FRESH_KERNEL();
  for (const char* b : {"qkv", "o_proj", "ffn_gate_up", "ffn_down"}) {
    SCOPED_TRACE(b);
    expect_same_timing({b, 3, 300, 3});
  }
}

// The RMSNorms (rtl/rms_norm.sv: 64 values, 4 chunks in and out) against the cycle-level norm
// (two passes, output registers and buffer), both norms of layer 0.
TEST(RtlTiming, NormsEqualSystemC) {
  NEED_FRESH_KERNEL();
  for (const char* b : {"attn_norm", "ffn_norm"}) {
    SCOPED_TRACE(b);
    expect_same_timing({b, 4, 100, 1});
  }
}

TEST(RtlTiming, NormsEqualSystemCBackToBack) {
  NEED_FRESH_KERNEL();
  for (const char* b : {"attn_norm", "ffn_norm"}) {
    SCOPED_TRACE(b);
    expect_same_timing({b, 4, 0, 1});
  }
}

TEST(RtlTiming, NormsEqualSystemCBackToBackUnderBackPressure) {
  NEED_FRESH_KERNEL();
  for (const char* b : {"attn_norm", "ffn_norm"}) {
    SCOPED_TRACE(b);
    expect_same_timing({b, 4, 0, 3});
  }
}

// The rope unit (rtl/rope_unit.sv: q, k and v, 192 values in and out as 12 chunks; the last
// step takes v whole) against the cycle-level rope block.
TEST(RtlTiming, RopeEqualsSystemC) {
  NEED_FRESH_KERNEL();
  expect_same_timing({"rope", 4, 100, 1});
}

TEST(RtlTiming, RopeEqualsSystemCBackToBack) {
  NEED_FRESH_KERNEL();
  expect_same_timing({"rope", 4, 0, 1});
}

TEST(RtlTiming, RopeEqualsSystemCBackToBackUnderBackPressure) {
  NEED_FRESH_KERNEL();
  expect_same_timing({"rope", 4, 0, 3});
}

// The SwiGLU activation (rtl/activation.sv, 344 values in as 22 chunks, 172 out as 11, the
// last partial) against the cycle-level activation block (two passes, output registers and
// buffer): spaced vectors, back to back, and both under back-pressure.
TEST(RtlTiming, ActivationEqualsSystemC) {
  NEED_FRESH_KERNEL();
  expect_same_timing({"activation", 4, 100, 1});
}

TEST(RtlTiming, ActivationEqualsSystemCBackToBack) {
  NEED_FRESH_KERNEL();
  expect_same_timing({"activation", 4, 0, 1});
}

TEST(RtlTiming, ActivationEqualsSystemCBackToBackUnderBackPressure) {
  NEED_FRESH_KERNEL();
  expect_same_timing({"activation", 4, 0, 3});
}

TEST(RtlTiming, ActivationEqualsSystemCUnderBackPressure) {
  NEED_FRESH_KERNEL();
  expect_same_timing({"activation", 3, 300, 3});
}


}  // namespace
}  // namespace hw
