// VCD waveform of key signals, written through SystemC's own tracer (sc_trace): per block kind
// the number of busy instances and of tokens waiting in their input FIFOs, the KV positions in
// use, the active users and the tokens generated. Stage visits are known when a token enters
// the chip (pipeline.h) but happen later, so their signal changes are queued by cycle and this
// module's process applies them when the kernel reaches that time: the waveform is in real
// time, one value change per event. Costs kernel events per block visit: for looking at short
// runs, not for full-size benchmarks.
#pragma once
#include <cstdint>
#include <queue>
#include <string>
#include <vector>

#include <systemc>

#include "sim/clock.h"
#include "sim/pipeline.h"

namespace hw::sim {

class VcdProbe : public sc_core::sc_module, public VisitObserver {
 public:
  SC_HAS_PROCESS(VcdProbe);
  // `path`: the VCD file; SystemC appends ".vcd", so a trailing ".vcd" is taken off first.
  VcdProbe(sc_core::sc_module_name name, const std::string& path, const ClockBase& clock);
  ~VcdProbe() override;

  // Registers a signal under `trace_name`; returns its id for change().
  int add_signal(sc_core::sc_signal<int>& signal, const std::string& trace_name);
  // Maps stage `index` to the busy / queued signals of its block.
  void bind_stage(size_t index, int busy_signal, int queued_signal);
  // Adds `delta` to signal `id` at `cycle` (>= the current cycle).
  void change(Cycle cycle, int id, int delta);
  void on_visit(size_t index, const Token& t, Cycle arrive, Cycle start, Cycle busy_end,
                Cycle depart) override;
  // Flushes and closes the file (after sc_start returns).
  void close();
  int64_t state_bytes() const;

 private:
  struct Change {
    Cycle cycle_;
    uint64_t order_;
    int id_;
    int delta_;
    bool operator>(const Change& o) const {
      return cycle_ != o.cycle_ ? cycle_ > o.cycle_ : order_ > o.order_;
    }
  };
  void apply();

  const ClockBase& clock_;
  sc_core::sc_trace_file* file_ = nullptr;
  std::vector<sc_core::sc_signal<int>*> signals_;
  std::vector<int> values_;
  std::vector<std::pair<int, int>> stage_signals_;  // busy, queued per stage
  std::priority_queue<Change, std::vector<Change>, std::greater<Change>> changes_;
  size_t peak_changes_ = 0;
  uint64_t order_ = 0;
  Cycle scheduled_ = INT64_MAX;
  sc_core::sc_event wake_;
};

}  // namespace hw::sim
