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
    if (r.prefix_group_ < 0 || (r.shared_prefix_tokens_ == 0 && r.prefix_group_ != 0)) {
      throw make_error("user " + std::to_string(r.id_),
                       "prefix group " + std::to_string(r.prefix_group_) +
                           " needs a shared prefix (groups are 0.. and only with a prefix)");
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
  int64_t groups = 0;
  for (const auto& r : requests) groups = std::max(groups, r.prefix_group_ + 1);
  if (shared_prefix_ > 0) {
    prefixes_.resize(static_cast<size_t>(groups));
    prefix_stats_.groups_ = groups;
  }
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

void Scheduler::set_serving(const ServingConfig& serving) { serving_ = serving; }

void Scheduler::set_power_cap(PowerCap* cap) { cap_ = cap; }

double Scheduler::seconds_at(Cycle cycle) const {
  if (cap_ && cap_->throttles()) return cap_->seconds_at(cycle);
  return double(cycle) / mapping_.chip_.clock_hz_;
}

Cycle Scheduler::arrival_cycle(size_t user) const {
  const UserRun& u = users_[user];
  if (!cap_ || !cap_->throttles()) return u.arrival_cycle_;
  return cap_->cycle_at(u.request_.arrival_s_ + mapping_.chip_.host_latency_s_);
}

void Scheduler::add_gap(Cycle from, Cycle to) {
  if (!cap_ || !cap_->throttles()) {
    itl_.add(to - from);
    return;
  }
  gaps_.emplace_back(from, to);
  flush_gaps();
}

void Scheduler::flush_gaps() {
  // A gap's length in seconds is known once the window holding its end is closed; recorded in
  // nominal cycles (seconds x clock), so the histogram stays in cycles.
  const double clock_hz = mapping_.chip_.clock_hz_;
  while (!gaps_.empty() && gaps_.front().second < cap_->closed_until()) {
    const auto [from, to] = gaps_.front();
    gaps_.pop_front();
    itl_.add(static_cast<Cycle>(
        std::llround((cap_->seconds_at(to) - cap_->seconds_at(from)) * clock_hz)));
  }
}

void Scheduler::charge_kv_reads(Cycle from, Cycle to) {
  const int64_t reads = path_.kv_positions_read() - kv_reads_charged_;
  if (reads <= 0) return;
  kv_reads_charged_ += reads;
  ActivityCounts a;
  mapping_.set_kv_read_bits(a, double(reads));
  from = std::max(from, cap_->closed_until());
  cap_->add(from, std::max(from, to), a, nullptr);
}

void Scheduler::finish(Cycle end) {
  if (!cap_) return;
  charge_kv_reads(end, end);  // cycle level: the sweeps after the last token's entry
  cap_->finish(end);
  if (cap_->throttles()) flush_gaps();
}

void Scheduler::vcd_change(Cycle cycle, int signal, int delta) {
  if (vcd_) vcd_->change(cycle, signal, delta);
}

void Scheduler::step() {
  // Token level: the kernel wakes this process only at the cycles it asked for (now_). Cycle
  // level: also when the chip's input frees a slot or a token comes out (wake_), at the
  // current edge.
  const Cycle now = cycle_level_ ? clock_.cycle_now() : now_;
  if (cap_) {
    cap_->advance(now);
    if (cap_->throttles()) flush_gaps();
  }
  while (!exits_.empty() && exits_.top().cycle_ <= now) {
    const Exit e = exits_.top();
    exits_.pop();
    handle_exit(e);
  }
  while (next_arrival_ < users_.size() && arrival_cycle(next_arrival_) <= now) {
    waiting_.push_back(static_cast<int64_t>(next_arrival_));
    ++next_arrival_;
  }
  admit(now);
  if (kv_.dram() && !cycle_level_) kv_.prune_dram(std::min(now, path_.unevaluated_from()));
  feed(now);
  Cycle next = INT64_MAX;
  if (!exits_.empty()) next = std::min(next, exits_.top().cycle_);
  if (next_arrival_ < users_.size()) {
    next = std::min(next, arrival_cycle(next_arrival_));
    // Throttled: an arrival's cycle is known once the windows before it are closed.
    if (cap_ && cap_->throttles()) next = std::min(next, cap_->next_boundary(now));
  }
  if (!cycle_level_ && (!decode_ready_.empty() || prefill_ready())) {
    next = std::min(next, path_.input_space_at(now));
  }
  if (!cycle_level_) {
    // Time order (KV in DRAM): the passages up to the next event; their exits come back here.
    settled_.clear();
    path_.settle(next, settled_);
    for (const TokenPath::Finished& f : settled_) {
      // An exit settled now lies after now (its last steps were at or after this wake); the
      // max only keeps the kernel's time order should one not (none in the structure grid's
      // KV-in-DRAM runs).
      exits_.push({std::max(f.leave_, now + 1), f.token_.seq_, f.token_.user_, f.token_.output_id_});
    }
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

bool Scheduler::can_start(const UserRun& r) const {
  if (r.next_position_ != r.first_position_ || r.first_position_ == 0) return true;
  // A user that reuses a shared prefix starts once the prefix is there: at the token level once
  // its owner's last prefix token entered (and was evaluated); at the cycle level, in functional
  // mode, once that token left the layers and its K and V were kept. (Only chunked prefill can
  // put a reusing user ahead of the owner's prefix; the cycle level's timing does not wait.)
  if (cycle_level_ && !functional_) return true;
  return prefixes_[static_cast<size_t>(r.request_.prefix_group_)].ready_;
}

bool Scheduler::prefill_ready() {
  for (auto it = prefill_.begin(); it != prefill_.end(); ++it) {
    if (!can_start(users_[static_cast<size_t>(*it)])) continue;
    if (it != prefill_.begin()) {
      // The head waits for its prefix: the first user that can go moves ahead of it.
      const int64_t u = *it;
      prefill_.erase(it);
      prefill_.push_front(u);
      chunk_fed_ = 0;
    }
    return true;
  }
  return false;
}

void Scheduler::feed(Cycle now) {
  const int64_t chunk = serving_.prefill_chunk_tokens_;
  while (path_.input_space_at(now) <= now) {
    const bool decode = !decode_ready_.empty();
    const bool prefill = prefill_ready();
    if (!decode && !prefill) break;
    if (!decode) decode_credit_ = 0;
    bool take_decode = decode;
    switch (serving_.policy_) {
      case ServingPolicy::kDecodeFirst:
        break;
      case ServingPolicy::kPrefillFirst:
        take_decode = decode && (decode_credit_ > 0 || !prefill);
        break;
      case ServingPolicy::kInterleaved:
        // Turns are taken over the slots both want: a prompt token entering a slot no decode
        // token wanted does not count as the prompt's turn.
        if (decode && prefill) {
          take_decode = !last_contested_went_to_decode_;
          last_contested_went_to_decode_ = take_decode;
        }
        break;
    }
    if (take_decode) {
      const int64_t u = decode_ready_.front();
      decode_ready_.pop_front();
      if (decode_credit_ > 0) --decode_credit_;
      inject(u, now);
      continue;
    }
    const int64_t u = prefill_.front();
    const UserRun& r = users_[static_cast<size_t>(u)];
    inject(u, now);
    ++chunk_fed_;
    const bool prompt_done = r.next_position_ >= r.request_.prompt_tokens_;
    if (prompt_done || (chunk > 0 && chunk_fed_ >= chunk)) {
      prefill_.pop_front();
      chunk_fed_ = 0;
      if (!prompt_done) prefill_.push_back(u);
      // A chunk boundary: the decode tokens waiting now go before the next chunk.
      if (chunk > 0) decode_credit_ = decode_ready_.size();
    }
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
    prefixes_[static_cast<size_t>(u.request_.prefix_group_)].ready_ = true;
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
    add_gap(u.last_token_cycle_, e.cycle_);
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
    if (shared_prefix_ > 0) {
      PrefixEntry& p = prefixes_[static_cast<size_t>(u.request_.prefix_group_)];
      --p.users_;
      p.last_used_ = e.cycle_;
    }
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

bool Scheduler::make_room(int64_t need, int64_t group, Cycle now) {
  int64_t evictable = 0;
  for (size_t g = 0; g < prefixes_.size(); ++g) {
    const PrefixEntry& p = prefixes_[g];
    if (p.stored_ && p.users_ == 0 && int64_t(g) != group) evictable += shared_prefix_;
  }
  if (kv_.free_positions() + evictable < need) return false;
  while (kv_.free_positions() < need) {
    size_t lru = prefixes_.size();
    for (size_t g = 0; g < prefixes_.size(); ++g) {
      const PrefixEntry& p = prefixes_[g];
      if (!p.stored_ || p.users_ > 0 || int64_t(g) == group) continue;
      if (lru == prefixes_.size() || p.last_used_ < prefixes_[lru].last_used_) lru = g;
    }
    prefixes_[lru].stored_ = false;
    prefixes_[lru].ready_ = false;
    kv_.release(shared_prefix_);
    path_.free_prefix(static_cast<int64_t>(lru));
    vcd_change(now, vcd_kv_, -static_cast<int>(shared_prefix_));
    ++prefix_stats_.evictions_;
    prefix_stats_.evicted_positions_ += shared_prefix_;
    if (prefix_stats_.evicted_groups_.size() < 1000) {
      prefix_stats_.evicted_groups_.push_back(static_cast<int64_t>(lru));
    }
  }
  return true;
}

void Scheduler::admit(Cycle now) {
  while (!waiting_.empty()) {
    const int64_t id = waiting_.front();
    UserRun& u = users_[static_cast<size_t>(id)];
    const int64_t context = u.request_.prompt_tokens_ + u.request_.output_tokens_ - 1;
    if (context > max_positions_ ||
        shared_prefix_ + u.private_positions_ > kv_.capacity_positions()) {
      u.rejected_ = true;
      u.reject_reason_ = reject_reason(u, context);
      waiting_.pop_front();
      continue;
    }
    const int64_t group = u.request_.prefix_group_;
    PrefixEntry* prefix = shared_prefix_ > 0 ? &prefixes_[static_cast<size_t>(group)] : nullptr;
    const bool hit = prefix && prefix->stored_;
    const int64_t need = u.private_positions_ + (prefix && !hit ? shared_prefix_ : 0);
    if (kv_.free_positions() < need && !make_room(need, group, now)) break;  // wait for KV
    if (!kv_.reserve(need)) break;
    // Cycle level: a miss places its group's prefix run, then the user's private run; when the
    // free positions are not contiguous yet, it waits for a user to leave.
    if (prefix && !hit && !path_.place_prefix(group, shared_prefix_)) {
      kv_.release(need);
      break;
    }
    if (!path_.place_user(id, u.private_positions_, group)) {
      if (prefix && !hit) path_.free_prefix(group);
      kv_.release(need);
      break;
    }
    waiting_.pop_front();
    vcd_change(now, vcd_kv_, static_cast<int>(need));
    if (prefix) {
      if (hit) {
        ++prefix_stats_.hits_;
      } else {
        ++prefix_stats_.misses_;
        prefix->stored_ = true;
        u.owns_prefix_ = true;
      }
      u.prefix_hit_ = hit;
      ++prefix->users_;
      prefix->last_used_ = now;
    }
    u.first_position_ = hit ? shared_prefix_ : 0;
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
  if (!cycle_level_ && u.owns_prefix_ && t.position_ + 1 == shared_prefix_) {
    if (functional_) functional_->save_prefix(user, shared_prefix_);
    prefixes_[static_cast<size_t>(r.prefix_group_)].ready_ = true;
  }
  if (t.prompt_) ++prompt_tokens_computed_;
  if (cap_) {
    // This token's activity over its passage (token level: entry to exit; cycle level: at
    // entry), from the mapping's formulas: a token that produces an output is a decode step at
    // its context; an inner prompt token is the first token of a two-token prefill at its
    // position minus that prefill's last token. The KV reads are the sweeps' own (a query tile
    // reads its context once): those the path made since the previous entry (token level:
    // this token's passage, and tiles it closed), over the same cycles.
    const Cycle until = std::max(now, leave);
    if (t.produces_output_) {
      ActivityCounts a = mapping_.decode_activity(context, t.prefix_);
      mapping_.set_kv_read_bits(a, 0.0);
      cap_->add(now, until, a, nullptr);
    } else {
      ActivityCounts last = mapping_.decode_activity(t.position_ + 2, t.position_);
      ActivityCounts a = mapping_.prefill_activity(t.position_ + 2, t.position_);
      mapping_.set_kv_read_bits(last, 0.0);
      mapping_.set_kv_read_bits(a, 0.0);
      cap_->add(now, until, a, &last);
    }
    charge_kv_reads(now, until);
  }
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
         itl_.state_bytes() + (cap_ ? cap_->state_bytes() : 0);
}

}  // namespace hw::sim
