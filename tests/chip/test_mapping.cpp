// Tests of the mapping formulas against values computed by hand for the tiny model and chip of
// chip_test_util.h, the fit failures and their messages, capacity arithmetic, and the hc1-like
// calibration point (Llama 3.1 8B at 1k/1k lands in the publicly observed 14k-20k tokens/s).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "chip/mapping.h"
#include "chip_test_util.h"

namespace hw {
namespace {

using ::testing::HasSubstr;
using test::error_of;
using test::tiny_chip;
using test::tiny_model;

// Tiny model: d 64, q 64, kv 32, f 128, V 256, H 4, 2 layers. 8-bit KV: R = 32 B, 8-byte words,
// so Wp = 2 * ceil(32/8) = 8 words per position; 3 single-ported banks: Pr = 1.
ChipMapping tiny_mapping(const std::vector<std::string>& overrides = {}) {
  return map_model(tiny_model(), tiny_chip(overrides), 4.0, 8);
}

TEST(Mapping, StaticBlocksByHand) {
  const ChipMapping m = tiny_mapping();
  EXPECT_EQ(m.kv_row_bytes_, 32);
  EXPECT_EQ(m.kv_words_per_position_, 8);
  EXPECT_EQ(m.kv_read_ports_, 1);
  EXPECT_EQ(m.kv_bytes_per_token_, 2 * 2 * 32);
  // S / T per block. T is the block's share of a token's latency on an idle chip (chip/mapping.h
  // "Streaming rule"): every vector here is one 256-element chunk, so a block reads it the cycle
  // after its feeder wrote it (+1), works through its steps, and writes its output after its
  // registers; an output of w elements at Lo per cycle takes ceil(w/Lo) cycles to leave.
  auto check = [](const BlockTiming& b, int64_t s, int64_t t) {
    SCOPED_TRACE(b.name_);
    EXPECT_EQ(b.service_cycles_, s);
    EXPECT_EQ(b.latency_cycles_, t);
  };
  check(m.embedding_, 3, 5);      // +1, lookup 3, the host's read of the token id +1
  check(m.attn_norm_, 8, 11);     // +1, 2 * ceil(64/16), depth 2
  check(m.qkv_, 8, 11);           // +1, fold ceil(64/8) = 8, tree 1 + requant 1, 1 out cycle
  EXPECT_EQ(m.chip_.qkv_.fold_cycles_, 8);  // derived into the mapping's copy
  EXPECT_EQ(m.chip_.lm_head_.fold_cycles_, 32);
  EXPECT_EQ(m.chip_.lm_head_.pipeline_depth_cycles_, 5);
  check(m.rope_, 12, 14);         // +1, ceil((64+32)/8), depth 1
  check(m.kv_write_, 3, 5);       // +1, ceil(8 words / 3 banks), write latency 1: readable
  check(m.o_proj_, 4, 6);         // +1, fold 4, tree 1
  check(m.ffn_norm_, 8, 11);
  check(m.ffn_gate_up_, 16, 20);  // +1, fold 16, tree 1 + accumulate 1, 256 at 128 per cycle: 2
  check(m.activation_, 12, 14);   // +1, ceil(256/32) taking gate and up + ceil(128/32), depth 1
  check(m.ffn_down_, 8, 11);      // +1, fold 8, tree 1 + accumulate 1
  check(m.final_norm_, 8, 11);
  check(m.lm_head_, 32, 37);      // +1, fold 32, registers 3, 256 at 128 per cycle: 2
  check(m.sampler_, 4, 7);        // +1, ceil(256/64), depth 2
  check(m.link_forward_, 0, 0);
  EXPECT_EQ(m.kv_bank_of_word(7), 1);
  EXPECT_EQ(m.kv_bank_of_word(9), 0);
}

TEST(Mapping, AttentionCyclesByHand) {
  const ChipMapping m = tiny_mapping();
  // L = 10: sweep ceil(80/3) = 27, MACs ceil(10*128/256) = 5, softmax ceil(40/4) = 10.
  BlockTiming a = m.attention(10);
  EXPECT_EQ(a.service_cycles_, 27);
  // Latency share from kv_write's: q leaves kv_write a cycle after it took it (rope's chunk +1,
  // +1), attention takes it (+1), sweeps 27 cycles, the last words arrive read latency 2 later
  // and the output 1 + depth 5 after that: 27 + 10 from rope's output, of which kv_write's 5.
  EXPECT_EQ(a.latency_cycles_, 27 + 5);
  // Single-ported banks with a concurrent write: the write wave takes ceil(8/3) = 3 cycles of
  // the single ports.
  EXPECT_EQ(m.attention(10, 0, true).service_cycles_, 30);
  // The exp table's latency adds to the latency only.
  const ChipMapping exp2 = tiny_mapping({"chip.attention.exp_latency=2"});
  EXPECT_EQ(exp2.attention(10).service_cycles_, 27);
  EXPECT_EQ(exp2.attention(10).latency_cycles_, 27 + 5 + 2);
  // Prefix and private runs are swept separately: p = 5: ceil(40/3) + ceil(40/3) = 28.
  EXPECT_EQ(m.attention(10, 5).service_cycles_, 28);
  EXPECT_EQ(m.attention(10, 4).service_cycles_, 27);  // 11 + 16
  // With two ports one is a write port: no conflict, Pr = 1 still.
  const ChipMapping dual = tiny_mapping({"chip.attention.kv_sram.ports_per_bank=2"});
  EXPECT_EQ(dual.attention(10, 0, true).service_cycles_, 27);
  // Three ports: Pr = 2, sweep ceil(80/6) = 14 beats softmax 10.
  const ChipMapping tri = tiny_mapping({"chip.attention.kv_sram.ports_per_bank=3"});
  EXPECT_EQ(tri.attention(10).service_cycles_, 14);
  // Softmax-bound: 1 exp per cycle -> 40.
  const ChipMapping slow = tiny_mapping({"chip.attention.softmax_elements_per_cycle=1"});
  EXPECT_EQ(slow.attention(10).service_cycles_, 40);
  EXPECT_THAT(error_of([&] { m.attention(0); }), HasSubstr("at least 1"));
  EXPECT_THAT(error_of([&] { m.attention(5, 5); }), HasSubstr("must be below the context"));
}

TEST(Mapping, TokenLatencyAndStageByHand) {
  const ChipMapping m = tiny_mapping();
  // One layer at L = 10: 11 + 11 + 14 + 5 + 32 + 6 + 11 + 20 + 14 + 11 = 135.
  EXPECT_EQ(m.layer_latency_cycles(10), 135);
  EXPECT_EQ(m.layer_blocks(10).size(), 10u);
  // Embedding 5 + 2 layers + final norm 11 + lm_head 37 + sampler 7.
  EXPECT_EQ(m.token_latency_cycles(10), 5 + 2 * 135 + 11 + 37 + 7);
  EXPECT_DOUBLE_EQ(m.token_latency_s(10), 330 / 100e6);
  // Stage: lm_head (32) beats attention (27) at L = 10; attention wins at L = 20 (ceil(160/3)).
  EXPECT_EQ(m.bottleneck(10).name_, "lm_head");
  EXPECT_EQ(m.stage_service_cycles(10), 32);
  EXPECT_EQ(m.bottleneck(20).name_, "attention");
  EXPECT_EQ(m.stage_service_cycles(20), 54);
  EXPECT_DOUBLE_EQ(m.aggregate_tokens_per_s(1, 10), 1.0 / m.token_latency_s(10));
  // 51 users fit at L = 10 (512 positions): conflicts on the single-ported banks make
  // attention 27 + 3 = 30, still below lm_head's 32, the stage; more users wait for KV memory
  // and add nothing.
  EXPECT_DOUBLE_EQ(m.aggregate_tokens_per_s(51, 10), 100e6 / 32);
  EXPECT_DOUBLE_EQ(m.aggregate_tokens_per_s(1000, 10), 100e6 / 32);
  EXPECT_DOUBLE_EQ(m.aggregate_tokens_per_s(2, 10), 2.0 / m.token_latency_s(10, 0, true));
  EXPECT_DOUBLE_EQ(m.aggregate_tokens_per_s(1, 600), 0.0);
}

TEST(Mapping, PrefillByHand) {
  const ChipMapping m = tiny_mapping();
  // Prefill stage with write conflicts: attention(L, conflict) = sweep + 3:
  // L=1: 3+3 = 6, L=2: 6+3 = 9, L=3: 8+3 = 11, L=7: 19+3 = 22; ffn_gate_up is 16; lm_head is
  // excluded.
  EXPECT_EQ(m.prefill_stage_cycles(1), 16);
  EXPECT_EQ(m.prefill_stage_cycles(3), 16);
  EXPECT_EQ(m.prefill_stage_cycles(7), 22);
  // Last token at L = 4: attention S = ceil(32/3) = 11, T = 16; layer = 119; token = 298.
  EXPECT_EQ(m.token_latency_cycles(4), 298);
  EXPECT_EQ(m.prefill_cycles(4), 16 + 16 + 16 + 298);
  EXPECT_EQ(m.prefill_cycles(1), m.token_latency_cycles(1));
  // Shared prefix of 2: only positions 2 and 3 are computed: stage(3, p=2) + latency(4, p=2).
  // stage(3, p=2): sweep ceil(16/3) + ceil(8/3) = 6 + 3 = 9, +3 conflict = 12 < 16.
  EXPECT_EQ(m.prefill_stage_cycles(3, 2), 16);
  EXPECT_EQ(m.prefill_cycles(4, 2), 16 + m.token_latency_cycles(4, 2));
  EXPECT_DOUBLE_EQ(m.time_to_first_token_s(4), 2e-6 + 346 / 100e6);
  EXPECT_THAT(error_of([&] { m.prefill_cycles(4, 4); }), HasSubstr("shared prefix"));
}

TEST(Mapping, LinksBetweenDies) {
  // d-vector 64 x 16 bit = 128 B at 1.28 GB/s and 100 MHz: 10 cycles + 50 ns = 5 cycles. At the
  // cycle level the link moves whole elements: floor(12.8 B / 2 B) = 6 per cycle, so its share
  // is +1, ceil(64/6) = 11, +5; the token id's return +1, 1, +5.
  const ChipMapping m =
      tiny_mapping({"chip.dies=2", "chip.link.bandwidth=1.28 GB/s", "chip.link.latency=50 ns"});
  ASSERT_EQ(m.dies_used_, 2);
  EXPECT_EQ(m.dies_[0].layers_, 1);
  EXPECT_EQ(m.dies_[1].first_layer_, 1);
  EXPECT_TRUE(m.dies_[0].has_embedding_);
  EXPECT_TRUE(m.dies_[1].has_lm_head_);
  EXPECT_EQ(m.link_forward_.service_cycles_, 10);
  EXPECT_EQ(m.link_forward_.latency_cycles_, 17);
  EXPECT_EQ(m.link_return_.service_cycles_, 1);  // 4 B -> 0.3125 cycles
  EXPECT_EQ(m.link_return_.latency_cycles_, 7);
  EXPECT_EQ(m.token_latency_cycles(10), 330 + 17 + 7);
  // Each die now holds one layer: twice the KV positions per engine.
  EXPECT_EQ(m.kv_positions_, 1024);
}

// The token level evaluates stream_step through precomputed plans (make_stream_plan); the plain
// stream_step is their reference: same times for every block of several chips over a spread of
// input timings (chunks arriving ahead of the block, late, spread out; busy blocks, held outputs,
// attention at short and long contexts, dropped tokens).
TEST(Mapping, StreamPlansMatchTheReference) {
  const std::vector<std::vector<std::string>> chips = {
      {},
      {"chip.buffers.chunk_elements=16"},
      {"chip.buffers.chunk_elements=8", "chip.qkv.input_lanes=24",
       "chip.norm.elements_per_cycle=32"},
      {"chip.buffers.chunk_elements=64", "chip.qkv.output_lanes=16", "chip.qkv.output_mux=3"},
      {"chip.attention.kv_memory=dram", "chip.attention.kv_dram.capacity=1 MiB",
       "chip.attention.kv_dram.bandwidth=800 MB/s", "chip.attention.kv_dram.latency=100 ns"},
      {"chip.dies=2", "chip.link.bandwidth=1.28 GB/s", "chip.link.latency=50 ns"}};
  uint64_t seed = 12345;
  auto next = [&](int64_t n) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int64_t>((seed >> 33) % static_cast<uint64_t>(n));
  };
  int64_t compared = 0;
  for (const auto& overrides : chips) {
    const ChipMapping m = tiny_mapping(overrides);
    for (const StreamBlock* b :
         {&m.embedding_.stream_, &m.attn_norm_.stream_, &m.qkv_.stream_, &m.rope_.stream_,
          &m.kv_write_.stream_, &m.attention_stream_, &m.o_proj_.stream_, &m.ffn_gate_up_.stream_,
          &m.activation_.stream_, &m.ffn_down_.stream_, &m.final_norm_.stream_,
          &m.lm_head_.stream_, &m.sampler_.stream_, &m.link_forward_.stream_,
          &m.link_return_.stream_}) {
      const StreamPlan plan = make_stream_plan(*b, m.chip_.channel_depth_chunks_);
      for (int i = 0; i < 200; ++i) {
        StreamInput in;
        in.first_in_ = 100 + next(50);
        in.last_in_ = in.first_in_ + next(4) * next(40);
        in.free_ = 90 + next(120);
        in.out_clear_ = next(3) == 0 ? 0 : 100 + next(200);
        in.context_ = 1 + next(300);
        in.sweep_cycles_ = 1 + next(200);
        in.kv_ready_ = 100 + next(100);
        in.drop_ = next(10) == 0;
        const StreamTimes want = stream_step(*b, in);
        const StreamTimes got = stream_step(plan, in);
        SCOPED_TRACE("kind " + std::to_string(static_cast<int>(b->kind_)) + " input " +
                     std::to_string(i));
        EXPECT_EQ(got.start_, want.start_);
        EXPECT_EQ(got.done_, want.done_);
        EXPECT_EQ(got.first_, want.first_);
        EXPECT_EQ(got.last_, want.last_);
        EXPECT_EQ(got.free_, want.free_);
        EXPECT_EQ(got.kv_ready_, want.kv_ready_);
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 10000);
}

TEST(Mapping, CapacityArithmetic) {
  const ChipMapping m = tiny_mapping();
  // 64 KiB / 2 layers = 32 KiB per engine = 4096 words / 8 per position = 512 positions.
  EXPECT_EQ(m.kv_positions_, 512);
  EXPECT_EQ(m.max_context_tokens(1), 512);
  EXPECT_EQ(m.max_context_tokens(3), 170);
  EXPECT_EQ(m.max_context_tokens(3, 100), 100 + 412 / 3);
  EXPECT_EQ(m.max_context_tokens(600), 0);
  EXPECT_EQ(m.max_users(100), 5);
  EXPECT_EQ(m.max_users(100, 50), 462 / 50);
  EXPECT_EQ(m.max_users(2000), 0);  // beyond the model's 1024 positions
  // The model's trained length caps the context.
  const ChipMapping big = tiny_mapping({"chip.attention.kv_sram.capacity=1 MiB"});
  EXPECT_EQ(big.max_context_tokens(1), 1024);
  EXPECT_THAT(error_of([&] { m.max_users(10, 10); }), HasSubstr("must exceed the shared prefix"));
}

TEST(Mapping, ActivityCountsByHand) {
  const ChipMapping m = tiny_mapping();
  const ActivityCounts a = m.decode_activity(10);
  EXPECT_DOUBLE_EQ(a.qkv_macs_, 2 * 64 * (64 + 64));
  EXPECT_DOUBLE_EQ(a.o_proj_macs_, 2 * 64 * 64);
  EXPECT_DOUBLE_EQ(a.ffn_macs_, 2 * 3 * 128 * 64);
  EXPECT_DOUBLE_EQ(a.lm_head_macs_, 256 * 64);
  EXPECT_DOUBLE_EQ(a.weight_macs_, 16384 + 8192 + 49152 + 16384);
  EXPECT_DOUBLE_EQ(a.rom_bits_read_, (90112 + 64) * 4.0);
  EXPECT_DOUBLE_EQ(a.attention_macs_, 2 * 10 * 128);
  EXPECT_DOUBLE_EQ(a.softmax_exps_, 2 * 10 * 4);
  EXPECT_DOUBLE_EQ(a.kv_sram_read_bits_, 2 * 10 * 8 * 64);
  EXPECT_DOUBLE_EQ(a.kv_sram_write_bits_, 2 * 8 * 64);
  EXPECT_DOUBLE_EQ(a.kv_dram_read_bits_, 0);
  EXPECT_DOUBLE_EQ(a.link_bits_, 0);
  EXPECT_DOUBLE_EQ(a.sampler_elements_, 256);
  // Prefill of 3: positions 1, 2, 3 with lm_head only on the last.
  const ActivityCounts p = m.prefill_activity(3);
  EXPECT_DOUBLE_EQ(p.tokens_, 3);
  EXPECT_DOUBLE_EQ(p.lm_head_macs_, 256 * 64);
  EXPECT_DOUBLE_EQ(p.attention_macs_, 2 * (1 + 2 + 3) * 128);
  EXPECT_DOUBLE_EQ(p.sampler_elements_, 256);
  EXPECT_DOUBLE_EQ(p.qkv_macs_, 3 * a.qkv_macs_);
}

TEST(Mapping, DramRuleByHand) {
  // 800 MB/s at 100 MHz = 8 B per cycle; 100 ns = 10 cycles. 2R = 64 B per position per layer.
  // One 16-bit channel at 400 MT/s: tCK = 5 ns, bursts of 4 x 2 B = 8 B every 2 tCK (10 ns =
  // one cycle: the peak 8 B per cycle); refresh off, so the sustained rate is the peak. A
  // stream's row opening tRP + tRCD + CL = 3 + 3 + 3 tCK = 45 ns -> ceil(4.5) = 5 cycles, plus
  // the posting cycle: La = 6.
  const ChipMapping m = tiny_mapping({"chip.attention.kv_memory=dram",
                                      "chip.attention.kv_dram.capacity=1 MiB",
                                      "chip.attention.kv_dram.bandwidth=800 MB/s",
                                      "chip.attention.kv_dram.channels=1",
                                      "chip.attention.kv_dram.bus_width=16 bit",
                                      "chip.attention.kv_dram.t_rcd=15 ns",
                                      "chip.attention.kv_dram.t_cl=15 ns",
                                      "chip.attention.kv_dram.t_rp=15 ns",
                                      "chip.attention.kv_dram.t_refi=0 s",
                                      "chip.attention.kv_dram.latency=100 ns"});
  EXPECT_DOUBLE_EQ(m.kv_dram_bytes_per_cycle_, 8.0);
  EXPECT_EQ(m.kv_dram_access_cycles_, 6);
  EXPECT_EQ(m.kv_write_.service_cycles_, 8);
  // Readable +1 (channel) +1 (posted) + 8 (64 B at 8 B per cycle) + La 6 + 10 (latency) after
  // rope.
  EXPECT_EQ(m.kv_write_.latency_cycles_, 26);
  EXPECT_EQ(m.attention(10).service_cycles_, 80);
  // From rope's output: the sweep's request once K and V are in the DRAM (26), its 80 cycles of
  // bytes, the last data La + Ld = 16 later, output 1 + depth 5 later: 128 - 1 (the last byte's
  // cycle is the 80th), less kv_write's 26.
  EXPECT_EQ(m.attention(10).latency_cycles_, 101);
  // Shared bandwidth: 2 layers x 11 positions x 64 B / 8 B per cycle = 176.
  EXPECT_EQ(m.bottleneck(10).name_, "kv_dram_bandwidth");
  EXPECT_EQ(m.stage_service_cycles(10), 176);
  // 1 MiB / 2 layers / 64 B = 8192 positions; capped by the model's 1024.
  EXPECT_EQ(m.kv_positions_, 8192);
  EXPECT_EQ(m.max_context_tokens(1), 1024);
  EXPECT_DOUBLE_EQ(m.decode_activity(10).kv_dram_read_bits_, 2 * 10 * 64 * 8);
}

TEST(Mapping, DramSustainedRateLosesTheRefreshShare) {
  // Defaults (HBM2-like timings) at 800 MB/s over 8 x 128-bit channels: tCK = 320 ns, so
  // tRFC 260 ns, tRP and tRCD 14 ns are one tCK each and tREFI 3.9 us is 13: refresh takes
  // 3/13 of every channel; 8 B/cycle x 10/13. La = 1 + ceil(3 tCK x 0.32 us x 100 MHz) = 97.
  const ChipMapping m = tiny_mapping({"chip.attention.kv_memory=dram",
                                      "chip.attention.kv_dram.capacity=1 MiB",
                                      "chip.attention.kv_dram.bandwidth=800 MB/s"});
  EXPECT_NEAR(m.kv_dram_bytes_per_cycle_, 8.0 * 10.0 / 13.0, 1e-9);
  EXPECT_EQ(m.kv_dram_access_cycles_, 97);
  EXPECT_EQ(m.kv_write_.service_cycles_, 11);  // ceil(64 / 6.15)
}

TEST(Mapping, RomFitFailureNamesTheNumbers) {
  const std::string msg = error_of([] {
    map_model(tiny_model(), tiny_chip({"chip.rom.capacity=300 kbit"}), 4.0, 8);
  });
  // 2 layers x 36992 x 4 + embedding 16384 x 4 + head (64 + 16384) x 4 = 427264 bits.
  EXPECT_THAT(msg, HasSubstr("tiny on tiny-chip: needs 427.3 kbit of weight ROM at 4.00 bits"));
  EXPECT_THAT(msg, HasSubstr("has 300.0 kbit per die and 1 die"));
  EXPECT_THAT(msg, HasSubstr("set chip.dies=2"));
  // Fits on two dies: 213504 and 213760 bits.
  const ChipMapping two = tiny_mapping(
      {"chip.rom.capacity=300 kbit", "chip.dies=2", "chip.link.bandwidth=1 GB/s"});
  EXPECT_DOUBLE_EQ(two.dies_[0].weight_bits_, 213504);
  EXPECT_DOUBLE_EQ(two.dies_[1].weight_bits_, 213760);
}

TEST(Mapping, SeventyBOnHc1LikeNeedsEightDies) {
  const ModelConfig m70 = load_model_config("llama-3.1-70b");
  const ChipConfig hc1 = load_chip_config("hc1-like", {});
  const std::string msg = error_of([&] { map_model(m70, hc1, 3.0, 8); });
  EXPECT_THAT(msg, HasSubstr("llama-3.1-70b on hc1-like: needs 211.7 Gbit of weight ROM at 3.00 "
                             "bits; hc1-like has 32.1 Gbit per die and 1 die"));
  EXPECT_THAT(msg, HasSubstr("set chip.dies=8"));
}

TEST(Mapping, KvAndLayerListFailures) {
  EXPECT_THAT(error_of([] { tiny_mapping({"chip.attention.kv_sram.capacity=100 B"}); }),
              HasSubstr("KV memory cannot hold one position of one user: 2 layers x 64 B"));
  EXPECT_THAT(error_of([] {
                tiny_mapping({"chip.layers_per_die=[1,2]", "chip.link.bandwidth=1 GB/s"});
              }),
              HasSubstr("[1, 2] maps 3 layers but tiny has 2"));
  EXPECT_THAT(error_of([] {
                tiny_mapping({"chip.dies=3", "chip.link.bandwidth=1 GB/s"});
              }),
              HasSubstr("3 dies for 2 layers"));
  EXPECT_THAT(error_of([] { map_model(tiny_model(), tiny_chip(), 0.0, 8); }),
              HasSubstr("weight bits"));
}

TEST(Mapping, Hc1LikeLandsAtThePublishedRate) {
  // The mean of a 3/6-bit mix (attn_v, attn_output, embeddings, lm_head at 6 bits) over
  // Llama 3.1 8B is 3.64 bits; timing does not depend on it, the ROM fit does.
  const ChipMapping m =
      map_model(load_model_config("llama-3.1-8b"), load_chip_config("hc1-like", {}), 3.64, 8);
  const double rate = m.decode_tokens_per_s(1024, 1024);
  EXPECT_GE(rate, 14000.0);  // observed 14.4k-15.8k sustained, bursts to 20k [3P]
  EXPECT_LE(rate, 20000.0);
  EXPECT_EQ(m.dies_used_, 1);
  EXPECT_TRUE(m.dies_[0].fits_rom());
  EXPECT_EQ(m.kv_bytes_per_token_, 65536);  // 64 KiB per token per user [D]
  EXPECT_EQ(m.max_context_tokens(1), 4096);
  EXPECT_EQ(m.max_context_tokens(64), 64);
  EXPECT_THAT(m.fit_report(), HasSubstr("llama-3.1-8b on hc1-like: 1 die"));
  EXPECT_EQ(m.to_json()["kv_bytes_per_token"], 65536);
}

// Under back-pressure a two-pass block's pass-2 steps wait for room in its output buffer; the
// token level starts its next token when its last step can go (sim/pipeline.h), not when its
// last chunk has left. Llama 3.2 1B on hc1-like, 512-element chunks.
TEST(Mapping, TwoPassLastStepWaitsForItsOutputBufferByHand) {
  const ChipMapping m =
      map_model(load_model_config("llama-3.2-1b"), load_chip_config("hc1-like", {}), 4.0, 8);
  // Activation: 32 steps of 256 of its f = 8192 outputs into a buffer of 1024; steps 31 and
  // 32 (7936 and 8192 outputs) wait for 7168 to have left (14 chunks), step 30 for 13.
  const FinalStepWait a = stream_final_step_wait(m.activation_.stream_);
  EXPECT_EQ(a.chunks_, 14);
  EXPECT_EQ(a.steps_, 1);
  // A norm over d = 2048, 8 steps of 256: steps 7 and 8 wait for 1024 (2 chunks).
  const FinalStepWait n = stream_final_step_wait(m.attn_norm_.stream_);
  EXPECT_EQ(n.chunks_, 2);
  EXPECT_EQ(n.steps_, 1);
  const FinalStepWait q = stream_final_step_wait(m.qkv_.stream_);
  EXPECT_EQ(q.chunks_, 0);
  EXPECT_EQ(q.steps_, 0);
}

TEST(Mapping, ContrastingDesignsMapTheirModels) {
  const ChipMapping dram =
      map_model(load_model_config("llama-3.1-8b"), load_chip_config("kv-in-dram", {}), 3.64, 8);
  EXPECT_EQ(dram.bottleneck(1536, 0, true).name_, "kv_dram_bandwidth");
  EXPECT_GT(dram.max_users(2048), 64);
  const ChipMapping multi = map_model(load_model_config("llama-3.1-70b"),
                                      load_chip_config("multi-die-70b", {}), 3.64, 8);
  EXPECT_EQ(multi.dies_used_, 10);
  for (const auto& d : multi.dies_) EXPECT_EQ(d.layers_, 8);
  EXPECT_GT(multi.link_forward_.latency_cycles_, 0);
}

}  // namespace
}  // namespace hw
