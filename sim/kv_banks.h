// KV memory as addressed traffic, for the cycle-level model (docs/simulate.md "KV memory
// (cycle level)").
//
// KvBankEngine: a pool of B KV SRAM banks of P ports, word k of the pool's address space in bank
// k mod B, row k / B (chip/mapping.h address map). By default (kv_sram.bank_scope = layer) every
// layer's attention engine has its own pool; with bank_scope = die the die's layers share one
// pool of banks x layers-on-die banks, layer i of the die at word offset i x P_layer x Wp.
// kv_write blocks request writes one cycle ahead (a write requested at cycle t uses the bank at
// t+1; one write per bank per cycle: a second writer that cycle waits, a conflict at that bank);
// attention blocks issue reads at the cycle they use the banks. With P >= 2 one port per bank is
// reserved for writes and P-1 serve reads; with P = 1 a write takes the bank's only port and a
// read that wants it that cycle waits: a bank conflict, counted at that bank. Reads of another
// layer's sweep that took a bank's read ports this cycle make a read wait too (shared pool
// only): counted at that bank, and apart as a read-read conflict. Writes are known a cycle
// ahead, so write/read outcomes do not depend on the order SystemC runs processes within a
// cycle; two sweeps of a shared pool in one cycle are served in that (deterministic) order.
//
// KV in DRAM (kv_memory = dram) is sim/kv_dram.h; this engine then only tracks when each
// position becomes readable.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "sim/token.h"

namespace hw::sim {

class KvBankEngine {
 public:
  KvBankEngine(int64_t banks, int64_t ports_per_bank);

  int64_t banks() const { return banks_; }
  // Requests a write of word `address` at cycle `cycle` (= requester's now + 1). False when the
  // bank's write port is already taken that cycle (a conflict counted at the bank).
  bool request_write(int64_t address, Cycle cycle);
  // Issues up to `count` consecutive word reads from `address` at `cycle`; returns how many
  // went out (in order: the first word whose bank has no free read port stops the burst and
  // counts one conflict at that bank; `conflicted` tells whether that happened).
  int64_t issue_reads(int64_t address, int64_t count, Cycle cycle, bool* conflicted = nullptr);

  // Position `position` of `user` at layer `layer` is readable from `cycle` (set at cycle `now`,
  // positions in increasing order). Positions set earlier keep their own cycles until `now`
  // passes them: a posted DRAM write may still be on its way when the next one is set.
  void set_readable(int64_t layer, int64_t user, int64_t position, Cycle cycle, Cycle now);
  // Cycle from which (layer, user, position) is readable; INT64_MAX when not yet written.
  Cycle readable_at(int64_t layer, int64_t user, int64_t position) const;
  void forget_user(int64_t user);

  const std::vector<int64_t>& reads() const { return reads_; }
  const std::vector<int64_t>& writes() const { return writes_; }
  const std::vector<int64_t>& conflicts() const { return conflicts_; }
  const std::vector<int64_t>& read_conflicts() const { return read_conflicts_; }

 private:
  int64_t banks_;
  int64_t ports_;
  int64_t read_ports_;
  // Per bank: the cycle its write port is taken (two cycles tracked by parity: the current one
  // and the one being requested), and the read ports used in `read_cycle_`.
  std::vector<Cycle> written_[2];
  std::vector<Cycle> read_cycle_;
  std::vector<int64_t> read_used_;
  // (user, layer): (position, readable cycle) of the positions set, in order, from the last one
  // readable by the latest set_readable's now.
  std::map<std::pair<int64_t, int64_t>, std::deque<std::pair<int64_t, Cycle>>> readable_;
  std::vector<int64_t> reads_, writes_, conflicts_, read_conflicts_;         // per bank
};

}  // namespace hw::sim
