// The producer side of the RTL-vs-SystemC timing benches (test_rtl_timing.cpp,
// test_rtl_attention.cpp): writes each token's vector of `elements` as chunks of `lanes`, one
// per cycle when its channel has room, idles gap(token) cycles after a token's last chunk, and
// records the cycle of every write.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include <systemc>

#include "sim/chunk.h"
#include "sim/clock.h"
#include "sim/token.h"

namespace hw::rtltest {

class ChunkProducer : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(ChunkProducer);
  ChunkProducer(sc_core::sc_module_name n, const sim::ClockBase& clock, sim::ChunkChannel& out,
                std::vector<sim::Token>& tokens, int64_t elements, int64_t lanes,
                std::function<int64_t(size_t)> gap)
      : sc_core::sc_module(n), clock_(clock), out_(out), tokens_(tokens), elements_(elements),
        lanes_(lanes), gap_(std::move(gap)) {
    SC_THREAD(run);
  }
  std::vector<sim::Cycle> writes_;

 private:
  void run() {
    const int64_t chunks = (elements_ + lanes_ - 1) / lanes_;
    sim::Cycle next_ok = 1;
    for (size_t v = 0; v < tokens_.size(); ++v) {
      for (int64_t k = 0; k < chunks; ++k) {
        for (;;) {
          const sim::Cycle now = clock_.cycle_now();
          if (now >= next_ok && out_.num_free() > 0) break;
          wait(clock_.delay_until(std::max(now + 1, next_ok)));
        }
        sim::Chunk c;
        c.token_ = &tokens_[v];
        c.index_ = int32_t(k);
        c.elements_ = int32_t(std::min(lanes_, elements_ - lanes_ * k));
        c.last_ = k + 1 == chunks;
        out_.write(c);
        writes_.push_back(clock_.cycle_now());
        next_ok = clock_.cycle_now() + 1 + (c.last_ ? gap_(v) : 0);
      }
    }
  }
  const sim::ClockBase& clock_;
  sim::ChunkChannel& out_;
  std::vector<sim::Token>& tokens_;
  int64_t elements_, lanes_;
  std::function<int64_t(size_t)> gap_;
};

}  // namespace hw::rtltest
