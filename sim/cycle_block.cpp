// Block processes of the cycle-level model (see cycle_block.h).
#include "sim/cycle_block.h"

#include <algorithm>
#include <climits>

#include "common/error.h"

namespace hw::sim {
CycleProcess::CycleProcess(sc_core::sc_module_name name, const ClockBase& clock,
                           int64_t chunk_elements)
    : sc_core::sc_module(name), in_("in"), out_("out"), clock_(clock),
      chunk_elements_(chunk_elements) {
  SC_METHOD(run);
}

void CycleProcess::run() {
  if (sleeping_) {
    // Woken by a write into the input channel (or the first evaluation): the chunk is visible
    // from the next edge, where the block acts.
    sleeping_ = false;
    next_trigger(clock_.delay_until(clock_.cycle_now() + 1));
    return;
  }
  const Cycle now = clock_.cycle_now();
  stats_.channel_peak_chunks_ =
      std::max<int64_t>(stats_.channel_peak_chunks_, in_->num_available());
  const bool more = tick(now);
  if (observer_) {
    const int64_t q = in_->num_available();
    if (q != observed_queue_) observer_->on_queue(observer_index_, q, now);
    observed_queue_ = q;
  }
  if (more) {
    next_trigger(clock_.delay_until(now + 1));
  } else {
    sleeping_ = true;
    next_trigger(in_->data_written_event());
  }
}

bool CycleProcess::fill_input() {
  if (!in_valid_ && in_->num_available() > 0) {
    in_reg_ = in_->read();
    in_valid_ = true;
    if (observer_ && in_reg_.index_ == 0) {
      const Cycle now = clock_.cycle_now();
      starts_.emplace_back(in_reg_.token_, now);
      observer_->on_start(observer_index_, *in_reg_.token_, now);
    }
  }
  return in_valid_;
}

void CycleProcess::departed(const Token* t, Cycle now) {
  if (!observer_) return;
  for (size_t i = 0; i < starts_.size(); ++i) {
    if (starts_[i].first == t) {
      const Cycle start = starts_[i].second;
      starts_.erase(starts_.begin() + static_cast<std::ptrdiff_t>(i));
      observer_->on_depart(observer_index_, *t, start, now);
      return;
    }
  }
}

void CycleProcess::produce(Token* t, int64_t elements, int64_t vector_elements, Cycle ready) {
  if (elements <= 0) return;
  if (!out_runs_.empty() && out_runs_.back().token_ == t && out_runs_.back().ready_ == ready) {
    out_runs_.back().elements_ += elements;
  } else {
    out_runs_.push_back({ready, t, elements, vector_elements});
  }
  out_pending_ += elements;
}

bool CycleProcess::emit(Cycle now, int64_t output_lanes) {
  if (out_runs_.empty()) {
    out_credit_ = 0;
    return false;
  }
  const OutRun& head = out_runs_.front();
  if (head.ready_ > now) return true;
  out_credit_ = std::min(out_credit_ + output_lanes, std::max(output_lanes, chunk_elements_));
  const int64_t want = std::min<int64_t>(chunk_elements_, head.vector_elements_ - out_sent_);
  int64_t ready = 0;
  for (const OutRun& r : out_runs_) {
    if (r.token_ != head.token_ || r.ready_ > now) break;
    ready += r.elements_;
    if (ready >= want) break;
  }
  if (ready < want || out_credit_ < want) return true;
  if (out_->num_free() <= 0) {
    ++stats_.stall_cycles_[size_t(StallReason::kOutputFull)];
    return true;
  }
  Token* t = head.token_;
  const int64_t vector = head.vector_elements_;
  Chunk c;
  c.token_ = t;
  c.index_ = out_index_++;
  c.elements_ = static_cast<int32_t>(want);
  c.last_ = out_sent_ + want >= vector;
  out_->write(c);
  out_credit_ -= want;
  out_sent_ += want;
  out_pending_ -= want;
  int64_t left = want;
  while (left > 0) {
    OutRun& r = out_runs_.front();
    const int64_t take = std::min(left, r.elements_);
    r.elements_ -= take;
    left -= take;
    if (r.elements_ == 0) out_runs_.pop_front();
  }
  if (c.last_) {
    out_sent_ = 0;
    out_index_ = 0;
    departed(t, now);
  }
  return !out_runs_.empty();
}

CycleBlock::CycleBlock(sc_core::sc_module_name name, const ClockBase& clock,
                       int64_t chunk_elements, CycleBlockSpec spec, const BlockModule* golden,
                       bool functional, std::function<void(Token*, Cycle)> on_drop)
    : CycleProcess(name, clock, chunk_elements), spec_(std::move(spec)), golden_(golden),
      functional_(functional), on_drop_(std::move(on_drop)) {
  if (spec_.phases_.empty()) throw make_error("CycleBlock " + spec_.name_, "no phases");
  // The output buffer holds at least what one step produces (the last step of rope also passes
  // v through) on top of a partly filled chunk, or that step could never start.
  for (const CyclePhase& p : spec_.phases_) {
    const int64_t most =
        p.outputs_per_step_ == 0
            ? p.outputs_
            : std::max(p.outputs_per_step_, p.outputs_ - (p.steps_ - 1) * p.outputs_per_step_);
    spec_.output_buffer_ = std::max(spec_.output_buffer_, most + chunk_elements);
  }
}

int64_t CycleBlock::need_of_step() const {
  const CyclePhase& p = spec_.phases_[phase_];
  const bool final_step = phase_ + 1 == spec_.phases_.size() && step_ + 1 == p.steps_;
  if (final_step) return spec_.inputs_;
  return std::min(spec_.inputs_, phase_input_base_ + (step_ + 1) * p.inputs_per_step_);
}

int64_t CycleBlock::outputs_of_step() const {
  const CyclePhase& p = spec_.phases_[phase_];
  const bool last = step_ + 1 == p.steps_;
  if (p.outputs_per_step_ == 0) return last ? p.outputs_ : 0;
  return last ? p.outputs_ - produced_ : std::min(p.outputs_per_step_, p.outputs_ - produced_);
}

bool CycleBlock::tick(Cycle now) {
  bool more = emit(now, spec_.output_lanes_);
  fill_input();
  if (!cur_ && in_valid_) {
    cur_ = in_reg_.token_;
    received_ = 0;
    applied_ = false;
    phase_ = 0;
    step_ = 0;
    phase_input_base_ = 0;
    produced_ = 0;
    dropping_ = spec_.head_ && !cur_->produces_output_;
    ++stats_.tokens_;
  }
  if (!cur_) return more || in_valid_;
  if (dropping_) {
    // The head's input demux: chunks of prompt tokens that produce no output go nowhere.
    if (in_valid_ && in_reg_.token_ == cur_) {
      const bool last = in_reg_.last_;
      in_valid_ = false;
      if (last) {
        Token* t = cur_;
        cur_ = nullptr;
        departed(t, now);
        if (on_drop_) on_drop_(t, now);
      }
    }
    return true;
  }
  if (now < busy_until_) {
    ++stats_.busy_cycles_;
    return true;
  }
  const int64_t need = need_of_step();
  while (received_ < need && in_valid_ && in_reg_.token_ == cur_) {
    received_ += in_reg_.elements_;
    in_valid_ = false;
    // One chunk per cycle from the channel; a chunk already in the register is free.
    break;
  }
  if (received_ < need) {
    fill_input();
    return true;  // input_empty: waiting for the chunk this step needs
  }
  const int64_t outs = outputs_of_step();
  if (outs > 0 && output_pending() + outs > spec_.output_buffer_) {
    ++stats_.stall_cycles_[size_t(StallReason::kOutputFull)];
    return true;
  }
  const CyclePhase& p = spec_.phases_[phase_];
  busy_until_ = now + p.cycles_per_step_;
  ++stats_.busy_cycles_;
  const bool final_step = phase_ + 1 == spec_.phases_.size() && step_ + 1 == p.steps_;
  // The golden function once the whole input is in (a two-pass block: at its first output
  // step), so the state holds the output before its first chunk leaves (an RTL block behind it
  // reads the whole vector with its first chunk, rtl/cosim.h).
  if (!applied_ && received_ >= spec_.inputs_) {
    applied_ = true;
    if (functional_ && golden_) golden_->apply(*cur_, spec_.layer_);
  }
  produce(cur_, outs, spec_.outputs_, busy_until_ + spec_.depth_cycles_);
  produced_ += outs;
  if (++step_ == p.steps_) {
    phase_input_base_ = std::min(spec_.inputs_, phase_input_base_ + p.steps_ * p.inputs_per_step_);
    ++phase_;
    step_ = 0;
    produced_ = 0;
  }
  if (final_step) cur_ = nullptr;
  fill_input();
  return true;
}

CycleMatrixBlock::CycleMatrixBlock(sc_core::sc_module_name name, const ClockBase& clock,
                                   int64_t chunk_elements, CycleBlockSpec spec,
                                   int64_t pre_hold_registers, int64_t requant_stages,
                                   const BlockModule* golden, bool functional)
    : CycleProcess(name, clock, chunk_elements), spec_(std::move(spec)),
      pre_hold_(std::max<int64_t>(1, pre_hold_registers)), golden_(golden),
      functional_(functional),
      requant_(size_t(std::max<int64_t>(0, requant_stages))) {
  if (spec_.phases_.size() != 1) throw make_error("CycleMatrixBlock " + spec_.name_, "one phase");
}

int64_t CycleMatrixBlock::want() const {
  if (out_tokens_.empty()) return 0;
  return std::min(chunk_elements_, spec_.outputs_ - emitted_);
}

bool CycleMatrixBlock::hold_takes_next(Cycle now) const {
  if (waiting_.empty() || waiting_.front().earliest_ > now + 1) return false;
  if (!hold_) return true;
  // Its last rows enter requantization at edge now + 1 when the first requant register is
  // free then: the registers move on when the output chunk being assembled has room.
  if (hold_at_ > now || hold_issued_ + spec_.output_lanes_ < spec_.outputs_) return false;
  bool frees = assembled_ < want();
  for (size_t i = requant_.size(); i-- > 0;) frees = !requant_[i].valid_ || frees;
  return frees;
}

bool CycleMatrixBlock::tick(Cycle now) {
  // ---- edge `now`, output side: requant registers -> output chunk, hold -> requant
  const bool out_ready = assembled_ < want();
  if (!requant_.empty()) {
    Stage& last = requant_.back();
    if (last.valid_ && out_ready) {
      assembled_ += last.elements_;
      last.valid_ = false;
    }
    for (size_t i = requant_.size() - 1; i-- > 0;) {
      if (requant_[i].valid_ && !requant_[i + 1].valid_) {
        requant_[i + 1] = requant_[i];
        requant_[i].valid_ = false;
      }
    }
  }
  if (hold_ && hold_at_ < now && (requant_.empty() ? out_ready : !requant_[0].valid_)) {
    const int64_t n = std::min(spec_.output_lanes_, spec_.outputs_ - hold_issued_);
    if (requant_.empty()) {
      assembled_ += n;
    } else {
      requant_[0] = {hold_, n, true};
    }
    hold_issued_ += n;
    if (hold_issued_ >= spec_.outputs_) hold_ = nullptr;
  }
  if (!hold_ && !waiting_.empty() && waiting_.front().earliest_ <= now) {
    hold_ = waiting_.front().token_;
    hold_at_ = now;
    hold_issued_ = 0;
    out_tokens_.push_back(hold_);
    waiting_.pop_front();
    if (waiting_.empty()) steps_behind_ = 0;
  }
  // ---- the output chunk into the channel
  const int64_t w = want();
  if (w > 0 && assembled_ >= w) {
    if (out_->num_free() > 0) {
      Chunk c;
      c.token_ = out_tokens_.front();
      c.index_ = static_cast<int32_t>(emitted_ / chunk_elements_);
      c.elements_ = static_cast<int32_t>(w);
      c.last_ = emitted_ + w >= spec_.outputs_;
      out_->write(c);
      assembled_ -= w;
      emitted_ += w;
      if (c.last_) {
        departed(c.token_, now);
        out_tokens_.pop_front();
        emitted_ = 0;
      }
    } else {
      ++stats_.stall_cycles_[size_t(StallReason::kOutputFull)];
    }
  }
  // ---- input side: the input register and the steps
  fill_input();
  if (!cur_ && in_valid_) {
    cur_ = in_reg_.token_;
    received_ = 0;
    step_ = 0;
    ++stats_.tokens_;
  }
  bool pipeline = hold_ || !waiting_.empty() || !out_tokens_.empty();
  for (const Stage& st : requant_) pipeline = pipeline || st.valid_;
  if (!cur_) return pipeline || in_valid_ || in_->num_available() > 0;
  if (now < busy_until_) {
    ++stats_.busy_cycles_;
    return true;
  }
  // The registers behind a waiting vector fill up; then the next step (and the input register's
  // chunk it would take) waits for that vector to move into the hold registers.
  if (!waiting_.empty() && steps_behind_ >= std::max<int64_t>(0, pre_hold_ - 2) &&
      !hold_takes_next(now)) {
    ++stats_.stall_cycles_[size_t(StallReason::kOutputFull)];
    return true;
  }
  const CyclePhase& p = spec_.phases_[0];
  const bool final_step = step_ + 1 == p.steps_;
  const int64_t need =
      final_step ? spec_.inputs_ : std::min(spec_.inputs_, (step_ + 1) * p.inputs_per_step_);
  if (received_ < need && in_valid_ && in_reg_.token_ == cur_) {
    received_ += in_reg_.elements_;
    in_valid_ = false;
  }
  if (received_ < need) {
    fill_input();
    return true;  // input_empty
  }
  busy_until_ = now + p.cycles_per_step_;
  ++stats_.busy_cycles_;
  if (!waiting_.empty()) ++steps_behind_;
  ++step_;
  if (final_step) {
    if (functional_ && golden_) golden_->apply(*cur_, spec_.layer_);
    waiting_.push_back({cur_, busy_until_ + pre_hold_ - 1});
    cur_ = nullptr;
  }
  // The chunk the step took leaves the input register at the next edge; the register takes the
  // next chunk then (the next tick), not now.
  return true;
}

CycleKvWrite::CycleKvWrite(sc_core::sc_module_name name, const ClockBase& clock,
                           int64_t chunk_elements, int64_t layer, const KvLayerGeometry& g,
                           KvBankEngine* banks, KvDram* dram, const BlockModule* golden,
                           bool functional, std::function<KvAddress(const Token&)> address)
    : CycleProcess(name, clock, chunk_elements), layer_(layer), g_(g), banks_(banks),
      dram_(dram), golden_(golden), functional_(functional), address_(std::move(address)),
      q_buffer_elements_(std::max<int64_t>(1, g.query_tile_) * g.q_ +
                         std::min(chunk_elements, g.q_)) {}

bool CycleKvWrite::tick(Cycle now) {
  bool more = emit(now, chunk_elements_);
  fill_input();
  if (!cur_ && in_valid_) {
    cur_ = in_reg_.token_;
    received_ = 0;
    words_written_ = 0;
    ++stats_.tokens_;
  }
  if (!cur_) return more || in_valid_;
  const int64_t total = g_.q_ + 2 * g_.kv_;
  bool worked = false;
  // q passes through to the attention block from its output buffer (q_buffer_elements_); k and
  // v become KV writes. A chunk with q in it waits while that buffer is full.
  const int64_t q_new = in_valid_ && in_reg_.token_ == cur_
                            ? std::max<int64_t>(
                                  0, std::min(received_ + in_reg_.elements_, g_.q_) - received_)
                            : 0;
  if (q_new > 0 && output_pending() + q_new > q_buffer_elements_) {
    ++stats_.stall_cycles_[size_t(StallReason::kOutputFull)];
  } else if (received_ < total && in_valid_ && in_reg_.token_ == cur_) {
    received_ += in_reg_.elements_;
    in_valid_ = false;
    produce(cur_, q_new, g_.q_, now + 1);
    if (received_ >= total && functional_ && golden_) golden_->apply(*cur_, layer_);
  }
  if (!g_.dram_) {
    // Words of K (then V) whose elements have all arrived, in order, one write per bank.
    const int64_t k_have = std::clamp<int64_t>(received_ - g_.q_, 0, g_.kv_);
    const int64_t v_have = std::clamp<int64_t>(received_ - g_.q_ - g_.kv_, 0, g_.kv_);
    auto complete = [&](int64_t have) {
      return have >= g_.kv_ ? g_.words_per_row_ : have / g_.elements_per_word_;
    };
    const int64_t ready_words =
        complete(k_have) + (k_have >= g_.kv_ ? complete(v_have) : 0);
    const KvAddress a = address_(*cur_);
    const int64_t pos = cur_->position_;
    const int64_t base = g_.layer_base_words_ +
                         (pos < a.prefix_positions_
                              ? a.prefix_base_words_ + pos * g_.words_per_position_
                              : a.private_base_words_ +
                                    (pos - a.prefix_positions_) * g_.words_per_position_);
    int64_t issued = 0;
    while (words_written_ < ready_words && issued < banks_->banks()) {
      if (!banks_->request_write(base + words_written_, now + 1)) break;
      ++words_written_;
      ++issued;
    }
    if (issued > 0) {
      worked = true;
      last_write_ = now + 1;
    }
    if (words_written_ == g_.words_per_position_ && received_ >= total) {
      banks_->set_readable(layer_, cur_->user_, pos, last_write_ + g_.write_latency_, now);
      cur_ = nullptr;
    }
  } else if (received_ >= total) {
    // A posted write of the position's K and V (2R bytes at its slot): the controller queues
    // it and the block moves on; readable once the bursts are in the DRAM, and never before an
    // earlier position of the user.
    const KvAddress a = address_(*cur_);
    const int64_t pos = cur_->position_;
    const int64_t address = g_.dram_layout_.address(layer_, a.slot(pos));
    const int64_t id = dram_->post({{address, int64_t(g_.bytes_per_position_)}}, true, now);
    Cycle ready = dram_->done_cycle(id);
    dram_->release(id);
    const Cycle before = pos > 0 ? banks_->readable_at(layer_, cur_->user_, pos - 1) : 0;
    if (before != INT64_MAX) ready = std::max(ready, before);
    banks_->set_readable(layer_, cur_->user_, pos, ready, now);
    worked = true;
    cur_ = nullptr;
  }
  if (worked) ++stats_.busy_cycles_;
  fill_input();
  return true;
}

CycleAttention::CycleAttention(sc_core::sc_module_name name, const ClockBase& clock,
                               int64_t chunk_elements, int64_t layer, const KvLayerGeometry& g,
                               KvBankEngine* banks, KvDram* dram, const BlockModule* golden,
                               bool functional, std::function<KvAddress(const Token&)> address)
    : CycleProcess(name, clock, chunk_elements), layer_(layer), g_(g), banks_(banks),
      dram_(dram), golden_(golden), functional_(functional), address_(std::move(address)) {}

bool CycleAttention::joins(const Token& last, const Token& next) const {
  return int64_t(tile_.size()) < g_.query_tile_ && last.prompt_ && !last.produces_output_ &&
         next.prompt_ && next.user_ == last.user_ && next.position_ == last.position_ + 1;
}

int64_t CycleAttention::queries_at(int64_t position) const {
  return position <= first_query_ ? int64_t(tile_.size()) : positions_ - position;
}

bool CycleAttention::tick(Cycle now) {
  bool more = emit(now, chunk_elements_);
  fill_input();
  if (!sweeping_) {
    // Gather queries: the whole q of each token first (every head's scores need its q).
    if (!cur_ && in_valid_ && (tile_.empty() || joins(*tile_.back(), *in_reg_.token_))) {
      cur_ = in_reg_.token_;
      received_ = 0;
      ++stats_.tokens_;
    }
    if (cur_) {
      if (in_valid_ && in_reg_.token_ == cur_) {
        received_ += in_reg_.elements_;
        in_valid_ = false;
        fill_input();
      }
      if (received_ < g_.q_) return true;
      tile_.push_back(cur_);
      cur_ = nullptr;
      if (in_valid_ && joins(*tile_.back(), *in_reg_.token_)) return true;
    }
    if (tile_.empty()) return more || in_valid_;
    // The tile is what was waiting: no next query at the input, so sweep now.
    const Token& last = *tile_.back();
    if (output_pending() > 0) {
      ++stats_.stall_cycles_[size_t(StallReason::kOutputFull)];
      return true;
    }
    sweeping_ = true;
    addr_ = address_(last);
    first_query_ = tile_.front()->position_;
    positions_ = last.position_ + 1;
    ++stats_.kv_sweeps_;
    stats_.kv_positions_read_ += positions_;
    words_total_ = positions_ * g_.words_per_position_;
    words_issued_ = 0;
    words_returned_ = 0;
    returns_.clear();
    computed_ = 0;
    mac_credit_ = 0;
    exp_credit_ = 0;
    dram_request_ = -1;
  }
  const Token& last = *tile_.back();
  if (g_.dram_ && dram_request_ < 0) {
    // The sweep's one request (prefix run, then the private run), once the last query's own K
    // and V are in the DRAM.
    if (banks_->readable_at(layer_, last.user_, positions_ - 1) > now) return true;
    const int64_t bpp = int64_t(g_.bytes_per_position_);
    const int64_t in_prefix = std::min(addr_.prefix_positions_, positions_);
    std::vector<std::pair<int64_t, int64_t>> ranges;
    if (in_prefix > 0) {
      ranges.emplace_back(g_.dram_layout_.address(layer_, addr_.slot(0)), in_prefix * bpp);
    }
    if (positions_ > in_prefix) {
      ranges.emplace_back(g_.dram_layout_.address(layer_, addr_.slot(in_prefix)),
                          (positions_ - in_prefix) * bpp);
    }
    dram_request_ = dram_->post(ranges, false, now);
  }
  ++stats_.busy_cycles_;
  int64_t positions_ready = 0;
  if (!g_.dram_) {
    // Read sweep: the prefix run, then the private run, never both in one cycle.
    const int64_t prefix_words = std::min(addr_.prefix_positions_, positions_) * g_.words_per_position_;
    if (words_issued_ < words_total_) {
      const bool in_prefix = words_issued_ < prefix_words;
      const int64_t seg_end = in_prefix ? prefix_words : words_total_;
      int64_t want = seg_end - words_issued_;
      const int64_t address =
          in_prefix ? addr_.prefix_base_words_ + words_issued_
                    : addr_.private_base_words_ + (words_issued_ - prefix_words);
      // The last query's own position: only once its K and V are written.
      const int64_t own_first = (positions_ - 1) * g_.words_per_position_;
      if (banks_->readable_at(layer_, last.user_, positions_ - 1) > now) {
        want = std::min(want, std::max<int64_t>(0, own_first - words_issued_));
      }
      bool conflicted = false;
      const int64_t n = banks_->issue_reads(g_.layer_base_words_ + address, want, now, &conflicted);
      if (conflicted) ++stats_.stall_cycles_[size_t(StallReason::kBankConflict)];
      if (n > 0) {
        words_issued_ += n;
        returns_.emplace_back(now + g_.read_latency_, words_issued_);
      }
    }
    while (!returns_.empty() && returns_.front().first <= now) {
      words_returned_ = returns_.front().second;
      returns_.pop_front();
    }
    positions_ready = words_returned_ / g_.words_per_position_;
  } else {
    positions_ready = std::min<int64_t>(
        positions_,
        static_cast<int64_t>(dram_->available(dram_request_, now) / g_.bytes_per_position_ + 1e-9));
    if (computed_ == positions_ready && positions_ready < positions_) {
      ++stats_.stall_cycles_[size_t(StallReason::kDramBandwidth)];
    }
  }
  // Scores, softmax and the weighted sum at the engine's MAC and exp rates, for every query of
  // the tile that sees the position.
  const int64_t tile = int64_t(tile_.size());
  mac_credit_ = std::min(mac_credit_ + g_.macs_per_cycle_,
                         g_.macs_per_cycle_ + tile * g_.macs_per_position_);
  exp_credit_ = std::min(exp_credit_ + g_.exps_per_cycle_,
                         g_.exps_per_cycle_ + tile * g_.exps_per_position_);
  while (computed_ < positions_ready) {
    const int64_t queries = queries_at(computed_);
    if (mac_credit_ < queries * g_.macs_per_position_ ||
        exp_credit_ < queries * g_.exps_per_position_) {
      break;
    }
    mac_credit_ -= queries * g_.macs_per_position_;
    exp_credit_ -= queries * g_.exps_per_position_;
    ++computed_;
  }
  if (computed_ == positions_) {
    for (Token* t : tile_) {
      if (functional_ && golden_) golden_->apply(*t, layer_);
      produce(t, g_.q_, g_.q_, now + 1 + g_.out_depth_);
    }
    if (g_.dram_) {
      dram_->release(dram_request_);
      dram_request_ = -1;
    }
    tile_.clear();
    sweeping_ = false;
  }
  fill_input();
  return true;
}

CycleSink::CycleSink(sc_core::sc_module_name name, const ClockBase& clock,
                     std::function<void(Token*, Cycle)> on_token)
    : CycleProcess(name, clock, 1), on_token_(std::move(on_token)) {}

bool CycleSink::tick(Cycle now) {
  if (in_valid_ || fill_input()) {
    in_valid_ = false;
    ++stats_.tokens_;
    if (in_reg_.last_) {
      departed(in_reg_.token_, now);
      on_token_(in_reg_.token_, now);
    }
  }
  return in_->num_available() > 0;
}

}  // namespace hw::sim
