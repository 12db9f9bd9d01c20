// Window power and the power cap's clock throttle (see power_cap.h).
#include "sim/power_cap.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace hw::sim {

PowerCap::PowerCap(const EventEnergies& energies, double cap_w, Cycle window_cycles,
                   double clock_hz)
    : energies_(energies), cap_w_(cap_w), window_cycles_(window_cycles), clock_hz_(clock_hz),
      static_w_(energies.static_w()) {
  if (window_cycles_ < 1) {
    throw make_error("chip.power.cap_window_us", "the window is shorter than one clock cycle",
                     "give at least one cycle's time");
  }
  if (cap_w_ > 0 && cap_w_ <= static_w_) {
    throw make_error("chip.power.cap_w",
                     "the cap of " + std::to_string(cap_w_) +
                         " W is not above the card's static power of " +
                         std::to_string(static_w_) + " W (no token could run under it)",
                     "raise the cap, or set it to 0 for none");
  }
  segments_.push_back({0, 0.0, 1.0});
}

void PowerCap::add(Cycle from, Cycle to, const ActivityCounts& plus,
                   const ActivityCounts* minus) {
  if (from < open_start_) throw make_error("power cap", "activity added to a closed window");
  // Card dynamic energy: energy_j with no elapsed time is the activity's share alone.
  double joules = energy_j(plus, energies_, 0.0).total_j();
  if (minus) joules -= energy_j(*minus, energies_, 0.0).total_j();
  if (joules <= 0) return;
  to = std::max(to, from);
  const Cycle open = open_start_ / window_cycles_;
  const Cycle first = from / window_cycles_, last = to / window_cycles_;
  if (pending_j_.size() < size_t(last - open + 1)) pending_j_.resize(size_t(last - open + 1), 0.0);
  if (first == last) {
    pending_j_[size_t(first - open)] += joules;
    return;
  }
  const double per_cycle = joules / double(to - from);
  for (Cycle w = first; w <= last; ++w) {
    const Cycle a = std::max(from, w * window_cycles_);
    const Cycle b = std::min(to, (w + 1) * window_cycles_);
    pending_j_[size_t(w - open)] += per_cycle * double(b - a);
  }
}

Cycle PowerCap::next_boundary(Cycle now) const {
  return (std::max<Cycle>(now, open_start_) / window_cycles_ + 1) * window_cycles_;
}

void PowerCap::close_window(Cycle end) {
  const Cycle len = end - open_start_;
  if (len <= 0) return;
  const double nominal_s = double(len) / clock_hz_;
  double dynamic_j = 0.0;
  if (!pending_j_.empty()) {
    dynamic_j = pending_j_.front();
    pending_j_.pop_front();
  }
  const double unthrottled_w = dynamic_j / nominal_s + static_w_;
  double stretch = 1.0;
  if (cap_w_ > 0 && unthrottled_w > cap_w_) {
    stretch = dynamic_j / ((cap_w_ - static_w_) * nominal_s);
  }
  const double seconds = nominal_s * stretch;
  if (stretch != segments_.back().stretch_) {
    segments_.push_back({open_start_, seconds_at(open_start_), stretch});
  }
  ++windows_;
  if (stretch > 1.0) {
    ++windows_throttled_;
    throttled_s_ += seconds;
    throttle_added_s_ += seconds - nominal_s;
  }
  dynamic_j_ += dynamic_j;
  peak_w_ = std::max(peak_w_, dynamic_j / seconds + static_w_);
  peak_unthrottled_w_ = std::max(peak_unthrottled_w_, unthrottled_w);
  max_stretch_ = std::max(max_stretch_, stretch);
  open_start_ = end;
}

void PowerCap::advance(Cycle now) {
  while (open_start_ + window_cycles_ <= now) {
    const Cycle boundary = (open_start_ / window_cycles_ + 1) * window_cycles_;
    if (pending_j_.empty() && boundary + window_cycles_ <= now) {
      // A run of idle windows at once: static power only, full clock.
      const Cycle last = now / window_cycles_ * window_cycles_;
      const int64_t idle = (last - boundary) / window_cycles_;
      close_window(boundary);
      if (idle > 0) {
        windows_ += idle;
        peak_w_ = std::max(peak_w_, static_w_);
        peak_unthrottled_w_ = std::max(peak_unthrottled_w_, static_w_);
        open_start_ = last;
      }
      continue;
    }
    close_window(boundary);
  }
}

void PowerCap::finish(Cycle end) {
  advance(end);
  // Whatever was spread past the last cycle (none when `end` is the run's last) goes to the
  // last window.
  while (pending_j_.size() > 1) {
    pending_j_.front() += pending_j_.back();
    pending_j_.pop_back();
  }
  close_window(end);
}

double PowerCap::seconds_at(Cycle cycle) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), cycle,
                             [](Cycle c, const Segment& s) { return c < s.start_cycle_; });
  const Segment& s = *std::prev(it);
  return s.start_s_ + double(cycle - s.start_cycle_) * s.stretch_ / clock_hz_;
}

Cycle PowerCap::cycle_at(double seconds) const {
  if (seconds <= 0) return 0;
  auto it = std::upper_bound(segments_.begin(), segments_.end(), seconds,
                             [](double t, const Segment& s) { return t < s.start_s_; });
  const Segment& s = *std::prev(it);
  const double cycles = (seconds - s.start_s_) * clock_hz_ / s.stretch_;
  return s.start_cycle_ + static_cast<Cycle>(std::ceil(cycles * (1.0 - 1e-12)));
}

PowerCapResult PowerCap::result(double simulated_s) const {
  PowerCapResult r;
  r.cap_w_ = cap_w_;
  r.window_cycles_ = window_cycles_;
  r.window_s_ = double(window_cycles_) / clock_hz_;
  r.windows_ = windows_;
  r.windows_throttled_ = windows_throttled_;
  r.throttled_s_ = throttled_s_;
  r.throttle_added_s_ = throttle_added_s_;
  r.throttled_fraction_ = simulated_s > 0 ? throttled_s_ / simulated_s : 0.0;
  r.energy_j_ = dynamic_j_ + static_w_ * simulated_s;
  r.average_power_w_ = simulated_s > 0 ? r.energy_j_ / simulated_s : 0.0;
  r.peak_window_power_w_ = peak_w_;
  r.peak_window_power_unthrottled_w_ = peak_unthrottled_w_;
  r.max_stretch_ = max_stretch_;
  return r;
}

int64_t PowerCap::state_bytes() const {
  return static_cast<int64_t>(segments_.capacity() * sizeof(Segment) +
                              pending_j_.size() * sizeof(double));
}

nlohmann::json PowerCapResult::to_json() const {
  return {{"cap_w", cap_w_},
          {"cap_source", cap_source_},
          {"window_us", window_s_ * 1e6},
          {"window_cycles", window_cycles_},
          {"windows", windows_},
          {"windows_throttled", windows_throttled_},
          {"throttled", windows_throttled_ > 0},
          {"throttled_s", throttled_s_},
          {"throttled_fraction", throttled_fraction_},
          {"throttle_added_s", throttle_added_s_},
          {"energy_j", energy_j_},
          {"average_power_w", average_power_w_},
          {"peak_window_power_w", peak_window_power_w_},
          {"peak_window_power_unthrottled_w", peak_window_power_unthrottled_w_},
          {"max_clock_stretch", max_stretch_}};
}

}  // namespace hw::sim
