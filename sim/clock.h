// Conversion between the model's integer cycle counts and SystemC kernel time. The model keeps
// exact cycles; the kernel advances in picoseconds (its default resolution), cycle c at
// round(c * 1e12 / clock_hz) ps, so kernel time, VCD and timeline read in real time units.
// Rounding is monotone, so the kernel never sees events out of cycle order.
#pragma once
#include <cmath>

#include <systemc>

#include "sim/token.h"

namespace hw::sim {

class ClockBase {
 public:
  explicit ClockBase(double clock_hz) : ps_per_cycle_(1e12L / static_cast<long double>(clock_hz)) {}

  sc_core::sc_time time_of(Cycle cycle) const {
    return sc_core::sc_time::from_value(static_cast<sc_dt::uint64>(
        std::llround(static_cast<long double>(cycle) * ps_per_cycle_)));
  }
  // The cycle whose edge is at (or nearest to) kernel time `t`.
  Cycle cycle_of(const sc_core::sc_time& t) const {
    return static_cast<Cycle>(std::llround(static_cast<long double>(t.value()) / ps_per_cycle_));
  }
  Cycle cycle_now() const { return cycle_of(sc_core::sc_time_stamp()); }
  // Delay from the kernel's current time to `cycle` (zero if it is now or past).
  sc_core::sc_time delay_until(Cycle cycle) const {
    const sc_core::sc_time t = time_of(cycle);
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    return t > now ? t - now : sc_core::SC_ZERO_TIME;
  }

 private:
  long double ps_per_cycle_;
};

}  // namespace hw::sim
