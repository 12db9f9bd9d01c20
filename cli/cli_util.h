// Small parsing helpers shared by the `hardwire` subcommands (token lists given on the command
// line), so every command accepts and rejects the same spellings with the same messages.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hw::cli {

// "1,5,9" -> {1, 5, 9}. Spaces around ids are allowed. Throws hw::Error naming --tokens for an
// empty list, an empty item, a non-integer, a negative id or one beyond int32.
std::vector<int32_t> parse_token_list(const std::string& text);

}  // namespace hw::cli
