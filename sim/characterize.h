// Characterization of a chip's blocks at the cycle level (`hardwire characterize`,
// docs/simulate.md "Characterization"): a few layers of the model run at the cycle level
// (sim/cycle_chip.h) and at the token level (sim/pipeline.h) over a grid of contexts and
// occupancies (users decoding together), and the table says, per point, the tokens/s, TTFT and
// inter-token latency of both levels and of the mapping's closed form (chip/mapping.h), their
// errors, and per block the measured service (busy cycles per token) and stalls per token
// (output_full, bank_conflict, dram_bandwidth). The table is cached under a key hashed from the
// model, the resolved chip and the numerics, so a later run (or a sweep) can look it up instead
// of re-running the cycle level.
//
// SystemC elaborates once per process, so every point runs in a forked child.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chip/chip_config.h"
#include "chip/workload.h"
#include "model/model_config.h"
#include "sim/simulate.h"

namespace hw::sim {

// `fn` in a forked child (SystemC elaborates once per process: one child per elaboration);
// the JSON it returned, or {"error": message} when it threw or the child crashed.
nlohmann::json json_from_child(const std::function<nlohmann::json()>& fn);

// run_simulation in a forked child (json_from_child).
nlohmann::json run_simulation_in_child(const ModelConfig& model, const ChipConfig& chip,
                                       const std::vector<UserRequest>& requests,
                                       const SimOptions& options);

struct CharacterizeOptions {
  std::vector<int64_t> contexts_ = {16, 64, 256, 1024};  // prompt tokens of each point
  std::vector<int64_t> users_ = {1, 4};                   // users decoding together
  int64_t output_tokens_ = 16;                            // generated per user
  int64_t layers_ = 2;        // layers of the model simulated (0: all); 2 = a first and a steady one
  double weight_bits_ = 0.0;  // required
  int kv_bits_ = 0;           // required
  std::string numerics_;      // the profile's name, part of the cache key
};

// Stable key of (model, resolved chip, numerics, widths): 16 hex digits (FNV-1a 64 of their
// canonical JSON), so any changed chip key or width gives another table; one table per design
// (a run with another grid replaces it; the grid is recorded in the table).
std::string characterize_key(const ModelConfig& model, const ChipConfig& chip,
                             const CharacterizeOptions& options);

// Where cached tables live: $HARDWIRE_CACHE_DIR, else $XDG_CACHE_HOME/hardwire, else
// $HOME/.cache/hardwire; tables are characterize/<key>.json below it.
std::string characterize_cache_path(const std::string& key);

// Runs the grid; `progress(done, total)` after each point. Points whose context does not fit the
// KV memory with their users are skipped (listed under "skipped").
nlohmann::json characterize(const ModelConfig& model, const ChipConfig& chip,
                            const CharacterizeOptions& options,
                            const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace hw::sim
