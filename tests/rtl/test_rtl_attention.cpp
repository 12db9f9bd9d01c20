// The RTL attention unit (rtl/attention_unit.sv through rtl/cosim_attention.h: KV write path,
// KV SRAM banks, attention engine) against the cycle-level SystemC processes it replaces
// (CycleKvWrite and CycleAttention on a KvBankEngine, sim/cycle_block.h) for the same
// configuration, and against the golden model's attention.
//
// Timing: both sit between identical producers (a token's q, k, v chunks after RoPE, one chunk
// per cycle when the channel has room, a chosen gap after each token) and consumers (ready every
// cycle or one cycle in three) in one SystemC run; every input chunk's write cycle and every
// output chunk's read cycle must be the same. Scenarios: decode tokens at contexts 1 .. the
// unit's maximum, consecutive prompt tokens back to back, several users interleaved,
// back-pressure; for tiny-mha on hc1-like's engine (the co-simulation chip) and for tiny-gqa-s's
// shape on a slow engine (8 banks, fractional MAC rate, read latency 3, write latency 2).
// Bits: the unit's outputs are checked against GoldenModel::attention over the golden KV cache
// by the adapter (a mismatch is an error) and here again element by element, for random q/k/v,
// zeros and int32 extremes.
//
// Each run is in a forked child (SystemC elaborates once per process).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemc>

#include "chip/mapping.h"
#include "rtl/cosim.h"
#include "rtl/cosim_attention.h"
#include "../sim/sim_test_util.h"
#include "chip/chip_config.h"
#include "model/golden_model.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"
#include "model/weights.h"
#include "chunk_consumer.h"
#include "chunk_producer.h"
#include "rtl_models.h"
#include "sim/characterize.h"
#include "sim/cycle_block.h"
#include "sim/functional.h"

namespace hw {
namespace {

using rtltest::cosim_chip;
using sim::Chunk;
using sim::ChunkChannel;
using sim::Cycle;

enum class Engine { kTinyMhaHc1, kGqaSlow };

// The model shape and attention engine of each Verilated unit (rtl/CMakeLists.txt).
ChipMapping unit_mapping(Engine e) {
  ChipMapping m;
  m.model_.arch_ = "llama";
  m.model_.n_layers_ = 2;
  m.model_.head_dim_ = 16;
  m.chip_.chunk_elements_ = 16;
  AttentionConfig& a = m.chip_.attention_;
  a.kv_memory_ = KvMemory::kSram;
  a.query_tile_ = 1;
  a.kv_sram_.ports_per_bank_ = 2;
  if (e == Engine::kTinyMhaHc1) {
    m.model_.name_ = "tiny-mha";
    m.model_.d_model_ = 64;
    m.model_.n_heads_ = 4;
    m.model_.n_kv_heads_ = 4;
    m.model_.max_positions_ = 128;
    a.macs_per_cycle_ = 32768;
    a.softmax_elements_per_cycle_ = 128;
    a.pipeline_depth_cycles_ = 16;
    a.exp_latency_cycles_ = 2;
    a.kv_sram_.banks_ = 128;
    a.kv_sram_.bank_width_bytes_ = 64;
    a.kv_sram_.read_latency_cycles_ = 2;
    a.kv_sram_.write_latency_cycles_ = 1;
  } else {
    m.model_.name_ = "tiny-gqa-s";
    m.model_.d_model_ = 128;
    m.model_.n_heads_ = 8;
    m.model_.n_kv_heads_ = 2;
    m.model_.max_positions_ = 32;
    a.macs_per_cycle_ = 640;
    a.softmax_elements_per_cycle_ = 24;
    a.pipeline_depth_cycles_ = 38;
    a.exp_latency_cycles_ = 2;
    a.kv_sram_.banks_ = 8;
    a.kv_sram_.bank_width_bytes_ = 32;
    a.kv_sram_.read_latency_cycles_ = 3;
    a.kv_sram_.write_latency_cycles_ = 2;
  }
  m.kv_row_bytes_ = m.model_.kv_dim();
  m.kv_words_per_position_ = 2 * ((m.kv_row_bytes_ + a.kv_sram_.bank_width_bytes_ - 1) /
                                  a.kv_sram_.bank_width_bytes_);
  return m;
}

// The per-layer KV geometry the cycle-level chip gives its engines (sim/cycle_chip.cpp).
sim::KvLayerGeometry geometry(const ChipMapping& m) {
  const AttentionConfig& a = m.chip_.attention_;
  sim::KvLayerGeometry g;
  g.q_ = m.model_.q_dim();
  g.kv_ = m.model_.kv_dim();
  g.macs_per_position_ = 2 * g.q_;
  g.exps_per_position_ = m.model_.n_heads_;
  g.macs_per_cycle_ = a.macs_per_cycle_;
  g.exps_per_cycle_ = a.softmax_elements_per_cycle_;
  g.out_depth_ = a.pipeline_depth_cycles_ + a.exp_latency_cycles_;
  g.query_tile_ = a.query_tile_;
  g.words_per_position_ = m.kv_words_per_position_;
  g.words_per_row_ = m.kv_words_per_position_ / 2;
  g.elements_per_word_ = (g.kv_ + g.words_per_row_ - 1) / g.words_per_row_;
  g.read_latency_ = a.kv_sram_.read_latency_cycles_;
  g.write_latency_ = a.kv_sram_.write_latency_cycles_;
  return g;
}

struct TokenSpec {
  int64_t user = 0;
  int64_t position = 0;
  int64_t gap = 0;      // idle cycles at the producer after this token's last chunk
  bool prompt = false;  // an inner prompt token (no output at the head)
};

struct Scenario {
  Engine engine = Engine::kTinyMhaHc1;
  std::vector<TokenSpec> tokens;
  int ready_every = 1;
  int64_t channel_depth = 2;
};

// Users' KV runs: user u from position u x max_positions (word address 2 x that).
sim::KvAddress address_of(const sim::Token& t, int64_t max_positions) {
  sim::KvAddress a;
  a.private_base_positions_ = t.user_ * max_positions;
  a.private_base_words_ = 2 * a.private_base_positions_;
  return a;
}

std::vector<sim::Token> make_tokens(const std::vector<TokenSpec>& specs) {
  std::vector<sim::Token> tokens(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    tokens[i].seq_ = int64_t(i);
    tokens[i].user_ = specs[i].user;
    tokens[i].position_ = specs[i].position;
    tokens[i].prompt_ = specs[i].prompt;
    tokens[i].produces_output_ = !specs[i].prompt;
  }
  return tokens;
}

// One SystemC run: the SystemC pair and the RTL unit side by side.
nlohmann::json compare(const Scenario& s) {
  const ChipMapping m = unit_mapping(s.engine);
  const sim::KvLayerGeometry g = geometry(m);
  const sim::ClockBase clock(1e9);
  const int64_t chunks = (g.q_ + 2 * g.kv_) / 16;
  std::vector<sim::Token> tokens = make_tokens(s.tokens);
  const int64_t maxp = m.model_.max_positions_;
  auto addr = [maxp](const sim::Token& t) { return address_of(t, maxp); };
  auto ready = [e = s.ready_every](Cycle c) { return c % e == 0; };
  const int d = int(s.channel_depth);
  ChunkChannel sc_in("sc_in", d), sc_q("sc_q", d), sc_out("sc_out", d);
  ChunkChannel rtl_in("rtl_in", d), rtl_q("rtl_q", d), rtl_out("rtl_out", d);
  auto gap = [&specs = s.tokens](size_t v) { return specs[v].gap; };
  rtltest::ChunkProducer sc_prod("sc_prod", clock, sc_in, tokens, chunks * 16, 16, gap);
  rtltest::ChunkProducer rtl_prod("rtl_prod", clock, rtl_in, tokens, chunks * 16, 16, gap);
  sim::KvBankEngine banks(m.chip_.attention_.kv_sram_.banks_,
                          m.chip_.attention_.kv_sram_.ports_per_bank_);
  sim::CycleKvWrite sc_kv("sc_kv", clock, 16, 0, g, &banks, nullptr, nullptr, false, addr);
  sim::CycleAttention sc_at("sc_at", clock, 16, 0, g, &banks, nullptr, nullptr, false, addr);
  sc_kv.in_(sc_in);
  sc_kv.out_(sc_q);
  sc_at.in_(sc_q);
  sc_at.out_(sc_out);
  rtl::RtlAttentionRequest r;
  r.mapping_ = &m;
  r.clock_ = &clock;
  r.layer_ = 0;
  r.chunk_elements_ = 16;
  r.kv_write_instance_ = "rtl_kv";
  r.attention_instance_ = "rtl_at";
  r.address_ = addr;
  rtl::RtlAttentionProcesses p = rtl::make_rtl_attention(r);
  p.kv_write_->in_(rtl_in);
  p.kv_write_->out_(rtl_q);
  p.attention_->in_(rtl_q);
  p.attention_->out_(rtl_out);
  rtltest::ChunkConsumer sc_cons("sc_cons", clock, sc_out, ready);
  rtltest::ChunkConsumer rtl_cons("rtl_cons", clock, rtl_out, ready);
  sc_core::sc_start(clock.time_of(int64_t(s.tokens.size()) * 400 + 2000));
  std::vector<int64_t> sc_seq, rtl_seq;
  for (const sim::Token* t : sc_cons.tokens_) sc_seq.push_back(t->seq_);
  for (const sim::Token* t : rtl_cons.tokens_) rtl_seq.push_back(t->seq_);
  return {{"sc_in", sc_prod.writes_}, {"rtl_in", rtl_prod.writes_},
          {"sc_out", sc_cons.reads_}, {"rtl_out", rtl_cons.reads_},
          {"sc_tokens", sc_seq}, {"rtl_tokens", rtl_seq},
          {"chunks_in", chunks}, {"chunks_out", g.q_ / 16},
          {"sc_busy", sc_at.stats().busy_cycles_}, {"rtl_busy", p.attention_->stats().busy_cycles_}};
}

void expect_same_timing(const Scenario& s) {
  const nlohmann::json j = sim::json_from_child([&] { return compare(s); });
  ASSERT_FALSE(j.contains("error")) << j.dump();
  const auto sc_in = j["sc_in"].get<std::vector<Cycle>>();
  const auto sc_out = j["sc_out"].get<std::vector<Cycle>>();
  const int64_t n = int64_t(s.tokens.size());
  ASSERT_EQ(int64_t(sc_in.size()), j["chunks_in"].get<int64_t>() * n);
  ASSERT_EQ(int64_t(sc_out.size()), j["chunks_out"].get<int64_t>() * n)
      << "SystemC pair did not finish";
  EXPECT_EQ(j["rtl_in"], j["sc_in"]) << "input chunks accepted at different cycles";
  EXPECT_EQ(j["rtl_out"], j["sc_out"]) << "output chunks at different cycles";
  EXPECT_EQ(j["rtl_tokens"], j["sc_tokens"]);
  EXPECT_EQ(j["rtl_busy"], j["sc_busy"]) << "sweep cycles differ";
  std::printf("%lld tokens: last output chunk at cycle %lld (both)\n", static_cast<long long>(n),
              static_cast<long long>(sc_out.back()));
}

#define NEED_FRESH_KERNEL()                                                                   \
  if (sc_core::sc_get_status() != sc_core::SC_ELABORATION)                                    \
  GTEST_SKIP() << "the SystemC kernel of this process already ran; run each test alone (ctest)"

// Decode tokens of one user, one at a time (the previous output has left), at contexts 1, a
// few, and up to the unit's maximum (the sweep's read, exp and output phases all vary with it).
std::vector<TokenSpec> decode_contexts(std::vector<int64_t> positions, int64_t gap) {
  std::vector<TokenSpec> t;
  for (int64_t p : positions) t.push_back({0, p, gap, false});
  return t;
}

TEST(RtlAttentionTiming, DecodeContextsEqualSystemC) {
  NEED_FRESH_KERNEL();
  expect_same_timing({Engine::kTinyMhaHc1,
                      decode_contexts({0, 1, 2, 3, 7, 31, 32, 33, 63, 64, 65, 100, 127}, 60)});
}

TEST(RtlAttentionTiming, DecodeContextsEqualSystemCSlowEngine) {
  NEED_FRESH_KERNEL();
  expect_same_timing({Engine::kGqaSlow, decode_contexts({0, 1, 2, 4, 5, 9, 16, 30, 31}, 80)});
}

// A prompt's tokens as fast as tiny-mha's qkv block (192 rows, 4 per cycle) can send them: one
// every 48 cycles. The next token's q waits while the engine's previous output is in its
// pipeline, and its K/V words are written meanwhile. (Faster than the engine for long, the
// tokens would fill the unit's q queue of 8 q vectors, where CycleKvWrite's has no bound: the
// adapter stops with an error there.)
constexpr int64_t kQkvGap = 48 - 12;
std::vector<TokenSpec> prompt(int64_t user, int64_t from, int64_t count) {
  std::vector<TokenSpec> t;
  for (int64_t p = from; p < from + count; ++p) {
    t.push_back({user, p, kQkvGap, p + 1 < from + count});
  }
  return t;
}

TEST(RtlAttentionTiming, ConsecutivePromptTokensEqualSystemC) {
  NEED_FRESH_KERNEL();
  expect_same_timing({Engine::kTinyMhaHc1, prompt(0, 0, 24)});
}

TEST(RtlAttentionTiming, ConsecutivePromptTokensEqualSystemCSlowEngine) {
  NEED_FRESH_KERNEL();
  expect_same_timing({Engine::kGqaSlow, prompt(0, 0, 20)});
}

// Several users interleaved (their KV runs at different addresses and banks), decode and prompt
// tokens mixed, at the qkv rate and spaced.
std::vector<TokenSpec> users_mix(int64_t max_position) {
  std::vector<TokenSpec> t;
  std::mt19937 rng(7);
  std::vector<int64_t> next = {0, 5, 11};
  for (int i = 0; i < 24; ++i) {
    const int64_t u = int64_t(rng() % 3);
    const int64_t p = std::min(next[size_t(u)], max_position);
    next[size_t(u)] = std::min(p + 1 + int64_t(rng() % 3), max_position);
    t.push_back({u, p, kQkvGap + int64_t(rng() % 4 == 0 ? 30 : 0), rng() % 2 == 0});
  }
  return t;
}

TEST(RtlAttentionTiming, SeveralUsersEqualSystemC) {
  NEED_FRESH_KERNEL();
  expect_same_timing({Engine::kTinyMhaHc1, users_mix(127)});
}

TEST(RtlAttentionTiming, SeveralUsersEqualSystemCSlowEngine) {
  NEED_FRESH_KERNEL();
  expect_same_timing({Engine::kGqaSlow, users_mix(31)});
}

// Back-pressure: the consumer takes a chunk one cycle in three, so outputs wait, the next sweep
// waits for them, the q channel and input registers fill and the KV write path's q buffer
// (two q vectors) stops it. (A user's positions only grow: the prompt is user 3's.)
TEST(RtlAttentionTiming, BackPressureEqualsSystemC) {
  NEED_FRESH_KERNEL();
  Scenario s{Engine::kTinyMhaHc1, prompt(3, 40, 16), 3};
  for (const TokenSpec& t : users_mix(127)) s.tokens.push_back(t);
  expect_same_timing(s);
}

TEST(RtlAttentionTiming, BackPressureEqualsSystemCSlowEngine) {
  NEED_FRESH_KERNEL();
  Scenario s{Engine::kGqaSlow, prompt(3, 10, 12), 3};
  for (const TokenSpec& t : users_mix(31)) s.tokens.push_back(t);
  expect_same_timing(s);
}

// ---- bits: the unit's outputs against the golden attention

// An oracle model quantized at w4a8, loaded once per process; nullptr when the file is missing.
const QuantizedModel* oracle_w4a8(const std::string& name) {
  static std::map<std::string, std::unique_ptr<QuantizedModel>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second.get();
  const std::string path = rtltest::oracle_path(name + ".gguf");
  if (!std::filesystem::exists(path)) return nullptr;
  auto qm = std::make_unique<QuantizedModel>(
      quantize_model(load_weights(path), load_numerics_profile("w4a8")));
  return (cache[name] = std::move(qm)).get();
}

enum class Data { kRandom, kZeros, kExtremes };

// The RTL unit alone in functional mode: each token's q, k, v set, the golden KV cache of its
// user written by the adapter (kv_write) and its attention checked there; here every output
// element is compared again with a golden attention computed from a second cache.
nlohmann::json run_bits(Engine e, const QuantizedModel& qm, const std::vector<TokenSpec>& specs,
                        Data data) {
  const ChipMapping m = unit_mapping(e);
  const sim::ClockBase clock(1e9);
  const int64_t q = m.model_.q_dim(), kv = m.model_.kv_dim();
  std::vector<sim::Token> tokens = make_tokens(specs);
  sim::FunctionalData fd(qm, {{1}}, m.model_.max_positions_);
  const GoldenModel& g = fd.golden();
  std::vector<TokenState> states;
  states.reserve(specs.size());
  std::mt19937 rng(11);
  auto value = [&](int64_t i) -> int32_t {
    switch (data) {
      case Data::kZeros:
        return 0;
      case Data::kExtremes:
        return (i % 3 == 0) ? INT32_MAX : (i % 3 == 1) ? INT32_MIN + 1 : int32_t(rng() % 5) - 2;
      default:
        // Q.16 values of a few units, an occasional large one
        return rng() % 17 == 0 ? int32_t(rng()) : int32_t(rng() % 400000) - 200000;
    }
  };
  for (size_t i = 0; i < specs.size(); ++i) {
    states.push_back(g.make_state());
    TokenState& s = states.back();
    s.position_ = specs[i].position;
    for (int64_t j = 0; j < q; ++j) s.q_[size_t(j)] = value(j);
    for (int64_t j = 0; j < kv; ++j) s.k_[size_t(j)] = value(j + 1);
    for (int64_t j = 0; j < kv; ++j) s.v_[size_t(j)] = value(j + 2);
    tokens[i].state_ = &s;
    tokens[i].cache_ = fd.cache(specs[i].user);
  }
  const int64_t maxp = m.model_.max_positions_;
  auto addr = [maxp](const sim::Token& t) { return address_of(t, maxp); };
  ChunkChannel in("in", 2), qch("q", 2), out("out", 2);
  rtltest::ChunkProducer prod("prod", clock, in, tokens, q + 2 * kv, 16,
                             [&specs](size_t v) { return specs[v].gap; });
  rtl::RtlAttentionRequest r;
  r.mapping_ = &m;
  r.clock_ = &clock;
  r.functional_ = &fd;
  r.layer_ = 0;
  r.chunk_elements_ = 16;
  r.address_ = addr;
  rtl::RtlAttentionProcesses p = rtl::make_rtl_attention(r);
  p.kv_write_->in_(in);
  p.kv_write_->out_(qch);
  p.attention_->in_(qch);
  p.attention_->out_(out);
  rtltest::ChunkConsumer cons("cons", clock, out, [](Cycle) { return true; });
  sc_core::sc_start(clock.time_of(int64_t(specs.size()) * 400 + 2000));
  // A second golden pass, token by token in order, over fresh caches.
  std::map<int64_t, KvCache> caches;
  int64_t compared = 0, mismatched = 0, nonzero = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    auto it = caches.find(specs[i].user);
    if (it == caches.end()) it = caches.emplace(specs[i].user, g.make_cache()).first;
    TokenState s = states[i];
    g.kv_write(0, s, it->second);
    g.attention(0, s, it->second);
    for (int64_t j = 0; j < q; ++j) {
      ++compared;
      if (s.attn_[size_t(j)] != states[i].attn_[size_t(j)]) ++mismatched;
      if (s.attn_[size_t(j)] != 0) ++nonzero;
    }
  }
  return {{"outputs", int64_t(cons.reads_.size())}, {"expected", int64_t(specs.size()) * q / 16},
          {"compared", compared}, {"mismatched", mismatched}, {"nonzero", nonzero}};
}

void expect_bits(Engine e, const std::string& model, const std::vector<TokenSpec>& specs,
                 Data data, bool expect_nonzero) {
  const QuantizedModel* qm = oracle_w4a8(model);
  if (!qm) {
    GTEST_SKIP() << "oracle model " << model << " missing";
  }
  const nlohmann::json j = sim::json_from_child([&] { return run_bits(e, *qm, specs, data); });
  ASSERT_FALSE(j.contains("error")) << j.dump();
  EXPECT_EQ(j["outputs"], j["expected"]);
  EXPECT_GT(j["compared"].get<int64_t>(), 0);
  EXPECT_EQ(j["mismatched"].get<int64_t>(), 0);
  if (expect_nonzero) {
    EXPECT_GT(j["nonzero"].get<int64_t>(), 0);
  }
}

// Users' tokens in position order from 0 (each position's K and V written before it is read).
std::vector<TokenSpec> filled(int64_t users, int64_t positions) {
  std::vector<TokenSpec> t;
  for (int64_t p = 0; p < positions; ++p) {
    for (int64_t u = 0; u < users; ++u) t.push_back({u, p, kQkvGap + (p % 5 == 0 ? 20 : 0), false});
  }
  return t;
}

TEST(RtlAttentionBits, RandomEqualsGoldenAttention) {
  NEED_FRESH_KERNEL();
  expect_bits(Engine::kTinyMhaHc1, "tiny-mha", filled(2, 40), Data::kRandom, true);
}

TEST(RtlAttentionBits, LongContextEqualsGoldenAttention) {
  NEED_FRESH_KERNEL();
  expect_bits(Engine::kTinyMhaHc1, "tiny-mha", filled(1, 128), Data::kRandom, true);
}

TEST(RtlAttentionBits, ZerosAndExtremesEqualGoldenAttention) {
  NEED_FRESH_KERNEL();
  expect_bits(Engine::kTinyMhaHc1, "tiny-mha", filled(1, 12), Data::kZeros, false);
}

TEST(RtlAttentionBits, ExtremesEqualGoldenAttention) {
  NEED_FRESH_KERNEL();
  expect_bits(Engine::kTinyMhaHc1, "tiny-mha", filled(1, 20), Data::kExtremes, true);
}

TEST(RtlAttentionBits, GqaEqualsGoldenAttention) {
  NEED_FRESH_KERNEL();
  expect_bits(Engine::kGqaSlow, "tiny-gqa-s", filled(2, 32), Data::kRandom, true);
}

// A configuration no Verilated unit has is an error naming the key.
TEST(RtlAttentionTiming, UnbuiltConfigurationIsAnErrorNamingTheKey) {
  NEED_FRESH_KERNEL();
  const nlohmann::json j = sim::json_from_child([] {
    ChipMapping m = unit_mapping(Engine::kTinyMhaHc1);
    m.chip_.attention_.macs_per_cycle_ = 4096;
    const sim::ClockBase clock(1e9);
    rtl::RtlAttentionRequest r;
    r.mapping_ = &m;
    r.clock_ = &clock;
    r.chunk_elements_ = 16;
    r.address_ = [](const sim::Token& t) { return address_of(t, 128); };
    rtl::make_rtl_attention(r);
    return nlohmann::json{{"built", true}};
  });
  ASSERT_TRUE(j.contains("error")) << j.dump();
  EXPECT_NE(j["error"].get<std::string>().find("chip.attention.macs_per_cycle is 4096"),
            std::string::npos)
      << j["error"];
}

// The key named is the one that differs from a unit built for the model's shape: the slow
// engine's 8 heads / 2 kv heads, not tiny-mha's unit (whose heads differ first).
TEST(RtlAttentionTiming, UnbuiltConfigurationOfAnotherShapeNamesItsUnitsKey) {
  NEED_FRESH_KERNEL();
  const nlohmann::json j = sim::json_from_child([] {
    ChipMapping m = unit_mapping(Engine::kGqaSlow);
    m.chip_.attention_.macs_per_cycle_ = 4096;
    const sim::ClockBase clock(1e9);
    rtl::RtlAttentionRequest r;
    r.mapping_ = &m;
    r.clock_ = &clock;
    r.chunk_elements_ = 16;
    r.address_ = [](const sim::Token& t) { return address_of(t, 128); };
    rtl::make_rtl_attention(r);
    return nlohmann::json{{"built", true}};
  });
  ASSERT_TRUE(j.contains("error")) << j.dump();
  // The first unit of this shape is tiny-gqa-s on hc1-like's engine: its banks differ first.
  const std::string e = j["error"].get<std::string>();
  EXPECT_NE(e.find("chip.attention.kv_sram.banks is 8, the unit's 128"), std::string::npos) << e;
  EXPECT_EQ(e.find("model n_heads"), std::string::npos) << e;
}

// ---- co-simulation: layer 0's matrix blocks and its attention unit in RTL inside the chip

// tiny-mha at w4a8: pure cycle-level SystemC, then layer 0 (matrices, KV write, attention) in
// RTL: the tokens equal the golden model's and every timing figure is equal.
void expect_cosim_equals_pure(const std::vector<std::vector<int32_t>>& prompts, int64_t n_new) {
  const std::string path = rtltest::oracle_path("tiny-mha.gguf");
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << "oracle model " << path << " missing";
  }
  const QuantizedModel* qm = oracle_w4a8("tiny-mha");
  rtl::register_rtl_cosim();
  sim::SimOptions o;
  o.level_ = sim::SimLevel::kCycle;
  o.weight_bits_ = qm->profile_.mean_weight_bits(qm->config_);
  o.kv_bits_ = qm->profile_.kv_bits();
  o.functional_model_ = qm;
  o.prompts_ = prompts;
  std::vector<UserRequest> req;
  for (size_t u = 0; u < prompts.size(); ++u) {
    UserRequest r;
    r.id_ = int64_t(u);
    r.prompt_tokens_ = int64_t(prompts[u].size());
    r.output_tokens_ = n_new;
    req.push_back(r);
  }
  const nlohmann::json pure = test::run_in_child(qm->config_, cosim_chip(), req, o);
  o.rtl_layer_ = 0;
  const nlohmann::json rtl = test::run_in_child(qm->config_, cosim_chip(), req, o);
  ASSERT_FALSE(pure.contains("error")) << pure.dump();
  ASSERT_FALSE(rtl.contains("error")) << rtl.dump();
  EXPECT_EQ(rtl["cycles"], pure["cycles"]);
  EXPECT_EQ(rtl["tokens_generated"], pure["tokens_generated"]);
  ASSERT_EQ(rtl["users"].size(), pure["users"].size());
  for (size_t u = 0; u < prompts.size(); ++u) {
    SCOPED_TRACE("user " + std::to_string(u));
    for (const char* k : {"generated", "admitted_s", "ttft_s", "finished_s", "decode_tokens_per_s"}) {
      ASSERT_TRUE(pure["users"][u].contains(k)) << k;
      EXPECT_EQ(rtl["users"][u][k], pure["users"][u][k]) << k;
    }
    GoldenModel g(*qm, int64_t(prompts[u].size()) + n_new);
    EXPECT_EQ(rtl["users"][u]["generated"].get<std::vector<int32_t>>(),
              g.generate(prompts[u], n_new));
  }
  for (const char* k : {"ttft_s", "inter_token_latency_s"}) EXPECT_EQ(rtl[k], pure[k]) << k;
  std::printf("co-simulation with the attention unit, %zu user(s), prompt %zu + %lld new: %lld "
              "cycles in both runs\n",
              prompts.size(), prompts[0].size(), static_cast<long long>(n_new),
              static_cast<long long>(rtl["cycles"].get<int64_t>()));
}

TEST(RtlAttentionCosim, DecodeOneUserEqualsThePureSystemCRun) {
  expect_cosim_equals_pure({{42}}, 8);
}

TEST(RtlAttentionCosim, PrefillOneUserEqualsThePureSystemCRun) {
  expect_cosim_equals_pure({{1, 5, 9, 42, 100, 7}}, 6);
}

TEST(RtlAttentionCosim, PrefillTwoUsersEqualsThePureSystemCRun) {
  expect_cosim_equals_pure({{3, 1, 4, 1, 5}, {9, 2, 6, 5, 3}}, 4);
}

// A longer context: 60 positions attended in the RTL unit's banks.
TEST(RtlAttentionCosim, LongerContextEqualsThePureSystemCRun) {
  expect_cosim_equals_pure({{1, 5, 9, 42, 100, 7, 3, 250, 17, 64}}, 50);
}

}  // namespace
}  // namespace hw
