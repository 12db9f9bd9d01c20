// The scheduler process (see scheduler.h).
#include "sim/scheduler.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "sim/vcd.h"

namespace hw::sim {
namespace {

// Injections between two looks at the progress callback (it checks the wall clock).
constexpr int64_t kProgressStride = 1024;

Cycle to_cycles_up(double seconds, double clock_hz) {
  return static_cast<Cycle>(std::ceil(seconds * clock_hz * (1.0 - 1e-12)));
}

}  // namespace

Scheduler::Scheduler(sc_core::sc_module_name name, const ChipMapping& mapping,
                     const std::vector<UserRequest>& requests, const ClockBase& clock,
                     TokenPath& path, KvSram& kv, FunctionalData* functional)
    : sc_core::sc_module(name), active_users_signal_("active_users"),
      tokens_out_signal_("tokens_out"), mapping_(mapping), clock_(clock), path_(path),
      cycle_level_(path.wake_event() != nullptr), kv_(kv), functional_(functional) {
  const double clock_hz = mapping.chip_.clock_hz_;
  max_positions_ = mapping.model_.max_positions_;
  users_.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const UserRequest& r = requests[i];
    if (r.id_ != static_cast<int64_t>(i)) {
      throw make_error("scheduler", "requests must have ids 0..n-1 in arrival order");
    }
    if (i > 0 && r.arrival_s_ < requests[i - 1].arrival_s_) {
      throw make_error("scheduler", "requests must be sorted by arrival");
    }
    if (r.prompt_tokens_ < 1 || r.output_tokens_ < 1) {
      throw make_error("user " + std::to_string(r.id_),
                       "needs at least one prompt and one output token");
    }
    if (i > 0 && r.shared_prefix_tokens_ != requests[0].shared_prefix_tokens_) {
      throw make_error("user " + std::to_string(r.id_),
                       "every user must share the same prefix length");
    }
    if (r.shared_prefix_tokens_ < 0 || r.shared_prefix_tokens_ >= r.prompt_tokens_) {
      throw make_error("user " + std::to_string(r.id_),
                       "shared prefix of " + std::to_string(r.shared_prefix_tokens_) +
                           " tokens must be shorter than the prompt of " +
                           std::to_string(r.prompt_tokens_));
    }
    UserRun u;
    u.request_ = r;
    u.arrival_cycle_ = to_cycles_up(r.arrival_s_ + mapping.chip_.host_latency_s_, clock_hz);
    // Every position ever written: the prompt and every output but the last (never fed back).
    const int64_t context = r.prompt_tokens_ + r.output_tokens_ - 1;
    u.private_positions_ = context - r.shared_prefix_tokens_;
    users_.push_back(u);
  }
  if (!requests.empty()) shared_prefix_ = requests[0].shared_prefix_tokens_;
  int64_t outputs = 0;
  for (const auto& r : requests) outputs += r.output_tokens_;
  // At most 1000 marks, allocated once: the model's state stays flat in the number of tokens.
  mark_stride_ = std::max<int64_t>(1, (outputs + 999) / 1000);
  marks_.reserve(1000);
  if (cycle_level_) {
    wake_events_ |= wake_;
    wake_events_ |= *path_.wake_event();
  }
  SC_METHOD(step);
}

void Scheduler::set_vcd(VcdProbe* vcd, int active_users_signal, int tokens_out_signal,
                        int kv_signal) {
  vcd_ = vcd;
  vcd_active_ = active_users_signal;
  vcd_tokens_ = tokens_out_signal;
  vcd_kv_ = kv_signal;
}

void Scheduler::set_progress(std::function<void(const SimProgress&)> progress) {
  progress_ = std::move(progress);
}

void Scheduler::vcd_change(Cycle cycle, int signal, int delta) {
  if (vcd_) vcd_->change(cycle, signal, delta);
}

void Scheduler::step() {
  // Token level: the kernel wakes this process only at the cycles it asked for (now_). Cycle
  // level: also when the chip's input frees a slot or a token comes out (wake_), at the
  // current edge.
  const Cycle now = cycle_level_ ? clock_.cycle_now() : now_;
  while (!exits_.empty() && exits_.top().cycle_ <= now) {
    const Exit e = exits_.top();
    exits_.pop();
    handle_exit(e);
  }
  while (next_arrival_ < users_.size() && users_[next_arrival_].arrival_cycle_ <= now) {
    waiting_.push_back(static_cast<int64_t>(next_arrival_));
    ++next_arrival_;
  }
  admit(now);
  if (kv_.dram() && !cycle_level_) kv_.prune_dram(now);
  while (path_.input_space_at(now) <= now) {
    if (!decode_ready_.empty()) {
      const int64_t u = decode_ready_.front();
      decode_ready_.pop_front();
      inject(u, now);
    } else if (!prefill_.empty()) {
      const int64_t u = prefill_.front();
      const UserRun& r = users_[static_cast<size_t>(u)];
      // Functional mode at the cycle level: a user that reuses the shared prefix starts once
      // the prefix's K and V have been kept (its owner's last prefix token left the layers).
      if (cycle_level_ && functional_ && r.next_position_ == r.first_position_ &&
          r.first_position_ > 0 && !prefix_saved_) {
        break;
      }
      inject(u, now);
      if (r.next_position_ >= r.request_.prompt_tokens_) prefill_.pop_front();
    } else {
      break;
    }
  }
  Cycle next = INT64_MAX;
  if (!exits_.empty()) next = std::min(next, exits_.top().cycle_);
  if (next_arrival_ < users_.size()) next = std::min(next, users_[next_arrival_].arrival_cycle_);
  if (!cycle_level_ && (!decode_ready_.empty() || !prefill_.empty())) {
    next = std::min(next, path_.input_space_at(now));
  }
  if (cycle_level_) {
    const bool tokens_waiting = !decode_ready_.empty() || !prefill_.empty();
    const bool users_pending = next_arrival_ < users_.size() || !waiting_.empty() ||
                               active_users_ > 0;
    if (!users_pending && !tokens_waiting) return;  // done: let the kernel run dry
    if (next != INT64_MAX) {
      now_ = std::max(next, now + 1);
      next_trigger(clock_.delay_until(now_), wake_events_);
    } else {
      now_ = now;
      next_trigger(wake_events_);
    }
    return;
  }
  if (next != INT64_MAX) {
    now_ = std::max(next, now + 1);
    next_trigger(clock_.delay_until(now_));
  }
}

void Scheduler::token_out(const Token& t, Cycle cycle) {
  handle_exit({cycle, t.seq_, t.user_, t.output_id_});
  wake_.notify(sc_core::SC_ZERO_TIME);
}

void Scheduler::body_done(const Token& t) {
  const UserRun& u = users_[static_cast<size_t>(t.user_)];
  if (functional_ && u.owns_prefix_ && t.position_ + 1 == shared_prefix_) {
    functional_->save_prefix(t.user_, shared_prefix_);
    prefix_saved_ = true;
    wake_.notify(sc_core::SC_ZERO_TIME);
  }
}

void Scheduler::handle_exit(const Exit& e) {
  UserRun& u = users_[static_cast<size_t>(e.user_)];
  ++u.generated_;
  ++tokens_generated_;
  if (tokens_generated_ % mark_stride_ == 0) marks_.push_back(e.cycle_);
  vcd_change(e.cycle_, vcd_tokens_, +1);
  if (u.generated_ == 1) {
    u.first_token_cycle_ = e.cycle_;
  } else {
    itl_.add(e.cycle_ - u.last_token_cycle_);
  }
  u.last_token_cycle_ = e.cycle_;
  if (functional_) u.generated_ids_.push_back(e.output_id_);
  if (u.generated_ >= u.request_.output_tokens_) {
    u.done_ = true;
    kv_.release(u.private_positions_);
    path_.free_user(e.user_);
    vcd_change(e.cycle_, vcd_kv_, -static_cast<int>(u.private_positions_));
    --active_users_;
    vcd_change(e.cycle_, vcd_active_, -1);
    if (functional_) functional_->release(e.user_);
  } else {
    u.next_input_ = e.output_id_;
    decode_ready_.push_back(e.user_);
  }
}

std::string Scheduler::reject_reason(const UserRun& u, int64_t context) const {
  const UserRequest& r = u.request_;
  const std::string lengths = std::to_string(r.prompt_tokens_) + " prompt + " +
                              std::to_string(r.output_tokens_) + " output - 1 = " +
                              std::to_string(context) + " positions";
  if (context > max_positions_) {
    return lengths + " exceed the " + std::to_string(max_positions_) + " positions " +
           mapping_.model_.name_ + " was trained for";
  }
  std::string need = lengths;
  if (shared_prefix_ > 0) {
    need = "the shared prefix of " + std::to_string(shared_prefix_) + " + the private " +
           std::to_string(u.private_positions_) + " of " + lengths;
  }
  return need + " do not fit the KV memory, which holds " +
         std::to_string(kv_.capacity_positions()) + " positions per layer on " +
         mapping_.chip_.name_ + " (" +
         (kv_.dram() ? "chip.attention.kv_dram.capacity" : "chip.attention.kv_sram.capacity") +
         ")";
}

void Scheduler::admit(Cycle now) {
  while (!waiting_.empty()) {
    const int64_t id = waiting_.front();
    UserRun& u = users_[static_cast<size_t>(id)];
    const int64_t context = u.request_.prompt_tokens_ + u.request_.output_tokens_ - 1;
    const int64_t prefix_needed = prefix_stored_ ? 0 : shared_prefix_;
    if (context > max_positions_ ||
        shared_prefix_ + u.private_positions_ > kv_.capacity_positions()) {
      u.rejected_ = true;
      u.reject_reason_ = reject_reason(u, context);
      waiting_.pop_front();
      continue;
    }
    if (!kv_.reserve(u.private_positions_ + prefix_needed)) break;  // wait for KV to free
    if (!path_.place_user(id, u.private_positions_)) {
      // Cycle level: the free positions are not contiguous yet; wait for a user to leave.
      kv_.release(u.private_positions_ + prefix_needed);
      break;
    }
    waiting_.pop_front();
    vcd_change(now, vcd_kv_, static_cast<int>(u.private_positions_ + prefix_needed));
    if (shared_prefix_ > 0 && !prefix_stored_) {
      prefix_stored_ = true;
      u.owns_prefix_ = true;
    }
    u.first_position_ = (shared_prefix_ > 0 && !u.owns_prefix_) ? shared_prefix_ : 0;
    u.next_position_ = u.first_position_;
    u.admitted_ = true;
    u.admitted_cycle_ = now;
    ++active_users_;
    peak_active_users_ = std::max(peak_active_users_, active_users_);
    vcd_change(now, vcd_active_, +1);
    prefill_.push_back(id);
  }
}

void Scheduler::inject(int64_t user, Cycle now) {
  UserRun& u = users_[static_cast<size_t>(user)];
  const UserRequest& r = u.request_;
  Token t;
  t.seq_ = seq_++;
  t.user_ = user;
  t.position_ = u.next_position_++;
  t.prompt_ = t.position_ < r.prompt_tokens_;
  t.produces_output_ = t.position_ >= r.prompt_tokens_ - 1;
  t.prefix_ = (shared_prefix_ > 0 && t.position_ >= shared_prefix_) ? shared_prefix_ : 0;
  const int64_t context = t.position_ + 1;
  const BlockTiming attention = mapping_.attention(context, t.prefix_, false);
  t.attention_service_cycles_ = attention.service_cycles_;
  t.attention_latency_cycles_ = attention.latency_cycles_;
  if (kv_.single_ported()) {
    t.conflict_penalty_cycles_ =
        mapping_.attention(context, t.prefix_, true).service_cycles_ - attention.service_cycles_;
  }
  t.time_ = now;
  if (functional_) {
    if (t.position_ == u.first_position_ && u.first_position_ > 0) {
      functional_->load_prefix(user, u.first_position_);
    }
    t.input_id_ = t.prompt_ ? functional_->prompt(user)[static_cast<size_t>(t.position_)]
                            : u.next_input_;
    t.state_ = functional_->state();
    t.cache_ = functional_->cache(user);
  }
  const Cycle leave = path_.enter(t, now);
  if (!cycle_level_ && functional_ && u.owns_prefix_ && t.position_ + 1 == shared_prefix_) {
    functional_->save_prefix(user, shared_prefix_);
  }
  if (t.prompt_) ++prompt_tokens_computed_;
  if (t.produces_output_) {
    if (leave >= 0) exits_.push({leave, t.seq_, user, t.output_id_});
    peak_exits_ = std::max(peak_exits_, exits_.size());
    // Activity from the mapping's own formulas: the whole prefill once its last token is in,
    // then one decode step per fed-back token.
    if (t.prompt_) {
      activity_ += mapping_.prefill_activity(r.prompt_tokens_, u.first_position_);
    } else {
      activity_ += mapping_.decode_activity(context, t.prefix_);
    }
  }
  if (progress_ && t.seq_ % kProgressStride == 0) {
    progress_({tokens_generated_, t.seq_ + 1, now});
  }
}

Scheduler::SteadyWindow Scheduler::steady_window() const {
  SteadyWindow w;
  const int64_t n = tokens_generated_;
  if (n < 10 || marks_.size() < 2) return w;
  // marks_[i] is the cycle of output (i + 1) * stride.
  const auto index_at = [&](double fraction) {
    const int64_t k = static_cast<int64_t>(std::ceil(fraction * double(n)));
    return std::clamp<int64_t>(k / mark_stride_ - 1, 0, int64_t(marks_.size()) - 1);
  };
  const int64_t a = index_at(0.1), b = index_at(0.9);
  if (b <= a) return w;
  w.tokens_ = (b - a) * mark_stride_;
  w.start_ = marks_[size_t(a)];
  w.end_ = marks_[size_t(b)];
  return w;
}

int64_t Scheduler::state_bytes() const {
  return static_cast<int64_t>(marks_.capacity() * sizeof(Cycle)) +
         static_cast<int64_t>(users_.capacity() * sizeof(UserRun) +
                              peak_exits_ * sizeof(Exit) +
                              (waiting_.size() + prefill_.size() + decode_ready_.size()) *
                                  sizeof(int64_t)) +
         itl_.state_bytes();
}

}  // namespace hw::sim
