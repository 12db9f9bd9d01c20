// Loading of the oracle models behind rtl/gen/ (rtl_models.h).
#include "rtl_models.h"

#include <filesystem>
#include <map>

namespace hw::rtltest {

const LoadedModel* tiny_mha(const std::string& numerics) {
  return oracle_model("tiny-mha", numerics);
}

const LoadedModel* oracle_model(const std::string& name, const std::string& numerics) {
  static std::map<std::string, std::unique_ptr<LoadedModel>> cache;
  const std::string key = name + "/" + numerics;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second.get();
  const std::string path = oracle_path(name + ".gguf");
  if (!std::filesystem::exists(path)) return nullptr;
  auto m = std::make_unique<LoadedModel>();
  m->qm = quantize_model(load_weights(path), load_numerics_profile(numerics));
  m->golden = std::make_unique<GoldenModel>(m->qm, 0);
  const LoadedModel* out = m.get();
  cache[key] = std::move(m);
  return out;
}

ChipConfig cosim_chip(const std::vector<std::string>& extra) {
  std::vector<std::string> sets = {"chip.buffers.chunk_elements=16",
                                   "chip.norm.elements_per_cycle=16",
                                   "chip.rope.elements_per_cycle=16",
                                   "chip.activation.elements_per_cycle=16",
                                   "chip.attention.kv_sram.bank_width=128 B"};
  for (const char* b : {"qkv", "o_proj", "ffn_gate_up", "ffn_down"}) {
    const std::string k = std::string("chip.") + b + ".";
    for (const char* kv : {"input_lanes=16", "output_lanes=4", "output_mux=1",
                           "adder_levels_per_register=0", "accumulate_stages=1",
                           "requant_stages=2"}) {
      sets.push_back(k + kv);
    }
  }
  sets.insert(sets.end(), extra.begin(), extra.end());
  return load_chip_config("hc1-like", sets);
}

}  // namespace hw::rtltest
