// Loading of the tiny-mha models behind rtl/gen/ (rtl_models.h).
#include "rtl_models.h"

#include <filesystem>
#include <map>

namespace hw::rtltest {

const LoadedModel* tiny_mha(const std::string& numerics) {
  static std::map<std::string, std::unique_ptr<LoadedModel>> cache;
  auto it = cache.find(numerics);
  if (it != cache.end()) return it->second.get();
  const std::string path = oracle_path("tiny-mha.gguf");
  if (!std::filesystem::exists(path)) return nullptr;
  auto m = std::make_unique<LoadedModel>();
  m->qm = quantize_model(load_weights(path), load_numerics_profile(numerics));
  m->golden = std::make_unique<GoldenModel>(m->qm, 0);
  const LoadedModel* out = m.get();
  cache[numerics] = std::move(m);
  return out;
}

}  // namespace hw::rtltest
