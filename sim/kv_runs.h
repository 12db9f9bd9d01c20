// Where each user's KV lives in a layer engine's position space, shared by both levels: the
// cycle level addresses its KV banks and DRAM with it, and the token level finds the DRAM rows
// a sweep visits (kv_sram.h dram_rows). Each prefix group's stored prefix and each user's
// private run is one contiguous run of position slots, placed first fit (a group's prefix is
// placed before its first user's run); a user whose run finds no contiguous free space waits.
#pragma once
#include <cstdint>
#include <map>

namespace hw::sim {

// Where a token's KV lives in its layer engine's word address space: positions below the shared
// prefix in the prefix run, the rest in the user's private run.
struct KvAddress {
  int64_t prefix_positions_ = 0;
  int64_t prefix_base_words_ = 0;
  int64_t prefix_base_positions_ = 0;  // the prefix run's first slot (one run per prefix group)
  int64_t private_base_words_ = 0;  // address of position prefix_positions_
  int64_t private_base_positions_ = 0;  // its slot (DRAM layout)
  // Slot of position `pos` in the layer's position space.
  int64_t slot(int64_t pos) const {
    return pos < prefix_positions_ ? prefix_base_positions_ + pos
                                   : private_base_positions_ + (pos - prefix_positions_);
  }
};

class KvRuns {
 public:
  // `capacity_positions`: slots per layer engine; `prefix_positions`: the shared prefix's
  // length (0: none); `words_per_position`: SRAM words of one position (1 for DRAM layouts).
  KvRuns(int64_t capacity_positions, int64_t prefix_positions, int64_t words_per_position);

  // False (nothing placed) when no free run holds `positions` contiguous slots.
  bool place_user(int64_t user, int64_t positions, int64_t group);
  void free_user(int64_t user);
  bool place_prefix(int64_t group, int64_t positions);
  void free_prefix(int64_t group);
  // A user's address map (an unplaced user: slot 0 on, no prefix run).
  KvAddress address(int64_t user) const;

 private:
  // First fit: the start of a run of `positions` taken from the lowest free run that holds it,
  // or -1 when none does.
  int64_t take(int64_t positions);
  void release(int64_t start, int64_t length);
  struct UserRun {
    int64_t start_ = 0, length_ = 0, group_ = 0;
  };
  int64_t prefix_positions_ = 0;
  int64_t words_per_position_ = 1;
  std::map<int64_t, int64_t> free_;            // start -> length
  std::map<int64_t, UserRun> users_;           // user -> its private run
  std::map<int64_t, int64_t> prefixes_;        // group -> its prefix run's start
};

}  // namespace hw::sim
