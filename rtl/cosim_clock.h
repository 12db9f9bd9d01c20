// The clock and reset of Verilated modules driven by a cycle-level process (the co-simulation
// adapters: rtl/cosim.h, cosim_vector.h, cosim_attention.h). At chip cycle t the adapter does
// its output side in delta 0 and calls start(t); then, in the kernel's deltas at t:
//   delta 2   `input_side` (once the modules' in_ready has rippled from out_ready),
//   delta 3   the rising clock edge; the clock falls half a chip cycle later.
// Reset: three clock cycles in delta cycles before the first chip cycle, rst held high.
#pragma once
#include <functional>

#include <systemc>

#include "sim/clock.h"

namespace hw::rtl {

class RtlClock : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(RtlClock);
  RtlClock(sc_core::sc_module_name name, const sim::ClockBase& clock,
           std::function<void()> input_side)
      : sc_core::sc_module(name), clk_("clk"), rst_("rst"), clock_(clock),
        input_side_(std::move(input_side)) {
    SC_METHOD(phase);
    sensitive << phase_ev_;
    dont_initialize();
    SC_METHOD(fall);
    sensitive << fall_ev_;
    dont_initialize();
    SC_THREAD(reset);
  }

  // Delta 0 of chip cycle `now`: the input side and the clock edge follow in later deltas.
  void start(sim::Cycle now) {
    now_ = now;
    step_ = 0;
    phase_ev_.notify(sc_core::SC_ZERO_TIME);
  }

  sc_core::sc_signal<bool, sc_core::SC_MANY_WRITERS> clk_;
  sc_core::sc_signal<bool> rst_;

 private:
  void phase() {
    ++step_;
    if (step_ < 2) {
      phase_ev_.notify(sc_core::SC_ZERO_TIME);
      return;
    }
    if (step_ == 2) {
      input_side_();
      phase_ev_.notify(sc_core::SC_ZERO_TIME);
      return;
    }
    clk_.write(true);
    fall_ev_.notify((clock_.time_of(now_ + 1) - clock_.time_of(now_)) / 2);
  }

  void fall() { clk_.write(false); }

  void reset() {
    rst_.write(true);
    for (int i = 0; i < 3; ++i) {
      clk_.write(false);
      for (int d = 0; d < 3; ++d) wait(sc_core::SC_ZERO_TIME);
      clk_.write(true);
      for (int d = 0; d < 3; ++d) wait(sc_core::SC_ZERO_TIME);
    }
    clk_.write(false);
    rst_.write(false);
  }

  const sim::ClockBase& clock_;
  std::function<void()> input_side_;
  sim::Cycle now_ = 0;
  int step_ = 0;
  sc_core::sc_event phase_ev_, fall_ev_;
};

}  // namespace hw::rtl
