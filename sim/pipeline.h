// The block pipeline of the chip: every block instance in dataflow order (embedding; per layer
// attn_norm, qkv, [qk_norm], rope, kv_write, attention, o_proj, ffn_norm, ffn_gate_up,
// activation, ffn_down; a link after each die but the last; final_norm, lm_head, sampler; the
// token's return link), each behind its bounded input FIFO.
//
// How time is computed. The pipeline is a line: every block serves tokens in order, so a token
// never overtakes another and nothing a later token does can change an earlier token's timing.
// The SystemC kernel therefore only has to stop when a token enters the chip (the scheduler's
// decision) and when one leaves it; at entry, pass() evaluates the token's whole trajectory with
// the streaming closed forms of chip/mapping.h (stream_step): at every block the cycles at which
// the token's first and last chunks leave, from the block's declared structure, the cycles its
// first and last input chunks arrived, when the block is free again and when its output buffer
// has room. This is the cycle level (cycle_chip.h) summarised per token rather than per cycle:
//   start = max(first input chunk readable, block free)
//   back-pressure: the feeder's chunk j can be written once this block took chunk j - depth - 1
//     (the channel holds depth chunks, the input register one; counted across tokens, so with
//     vectors of at most depth + 1 chunks it is an earlier token's chunk), which may delay the
//     feeder's last chunk, hold its output buffer (the next token waits) or stall its steps
//     (a one-chunk output buffer of K vectors: once K wait). A matrix whose outputs wait for
//     the previous token's holds up the next token's steps as long; a block that holds its
//     vector (norms, activation) starts its next token once its last step found room in its
//     output buffer, its last chunks still queued there. So the embedding's input
//     channel fills when the blocks downstream are full, as at the cycle level, and the
//     scheduler's policy decides which token takes a contested slot;
//   done / first / last / free: stream_step of the block's kind.
// Cycles a feeder's last chunk waits are its output_full stalls, extra attention cycles
// bank_conflict, waiting for the DRAM channel dram_bandwidth, the rest of the idle time
// input_empty.
// With KV in DRAM the order of evaluation matters (the die's DRAM calendar is shared by all
// layers, and the cycle level's channels serve requests in posting order), so there the steps of
// all tokens in flight are evaluated in time order (step_first_ready: the step that comes first
// among those whose inputs are final, keyed by the cycle its token reaches the block, so a sweep
// posted later than that is booked ahead of requests posted in between; docs/simulate.md "Time
// order"): a token's first block at its
// entry, the rest when the scheduler settles the time before its next event (settle), which
// hands it the exits found. Every other state a step reads is its block's and its feeder's, so
// on SRAM chips a token is evaluated whole at entry.
// One exception to "at entry": prefill query tiling (chip.attention.query_tile > 1), where one
// attention sweep serves the queries of consecutive prompt tokens that queue at the block, so a
// token's sweep depends on whether the next token arrives in time. Such a token waits at the
// attention stage (Cursor, parked in the stage's tile) and its passage is finished when the tile
// closes, during a later token's pass (close_tile); tokens that produce an output never wait.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "chip/mapping.h"
#include "sim/block.h"
#include "sim/fifo.h"
#include "sim/kv_runs.h"
#include "sim/kv_sram.h"
#include "sim/token_path.h"
#include "sim/token.h"

namespace hw::sim {

enum class StageKind { kPlain, kKvWrite, kAttention };

struct Stage {
  Stage(BlockModule* block, int64_t layer, int64_t die, StageKind kind, bool head,
        int64_t fifo_depth_tokens, const StreamBlock& stream);

  BlockModule* block_ = nullptr;
  int64_t layer_ = -1;  // -1 for blocks outside the layers
  int64_t die_ = 0;
  StageKind kind_ = StageKind::kPlain;
  bool head_ = false;   // final norm onwards: only tokens that produce output visit it
  BoundedFifo input_;   // occupancy statistics (tokens between arrival and start)
  StreamBlock stream_;  // the block's structure (chip/mapping.h)
  StreamPlan plan_;     // stream_ precomputed for the channel depth (set by the Pipeline)
  Cycle service_cycles_ = 0;  // from the block, for every kind but attention (per token)
  Cycle latency_cycles_ = 0;

  Cycle free_ = 0;       // the block can take its next token's first chunk from this cycle
  Cycle out_clear_ = 0;  // the previous token's outputs have left far enough for the next one
  Cycle last_out_ = -1;  // the previous token's last output chunk, back-pressure included
  // Inputs of at most channel_depth + 1 chunks, where a feeder's chunk waits for this block to
  // take a chunk of an earlier token: the cycles it took its last channel_depth + 1 input chunks
  // (a ring, oldest at taken_head_) and each input chunk's pace (stream_pace; dropping too).
  std::vector<Cycle> taken_;
  size_t taken_head_ = 0;
  std::vector<int64_t> paces_, drop_paces_;
  // Outputs of one chunk whose output buffer holds K > 1 vectors (cycle_chip.cpp sizes it in
  // elements, at least two chunks' worth): the write cycles of the last K (ring, oldest at
  // written_head_); its steps stall when a vector is produced (produced_: its last chunk
  // before the channel's order delays it) while K are waiting.
  std::vector<Cycle> written_;
  size_t written_head_ = 0;
  Cycle produced_ = 0;
  // A feeder that holds its vector (kNorm) starts its next token's pass 1 while its last chunks
  // still wait in its output buffer: under back-pressure its next token can start this many
  // cycles after this block started the token (the last step waits for its chunk c - 1 to leave,
  // stream_final_step_wait; its channel slot frees when this block takes its own chunk
  // c - depth - 2 of the same token), not once its last chunk left. -1: that slot is freed by
  // an earlier token's chunk (or the head's drop), where the feeder's next token waits as long
  // as its last chunk.
  Cycle feeder_free_after_ = -1;
  // kv_write: its q output buffer holds query_tile q vectors plus a chunk (cycle_block.cpp
  // CycleKvWrite), so a token's q enters it once the q query_tile + 1 tokens back has left:
  // the cycles the last query_tile + 1 tokens' last q chunks were written onward (ring, oldest
  // at q_out_head_).
  std::vector<Cycle> q_out_;
  size_t q_out_head_ = 0;
  // Attention: read sweeps [start, end) of earlier tokens that may still be running when a
  // later token's KV write lands (pruned as writes advance).
  std::deque<std::pair<Cycle, Cycle>> sweeps_;
  // Attention on KV DRAM: users whose last sweep here may have left its rows open, and when
  // its data were in (entries a refresh closed since are dropped).
  std::vector<std::pair<int64_t, Cycle>> dram_open_;

  Cycle busy_cycles_ = 0;
  std::array<Cycle, kStallReasonCount> stall_cycles_{};
  int64_t tokens_ = 0;
  int64_t kv_sweeps_ = 0;  // attention: sweeps over the KV context (a query tile is one)

  // "L03.qkv", "embedding", "link0", ...: the stage's name in timelines.
  std::string label() const;
};

// Receives every stage visit (timeline and VCD recorders).
class VisitObserver {
 public:
  virtual ~VisitObserver() = default;
  // Token t was in stage `index`'s input FIFO from `arrive`, taken at `start`, kept the block
  // busy until `busy_end` and left at `depart`.
  virtual void on_visit(size_t index, const Token& t, Cycle arrive, Cycle start, Cycle busy_end,
                        Cycle depart) = 0;
};

class Pipeline : public TokenPath {
 public:
  // `channel_depth`: chunks every block-to-block channel holds (chip.buffers.channel_depth);
  // `query_tile`: prompt queries one attention sweep may serve (chip.attention.query_tile).
  Pipeline(std::vector<Stage> stages, KvSram& kv, bool functional, int64_t channel_depth,
           int64_t query_tile = 1, int64_t shared_prefix_positions = 0);

  // TokenPath: the token level.
  Cycle input_space_at(Cycle) const override { return input_space_at(); }
  Cycle enter(Token& t, Cycle) override { return pass(t); }
  // The users' KV runs, placed as the cycle level places them (kv_runs.h): a user whose run
  // finds no contiguous free slots waits there too, and the DRAM rows a sweep visits follow.
  bool place_user(int64_t user, int64_t positions, int64_t group) override {
    return runs_.place_user(user, positions, group);
  }
  void free_user(int64_t user) override { runs_.free_user(user); }
  bool place_prefix(int64_t group, int64_t positions) override {
    return runs_.place_prefix(group, positions);
  }
  void free_prefix(int64_t group) override { runs_.free_prefix(group); }

  // Cycle from which the embedding's input channel can take one more token.
  Cycle input_space_at() const { return entry_.space_at(); }
  // Evaluates t's passage from t.time_ (the cycle its chunk is written into the embedding's
  // input channel) through every stage it visits (tokens that produce no output stop at the
  // head's input, which drops them); returns the cycle the host reads its output. Functional
  // mode applies each block's golden function on the way. With query tiling an inner prompt
  // token may wait at an attention stage for the next token (its tile, below): its passage is
  // then finished when the tile closes, during a later token's pass, and pass returns -1.
  // Tokens that produce output never wait there (a tile closes with them). With KV in DRAM
  // (time order) only the first stage is evaluated now and pass returns -1: the exit comes
  // from settle.
  Cycle pass(Token& t);
  void set_observer(VisitObserver* observer) { observer_ = observer; }

  const std::vector<Stage>& stages() const { return stages_; }
  int64_t kv_positions_read() const override { return kv_positions_read_; }
  // After the run: throws if a passage was left unevaluated (time order: each ends in an exit
  // the scheduler waited for). unevaluated_from: the earliest cycle a pending stage may reserve
  // the DRAM from (INT64_MAX: none), so pruning the calendar stops there.
  void expect_drained() const;
  Cycle unevaluated_from() const override;
  void settle(Cycle& horizon, std::vector<Finished>& finished) override;
  // Latest departure seen: the end of the simulated activity.
  Cycle last_cycle() const { return last_cycle_; }
  int64_t state_bytes() const;

 private:
  // A token's passage in progress: the next stage to evaluate and the write cycles of its
  // current chunks. Query tiling (chip.attention.query_tile T > 1), as the cycle level's
  // attention forms tiles (cycle_block.h CycleAttention): an inner prompt token whose whole q is
  // taken waits at the attention stage (parked, with its intake: start_, q_taken_) while the
  // next token at that stage is the same user's next prompt position, already there when the
  // previous query was taken (first input chunk readable by then), and the tile holds fewer
  // than T; that token joins. Any other token closes the tile: one sweep over positions
  // 0..last of the tile, then every query's outputs in order, and the parked tokens go on.
  struct Cursor {
    Token t_;
    size_t next_ = 0;
    size_t end_ = 0;
    Cycle first_ = 0, last_ = 0;  // write cycles of its first and last chunk into stage next_
    Cycle kv_ready_ = 0;          // its K and V of the current layer readable
    Stage* prev_ = nullptr;       // the stage it left last
    Cycle prev_first_ = 0;
    Cycle start_ = 0;             // parked: took its first q chunk
    Cycle q_taken_ = 0;           // parked: took its last q chunk
    bool parked_ = false;         // waits in tiles_[next_]
    bool swept_ = false;          // its tile's sweep (sweep_) is done; its outputs are next
    StreamTimes sweep_;
    // kv_write's outputs follow the previous token's in the channel to attention, whose intake
    // of that token sets kv_write's last_out_: applied when this token reaches attention (with
    // the kv_write visit's record), so kv_write's intake and DRAM write need not wait for it.
    bool kv_shift_pending_ = false;
    Cycle visit_arrive_ = 0, visit_start_ = 0, visit_free_ = 0;
    bool done_ = false;
    Cycle leave_ = -1;            // done: the cycle the host reads its output (or the drop)
    int64_t entry_ = 0;           // entry number: its place in active_ is entry_ - front's
    bool ready_ = false;          // time order: in ready_ at ready_time_ (eligible)
    Cycle ready_time_ = 0;
  };
  // Evaluates stage c.next_ of c's passage (or, at an attention stage whose tile is open and
  // which this token does not join in time order, closes the tile and leaves c where it is).
  // kPlain (plain_): KV in SRAM with more than one port per bank and no query tiles, as on
  // hc1-like; its steps skip the DRAM, tile and port-conflict rules (one source, compiled twice).
  template <bool kPlain>
  void step(Cursor& c);
  void finish_step(Cursor& c);
  // Steps c until it is done or parked (token order).
  void run(Cursor& c);
  // Sweeps the open tile of attention stage `index`; its tokens' outputs follow in their own
  // steps (in token order: run at once).
  void close_tile(size_t index);
  // Time order (KV in DRAM): whether active_[k]'s next stage has every input final: the stage's
  // previous visitor is past it, and the next stage's previous visitor took its input there
  // (the feeder's back-pressure state; for kv_write only its q buffer's, query_tile + 1 back).
  bool eligible(size_t k) const;
  static bool took(const Cursor& p, size_t stage);
  // The nth token before active_[k] that visits `stage`; nullptr when it left the active set.
  const Cursor* previous_visitor(size_t k, size_t stage, size_t nth) const;
  // Time order: steps the eligible token whose next stage comes first in time (the front of
  // ready_); enter_first_stage does so until c took its first stage (the entry channel's state).
  void step_first_ready();
  void enter_first_stage(const Cursor& c);
  void pop_done();  // forgets the finished tokens at the front of active_
  // Time order: re-decides whether active_[k] is eligible (ready_); refresh_after(m) does so for
  // every token whose eligibility m's progress may change: m, the next token, the token
  // query_tile + 1 after it (kv_write's q buffer) and, for an output token, the tokens up to the
  // next output token (whose head stages it is the previous visitor of).
  void refresh(size_t k);
  void refresh_after(const Cursor& m);
  size_t index_of(const Cursor& c) const { return size_t(c.entry_ - active_.front().entry_); }
  // KV DRAM: the access cycles `user`'s transfer in slot saves in attention stage st's layer:
  // tRP + tRCD when its rows are still open (its previous access there, since whose start no
  // refresh and no rival layer's access came), tRP when a refresh closed the die's banks since
  // its previous access (or `fresh_channel`: a write opening a channel the run has not reached),
  // else minus the cycles its PRE waits for a rival's row (last burst, ACT + tRAS); it records
  // when the access's own row may be closed (transfers whose rows are not modelled, book_dram).
  // open_rows takes it off a sweep's times (tRP + tRCD where its rows are modelled: their waits
  // are in the slot) and records the sweep's start.
  Cycle row_saving(Stage& st, int64_t user, const KvSram::DramSlot& slot,
                   bool fresh_channel = false);
  void open_rows(Stage& st, int64_t user, const KvSram::DramSlot& slot, StreamTimes& r,
                 bool rows_modelled);
  // KV in DRAM: books stage st's transfer of the user's positions [first, first + positions)
  // on its die's calendar from `earliest` (the request's posting cycle), noting the access and
  // charging the wait to dram_bandwidth. A transfer that reaches every channel holds the
  // calendar through its rows' waits too (KvSram::dram_rows, from the cycle the calendar would
  // start it at) and its slot begins after its first row's wait (rows_modelled); a narrower one
  // keeps the layer-level row rules (row_saving).
  KvSram::DramSlot book_dram(Stage& st, int64_t user, int64_t first, int64_t positions,
                             Cycle earliest, bool& rows_modelled);
  // The cycle a sweep's request is posted: once its (last) query's q is in (`q_taken`), the
  // previous sweep's outputs have left (out_clear_: the cycle level's engine starts a sweep only
  // then) and its own K and V are readable (`kv_ready`).
  static Cycle sweep_posted(const Stage& st, Cycle q_taken, Cycle kv_ready) {
    return std::max({q_taken, st.out_clear_, kv_ready});
  }
  // When stage st took each input chunk of a token (the ring of stages with short inputs; most
  // stages have none, so the check is inline).
  void record_taken(Stage& st, bool drop, Cycle start, Cycle first, Cycle last) {
    if (!st.taken_.empty()) fill_taken(st, drop, start, first, last);
  }
  void fill_taken(Stage& st, bool drop, Cycle start, Cycle first, Cycle last);

  std::vector<Stage> stages_;
  size_t body_end_ = 0;  // stages_[0, body_end_) are visited by every token
  KvSram& kv_;
  bool functional_ = false;
  int64_t channel_depth_ = 2;
  BoundedFifo entry_;    // the embedding's input channel and register, one chunk per token
  VisitObserver* observer_ = nullptr;
  Cycle last_cycle_ = 0;
  int64_t query_tile_ = 1;
  std::vector<std::vector<Cursor*>> tiles_;  // per stage: the open tile (attention stages)
  // Tokens whose passage is not finished, in entry order (references stay valid: deque ends).
  std::deque<Cursor> active_;
  size_t peak_active_ = 0;
  int64_t entries_ = 0;
  std::set<std::pair<Cycle, int64_t>> ready_;  // time order: (next stage's time, entry) eligible
  std::vector<Finished> finished_;  // time order: output tokens done since the last settle
  // KV in DRAM: stages are evaluated across tokens in time order (each token's DRAM requests
  // booked in about the order the cycle level's FCFS channels serve them), not token by token.
  bool ordered_ = false;
  bool plain_ = false;
  int64_t kv_positions_read_ = 0;  // TokenPath::kv_positions_read
  KvRuns runs_;
  size_t parked_ = 0;  // tokens waiting in tiles
  size_t peak_parked_ = 0;
};

}  // namespace hw::sim
