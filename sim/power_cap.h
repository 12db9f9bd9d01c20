// The card's power over fixed windows of chip cycles, and the power cap's clock throttle
// (chip.power.cap_w, docs/simulate.md "Power cap"). The scheduler reports each token's activity
// over its passage through the chip (token level: spread evenly from entry to exit; cycle level:
// at entry, the exit being unknown then); a token's card energy is its activity through power/'s
// one energy function (energy_j), and a window's card power is the energy it received over its
// duration, plus static power. When that exceeds
// the cap, the governor stretches the window's clock period until the window's power equals the
// cap: an ideal governor that holds every window at the cap (activity per cycle is what it is,
// so the stretch is energy / (cap - static) / nominal window time). The model keeps counting
// nominal cycles (every block's schedule in cycles is unchanged by a uniform clock stretch);
// this class maps cycles to seconds and seconds (arrivals) to cycles through the stretches.
// Static power is taken as independent of the clock (as in the estimator's TDP throttle).
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chip/mapping.h"
#include "power/energy.h"
#include "sim/token.h"

namespace hw::sim {

struct PowerCapResult {
  double cap_w_ = 0.0;                 // 0 = no cap (window power still reported)
  std::string cap_source_;             // chip.power.cap_w, chip.power.tdp_w or none
  double window_s_ = 0.0;              // at the nominal clock
  Cycle window_cycles_ = 0;
  int64_t windows_ = 0;
  int64_t windows_throttled_ = 0;
  double throttled_s_ = 0.0;           // time spent in throttled windows
  double throttle_added_s_ = 0.0;      // how much longer those windows took than at full clock
  double throttled_fraction_ = 0.0;    // throttled_s / simulated time
  double average_power_w_ = 0.0;       // card energy / simulated time
  double energy_j_ = 0.0;              // card, dynamic + static
  double peak_window_power_w_ = 0.0;   // after throttling
  double peak_window_power_unthrottled_w_ = 0.0;  // the same windows at the full clock
  double max_stretch_ = 1.0;           // longest clock period / nominal

  nlohmann::json to_json() const;
};

class PowerCap {
 public:
  // cap_w 0: never throttles (the windows are still measured).
  PowerCap(const EventEnergies& energies, double cap_w, Cycle window_cycles, double clock_hz);

  bool throttles() const { return cap_w_ > 0; }
  // A token's activity `plus - minus` (a difference of two mapping figures for inner prompt
  // tokens), spread evenly over cycles [from, to] (from >= the open window's start; to = from:
  // all at `from`).
  void add(Cycle from, Cycle to, const ActivityCounts& plus, const ActivityCounts* minus);
  // Closes every window that ends at or before `now`.
  void advance(Cycle now);
  // Closes every window, the last one ending at `end` (the run's last cycle).
  void finish(Cycle end);
  // First cycle not yet in a closed window.
  Cycle closed_until() const { return open_start_; }
  // Start of the next window after `now`.
  Cycle next_boundary(Cycle now) const;

  // Seconds from cycle 0 to `cycle`: exact over closed windows; beyond, the last closed
  // window's clock is assumed.
  double seconds_at(Cycle cycle) const;
  // First cycle at or after `seconds` (same map; arrivals).
  Cycle cycle_at(double seconds) const;

  PowerCapResult result(double simulated_s) const;
  int64_t state_bytes() const;

 private:
  struct Segment {
    Cycle start_cycle_;
    double start_s_;
    double stretch_;
  };
  void close_window(Cycle end);

  EventEnergies energies_;
  double cap_w_;
  Cycle window_cycles_;
  double clock_hz_;
  double static_w_;
  Cycle open_start_ = 0;
  std::deque<double> pending_j_;   // card dynamic energy of the open window and those after it
  std::vector<Segment> segments_;  // a new one only where the stretch changes
  double last_stretch_ = 1.0;
  int64_t windows_ = 0, windows_throttled_ = 0;
  double throttled_s_ = 0.0, throttle_added_s_ = 0.0, dynamic_j_ = 0.0;
  double peak_w_ = 0.0, peak_unthrottled_w_ = 0.0, max_stretch_ = 1.0;
};

}  // namespace hw::sim
