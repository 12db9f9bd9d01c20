// The shared VCD of the co-simulated blocks (see cosim_trace.h).
#include "rtl/cosim_trace.h"

#include <vector>

// Verilator's headers have unused parameters: keep the project's warning flags quiet on them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "verilated_vcd_sc.h"
#pragma GCC diagnostic pop

namespace hw::rtl {

struct SharedTrace {
  std::string path_;
  std::unique_ptr<VerilatedVcdSc> file_;
  std::vector<std::function<void(VerilatedVcdSc*)>> adds_;
  bool opened_ = false;
  ~SharedTrace() {
    if (file_ && opened_) file_->close();
  }
};

namespace {
std::weak_ptr<SharedTrace>& current_trace() {
  static std::weak_ptr<SharedTrace> t;
  return t;
}
}  // namespace

std::shared_ptr<SharedTrace> join_trace(const std::string& path,
                                        std::function<void(VerilatedVcdSc*)> add) {
  Verilated::traceEverOn(true);
  std::shared_ptr<SharedTrace> t = current_trace().lock();
  if (!t) {
    t = std::make_shared<SharedTrace>();
    t->path_ = path;
    t->file_ = std::make_unique<VerilatedVcdSc>();
    current_trace() = t;
  }
  t->adds_.push_back(std::move(add));
  return t;
}

void open_trace(SharedTrace& t) {
  if (t.opened_) return;
  for (const auto& add : t.adds_) add(t.file_.get());
  t.file_->open(t.path_.c_str());
  t.opened_ = true;
}

}  // namespace hw::rtl
