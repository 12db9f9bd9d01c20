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

}  // namespace hw::rtltest
