// Human-readable output helpers shared by the `hardwire` subcommands: numbers with thousands
// separators, byte sizes in binary units, and aligned plain-text tables, so every command
// prints figures the same way.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace hw::cli {

// 8030261248 -> "8,030,261,248"; negative numbers keep their sign.
std::string with_commas(int64_t value);

// 16060522496 -> "14.96 GiB"; picks B, KiB, MiB, GiB or TiB so the number is below 1024.
std::string binary_bytes(int64_t bytes);

// Columns separated by two spaces and padded to their widest cell. A column whose body cells
// all look numeric ("4,096", "-1.5", "") is right-aligned, any other left-aligned. An optional
// header is printed first and underlined with dashes.
class Table {
 public:
  Table() = default;
  explicit Table(std::vector<std::string> header);
  void add_row(std::vector<std::string> row);
  void print(std::ostream& out, const std::string& indent = {}) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace hw::cli
