// Parsing helpers shared by the `hardwire` subcommands (see cli_util.h).
#include "cli/cli_util.h"

#include <cctype>
#include <limits>

#include "common/error.h"

namespace hw::cli {

std::vector<int32_t> parse_token_list(const std::string& text) {
  std::vector<int32_t> tokens;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    size_t b = start;
    size_t e = end;
    while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
    const std::string item = text.substr(b, e - b);
    const std::string where = "--tokens item " + std::to_string(tokens.size() + 1);
    if (item.empty()) {
      throw make_error(where, "is empty in '" + text + "'",
                       "give comma-separated token ids, e.g. --tokens 1,5,9");
    }
    int64_t value = 0;
    for (char ch : item) {
      if (!std::isdigit(static_cast<unsigned char>(ch))) {
        throw make_error(where, "'" + item + "' is not a non-negative integer token id",
                         "give comma-separated token ids, e.g. --tokens 1,5,9");
      }
      value = value * 10 + (ch - '0');
      if (value > std::numeric_limits<int32_t>::max()) {
        throw make_error(where, "'" + item + "' is beyond the int32 range of token ids");
      }
    }
    tokens.push_back(static_cast<int32_t>(value));
    start = end + 1;
  }
  return tokens;
}

}  // namespace hw::cli
