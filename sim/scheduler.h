// The scheduler: continuous batching of users onto the chip. Users arrive (their request
// reaches the chip one host latency after it is sent), wait in arrival order, and are admitted
// only while their whole KV run fits the KV memory (kv_sram.h); a user whose context could never
// fit, or exceeds the model's trained context, is rejected. An admitted user's prompt streams
// into the pipeline token after token (prefill; positions of a cached shared prefix are
// skipped); each output token, when it leaves the chip, becomes that user's next input (decode).
// Whenever the embedding's input FIFO has room, the next token is chosen by the serving policy
// (chip/workload.h ServingConfig): decode_first (default) takes a ready decode token first
// (oldest first, to keep inter-token latency low), else the next prompt token of the user at
// the head of the prefill queue; prefill_first the reverse; interleaved alternates over the
// slots a decode and a prompt token both want. With a
// prefill chunk size a user feeds at most that many prompt tokens in a row, then goes to the
// back of the prefill queue (and under prefill_first the decode tokens then waiting go first).
// A user leaves after its last output token and frees its KV, which may admit the next one.
//
// Shared prefixes (one per workload prefix group) are stored once: the first user of a group
// computes it (a miss), later users skip it (a hit). A stored prefix stays cached when its users
// leave; when an arriving user's KV does not fit, the least recently used cached prefixes no
// admitted user holds are evicted until it does, at both levels (at the cycle level each group's
// prefix is a run of the KV address map, cycle_chip.h, placed at its miss and freed at its
// eviction; a user whose positions are free but not contiguous waits there for one to leave).
//
// This is the process that advances SystemC time: it wakes at arrivals, token exits and the
// cycles the input FIFO frees, and each token it injects is evaluated through the pipeline.
// With window power (power_cap.h) each token's activity goes to the windows of its passage
// (token level; at entry at the cycle level), and under a cap arrivals and result times go
// through the throttled clock.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <string>
#include <vector>

#include <systemc>

#include "chip/mapping.h"
#include "chip/workload.h"
#include "sim/clock.h"
#include "sim/functional.h"
#include "sim/kv_sram.h"
#include "sim/pipeline.h"
#include "sim/power_cap.h"
#include "sim/token_path.h"
#include "sim/stats.h"

namespace hw::sim {

class VcdProbe;


struct SimProgress {
  int64_t tokens_generated_ = 0;
  int64_t tokens_processed_ = 0;  // prompt and decode tokens that entered the chip
  Cycle cycle_ = 0;
};

// What the scheduler knows about one user.
struct UserRun {
  UserRequest request_;
  Cycle arrival_cycle_ = 0;  // reaches the chip
  int64_t private_positions_ = 0;
  int64_t first_position_ = 0;  // prompt positions below it were stored by another user
  bool owns_prefix_ = false;    // computes and stores its group's shared prefix (a miss)
  bool prefix_hit_ = false;     // found its group's prefix cached
  bool rejected_ = false;
  std::string reject_reason_;  // why it could never run (empty when admitted)
  bool admitted_ = false;
  bool done_ = false;
  int64_t next_position_ = 0;
  int64_t generated_ = 0;
  int32_t next_input_ = 0;
  Cycle admitted_cycle_ = -1;
  Cycle first_token_cycle_ = -1;
  Cycle last_token_cycle_ = -1;
  std::vector<int32_t> generated_ids_;  // functional mode
};

// Shared-prefix cache counts (users that need no prefix count in neither).
struct PrefixCacheStats {
  int64_t groups_ = 0;
  int64_t hits_ = 0;
  int64_t misses_ = 0;
  int64_t evictions_ = 0;
  int64_t evicted_positions_ = 0;  // per layer engine
  std::vector<int64_t> evicted_groups_;  // in eviction order (first 1000)
};

class Scheduler : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Scheduler);
  Scheduler(sc_core::sc_module_name name, const ChipMapping& mapping,
            const std::vector<UserRequest>& requests, const ClockBase& clock, TokenPath& path,
            KvSram& kv, FunctionalData* functional);

  // Cycle level: the sampled token of `t` reached the host at `cycle`; a prompt token that
  // produces no output left the last layer (`produced_output` false).
  void token_out(const Token& t, Cycle cycle);
  void body_done(const Token& t);

  void set_vcd(VcdProbe* vcd, int active_users_signal, int tokens_out_signal, int kv_signal);
  void set_progress(std::function<void(const SimProgress&)> progress);
  // Before the run: the serving policy and prefill chunk size (default decode_first, no chunks).
  void set_serving(const ServingConfig& serving);
  // Before the run: window power and the cap's throttle (nullptr: none). Not owned.
  void set_power_cap(PowerCap* cap);
  // Seconds from cycle 0 to `cycle`: through the cap's throttled clock when it throttles.
  double seconds_at(Cycle cycle) const;
  // After the run: closes the cap's windows at `end` and records the inter-token gaps waiting
  // for their windows' clock.
  void finish(Cycle end);
  const PrefixCacheStats& prefix_cache() const { return prefix_stats_; }

  const std::vector<UserRun>& users() const { return users_; }
  const CycleHistogram& inter_token_cycles() const { return itl_; }
  const ActivityCounts& activity() const { return activity_; }
  int64_t tokens_generated() const { return tokens_generated_; }
  int64_t prompt_tokens_computed() const { return prompt_tokens_computed_; }
  int64_t peak_active_users() const { return peak_active_users_; }
  // Steady-state window (docs/simulate.md): the outputs between the 10% and 90% marks of all
  // generated tokens and the cycles they span; {0, 0, 0} with fewer than 10 outputs.
  struct SteadyWindow {
    int64_t tokens_ = 0;
    Cycle start_ = 0;
    Cycle end_ = 0;
  };
  SteadyWindow steady_window() const;
  int64_t state_bytes() const;

  sc_core::sc_signal<int> active_users_signal_;  // VCD
  sc_core::sc_signal<int> tokens_out_signal_;    // VCD

 private:
  struct Exit {
    Cycle cycle_;
    int64_t seq_;
    int64_t user_;
    int32_t output_id_;
    bool operator>(const Exit& o) const {
      return cycle_ != o.cycle_ ? cycle_ > o.cycle_ : seq_ > o.seq_;
    }
  };

  void step();  // SC_METHOD
  void handle_exit(const Exit& e);
  void admit(Cycle now);
  // Evicts least recently used cached prefixes (not `group`, none in use) until `need`
  // positions are free; false (nothing evicted) when even all of them would not make room.
  bool make_room(int64_t need, int64_t group, Cycle now);
  void feed(Cycle now);
  // Whether a user in prefill can feed its next token now; prefill_ready() moves the first
  // user that can to the head of the prefill queue (false: none can).
  bool can_start(const UserRun& r) const;
  bool prefill_ready();
  Cycle arrival_cycle(size_t user) const;
  void add_gap(Cycle from, Cycle to);
  void flush_gaps();
  std::string reject_reason(const UserRun& u, int64_t context) const;
  void inject(int64_t user, Cycle now);
  void vcd_change(Cycle cycle, int signal, int delta);
  // Puts the path's KV position reads since the last call into cap_'s windows over [from, to].
  void charge_kv_reads(Cycle from, Cycle to);

  const ChipMapping& mapping_;
  const ClockBase& clock_;
  TokenPath& path_;
  bool cycle_level_ = false;
  sc_core::sc_event wake_;
  sc_core::sc_event_or_list wake_events_;  // wake_ or the chip's input freeing a slot
  ServingConfig serving_;
  PowerCap* cap_ = nullptr;
  int64_t kv_reads_charged_ = 0;  // the path's KV position reads already put in cap_'s windows
  std::vector<TokenPath::Finished> settled_;  // TokenPath::settle's exits (reused)
  int64_t chunk_fed_ = 0;      // prompt tokens the head of the prefill queue fed in a row
  size_t decode_credit_ = 0;   // prefill_first: decode tokens let in at a chunk boundary
  bool last_contested_went_to_decode_ = false;  // interleaved: who won the last shared slot
  KvSram& kv_;
  FunctionalData* functional_;
  std::vector<UserRun> users_;
  int64_t shared_prefix_ = 0;
  struct PrefixEntry {
    bool stored_ = false;
    bool ready_ = false;    // its owner computed it (token level) / kept it (cycle level)
    int64_t users_ = 0;     // admitted users of the group still running
    Cycle last_used_ = -1;  // last admission or departure of one of its users
  };
  std::vector<PrefixEntry> prefixes_;  // per group
  PrefixCacheStats prefix_stats_;
  std::deque<std::pair<Cycle, Cycle>> gaps_;  // throttled: inter-token gaps not yet in itl_
  int64_t max_positions_ = 0;

  Cycle now_ = 0;
  size_t next_arrival_ = 0;
  std::deque<int64_t> waiting_;       // arrived, not yet admitted
  std::deque<int64_t> prefill_;       // admitted, prompt tokens left to inject
  std::deque<int64_t> decode_ready_;  // an output token came back, next input ready
  std::priority_queue<Exit, std::vector<Exit>, std::greater<Exit>> exits_;
  size_t peak_exits_ = 0;
  int64_t seq_ = 0;
  int64_t active_users_ = 0;
  int64_t peak_active_users_ = 0;
  int64_t tokens_generated_ = 0;
  int64_t prompt_tokens_computed_ = 0;
  CycleHistogram itl_;
  int64_t mark_stride_ = 1;          // exit cycle kept every mark_stride_ outputs (<= ~1000 kept)
  std::vector<Cycle> marks_;
  ActivityCounts activity_;

  VcdProbe* vcd_ = nullptr;
  int vcd_active_ = -1;
  int vcd_tokens_ = -1;
  int vcd_kv_ = -1;
  std::function<void(const SimProgress&)> progress_;
};

}  // namespace hw::sim
