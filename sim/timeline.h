// Chrome-trace / Perfetto timeline of block occupancy: one track per block instance ("L03.qkv"),
// grouped per die, one slice per token served ("u5 p1023": user 5, position 1023; category
// prefill or decode). Open the file in ui.perfetto.dev or chrome://tracing. Recording stops after
// a cap on the number of slices (a full-size run serves hundreds of millions), and the file says
// how many were left out. Both levels record into it: the token level through VisitObserver
// (busy span of each visit), the cycle level through cycle_chip.h's observer (first input chunk
// taken to last output chunk written, per block instance).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/pipeline.h"

namespace hw::sim {

class TimelineRecorder : public VisitObserver {
 public:
  explicit TimelineRecorder(int64_t max_events);
  void on_visit(size_t index, const Token& t, Cycle arrive, Cycle start, Cycle busy_end,
                Cycle depart) override;
  int64_t recorded() const { return static_cast<int64_t>(events_.size()); }
  int64_t dropped() const { return dropped_; }
  // Writes the trace. `metadata` goes to the file's otherData. Throws hw::Error naming the
  // path when it cannot be written.
  void write(const std::string& path, const std::vector<Stage>& stages, double clock_hz,
             const nlohmann::json& metadata) const;
  // One track per block instance: its label ("L03.qkv") and die.
  struct Track {
    std::string label_;
    int64_t die_ = 0;
  };
  void write(const std::string& path, const std::vector<Track>& tracks, double clock_hz,
             const nlohmann::json& metadata) const;

 private:
  struct Event {
    uint32_t stage_;
    bool prompt_;  // a prompt token (prefill) rather than a decode token
    int64_t user_;
    int64_t position_;
    Cycle start_;
    Cycle end_;
  };
  int64_t max_events_;
  int64_t dropped_ = 0;
  std::vector<Event> events_;
};

}  // namespace hw::sim
