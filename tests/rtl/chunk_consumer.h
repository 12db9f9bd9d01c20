// The consumer side of the RTL-vs-SystemC timing benches (test_rtl_timing.cpp,
// test_rtl_attention.cpp; chunk_producer.h is the other side): reads a chunk from its channel in
// every chip cycle where ready(cycle) holds and one is there, and records the cycle, the chunk's
// elements and its token.
#pragma once
#include <functional>
#include <vector>

#include <systemc>

#include "sim/chunk.h"
#include "sim/clock.h"
#include "sim/token.h"

namespace hw::rtltest {

class ChunkConsumer : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(ChunkConsumer);
  ChunkConsumer(sc_core::sc_module_name n, const sim::ClockBase& clock, sim::ChunkChannel& in,
                std::function<bool(sim::Cycle)> ready)
      : sc_core::sc_module(n), clock_(clock), in_(in), ready_(std::move(ready)) {
    SC_THREAD(run);
  }
  std::vector<sim::Cycle> reads_;
  std::vector<int64_t> elements_;
  std::vector<const sim::Token*> tokens_;

 private:
  void run() {
    for (;;) {
      wait(clock_.delay_until(clock_.cycle_now() + 1));
      const sim::Cycle now = clock_.cycle_now();
      if (ready_(now) && in_.num_available() > 0) {
        const sim::Chunk c = in_.read();
        reads_.push_back(now);
        elements_.push_back(c.elements_);
        tokens_.push_back(c.token_);
      }
    }
  }
  const sim::ClockBase& clock_;
  sim::ChunkChannel& in_;
  std::function<bool(sim::Cycle)> ready_;
};

}  // namespace hw::rtltest
