// The block pipeline and its trajectory recurrences (see pipeline.h).
#include "sim/pipeline.h"

#include <algorithm>
#include <cstdio>

#include "common/error.h"

namespace hw::sim {

Stage::Stage(BlockModule* block, int64_t layer, int64_t die, StageKind kind, bool head,
             int64_t fifo_depth_tokens)
    : block_(block), layer_(layer), die_(die), kind_(kind), head_(head),
      input_(fifo_depth_tokens) {
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

Pipeline::Pipeline(std::vector<Stage> stages, KvSram& kv, bool functional)
    : stages_(std::move(stages)), kv_(kv), functional_(functional) {
  if (stages_.empty()) throw make_error("Pipeline", "no stages");
  body_end_ = stages_.size();
  while (body_end_ > 0 && stages_[body_end_ - 1].head_) --body_end_;
  for (size_t i = 0; i < body_end_; ++i) {
    if (stages_[i].head_) throw make_error("Pipeline", "head stages must come last");
  }
}

Cycle Pipeline::pass(Token& t) {
  const size_t end = t.produces_output_ ? stages_.size() : body_end_;
  const bool dram = kv_.dram();
  const bool single_ported = kv_.single_ported();
  Cycle time = t.time_;
  for (size_t i = 0; i < end; ++i) {
    Stage& st = stages_[i];
    const Cycle arrive = time;
    const Cycle start = std::max(arrive, st.next_issue_);
    const bool attention = st.kind_ == StageKind::kAttention;
    const Cycle service = attention ? t.attention_service_cycles_ : st.service_cycles_;
    const Cycle latency = attention ? t.attention_latency_cycles_ : st.latency_cycles_;
    Cycle begin = start;    // first cycle of useful work
    Cycle penalty = 0;      // bank-conflict cycles added to this token's work
    if (st.kind_ != StageKind::kPlain && dram) {
      begin = kv_.reserve_dram(st.die_, start, service);
      st.stall_cycles_[static_cast<int>(StallReason::kDramBandwidth)] += begin - start;
    }
    if (st.kind_ == StageKind::kKvWrite) {
      t.kv_write_start_ = begin;
      t.kv_write_end_ = begin + service;
    } else if (attention) {
      // On single-ported banks this token's KV write, if it landed while an earlier token was
      // sweeping this engine, stole read cycles: one penalty per write wave (mapping.h). The
      // sweep it hit is already evaluated, so the penalty is charged to this token's own sweep,
      // the next one on the engine: the engine loses the same cycles, one token later.
      if (single_ported) {
        // Writes start in token order, so sweeps that ended before this write can go.
        while (!st.sweeps_.empty() && st.sweeps_.front().second <= t.kv_write_start_) {
          st.sweeps_.pop_front();
        }
        if (!st.sweeps_.empty() && st.sweeps_.front().first < t.kv_write_end_) {
          penalty = t.conflict_penalty_cycles_;
          st.stall_cycles_[static_cast<int>(StallReason::kBankConflict)] += penalty;
        }
        st.sweeps_.emplace_back(begin, begin + service + penalty);
      }
    }
    const Cycle busy_end = begin + service + penalty;
    const Cycle ready = begin + latency + penalty;
    const Cycle space = i + 1 < end ? stages_[i + 1].input_.space_at() : 0;
    const Cycle depart = std::max({ready, st.last_departure_, space});
    const Cycle held = depart - ready;
    st.next_issue_ = busy_end + held;
    st.last_departure_ = depart;
    st.input_.record(arrive, start);
    st.busy_cycles_ += service;
    st.stall_cycles_[static_cast<int>(StallReason::kOutputFull)] += held;
    ++st.tokens_;
    if (functional_) st.block_->apply(t, st.layer_);
    if (observer_) observer_->on_visit(i, t, arrive, begin, busy_end, depart);
    time = depart;
  }
  last_cycle_ = std::max(last_cycle_, time);
  return time;
}

int64_t Pipeline::state_bytes() const {
  int64_t bytes = static_cast<int64_t>(stages_.capacity() * sizeof(Stage));
  for (const auto& s : stages_) bytes += s.input_.state_bytes();
  return bytes;
}

}  // namespace hw::sim
