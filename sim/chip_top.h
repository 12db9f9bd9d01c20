// The chip as one SystemC module: instantiates one module per block kind (embedding, the
// norms, qkv, rope, kv_write, attention, o_proj, the FFN blocks, lm_head, sampler, links), the
// KV memory and the scheduler, and lays the per-layer instances out as the pipeline of
// pipeline.h (placement of layers on dies from the mapping). Optional recorders: the VCD probe
// and the Chrome-trace timeline.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "chip/mapping.h"
#include "chip/workload.h"
#include "sim/attention.h"
#include "sim/clock.h"
#include "sim/embedding.h"
#include "sim/ffn.h"
#include "sim/functional.h"
#include "sim/kv_sram.h"
#include "sim/kv_write.h"
#include "sim/link.h"
#include "sim/lm_head.h"
#include "sim/o_proj.h"
#include "sim/pipeline.h"
#include "sim/qkv.h"
#include "sim/rms_norm.h"
#include "sim/rope.h"
#include "sim/sampler.h"
#include "sim/scheduler.h"
#include "sim/timeline.h"
#include "sim/vcd.h"

namespace hw::sim {

struct ChipTopOptions {
  std::string vcd_path_;             // "" = no VCD
  int64_t timeline_max_events_ = 0;  // 0 = no timeline
};

class ChipTop : public sc_core::sc_module {
 public:
  ChipTop(sc_core::sc_module_name name, const ChipMapping& mapping,
          const std::vector<UserRequest>& requests, FunctionalData* functional,
          const ChipTopOptions& options);
  ~ChipTop() override;

  Pipeline& pipeline() { return *pipeline_; }
  Scheduler& scheduler() { return *scheduler_; }
  KvSram& kv() { return *kv_; }
  const ClockBase& clock() const { return clock_; }
  TimelineRecorder* timeline() { return timeline_.get(); }
  VcdProbe* vcd() { return vcd_.get(); }
  // Block modules in dataflow order (each once).
  const std::vector<BlockModule*>& blocks() const { return blocks_; }
  int64_t state_bytes() const;

 private:
  class FanOut;
  template <typename T, typename... Args>
  T* make_block(std::unique_ptr<T>& slot, Args&&... args);

  const ChipMapping& mapping_;
  ClockBase clock_;
  std::unique_ptr<Embedding> embedding_;
  std::unique_ptr<RmsNorm> attn_norm_, qk_norm_, ffn_norm_, final_norm_;
  std::unique_ptr<Qkv> qkv_;
  std::unique_ptr<Rope> rope_;
  std::unique_ptr<KvWrite> kv_write_;
  std::unique_ptr<Attention> attention_;
  std::unique_ptr<OProj> o_proj_;
  std::unique_ptr<FfnGateUp> ffn_gate_up_;
  std::unique_ptr<Activation> activation_;
  std::unique_ptr<FfnDown> ffn_down_;
  std::unique_ptr<LmHead> lm_head_;
  std::unique_ptr<Sampler> sampler_;
  std::unique_ptr<Link> link_;
  std::unique_ptr<LinkReturn> link_return_;
  std::unique_ptr<KvSram> kv_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<VcdProbe> vcd_;
  std::unique_ptr<TimelineRecorder> timeline_;
  std::unique_ptr<FanOut> fan_out_;
  std::vector<BlockModule*> blocks_;
};

}  // namespace hw::sim
