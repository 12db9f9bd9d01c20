// VCD probe (see vcd.h).
#include "sim/vcd.h"

#include <algorithm>

namespace hw::sim {

VcdProbe::VcdProbe(sc_core::sc_module_name name, const std::string& path, const ClockBase& clock)
    : sc_core::sc_module(name), clock_(clock) {
  std::string base = path;
  const std::string ext = ".vcd";
  if (base.size() > ext.size() && base.compare(base.size() - ext.size(), ext.size(), ext) == 0) {
    base.resize(base.size() - ext.size());
  }
  file_ = sc_core::sc_create_vcd_trace_file(base.c_str());
  // An explicit unit (the kernel's resolution): otherwise SystemC reports its default on
  // stdout (Info I702), which would corrupt `--json` output.
  file_->set_time_unit(1.0, sc_core::SC_PS);
  SC_METHOD(apply);
  sensitive << wake_;
  dont_initialize();
}

VcdProbe::~VcdProbe() { close(); }

int VcdProbe::add_signal(sc_core::sc_signal<int>& signal, const std::string& trace_name) {
  sc_core::sc_trace(file_, signal, trace_name);
  signals_.push_back(&signal);
  values_.push_back(0);
  return static_cast<int>(signals_.size()) - 1;
}

void VcdProbe::bind_stage(size_t index, int busy_signal, int queued_signal) {
  if (stage_signals_.size() <= index) stage_signals_.resize(index + 1, {-1, -1});
  stage_signals_[index] = {busy_signal, queued_signal};
}

void VcdProbe::change(Cycle cycle, int id, int delta) {
  changes_.push({cycle, order_++, id, delta});
  peak_changes_ = std::max(peak_changes_, changes_.size());
  if (cycle < scheduled_) {
    scheduled_ = cycle;
    wake_.notify(clock_.delay_until(cycle));
  }
}

void VcdProbe::on_visit(size_t index, const Token&, Cycle arrive, Cycle start, Cycle busy_end,
                        Cycle) {
  const auto [busy, queued] = stage_signals_[index];
  change(arrive, queued, +1);
  change(start, queued, -1);
  change(start, busy, +1);
  change(busy_end, busy, -1);
}

void VcdProbe::apply() {
  const Cycle now = scheduled_;
  while (!changes_.empty() && changes_.top().cycle_ <= now) {
    const Change c = changes_.top();
    changes_.pop();
    values_[static_cast<size_t>(c.id_)] += c.delta_;
    signals_[static_cast<size_t>(c.id_)]->write(values_[static_cast<size_t>(c.id_)]);
  }
  scheduled_ = changes_.empty() ? INT64_MAX : changes_.top().cycle_;
  if (!changes_.empty()) wake_.notify(clock_.delay_until(scheduled_));
}

void VcdProbe::close() {
  if (file_) {
    sc_core::sc_close_vcd_trace_file(file_);
    file_ = nullptr;
  }
}

int64_t VcdProbe::state_bytes() const {
  return static_cast<int64_t>(peak_changes_ * sizeof(Change));
}

}  // namespace hw::sim
