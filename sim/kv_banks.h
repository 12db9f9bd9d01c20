// KV memory as addressed traffic, for the cycle-level model (docs/simulate.md "Cycle level").
//
// KvBankEngine: the KV SRAM of one layer's attention engine, B banks of P ports, word k of the
// engine's address space in bank k mod B, row k / B (chip/mapping.h address map). The engine's
// kv_write block requests writes one cycle ahead (a write requested at cycle t uses the bank at
// t+1; one write per bank per cycle); its attention block issues reads at the cycle they use the
// banks. With P >= 2 one port per bank is reserved for writes and P-1 serve reads; with P = 1 a
// write takes the bank's only port and a read that wants it that cycle waits: a bank conflict,
// counted at that bank. Because writes are known a cycle ahead, the outcome does not depend on
// the order in which SystemC runs the two processes within a cycle.
//
// KV in DRAM (kv_memory = dram) is sim/kv_dram.h; this engine then only tracks when each
// position becomes readable.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "sim/token.h"

namespace hw::sim {

class KvBankEngine {
 public:
  KvBankEngine(int64_t banks, int64_t ports_per_bank);

  int64_t banks() const { return banks_; }
  // Requests a write of word `address` at cycle `cycle` (= requester's now + 1). False when the
  // bank's write port is already taken that cycle.
  bool request_write(int64_t address, Cycle cycle);
  // Issues up to `count` consecutive word reads from `address` at `cycle`; returns how many
  // went out (in order: the first word whose bank has no free read port stops the burst and
  // counts one conflict at that bank when a write holds it).
  int64_t issue_reads(int64_t address, int64_t count, Cycle cycle);

  // Position `position` of `user` is readable from `cycle` (all its K/V words written).
  void set_readable(int64_t user, int64_t position, Cycle cycle);
  // Cycle from which (user, position) is readable; INT64_MAX when not yet written.
  Cycle readable_at(int64_t user, int64_t position) const;
  void forget_user(int64_t user) { readable_.erase(user); }

  const std::vector<int64_t>& reads() const { return reads_; }
  const std::vector<int64_t>& writes() const { return writes_; }
  const std::vector<int64_t>& conflicts() const { return conflicts_; }

 private:
  int64_t banks_;
  int64_t ports_;
  int64_t read_ports_;
  // Banks written at a cycle (two cycles tracked: the current one and the one being requested).
  struct Writes {
    Cycle cycle_ = -1;
    std::vector<int64_t> banks_;
  };
  Writes& writes_at(Cycle cycle);
  const Writes* find_writes(Cycle cycle) const;
  Writes slots_[2];
  std::map<int64_t, std::pair<int64_t, Cycle>> readable_;  // user -> (position, cycle)
  std::vector<int64_t> reads_, writes_, conflicts_;        // per bank
};

}  // namespace hw::sim
