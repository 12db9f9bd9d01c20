// The block pipeline and its trajectory recurrences (see pipeline.h).
#include "sim/pipeline.h"

#include <algorithm>
#include <cstdio>

#include "common/error.h"

namespace hw::sim {

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

Pipeline::Pipeline(std::vector<Stage> stages, KvSram& kv, bool functional, int64_t channel_depth)
    : stages_(std::move(stages)), kv_(kv), functional_(functional),
      channel_depth_(channel_depth), entry_(channel_depth + 1) {
  if (stages_.empty()) throw make_error("Pipeline", "no stages");
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
      if (vectors > 1) st.written_.assign(static_cast<size_t>(vectors - 1), 0);
    }
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
  const bool dram = kv_.dram();
  const bool single_ported = kv_.single_ported();
  const int64_t depth = channel_depth_;
  Cycle first = t.time_, last = t.time_;  // write cycles of the token's first and last chunk
  Cycle kv_ready = 0;
  Stage* prev = nullptr;
  Cycle prev_first = 0;
  for (size_t i = 0; i < end; ++i) {
    Stage& st = stages_[i];
    const bool drop = !t.produces_output_ && i >= body_end_;
    const bool attention = st.kind_ == StageKind::kAttention;
    const Cycle free = st.free_;
    const Cycle start = std::max(first + 1, free);
    // KV in DRAM: the die's channel, reserved in token order. kv_write posts its K and V once
    // its last chunk is in; the sweep's request waits for them to be in the DRAM.
    // The transfer takes the channel's free cycles from its first one on (work-conserving), so
    // it may span more than its own cycles: dram_extra.
    Cycle dram_begin = -1;
    Cycle dram_extra = 0;
    if (st.kind_ != StageKind::kPlain && dram) {
      const Cycle service = attention ? t.attention_service_cycles_ : st.service_cycles_;
      const Cycle earliest =
          attention ? std::max(start + st.plan_.m_ - 1, kv_ready)
                    : std::max(start + st.plan_.m_ - 1, last + 1);
      const auto [begin, end] = kv_.reserve_dram(st.die_, earliest, service);
      dram_begin = begin;
      dram_extra = end - begin - service;
      st.stall_cycles_[static_cast<int>(StallReason::kDramBandwidth)] +=
          dram_begin - earliest + dram_extra;
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
      // The write the feeder's next output waits for: this one's, or with a buffer of K
      // vectors the one K - 1 tokens back.
      Cycle room = last;
      if (!prev->written_.empty()) {
        room = prev->written_[prev->written_head_];
        prev->written_[prev->written_head_] = last;
        prev->written_head_ = (prev->written_head_ + 1) % prev->written_.size();
      }
      const Cycle delay = last - nominal_last;
      if (delay > 0) {
        prev->stall_cycles_[static_cast<int>(StallReason::kOutputFull)] += delay;
        // A feeder with a small output buffer stalls its steps; one that holds a whole vector
        // (matrix, embedding, attention) makes its next token wait instead (out_clear_).
        if (!prev->stream_.holds_output_ && prev->stream_.kind_ != StreamKind::kKvWrite &&
            room > nominal_last) {
          prev->free_ += room - nominal_last;
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
      in.sweep_cycles_ = t.attention_service_cycles_ + penalty + dram_extra;
      in.context_ = t.position_ + 1;
      in.kv_ready_ = dram_begin >= 0 ? dram_begin : kv_ready;
    }
    StreamTimes r = stream_step(plan, in);
    if (r.first_ <= st.last_out_) {
      // A channel is in order: this token's chunks follow the previous token's last one.
      const Cycle shift = st.last_out_ + 1 - r.first_;
      r.first_ += shift;
      r.last_ += shift;
    }
    if (st.kind_ == StageKind::kKvWrite) {
      kv_ready =
          dram_begin >= 0 ? dram_begin + dram_extra + r.kv_ready_ - r.free_ + 1 : r.kv_ready_;
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
    if (!st.taken_.empty()) {
      // When this block took each of this token's input chunks (ring for its feeder's next).
      const std::vector<int64_t>& pace = drop ? st.drop_paces_ : st.paces_;
      const int64_t m = plan.m_;
      const Cycle a = first + 1, b = std::max(last, first) + 1;
      for (int64_t j = 0; j < m; ++j) {
        const Cycle readable = m <= 1 ? b : a + (j * (b - a)) / (m - 1);
        st.taken_[st.taken_head_] = std::max(r.start_ + pace[size_t(j)], readable);
        st.taken_head_ = (st.taken_head_ + 1) % st.taken_.size();
      }
    }
    if (st.stream_.holds_output_) st.out_clear_ = r.last_;  // refined by the next block's intake
    st.input_.record(first + 1, r.start_);
    if (!drop) st.busy_cycles_ += attention ? t.attention_service_cycles_ : st.service_cycles_;
    ++st.tokens_;
    if (functional_ && !drop) st.block_->apply(t, st.layer_);  // dropped: no compute
    if (observer_) observer_->on_visit(i, t, first + 1, r.start_, r.free_, r.last_);
    if (i == 0) entry_.record(t.time_, r.start_);
    prev = &st;
    prev_first = r.first_;
    first = r.first_;
    last = r.last_;
  }
  const Cycle leave = last + 1;  // the host reads the token id a cycle after its write
  last_cycle_ = std::max(last_cycle_, leave);
  return leave;
}

int64_t Pipeline::state_bytes() const {
  int64_t bytes = static_cast<int64_t>(stages_.capacity() * sizeof(Stage)) + entry_.state_bytes();
  for (const auto& s : stages_) {
    bytes += s.input_.state_bytes() + int64_t(s.sweeps_.size() * 16) +
             int64_t((s.taken_.size() + s.paces_.size() + s.drop_paces_.size() +
                      s.written_.size()) * 8);
  }
  return bytes;
}

}  // namespace hw::sim
