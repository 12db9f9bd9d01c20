// Shared fixtures of the SystemC model tests: a tiny model and a tiny chip whose block timings
// are small round numbers (the per-block service / latency table below is what every expected
// value in tests/sim is computed from), and run_in_child(), which runs one simulation in a
// forked process and returns its JSON: SystemC elaborates once per process, so a test that
// needs several simulations forks one child per run.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "chip/chip_config.h"
#include "chip/workload.h"
#include "common/error.h"
#include "model/model_config.h"
#include "sim/characterize.h"
#include "sim/simulate.h"

namespace hw::test {

// 2 layers, d 64, 4 query heads and 2 KV heads of 16 (q 64, kv 32), d_ff 128, vocab 256.
inline ModelConfig sim_tiny_model() {
  ModelConfig m;
  m.name_ = "tiny";
  m.arch_ = "llama";
  m.n_layers_ = 2;
  m.d_model_ = 64;
  m.n_heads_ = 4;
  m.n_kv_heads_ = 2;
  m.head_dim_ = 16;
  m.d_ff_ = 128;
  m.vocab_ = 256;
  m.max_positions_ = 1024;
  return m;
}

// Block timings of the tiny model on this chip (service S / latency share T, cycles at 100 MHz,
// chip/mapping.h "Streaming rule"), with 8-bit KV: K or V row R = 32 B = 4 words of 8 B, Wp = 8
// words per position, 4 banks with one read port (Pr = 1 both with 2 ports and with 1). Every
// vector is one chunk (chunk_elements 256), read a cycle after its feeder wrote it (+1 in T):
//   embedding 2/4 (+1, lookup 2, the host's read +1), attn_norm 8/11 (+1, 2*ceil(64/16), +2),
//   qkv 10/12 (+1, fold 10, tree 1), rope 12/14 (+1, ceil(96/8), +1), kv_write 2/4 (+1,
//   ceil(8/4), write latency 1: K and V readable), attention at context L: sweep ceil(8L/4) =
//   2L, MACs ceil(128L/1024), softmax ceil(4L/16), so S = 2L and T = 2L + 3 (q passes kv_write
//   and reaches attention: +3 from rope, read latency 1, output 1 + depth 3, less kv_write's 4),
//   o_proj 10/12, ffn_norm 8/11, ffn_gate_up 20/22, activation 12/14 (+1, ceil(256/32) taking
//   gate and up + ceil(128/32) emitting, +1), ffn_down 10/12, final_norm 8/11, lm_head 10/12,
//   sampler 4/6 (+1, ceil(256/64), +1).
// One layer: 11+12+14+4+(2L+3)+12+11+22+14+12 = 115 + 2L; a token at context L:
//   4 + 2*(115 + 2L) + 11 + 12 + 6 = 263 + 4L cycles.
// KV: 12800 B per die for 2 layers = 6400 B per engine = 800 words = 100 positions.
inline const char* sim_tiny_chip_yaml() {
  return R"(chip:
  clock: 100 MHz
  rom:
    capacity: 1 Mbit
  host:
    latency: 1 us
  embedding:
    lookup_cycles: 2
  norm: {elements_per_cycle: 16, pipeline_depth: 2}
  # Matrix blocks: S = fold = ceil(C/Li) * output_mux, depth = tree 1 + accumulate 0 +
  # requant 0 + ceil(R/Lo) 1 = 2.
  qkv: {input_lanes: 7, output_lanes: 128, accumulate_stages: 0, requant_stages: 0}
  rope: {elements_per_cycle: 8, pipeline_depth: 1}
  attention:
    macs_per_cycle: 1024
    softmax_elements_per_cycle: 16
    pipeline_depth: 3
    exp_latency: 0
    kv_sram:
      capacity: 12800 B
      banks: 4
      ports_per_bank: 2
      bank_width: 8 B
      read_latency: 1
      write_latency: 1
  o_proj: {input_lanes: 7, output_lanes: 64, accumulate_stages: 0, requant_stages: 0}
  ffn_gate_up: {input_lanes: 7, output_mux: 2, output_lanes: 256, accumulate_stages: 0,
                requant_stages: 0}
  activation: {elements_per_cycle: 32, pipeline_depth: 1}
  ffn_down: {input_lanes: 13, output_lanes: 64, accumulate_stages: 0, requant_stages: 0}
  lm_head: {input_lanes: 7, output_lanes: 256, accumulate_stages: 0, requant_stages: 0}
  sampler: {elements_per_cycle: 64, pipeline_depth: 1}
  buffers:
    fifo_depth: 2
)";
}

inline ChipConfig sim_tiny_chip(const std::vector<std::string>& overrides = {}) {
  return chip_config_from_yaml(YAML::Load(sim_tiny_chip_yaml()), "sim-tiny", "sim-tiny.yaml",
                               overrides);
}

// `users` requests arriving together, each with the same lengths.
inline std::vector<UserRequest> same_requests(int64_t users, int64_t prompt, int64_t output,
                                              int64_t shared_prefix = 0) {
  std::vector<UserRequest> out;
  for (int64_t i = 0; i < users; ++i) {
    UserRequest r;
    r.id_ = i;
    r.prompt_tokens_ = prompt;
    r.output_tokens_ = output;
    r.shared_prefix_tokens_ = shared_prefix;
    out.push_back(r);
  }
  return out;
}

inline sim::SimOptions timing_options() {
  sim::SimOptions o;
  o.weight_bits_ = 4.0;
  o.kv_bits_ = 8;
  return o;
}

// Serving tests (test_sim_serving*.cpp): the tiny chip made entrance-bound (an embedding lookup
// of 200 cycles: every token waits at the entrance), 16 users decoding 32 tokens from 8-token
// prompts and a 100-token prompt arriving at 2 us (user 16): decode and prompt tokens want
// nearly every slot, so the serving policies part widely.
inline std::vector<UserRequest> entrance_bound_requests() {
  std::vector<UserRequest> requests = same_requests(16, 8, 32);
  UserRequest late;
  late.id_ = 16;
  late.arrival_s_ = 2e-6;
  late.prompt_tokens_ = 100;
  late.output_tokens_ = 2;
  requests.push_back(late);
  return requests;
}
inline ChipConfig entrance_bound_chip() {
  return sim_tiny_chip(
      {"chip.attention.kv_sram.capacity=1 MiB", "chip.embedding.lookup_cycles=200"});
}

// Runs run_simulation in a forked child and returns its JSON; {"error": message} when it threw.
inline nlohmann::json run_in_child(const ModelConfig& model, const ChipConfig& chip,
                                   const std::vector<UserRequest>& requests,
                                   const sim::SimOptions& options) {
  return sim::run_simulation_in_child(model, chip, requests, options);
}

// Cycles of a time in seconds at the tiny chip's 100 MHz.
inline double cycles_of(double seconds) { return seconds * 1e8; }

}  // namespace hw::test
