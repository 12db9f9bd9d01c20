// The quantized oracle models whose layer 0 is generated into rtl/gen/ (the Verilated blocks
// carry those weights), loaded once per process. Tests skip when the oracle file is missing.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "chip/chip_config.h"
#include "model/golden_model.h"
#include "model/numerics_profile.h"
#include "model/quantizer.h"
#include "model/weights.h"

namespace hw::rtltest {

inline std::string oracle_path(const std::string& name) {
  return std::string(HARDWIRE_SHARED_DIR) + "/oracle/" + name;
}

struct LoadedModel {
  QuantizedModel qm;
  std::unique_ptr<GoldenModel> golden;
};

// tiny-mha at `numerics` ("w4a8": rtl/gen/tiny-mha-w4a8-l0, "w8a8": rtl/gen/tiny-mha-w8a8-cm);
// nullptr when the oracle GGUF is not there.
const LoadedModel* tiny_mha(const std::string& numerics);

// Any oracle model by name ("tiny-gqa-s", "tiny-trained-a"; rtl/gen/<name>-<numerics>-l0);
// nullptr when its GGUF is not there.
const LoadedModel* oracle_model(const std::string& name, const std::string& numerics);

// hc1-like with the structure the Verilated layer-0 blocks were built for (docs/rtl.md
// "Co-simulation"): 16-element chunks, matrix blocks of 16 input lanes, 4 output lanes,
// output_mux 1, one tree register, 1 accumulate and 2 requant stages, vector units (norms,
// rope, activation) of 16 lanes, 128-byte KV bank words (one word per K or V row, as the
// attention unit stores them); hc1-like's pipeline depth 4 and attention engine are the RTL's.
// `extra` are further --set overrides.
ChipConfig cosim_chip(const std::vector<std::string>& extra = {});

}  // namespace hw::rtltest
