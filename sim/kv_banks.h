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
// KvDramChannel: one die's KV DRAM as a work-conserving byte server of the die's bandwidth:
// requests (a kv_write's K and V rows, an attention sweep's whole context) are served in the
// order they were posted, bandwidth/clock bytes per cycle, from the cycle after posting; data
// arrive dram latency cycles after they are served. No whole-window reservations: a request
// takes what is left of each cycle.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
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

class KvDramChannel {
 public:
  KvDramChannel(double bytes_per_cycle, int64_t latency_cycles);

  // A request of `bytes`, served from cycle `now` + 1 on; the returned handle stays valid until
  // release().
  int64_t post(double bytes, Cycle now);
  // Serves the channel up to and including cycle `now` (idempotent per cycle).
  void advance(Cycle now);
  // Bytes of request `id` served by cycle `now` (advance() first).
  double served(int64_t id) const;
  // Cycle its last byte was served; -1 while not complete.
  Cycle done_cycle(int64_t id) const;
  void release(int64_t id);
  int64_t latency_cycles() const { return latency_; }
  double bytes_served_total() const { return bytes_total_; }
  Cycle busy_cycles() const { return busy_cycles_; }

 private:
  struct Request {
    double bytes_ = 0;
    double served_ = 0;
    Cycle posted_ = 0;
    Cycle done_ = -1;
  };
  double bytes_per_cycle_;
  int64_t latency_;
  Cycle advanced_to_ = -1;
  int64_t next_id_ = 0;
  std::map<int64_t, Request> requests_;
  std::deque<int64_t> queue_;  // not yet complete, in posting order
  double bytes_total_ = 0;
  Cycle busy_cycles_ = 0;
};

}  // namespace hw::sim
