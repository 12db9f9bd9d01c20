// Error type used across hardwire: every user-facing failure names what it is about (a file,
// a config key, a tensor) and, where one exists, the fix. Thrown, caught once in the CLI.
#pragma once
#include <stdexcept>
#include <string>

namespace hw {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// "<where>: <what>" with an optional hint, e.g.
// config_error("chip.kv_sram.banks", "must be a power of two, got 12", "use 8 or 16").
inline Error make_error(const std::string& where, const std::string& what,
                        const std::string& hint = {}) {
  std::string msg = where.empty() ? what : where + ": " + what;
  if (!hint.empty()) msg += " (" + hint + ")";
  return Error(msg);
}

}  // namespace hw
