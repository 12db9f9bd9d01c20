// Shared fixtures of the chip tests: a tiny model and a tiny chip whose service cycles are
// small enough to compute by hand (the expected values in test_mapping.cpp are derived in
// comments there from these numbers).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "chip/chip_config.h"
#include "common/error.h"
#include "model/model_config.h"

namespace hw::test {

// 2 layers, d 64, 4 query heads and 2 KV heads of 16 (q 64, kv 32), d_ff 128, vocab 256.
inline ModelConfig tiny_model() {
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

inline const char* tiny_chip_yaml() {
  return R"(chip:
  clock: 100 MHz
  rom:
    capacity: 1 Mbit
  host:
    latency: 1 us
  embedding:
    lookup_cycles: 3
  norm: {elements_per_cycle: 16, pipeline_depth: 2}
  # Matrix blocks (d 64, q 64, kv 32, f 128, V 256): T = fold + tree + accumulate + requant +
  # ceil(R/Lo). qkv 64 -> 128: fold 8, depth 1+0+1+1 = 3.
  qkv: {input_lanes: 8, output_lanes: 128, accumulate_stages: 0, requant_stages: 1}
  rope: {elements_per_cycle: 8, pipeline_depth: 1}
  attention:
    macs_per_cycle: 256
    softmax_elements_per_cycle: 4
    pipeline_depth: 5
    exp_latency: 0
    kv_sram:
      capacity: 64 KiB
      banks: 3
      ports_per_bank: 1
      bank_width: 8 B
      read_latency: 2
      write_latency: 1
  # o_proj 64 -> 64: fold 4, depth 1+0+0+1 = 2.
  o_proj: {input_lanes: 16, output_lanes: 64, accumulate_stages: 0, requant_stages: 0}
  # ffn_gate_up 64 -> 256: fold 16, depth 1+1+0+2 = 4.
  ffn_gate_up: {input_lanes: 4, output_lanes: 128, requant_stages: 0}
  activation: {elements_per_cycle: 32, pipeline_depth: 1}
  # ffn_down 128 -> 64: fold 8, depth 1+1+0+1 = 3.
  ffn_down: {input_lanes: 16, output_lanes: 64, requant_stages: 0}
  # lm_head 64 -> 256: fold ceil(64/4) x 2 rows per tree = 32; tree of 2 levels registered
  # every level = 2 registers, depth 2+1+0+2 = 5; service max(32, ceil(256/128)) = 32.
  lm_head: {input_lanes: 4, output_mux: 2, output_lanes: 128, adder_levels_per_register: 1,
            requant_stages: 0}
  sampler: {elements_per_cycle: 64, pipeline_depth: 2}
)";
}

inline ChipConfig tiny_chip(const std::vector<std::string>& overrides = {}) {
  return chip_config_from_yaml(YAML::Load(tiny_chip_yaml()), "tiny-chip", "tiny.yaml", overrides);
}

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace hw::test
