// The chip top module: block instantiation and pipeline layout (see chip_top.h).
#include "sim/chip_top.h"

#include <map>

namespace hw::sim {

// Forwards stage visits to the timeline and the VCD probe, whichever are enabled.
class ChipTop::FanOut : public VisitObserver {
 public:
  std::vector<VisitObserver*> targets_;
  void on_visit(size_t index, const Token& t, Cycle arrive, Cycle start, Cycle busy_end,
                Cycle depart) override {
    for (VisitObserver* o : targets_) o->on_visit(index, t, arrive, start, busy_end, depart);
  }
};

template <typename T, typename... Args>
T* ChipTop::make_block(std::unique_ptr<T>& slot, Args&&... args) {
  slot = std::make_unique<T>(std::forward<Args>(args)...);
  blocks_.push_back(slot.get());
  return slot.get();
}

ChipTop::ChipTop(sc_core::sc_module_name name, const ChipMapping& mapping,
                 const std::vector<UserRequest>& requests, FunctionalData* functional,
                 const ChipTopOptions& options)
    : sc_core::sc_module(name), mapping_(mapping), clock_(mapping.chip_.clock_hz_) {
  const ChipMapping& m = mapping;
  const int64_t depth = m.chip_.fifo_depth_tokens_;
  make_block(embedding_, "embedding", m.embedding_);
  make_block(attn_norm_, "attn_norm", m.attn_norm_, NormPlace::kAttention);
  make_block(qkv_, "qkv", m.qkv_);
  if (m.model_.qk_norm_) make_block(qk_norm_, "qk_norm", m.qk_norm_, NormPlace::kQk);
  make_block(rope_, "rope", m.rope_);
  make_block(kv_write_, "kv_write", m.kv_write_);
  make_block(attention_, "attention");
  make_block(o_proj_, "o_proj", m.o_proj_);
  make_block(ffn_norm_, "ffn_norm", m.ffn_norm_, NormPlace::kFfn);
  make_block(ffn_gate_up_, "ffn_gate_up", m.ffn_gate_up_);
  make_block(activation_, "activation", m.activation_);
  make_block(ffn_down_, "ffn_down", m.ffn_down_);
  if (m.dies_used_ > 1) make_block(link_, "link", m.link_forward_);
  make_block(final_norm_, "final_norm", m.final_norm_, NormPlace::kFinal);
  make_block(lm_head_, "lm_head", m.lm_head_);
  make_block(sampler_, "sampler", m.sampler_);
  if (m.dies_used_ > 1) make_block(link_return_, "link_return", m.link_return_);
  if (functional) {
    for (BlockModule* b : blocks_) {
      b->set_golden(&functional->golden());
      b->set_hook(functional->block_hook());
    }
  }

  std::vector<Stage> stages;
  stages.emplace_back(embedding_.get(), -1, 0, StageKind::kPlain, false, depth,
                      m.embedding_.stream_);
  for (const DieAssignment& die : m.dies_) {
    for (int64_t l = die.first_layer_; l < die.first_layer_ + die.layers_; ++l) {
      const int64_t d = die.index_;
      stages.emplace_back(attn_norm_.get(), l, d, StageKind::kPlain, false, depth,
                          m.attn_norm_.stream_);
      stages.emplace_back(qkv_.get(), l, d, StageKind::kPlain, false, depth, m.qkv_.stream_);
      if (qk_norm_) {
        stages.emplace_back(qk_norm_.get(), l, d, StageKind::kPlain, false, depth,
                            m.qk_norm_.stream_);
      }
      stages.emplace_back(rope_.get(), l, d, StageKind::kPlain, false, depth, m.rope_.stream_);
      stages.emplace_back(kv_write_.get(), l, d, StageKind::kKvWrite, false, depth,
                          m.kv_write_.stream_);
      stages.emplace_back(attention_.get(), l, d, StageKind::kAttention, false, depth,
                          m.attention_stream_);
      stages.emplace_back(o_proj_.get(), l, d, StageKind::kPlain, false, depth, m.o_proj_.stream_);
      stages.emplace_back(ffn_norm_.get(), l, d, StageKind::kPlain, false, depth,
                          m.ffn_norm_.stream_);
      stages.emplace_back(ffn_gate_up_.get(), l, d, StageKind::kPlain, false, depth,
                          m.ffn_gate_up_.stream_);
      stages.emplace_back(activation_.get(), l, d, StageKind::kPlain, false, depth,
                          m.activation_.stream_);
      stages.emplace_back(ffn_down_.get(), l, d, StageKind::kPlain, false, depth,
                          m.ffn_down_.stream_);
    }
    if (die.index_ + 1 < m.dies_used_) {
      stages.emplace_back(link_.get(), -1, die.index_, StageKind::kPlain, false, depth,
                          m.link_forward_.stream_);
    }
  }
  const int64_t last_die = m.dies_used_ - 1;
  stages.emplace_back(final_norm_.get(), -1, last_die, StageKind::kPlain, true, depth,
                      m.final_norm_.stream_);
  stages.emplace_back(lm_head_.get(), -1, last_die, StageKind::kPlain, true, depth,
                      m.lm_head_.stream_);
  stages.emplace_back(sampler_.get(), -1, last_die, StageKind::kPlain, true, depth,
                      m.sampler_.stream_);
  if (link_return_) {
    stages.emplace_back(link_return_.get(), -1, last_die, StageKind::kPlain, true, depth,
                        m.link_return_.stream_);
  }

  kv_ = std::make_unique<KvSram>("kv_sram", m);
  pipeline_ = std::make_unique<Pipeline>(std::move(stages), *kv_, functional != nullptr,
                                         m.chip_.channel_depth_chunks_,
                                         m.chip_.attention_.query_tile_,
                                         requests.empty() ? 0
                                                          : requests.front().shared_prefix_tokens_);
  scheduler_ =
      std::make_unique<Scheduler>("scheduler", m, requests, clock_, *pipeline_, *kv_, functional);

  fan_out_ = std::make_unique<FanOut>();
  if (options.timeline_max_events_ > 0) {
    timeline_ = std::make_unique<TimelineRecorder>(options.timeline_max_events_);
    fan_out_->targets_.push_back(timeline_.get());
  }
  if (!options.vcd_path_.empty()) {
    vcd_ = std::make_unique<VcdProbe>("vcd", options.vcd_path_, clock_);
    std::map<const BlockModule*, std::pair<int, int>> ids;
    for (BlockModule* b : blocks_) {
      ids[b] = {vcd_->add_signal(b->busy_, b->block_name() + "_busy"),
                vcd_->add_signal(b->queued_, b->block_name() + "_queued")};
    }
    const auto& st = pipeline_->stages();
    for (size_t i = 0; i < st.size(); ++i) {
      const auto& p = ids.at(st[i].block_);
      vcd_->bind_stage(i, p.first, p.second);
    }
    const int kv_id = vcd_->add_signal(kv_->used_positions_signal_, "kv_used_positions");
    const int active_id = vcd_->add_signal(scheduler_->active_users_signal_, "active_users");
    const int tokens_id = vcd_->add_signal(scheduler_->tokens_out_signal_, "tokens_generated");
    scheduler_->set_vcd(vcd_.get(), active_id, tokens_id, kv_id);
    fan_out_->targets_.push_back(vcd_.get());
  }
  if (!fan_out_->targets_.empty()) pipeline_->set_observer(fan_out_.get());
}

ChipTop::~ChipTop() = default;

int64_t ChipTop::state_bytes() const {
  int64_t bytes = pipeline_->state_bytes() + kv_->state_bytes() + scheduler_->state_bytes();
  if (vcd_) bytes += vcd_->state_bytes();
  return bytes;
}

}  // namespace hw::sim
