// The scheduler's view of the chip (scheduler.h): where tokens enter and how their exits come
// back. Two implementations: the token-level pipeline (pipeline.h) and the cycle-level chip
// (cycle_chip.h).
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

#include <systemc>

#include "sim/token.h"

namespace hw::sim {

// Where the scheduler puts tokens: the token-level pipeline (pipeline.h) or the cycle-level
// chip (cycle_chip.h).
class TokenPath {
 public:
  virtual ~TokenPath() = default;
  // Earliest cycle from which the chip takes one more token (<= now: it takes one now);
  // INT64_MAX when only wake_event() can say.
  virtual Cycle input_space_at(Cycle now) const = 0;
  // Puts t into the chip at `now`. Token level: evaluates its whole passage and returns the
  // cycle it leaves the last block; cycle level: returns -1 and reports the exit later
  // (Scheduler::token_out).
  virtual Cycle enter(Token& t, Cycle now) = 0;
  // Cycle level: notified when the chip's input frees space; nullptr at the token level.
  virtual const sc_core::sc_event* wake_event() const { return nullptr; }
  // KV address space of a newly admitted user of shared-prefix group `group` (cycle level): false
  // when no contiguous run of `positions` is free (the user waits).
  virtual bool place_user(int64_t /*user*/, int64_t /*positions*/, int64_t /*group*/) {
    return true;
  }
  virtual void free_user(int64_t) {}
  // KV address space of a shared prefix group's stored prefix (cycle level), placed when its
  // first user is admitted (a miss) and freed when the cache evicts it; false as place_user.
  virtual bool place_prefix(int64_t /*group*/, int64_t /*positions*/) { return true; }
  virtual void free_prefix(int64_t) {}
  // KV (layer, position) reads of every attention sweep so far, all layers: a tile of prompt
  // queries (chip.attention.query_tile) reads its context once, so the run's KV read energy
  // comes from this count, not from one sweep per token.
  virtual int64_t kv_positions_read() const = 0;
  // The earliest cycle from which a part of a passage not evaluated yet may still reserve the
  // KV DRAM (the token level in time order); the scheduler prunes the calendar only before it.
  virtual Cycle unevaluated_from() const { return std::numeric_limits<Cycle>::max(); }
  // Token level in time order (KV in DRAM): the scheduler's next event is at `horizon` and no
  // token enters before it, so the passages' parts before it can be evaluated; tokens that
  // produce output and finish are appended to `finished` with the cycle their output is read,
  // and an exit before `horizon` lowers it (what comes after the exit waits for the scheduler,
  // which may put a token in then). enter() returns -1 for tokens whose exit comes here.
  struct Finished {
    Token token_;
    Cycle leave_ = 0;
  };
  virtual void settle(Cycle& /*horizon*/, std::vector<Finished>& /*finished*/) {}
};

}  // namespace hw::sim
