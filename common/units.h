// Physical units for config values: "1.2 GHz", "64 MiB", "0.2 pJ", "3.9 pJ/bit", "25 GB/s".
// A parameter declares its canonical unit; a value written in any unit of the same dimension
// is converted, one of another dimension is an error that names the key and the units allowed.
#pragma once
#include <string>

namespace hw {

struct ParsedUnit {
  std::string dimension_;  // e.g. "Hz", "B", "B/s", "J/B"; "" for a bare number
  double scale_ = 1.0;     // multiply a value in this unit by scale_ to get the dimension's base
};

// Parses a unit string ("GHz", "MiB", "pJ/bit", "mm2", "cycles"). Throws hw::Error naming
// `where` when the unit is unknown.
ParsedUnit parse_unit(const std::string& unit, const std::string& where);

// Converts "<number> [unit]" into `target_unit`. A bare number is taken as already in
// target_unit. Throws naming `where` on a malformed number or a unit of another dimension.
double parse_quantity(const std::string& text, const std::string& target_unit,
                      const std::string& where);

}  // namespace hw
