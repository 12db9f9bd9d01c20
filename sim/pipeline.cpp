// The block pipeline and its trajectory recurrences (see pipeline.h).
#include "sim/pipeline.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "common/error.h"

namespace hw::sim {
namespace {

// A channel is in order: chunks written from `first` to `last` follow the previous token's last
// one (`last_out`), shifted as a whole.
void follow_in_channel(Cycle last_out, Cycle& first, Cycle& last) {
  if (first > last_out) return;
  const Cycle shift = last_out + 1 - first;
  first += shift;
  last += shift;
}

// Cycles the attention engine computes `pairs` query-position pairs at its MAC and exp rates.
Cycle compute_cycles(const StreamPlan& plan, int64_t pairs) {
  return std::max((pairs * plan.macs_per_position_ + plan.macs_per_cycle_ - 1) / plan.macs_per_cycle_,
                  (pairs * plan.exps_per_position_ + plan.exps_per_cycle_ - 1) / plan.exps_per_cycle_);
}

}  // namespace

Stage::Stage(BlockModule* block, int64_t layer, int64_t die, StageKind kind, bool head,
             int64_t fifo_depth_tokens, const StreamBlock& stream)
    : block_(block), layer_(layer), die_(die), kind_(kind), head_(head),
      input_(fifo_depth_tokens), stream_(stream) {
  if (kind_ != StageKind::kAttention) {
    const BlockTiming t = block_->timing(Token{});
    service_cycles_ = t.service_cycles_;
    latency_cycles_ = t.latency_cycles_;
  }
}

std::string Stage::label() const {
  if (layer_ < 0) return block_->block_name();
  char buf[32];
  std::snprintf(buf, sizeof buf, "L%02lld.", static_cast<long long>(layer_));
  return buf + block_->block_name();
}

Pipeline::Pipeline(std::vector<Stage> stages, KvSram& kv, bool functional, int64_t channel_depth,
                   int64_t query_tile, int64_t shared_prefix_positions)
    : stages_(std::move(stages)), kv_(kv), functional_(functional),
      channel_depth_(channel_depth), entry_(channel_depth + 1),
      query_tile_(std::max<int64_t>(1, query_tile)),
      runs_(kv.capacity_positions(), shared_prefix_positions, 1) {
  if (stages_.empty()) throw make_error("Pipeline", "no stages");
  tiles_.resize(stages_.size());
  ordered_ = kv_.dram();
  plain_ = !kv_.dram() && !kv_.single_ported() && query_tile_ == 1;
  for (Stage& st : stages_) {
    st.plan_ = make_stream_plan(st.stream_, channel_depth_);
    if (st.plan_.m_ <= channel_depth_ + 1) {
      st.taken_.assign(static_cast<size_t>(channel_depth_ + 1), 0);
      for (int64_t j = 0; j < st.plan_.m_; ++j) {
        st.paces_.push_back(stream_pace(st.stream_, j));
        st.drop_paces_.push_back(stream_pace(st.stream_, j, true));
      }
    }
    const StreamBlock& b = st.stream_;
    if (b.out_chunks() == 1 && (b.kind_ == StreamKind::kEmbedding ||
                                b.kind_ == StreamKind::kNorm || b.kind_ == StreamKind::kVector)) {
      const int64_t buffer = b.kind_ == StreamKind::kEmbedding
                                 ? b.outputs_ + b.chunk_
                                 : std::max(2 * b.chunk_, b.lanes_ + b.chunk_);
      const int64_t vectors = buffer / std::max<int64_t>(1, b.outputs_);
      if (vectors > 1) st.written_.assign(static_cast<size_t>(vectors), 0);
    }
  }
  for (size_t i = 1; i < stages_.size(); ++i) {
    Stage& st = stages_[i];
    const FinalStepWait w = stream_final_step_wait(stages_[i - 1].stream_);
    const int64_t g = w.chunks_ - channel_depth_ - 2;
    if (w.chunks_ == 0 || g < 0 || g >= st.plan_.m_) continue;
    // The slot is written a cycle after this block's input register took chunk g + 1 from the
    // channel: a vector unit's register does so in the cycle its step took chunk g, a matrix
    // block's a cycle later (cycle_block.cpp). Then the waiting steps go, one per cycle, and the
    // next token a cycle after the last.
    const int64_t refill = st.stream_.kind_ == StreamKind::kMatrix ? 1 : 0;
    st.feeder_free_after_ = stream_pace(st.stream_, g) + refill + 1 + w.steps_ + 1;
  }
  for (size_t i = 0; i < stages_.size(); ++i) {
    if (stages_[i].kind_ != StageKind::kKvWrite) continue;
    if (i + 1 >= stages_.size() || stages_[i + 1].kind_ != StageKind::kAttention) {
      throw make_error("Pipeline", "a kv_write stage must be followed by its layer's attention");
    }
    stages_[i].q_out_.assign(static_cast<size_t>(query_tile_ + 1), -1);
  }
  body_end_ = stages_.size();
  while (body_end_ > 0 && stages_[body_end_ - 1].head_) --body_end_;
  for (size_t i = 0; i < body_end_; ++i) {
    if (stages_[i].head_) throw make_error("Pipeline", "head stages must come last");
  }
}

Cycle Pipeline::pass(Token& t) {
  // Tokens that produce no output end at the head's input, which takes and drops their chunks.
  const size_t end = t.produces_output_ ? stages_.size()
                                        : std::min(stages_.size(), body_end_ + 1);
  // Functional mode: the golden functions in dataflow order now (a token's data depends only
  // on its own state and its user's earlier positions, so timing may finish later).
  if (functional_) {
    for (size_t i = 0; i < std::min(end, body_end_); ++i) stages_[i].block_->apply(t, stages_[i].layer_);
    for (size_t i = body_end_; i < end && t.produces_output_; ++i) {
      stages_[i].block_->apply(t, stages_[i].layer_);
    }
  }
  active_.emplace_back();
  Cursor& c = active_.back();
  c.entry_ = entries_++;
  c.t_ = t;
  c.end_ = end;
  c.first_ = c.last_ = t.time_;
  if (!ordered_) {
    run(c);
  } else {
    // Stage 0 now (the entry channel's state); the rest when the scheduler settles the time
    // before its next event (settle), which also reports the exit.
    refresh(active_.size() - 1);
    enter_first_stage(c);
  }
  const Cycle leave = c.done_ && !ordered_ ? c.leave_ : -1;
  peak_active_ = std::max(peak_active_, active_.size());
  pop_done();
  return leave;
}

void Pipeline::pop_done() {
  while (!active_.empty() && active_.front().done_) active_.pop_front();
}

void Pipeline::step_first_ready() {
  Cursor& c = active_[size_t(ready_.begin()->second - active_.front().entry_)];
  ready_.erase(ready_.begin());
  c.ready_ = false;
  step<false>(c);  // time order is KV in DRAM's, never a plain pipeline
  refresh_after(c);
}

void Pipeline::settle(Cycle& horizon, std::vector<Finished>& finished) {
  if (!ordered_) return;
  for (;;) {
    for (const Finished& f : finished_) {
      finished.push_back(f);
      horizon = std::min(horizon, f.leave_);
    }
    finished_.clear();
    if (ready_.empty() || ready_.begin()->first >= horizon) break;
    step_first_ready();
  }
  pop_done();
}

void Pipeline::expect_drained() const {
  // Every passage ends in an exit the scheduler waits for or in a tile that a later token of
  // the same prompt closes, so a finished run leaves nothing unevaluated.
  const auto pending = std::count_if(active_.begin(), active_.end(),
                                     [](const Cursor& c) { return !c.done_; });
  if (pending > 0) {
    throw make_error("Pipeline", std::to_string(pending) +
                                     " token passages left unevaluated at the end of the run");
  }
}

Cycle Pipeline::unevaluated_from() const {
  Cycle from = std::numeric_limits<Cycle>::max();
  for (const Cursor& c : active_) {
    if (!c.done_) from = std::min(from, c.first_);
  }
  return from;
}

bool Pipeline::took(const Cursor& p, size_t stage) {
  return p.done_ || p.next_ > stage || (p.parked_ && p.next_ == stage);
}

const Pipeline::Cursor* Pipeline::previous_visitor(size_t k, size_t stage, size_t nth) const {
  for (size_t m = k; m-- > 0;) {
    const Cursor& p = active_[m];
    if (stage < p.end_ && --nth == 0) return &p;
  }
  return nullptr;  // it left the active set: done
}

bool Pipeline::eligible(size_t k) const {
  const Cursor& c = active_[k];
  if (c.done_ || c.parked_) return false;
  const size_t j = c.next_;
  const Cursor* own = previous_visitor(k, j, 1);
  const bool tile_open = own && own->parked_ && own->next_ == j;
  // The stage's own state: its previous visitor is past it (or waits in its open tile).
  if (own && !own->done_ && own->next_ <= j && !tile_open) return false;
  if (stages_[j].kind_ == StageKind::kKvWrite) {
    // The feeders' updates from the next stage: kv_write's only input from attention is its
    // q buffer (q_out_: the intake query_tile + 1 tokens back); its outputs' channel order
    // (last_out_) is applied when the token reaches attention.
    const Cursor* q = previous_visitor(k, j + 1, size_t(query_tile_ + 1));
    return !q || took(*q, j + 1);
  }
  if (j + 1 >= stages_.size() || tile_open) return true;
  const Cursor* next = previous_visitor(k, j + 1, 1);
  return !next || took(*next, j + 1);
}

void Pipeline::refresh(size_t k) {
  if (k >= active_.size()) return;
  Cursor& c = active_[k];
  if (c.ready_) {
    ready_.erase({c.ready_time_, c.entry_});
    c.ready_ = false;
  }
  if (!eligible(k)) return;
  c.ready_ = true;
  c.ready_time_ = c.first_;
  ready_.insert({c.ready_time_, c.entry_});
}

void Pipeline::refresh_after(const Cursor& m) {
  const size_t k = index_of(m);
  refresh(k);
  refresh(k + 1);
  refresh(k + size_t(query_tile_) + 1);
  if (!m.t_.produces_output_) return;
  for (size_t n = k + 2; n < active_.size(); ++n) {
    refresh(n);
    if (active_[n].t_.produces_output_) break;
  }
}

void Pipeline::enter_first_stage(const Cursor& c) {
  while (c.next_ == 0) {
    // The older tokens it waits for can always go: the oldest unfinished token's inputs are
    // final unless it waits in a tile, which only a younger token (this one, at most) closes.
    if (ready_.empty()) {
      throw make_error("Pipeline", "no token can advance (time-ordered evaluation)");
    }
    step_first_ready();
  }
}

void Pipeline::finish_step(Cursor& c) {
  ++c.next_;
  if (c.next_ < c.end_) return;
  c.done_ = true;
  c.leave_ = c.last_ + 1;  // the host reads the token id a cycle after its write
  last_cycle_ = std::max(last_cycle_, c.leave_);
  if (ordered_ && c.t_.produces_output_) finished_.push_back({c.t_, c.leave_});
}

template <bool kPlain>
__attribute__((always_inline)) inline void Pipeline::step(Cursor& c) {
  Token& t = c.t_;
  const bool dram = !kPlain && kv_.dram();
  const bool single_ported = !kPlain && kv_.single_ported();
  const int64_t depth = channel_depth_;
  Cycle& first = c.first_;  // write cycles of the token's first and last chunk
  Cycle& last = c.last_;
  Cycle& kv_ready = c.kv_ready_;
  Stage*& prev = c.prev_;
  Cycle& prev_first = c.prev_first_;
  const size_t i = c.next_;
  Stage& st = stages_[i];
  if (!kPlain && c.swept_) {
    // Its tile's sweep is done (close_tile): the outputs leave query after query (the channel
    // keeps them in order, after the previous token's last chunk).
    StreamTimes r = c.sweep_;
    r.start_ = c.start_;
    follow_in_channel(st.last_out_, r.first_, r.last_);
    st.free_ = r.free_;
    st.out_clear_ = r.last_;  // refined by the next block's intake
    ++st.tokens_;
    if (observer_) observer_->on_visit(i, t, first + 1, r.start_, r.free_, r.last_);
    prev = &st;
    prev_first = r.first_;
    first = r.first_;
    last = r.last_;
    c.swept_ = false;
    finish_step(c);
    return;
  }
  if (c.kv_shift_pending_) {
    // kv_write's outputs follow the previous token's last chunk into this stage, known once
    // this stage took the previous token (its last_out_); its visit is recorded then.
    follow_in_channel(stages_[i - 1].last_out_, first, last);
    prev_first = first;
    if (observer_) observer_->on_visit(i - 1, t, c.visit_arrive_, c.visit_start_, c.visit_free_, last);
    c.kv_shift_pending_ = false;
  }
  {
    const bool drop = !t.produces_output_ && i >= body_end_;
    const bool attention = st.kind_ == StageKind::kAttention;
    // Query tiling: join the open tile, or close it (its sweep frees the engine) first.
    const bool tiling = !kPlain && attention && query_tile_ > 1;
    bool joins = false;
    if (tiling && !tiles_[i].empty()) {
      const Cursor& q = *tiles_[i].back();
      joins = int64_t(tiles_[i].size()) < query_tile_ && q.t_.prompt_ &&
              !q.t_.produces_output_ && t.prompt_ && t.user_ == q.t_.user_ &&
              t.position_ == q.t_.position_ + 1 && first <= std::max(q.q_taken_, st.out_clear_);
      if (!joins) {
        close_tile(i);
        // Time order: the tile's queries take the next stage first; this token comes back.
        if (ordered_) return;
      }
    }
    const bool parks = tiling && (joins || (t.prompt_ && !t.produces_output_));
    Cycle free = joins ? tiles_[i].back()->q_taken_ + 1 : st.free_;
    // kv_write's q buffer: this token's q enters once the q query_tile + 1 visits back left.
    if (!st.q_out_.empty()) free = std::max(free, st.q_out_[size_t(st.tokens_) % st.q_out_.size()]);
    const Cycle start = std::max(first + 1, free);
    // KV in DRAM: the die's channel, reserved when the step is evaluated (time order). kv_write
    // posts its K and V once its last chunk is in; the sweep's request waits for them to be in
    // the DRAM (sweep_posted).
    // The transfer takes the channel's free cycles from its first one on (work-conserving,
    // refreshes blocked), so it may span more than its own cycles: [dram_begin, dram_end).
    Cycle dram_begin = -1, dram_end = -1;
    bool rows_modelled = false;
    KvSram::DramSlot slot;
    if (st.kind_ != StageKind::kPlain && dram && !parks) {
      const Cycle earliest = attention ? sweep_posted(st, start + st.plan_.m_ - 1, kv_ready)
                                       : std::max(start + st.plan_.m_ - 1, last + 1);
      const int64_t bytes = kv_.dram_position_bytes() * (attention ? t.position_ + 1 : 1);
      slot = book_dram(st, t.user_, attention ? 0 : t.position_, attention ? t.position_ + 1 : 1,
                       earliest, rows_modelled);
      dram_begin = slot.begin_;
      dram_end = std::max(slot.end_, dram_begin + kv_.dram_channel_cycles(bytes));
    }
    const StreamPlan& plan = st.plan_;
    if (prev) {
      // Back-pressure: the feeder's chunk j is written once this block took chunk j-depth-1.
      const int64_t m = plan.m_;
      const Cycle nominal_last = last;
      const int64_t bp_last = drop ? m - depth - 2 : plan.bp_last_pace_;
      if (bp_last >= 0) last = std::max(last, start + bp_last + 1);
      if (!st.taken_.empty()) {
        // Chunk j-depth-1 is an earlier token's: the ring holds when this block took it.
        last = std::max(last, st.taken_[(st.taken_head_ + size_t(m) - 1) % st.taken_.size()] + 1);
      }
      prev->last_out_ = last;
      if (!prev->q_out_.empty()) {
        prev->q_out_[prev->q_out_head_] = last;
        prev->q_out_head_ = (prev->q_out_head_ + 1) % prev->q_out_.size();
      }
      // A feeder's output buffer of K > 1 vectors: this token's output found it full until
      // the write K tokens back (full_at); the next one's waits for the write K - 1 back (room).
      Cycle room = last, full_at = -1;
      if (!prev->written_.empty()) {
        full_at = prev->written_[prev->written_head_];
        prev->written_[prev->written_head_] = last;
        prev->written_head_ = (prev->written_head_ + 1) % prev->written_.size();
        room = prev->written_[prev->written_head_];
      }
      const Cycle delay = last - nominal_last;
      if (delay > 0) {
        prev->stall_cycles_[static_cast<int>(StallReason::kOutputFull)] += delay;
        // A feeder with a small output buffer stalls its steps; one that holds a whole vector
        // (matrix, embedding, attention) makes its next token wait instead (out_clear_).
        if (!prev->stream_.holds_output_ && prev->stream_.kind_ != StreamKind::kKvWrite) {
          if (!drop && st.feeder_free_after_ >= 0) {
            prev->free_ = std::max(prev->free_, start + st.feeder_free_after_);
          } else if (prev->written_.empty()) {
            prev->free_ += delay;
          } else if (full_at > prev->produced_) {
            prev->free_ += full_at - prev->produced_;
          }
        }
      }
      if (prev->stream_.holds_output_) {
        if (prev->stream_.kind_ == StreamKind::kAttention ||
            prev->stream_.kind_ == StreamKind::kMatrix) {
          // Attention: the next sweep starts once every output chunk left; matrix: the next
          // token's outputs follow this one's last chunk.
          prev->out_clear_ = last;
        } else {
          // Its output buffer holds a vector plus a chunk: the next token's final step waits
          // until at most one chunk of this one is left.
          const int64_t j = m - 2;
          Cycle clear = 0;
          if (j >= 0) {
            clear = stream_chunk_cycle(prev_first, nominal_last, m, j);
            const int64_t bp_clear = drop ? m - depth - 3 : plan.bp_clear_pace_;
            if (bp_clear >= 0) clear = std::max(clear, start + bp_clear + 1);
          } else if (m == 1) {
            // One chunk per vector, a buffer of K vectors: the next token's final step waits
            // for the write K - 1 tokens back.
            clear = room;
          }
          prev->out_clear_ = clear;
        }
      }
    }
    if (parks) {
      // Its whole q is in at q_taken_ (stream_step's taken(m - 1)); it waits in the tile.
      record_taken(st, drop, start, first, last);
      st.input_.record(first + 1, start);
      c.start_ = start;
      c.q_taken_ = std::max(start + st.plan_.m_ - 1, std::max(last, first) + 1);
      c.parked_ = true;
      std::vector<Cursor*>& tile = tiles_[i];
      tile.push_back(&c);
      peak_parked_ = std::max(peak_parked_, ++parked_);
      if (int64_t(tile.size()) >= query_tile_ || !t.prompt_ || t.produces_output_) close_tile(i);
      return;
    }
    StreamInput in;
    in.first_in_ = first;
    in.last_in_ = last;
    in.free_ = free;
    in.out_clear_ = st.out_clear_;
    in.drop_ = drop;
    Cycle penalty = 0;
    if (attention) {
      // On single-ported banks this token's KV write, if it landed while an earlier token was
      // sweeping this engine, stole read cycles: one penalty per write wave (mapping.h). The
      // sweep it hit is already evaluated, so the penalty is charged to this token's own sweep,
      // the next one on the engine: the engine loses the same cycles, one token later.
      if (single_ported) {
        while (!st.sweeps_.empty() && st.sweeps_.front().second <= t.kv_write_start_) {
          st.sweeps_.pop_front();
        }
        if (!st.sweeps_.empty() && st.sweeps_.front().first < t.kv_write_end_) {
          penalty = t.conflict_penalty_cycles_;
          st.stall_cycles_[static_cast<int>(StallReason::kBankConflict)] += penalty;
        }
      }
      in.sweep_cycles_ = dram_begin >= 0
                             ? std::max(dram_end - dram_begin, compute_cycles(plan, t.position_ + 1))
                             : t.attention_service_cycles_ + penalty;
      in.context_ = t.position_ + 1;
      kv_positions_read_ += t.position_ + 1;
      ++st.kv_sweeps_;
      in.kv_ready_ = dram_begin >= 0 ? dram_begin : kv_ready;
    }
    StreamTimes r = stream_step(plan, in);
    st.produced_ = r.last_;
    if (attention && dram) open_rows(st, t.user_, slot, r, rows_modelled);
    const bool kv_write = st.kind_ == StageKind::kKvWrite;
    if (!kv_write) follow_in_channel(st.last_out_, r.first_, r.last_);
    if (st.kind_ == StageKind::kKvWrite) {
      kv_ready = r.kv_ready_;
      if (dram_begin >= 0) {
        // Rows not modelled (a write narrower than the channels): it goes to the row the
        // user's previous sweep in this layer left open, when no refresh closed it since, and
        // saves tRP + tRCD as that sweep's successor does; one that starts a channel the run
        // has not reached yet opens its row there.
        kv_ready = dram_end + kv_.dram_access_latency() + 1 -
                   (rows_modelled ? kv_.dram_open_row_saving()
                                  : row_saving(stages_[i + 1], t.user_, slot,
                                               kv_.dram_write_opens_channel(t.position_)));
      }
      t.kv_write_start_ = r.start_;
      t.kv_write_end_ = r.free_;
    } else if (attention && single_ported) {
      st.sweeps_.emplace_back(r.start_, r.done_ + 1);
    }
    st.free_ = r.free_;
    if (st.stream_.kind_ == StreamKind::kMatrix) {
      // Outputs that waited for the previous token's: the finished vector waited as long in the
      // last register before the hold registers, and held up the next token's steps behind it.
      const Cycle held = r.first_ - (r.done_ + plan.first_done_);
      if (held > 0) st.free_ = std::max(st.free_, r.done_ + held + 1 - plan.done_ahead_);
    }
    record_taken(st, drop, r.start_, first, last);
    if (st.stream_.holds_output_) st.out_clear_ = r.last_;  // refined by the next block's intake
    st.input_.record(first + 1, r.start_);
    if (!drop) st.busy_cycles_ += attention ? t.attention_service_cycles_ : st.service_cycles_;
    ++st.tokens_;
    if (kv_write) {
      // Its outputs' channel order waits for attention's intake of the previous token (above).
      c.kv_shift_pending_ = true;
      c.visit_arrive_ = first + 1;
      c.visit_start_ = r.start_;
      c.visit_free_ = r.free_;
    } else if (observer_) {
      observer_->on_visit(i, t, first + 1, r.start_, r.free_, r.last_);
    }
    if (i == 0) entry_.record(t.time_, r.start_);
    prev = &st;
    prev_first = r.first_;
    first = r.first_;
    last = r.last_;
  }
  finish_step(c);
}

void Pipeline::run(Cursor& c) {
  if (plain_) {
    while (!c.done_ && !c.parked_) step<true>(c);
  } else {
    while (!c.done_ && !c.parked_) step<false>(c);
  }
}

Cycle Pipeline::row_saving(Stage& st, int64_t user, const KvSram::DramSlot& slot,
                           bool fresh_channel) {
  // The cycle level keeps a bank's row open until another row of that bank or a refresh needs
  // it: an access that follows the same user's previous access in this layer, with no refresh
  // and no rival layer's access in between, finds its rows open and saves tRP + tRCD
  // (mapping.h). Users' runs are taken not to share banks (rows of other users are not
  // tracked; other layers' by dram_rows_kept). Otherwise a refresh since the die's previous
  // access closed every bank: no PRE (tRP saved). Else a rival's row is open in its banks: the
  // PRE waits for that row's last burst and its ACT + tRAS (dram_row_miss_wait), a negative
  // saving, as the cycle level's bank does (kv_dram.cpp: pre_ok_).
  const Cycle dram_begin = slot.begin_;
  bool open = false;
  auto& seen = st.dram_open_;
  for (size_t k = 0; k < seen.size();) {
    if (kv_.dram_refresh_between(seen[k].second, dram_begin)) {
      seen[k] = seen.back();
      seen.pop_back();
      continue;
    }
    if (seen[k].first == user) open = kv_.dram_rows_kept(st.layer_, seen[k].second, dram_begin);
    ++k;
  }
  Cycle saving = 0;
  Cycle act = -1;  // this access's ACT, when it opens its rows
  const Cycle closed = kv_.dram_closed_bank_saving(slot);
  if (open && !fresh_channel) {
    saving = kv_.dram_open_row_saving();
  } else if (closed > 0) {
    saving = closed;
    act = dram_begin + 1;
  } else {
    const Cycle wait = kv_.dram_row_miss_wait(st.layer_, dram_begin);
    saving = -wait;
    act = dram_begin + 1 + wait + kv_.dram_precharge_cycles();
  }
  // Its last burst leaves tRP + tRCD - saving after the slot's end (the data CL later: the
  // access latency of mapping.h); a rival's PRE waits for it and for this ACT + tRAS.
  const Cycle last_burst = slot.end_ + kv_.dram_open_row_saving() - saving;
  kv_.dram_note_rows(st.layer_, dram_begin,
                     act < 0 ? last_burst : std::max(act + kv_.dram_ras_cycles(), last_burst));
  return saving;
}

KvSram::DramSlot Pipeline::book_dram(Stage& st, int64_t user, int64_t first, int64_t positions,
                                     Cycle earliest, bool& rows_modelled) {
  const Cycle transfer = kv_.dram_transfer_cycles(kv_.dram_position_bytes() * positions);
  // The positions' slots: below the shared prefix its group's run, then the user's own.
  const KvAddress a = runs_.address(user);
  KvSram::SlotRanges ranges;
  const int64_t end = first + positions;
  if (first < a.prefix_positions_) {
    ranges[0] = {a.slot(first), std::min(end, a.prefix_positions_) - first};
  }
  if (end > a.prefix_positions_) {
    const int64_t from = std::max(first, a.prefix_positions_);
    ranges[1] = {a.slot(from), end - from};
  }
  // Its rows (where it reaches every channel), then the bytes and the rows' waits booked
  // together.
  const KvSram::DramRows rows = kv_.dram_rows(st.die_, st.layer_, ranges, earliest);
  rows_modelled = rows.modelled_;
  KvSram::DramSlot slot = kv_.reserve_dram(st.die_, earliest, transfer + rows.stall_);
  kv_.dram_note_access(st.layer_, slot.begin_);
  st.stall_cycles_[static_cast<int>(StallReason::kDramBandwidth)] += slot.end_ - earliest - transfer;
  slot.begin_ += rows.first_stall_;
  return slot;
}

void Pipeline::open_rows(Stage& st, int64_t user, const KvSram::DramSlot& slot, StreamTimes& r,
                         bool rows_modelled) {
  const Cycle saving = rows_modelled ? kv_.dram_open_row_saving() : row_saving(st, user, slot);
  r.done_ -= saving;
  r.first_ -= saving;
  r.last_ -= saving;
  r.free_ -= saving;
  auto& seen = st.dram_open_;
  auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& e) { return e.first == user; });
  if (it != seen.end()) {
    it->second = slot.begin_;
  } else {
    seen.emplace_back(user, slot.begin_);
  }
}

void Pipeline::fill_taken(Stage& st, bool drop, Cycle start, Cycle first, Cycle last) {
  // When this block took each of this token's input chunks (ring for its feeder's next).
  const std::vector<int64_t>& pace = drop ? st.drop_paces_ : st.paces_;
  const int64_t m = st.plan_.m_;
  const Cycle a = first + 1, b = std::max(last, first) + 1;
  for (int64_t j = 0; j < m; ++j) {
    const Cycle readable = m <= 1 ? b : a + (j * (b - a)) / (m - 1);
    st.taken_[st.taken_head_] = std::max(start + pace[size_t(j)], readable);
    st.taken_head_ = (st.taken_head_ + 1) % st.taken_.size();
  }
}

void Pipeline::close_tile(size_t index) {
  std::vector<Cursor*> tile = std::move(tiles_[index]);
  tiles_[index].clear();
  parked_ -= tile.size();
  Stage& st = stages_[index];
  const Cursor& lastq = *tile.back();
  const Token& lt = lastq.t_;
  // One sweep over positions 0..last of the tile once the last query is in (and, in DRAM, its
  // K and V); each query scores the positions up to its own: n (p0 + 1) + n (n - 1) / 2 query-
  // position pairs for n queries from position p0, at the engine's MAC and exp rates
  // (stream_step's compute term takes them as the context).
  const int64_t n = int64_t(tile.size());
  const int64_t p0 = tile.front()->t_.position_;
  const int64_t pairs = n * (p0 + 1) + n * (n - 1) / 2;
  kv_positions_read_ += lt.position_ + 1;
  ++st.kv_sweeps_;
  Cycle penalty = 0;
  if (kv_.single_ported()) {
    while (!st.sweeps_.empty() && st.sweeps_.front().second <= lt.kv_write_start_) {
      st.sweeps_.pop_front();
    }
    if (!st.sweeps_.empty() && st.sweeps_.front().first < lt.kv_write_end_) {
      penalty = lt.conflict_penalty_cycles_;
      st.stall_cycles_[static_cast<int>(StallReason::kBankConflict)] += penalty;
    }
  }
  Cycle kv_ready = lastq.kv_ready_;
  KvSram::DramSlot slot;
  bool rows_modelled = false;
  Cycle sweep_cycles = lt.attention_service_cycles_ + penalty;
  const StreamPlan& plan = st.plan_;
  if (kv_.dram()) {
    const int64_t bytes = kv_.dram_position_bytes() * (lt.position_ + 1);
    const Cycle earliest = sweep_posted(st, lastq.q_taken_, lastq.kv_ready_);
    slot = book_dram(st, lt.user_, 0, lt.position_ + 1, earliest, rows_modelled);
    kv_ready = slot.begin_;
    sweep_cycles = std::max({slot.end_ - slot.begin_, kv_.dram_channel_cycles(bytes),
                             compute_cycles(plan, lt.position_ + 1)});
  }
  StreamInput in;
  in.first_in_ = lastq.first_;
  in.last_in_ = lastq.last_;
  in.free_ = lastq.start_;
  in.out_clear_ = st.out_clear_;
  in.sweep_cycles_ = sweep_cycles;
  in.context_ = pairs;
  in.kv_ready_ = kv_ready;
  StreamTimes sweep = stream_step(st.plan_, in);
  if (kv_.dram()) open_rows(st, lt.user_, slot, sweep, rows_modelled);
  if (kv_.single_ported()) st.sweeps_.emplace_back(sweep.start_, sweep.done_ + 1);
  st.busy_cycles_ += std::max(lt.attention_service_cycles_, compute_cycles(plan, pairs));
  // Each query's outputs leave in its own step (step: swept_), query after query.
  for (Cursor* q : tile) {
    q->parked_ = false;
    q->swept_ = true;
    q->sweep_ = sweep;
  }
  if (!ordered_) {
    for (Cursor* q : tile) run(*q);
  } else {
    for (Cursor* q : tile) refresh_after(*q);
  }
}

int64_t Pipeline::state_bytes() const {
  int64_t bytes = static_cast<int64_t>(stages_.capacity() * sizeof(Stage)) + entry_.state_bytes();
  for (const auto& s : stages_) {
    bytes += s.input_.state_bytes() + int64_t(s.sweeps_.size() * 16) +
             int64_t((s.taken_.size() + s.paces_.size() + s.drop_paces_.size() +
                      s.written_.size()) * 8);
  }
  bytes += int64_t(tiles_.capacity() * sizeof(std::vector<Cursor*>) +
                   peak_parked_ * sizeof(Cursor*) + peak_active_ * sizeof(Cursor));
  return bytes;
}

}  // namespace hw::sim
