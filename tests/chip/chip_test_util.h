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
  qkv: {fold: 8, pipeline_depth: 3}
  rope: {elements_per_cycle: 8, pipeline_depth: 1}
  attention:
    macs_per_cycle: 256
    softmax_elements_per_cycle: 4
    pipeline_depth: 5
    kv_sram:
      capacity: 64 KiB
      banks: 3
      ports_per_bank: 1
      bank_width: 8 B
      read_latency: 2
      write_latency: 1
      bank_conflict_penalty: 3
  o_proj: {fold: 4, pipeline_depth: 2}
  ffn_gate_up: {fold: 16, pipeline_depth: 4}
  activation: {elements_per_cycle: 32, pipeline_depth: 1}
  ffn_down: {fold: 8, pipeline_depth: 3}
  lm_head: {fold: 32, pipeline_depth: 5}
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
