// Chrome-trace timeline writer (see timeline.h).
#include "sim/timeline.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "common/error.h"

namespace hw::sim {

TimelineRecorder::TimelineRecorder(int64_t max_events) : max_events_(max_events) {}

void TimelineRecorder::on_visit(size_t index, const Token& t, Cycle, Cycle start,
                                Cycle busy_end, Cycle) {
  if (static_cast<int64_t>(events_.size()) >= max_events_) {
    ++dropped_;
    return;
  }
  events_.push_back({static_cast<uint32_t>(index), t.prompt_, t.user_, t.position_,
                     start, busy_end});
}

void TimelineRecorder::write(const std::string& path, const std::vector<Stage>& stages,
                             double clock_hz, const nlohmann::json& metadata) const {
  std::vector<Track> tracks;
  tracks.reserve(stages.size());
  for (const Stage& s : stages) tracks.push_back({s.label(), s.die_});
  write(path, tracks, clock_hz, metadata);
}

void TimelineRecorder::write(const std::string& path, const std::vector<Track>& stages,
                             double clock_hz, const nlohmann::json& metadata) const {
  std::ofstream out(path, std::ios::trunc);
  if (!out) {
    throw make_error("--timeline " + path, "cannot open the file for writing",
                     "check that the directory exists and is writable");
  }
  const double us_per_cycle = 1e6 / clock_hz;
  out << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  bool first = true;
  auto sep = [&]() {
    if (!first) out << ",\n";
    first = false;
  };
  int64_t max_die = 0;
  for (const auto& s : stages) max_die = std::max(max_die, s.die_);
  for (int64_t d = 0; d <= max_die; ++d) {
    sep();
    out << nlohmann::json{{"name", "process_name"}, {"ph", "M"}, {"pid", d},
                          {"args", {{"name", "die " + std::to_string(d)}}}}
               .dump();
  }
  for (size_t i = 0; i < stages.size(); ++i) {
    sep();
    out << nlohmann::json{{"name", "thread_name"}, {"ph", "M"}, {"pid", stages[i].die_},
                          {"tid", i}, {"args", {{"name", stages[i].label_}}}}
               .dump();
    sep();
    out << nlohmann::json{{"name", "thread_sort_index"}, {"ph", "M"}, {"pid", stages[i].die_},
                          {"tid", i}, {"args", {{"sort_index", i}}}}
               .dump();
  }
  char buf[256];
  for (const Event& e : events_) {
    sep();
    std::snprintf(buf, sizeof buf,
                  "{\"name\":\"u%lld p%lld\",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":%lld,"
                  "\"tid\":%u,\"ts\":%.6f,\"dur\":%.6f,\"args\":{\"user\":%lld,\"position\":%lld}}",
                  static_cast<long long>(e.user_), static_cast<long long>(e.position_),
                  e.prompt_ ? "prefill" : "decode", static_cast<long long>(stages[e.stage_].die_),
                  e.stage_, double(e.start_) * us_per_cycle,
                  double(e.end_ - e.start_) * us_per_cycle, static_cast<long long>(e.user_),
                  static_cast<long long>(e.position_));
    out << buf;
  }
  nlohmann::json other = metadata;
  other["slices_recorded"] = recorded();
  other["slices_dropped"] = dropped_;
  out << "\n],\"otherData\":" << other.dump() << "}\n";
  if (!out) {
    throw make_error("--timeline " + path, "write failed", "check the free disk space");
  }
}

}  // namespace hw::sim
