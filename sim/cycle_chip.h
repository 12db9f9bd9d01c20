// The cycle-level chip (docs/simulate.md "Cycle level"): every block instance of every layer a
// clocked process (cycle_block.h) with its ports bound to bounded chunk channels, in dataflow
// order: embedding; per layer attn_norm, qkv, [qk_norm], rope, kv_write, attention, o_proj,
// ffn_norm, ffn_gate_up, activation, ffn_down; a link after each die but the last; final_norm
// (the head's input: prompt tokens that produce no output are dropped there), lm_head, sampler,
// link_return; the host sink. Each layer has its own KV bank engine (or shares its die's DRAM
// channel), and every user its run of positions in the engines' word address space. The
// scheduler (scheduler.h) sees it as a TokenPath: tokens enter through the embedding's input
// channel and come back through the sink.
#pragma once
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemc>

#include "chip/mapping.h"
#include "sim/attention.h"
#include "sim/block.h"
#include "sim/clock.h"
#include "sim/cycle_block.h"
#include "sim/embedding.h"
#include "sim/ffn.h"
#include "sim/functional.h"
#include "sim/kv_banks.h"
#include "sim/kv_dram.h"
#include "sim/kv_write.h"
#include "sim/lm_head.h"
#include "sim/o_proj.h"
#include "sim/qkv.h"
#include "sim/rms_norm.h"
#include "sim/rope.h"
#include "sim/sampler.h"
#include "sim/token_path.h"

namespace hw::sim {

class Scheduler;

// The phase spec of a matrix block of C = `inputs`, R = `outputs` on structure `m` (what every
// matrix block instance of the chip runs; tests/rtl compares it with the RTL block).
CycleBlockSpec matrix_block_spec(const std::string& name, int64_t layer, int64_t inputs,
                                 int64_t outputs, const MatrixBlockConfig& m);

// The phase specs of the vector units that hold their vector (what the chip runs; tests/rtl
// compares them with the RTL blocks): an RMSNorm of n elements, the SwiGLU activation of d_ff
// f (2f in, f quantized out), on vector unit `u` with `chunk`-element chunks.
CycleBlockSpec norm_block_spec(const std::string& name, int64_t layer, int64_t n,
                               const VectorUnitConfig& u, int64_t chunk);
CycleBlockSpec activation_block_spec(int64_t layer, int64_t f, const VectorUnitConfig& u,
                                     int64_t chunk);
// The rope block's spec: q (q values) and k (kv) through its lanes, v (kv) passed by its last
// step (what the chip runs; tests/rtl compares it with rtl/rope_unit.sv).
CycleBlockSpec rope_block_spec(int64_t layer, int64_t q, int64_t kv, const VectorUnitConfig& u,
                               int64_t chunk);

// The block process of `s`: CycleMatrixBlock for a matrix block's spec, else CycleBlock.
std::unique_ptr<CycleProcess> make_cycle_block(const std::string& name, const ClockBase& clock,
                                               int64_t chunk_elements, const CycleBlockSpec& s,
                                               const BlockModule* golden, bool functional,
                                               std::function<void(Token*, Cycle)> on_drop);

// Options of the cycle-level chip beyond the mapping.
struct CycleChipOptions {
  // Layer whose matrix blocks are Verilated RTL (rtl_cosim.h, docs/rtl.md "Co-simulation");
  // -1: none.
  int64_t rtl_layer_ = -1;
  std::string rtl_vcd_path_;  // VCD of the co-simulated blocks' pins ("" = none)
  // --vcd: per block instance, tokens in progress (first chunk taken .. last chunk out) and
  // chunks waiting in its input channel; "" = none.
  std::string vcd_path_;
  // --timeline: slices recorded (first chunk taken .. last chunk out per instance); 0 = none.
  int64_t timeline_max_events_ = 0;
};

class CycleTrace;

class CycleChip : public sc_core::sc_module, public TokenPath {
 public:
  CycleChip(sc_core::sc_module_name name, const ChipMapping& mapping, const ClockBase& clock,
            FunctionalData* functional, int64_t shared_prefix_positions,
            const CycleChipOptions& options = {});
  ~CycleChip() override;
  void set_scheduler(Scheduler* scheduler) { scheduler_ = scheduler; }

  // TokenPath.
  Cycle input_space_at(Cycle now) const override;
  Cycle enter(Token& t, Cycle now) override;
  const sc_core::sc_event* wake_event() const override;
  bool place_user(int64_t user, int64_t positions, int64_t group) override;
  void free_user(int64_t user) override;
  bool place_prefix(int64_t group, int64_t positions) override;
  void free_prefix(int64_t group) override;

  // Every block process in dataflow order.
  const std::vector<CycleProcess*>& processes() const { return processes_; }
  const std::vector<std::unique_ptr<KvBankEngine>>& kv_engines() const { return engines_; }
  const std::vector<std::unique_ptr<KvDram>>& dram_channels() const { return drams_; }
  int64_t kv_positions_read() const override;
  int64_t tokens_in_flight() const { return int64_t(live_.size()); }
  int64_t peak_tokens_in_flight() const { return peak_live_; }
  int64_t state_bytes() const;
  // After sc_start: writes the timeline (when one was recorded and `timeline_path` is given)
  // and closes the VCD. Returns the timeline's slice counts {recorded, dropped}.
  std::pair<int64_t, int64_t> finish_traces(const std::string& timeline_path, double clock_hz,
                                            const nlohmann::json& metadata);
  // The processes that are Verilated RTL (co-simulation), in dataflow order.
  const std::vector<CycleProcess*>& rtl_processes() const { return rtl_processes_; }

 private:
  ChunkChannel* channel(const std::string& name);
  void add(std::unique_ptr<CycleProcess> p);
  KvAddress address_of(const Token& t) const;
  void finish(Token* t);

  const ChipMapping& mapping_;
  const ClockBase& clock_;
  FunctionalData* functional_;
  Scheduler* scheduler_ = nullptr;
  int64_t chunk_elements_;
  int64_t channel_depth_;
  // Golden functions (functional mode) of every block kind, shared by its instances.
  std::unique_ptr<Embedding> g_embedding_;
  std::unique_ptr<RmsNorm> g_attn_norm_, g_qk_norm_, g_ffn_norm_, g_final_norm_;
  std::unique_ptr<Qkv> g_qkv_;
  std::unique_ptr<Rope> g_rope_;
  std::unique_ptr<KvWrite> g_kv_write_;
  std::unique_ptr<Attention> g_attention_;
  std::unique_ptr<OProj> g_o_proj_;
  std::unique_ptr<FfnGateUp> g_ffn_gate_up_;
  std::unique_ptr<Activation> g_activation_;
  std::unique_ptr<FfnDown> g_ffn_down_;
  std::unique_ptr<LmHead> g_lm_head_;
  std::unique_ptr<Sampler> g_sampler_;

  std::vector<std::unique_ptr<ChunkChannel>> channels_;
  std::vector<std::unique_ptr<CycleProcess>> owned_;
  std::vector<CycleProcess*> processes_;
  std::vector<CycleProcess*> rtl_processes_;
  std::unique_ptr<CycleTrace> trace_;  // --vcd / --timeline
  std::vector<std::unique_ptr<KvBankEngine>> engines_;  // per layer (per die: bank_scope die)
  std::vector<std::unique_ptr<KvDram>> drams_;          // per die (kv_memory = dram)
  ChunkChannel* input_ = nullptr;                       // embedding's input
  std::unique_ptr<ChunkChannel> sink_out_;              // the sink's unused output

  // Tokens in flight (stable addresses: chunks point at them) and functional states.
  std::deque<Token> tokens_;
  std::vector<Token*> free_tokens_;
  std::map<const Token*, bool> live_;
  int64_t peak_live_ = 0;
  std::deque<TokenState> states_;
  std::vector<TokenState*> free_states_;

  // KV address space per layer engine (kv_runs.h), built once the mapping is known.
  std::unique_ptr<KvRuns> runs_;
};

}  // namespace hw::sim
