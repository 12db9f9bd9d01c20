// The cycle-level chip: block instances, channels, KV engines, address runs (see cycle_chip.h).
#include "sim/cycle_chip.h"

#include <algorithm>
#include <climits>
#include <cstdio>

#include "common/error.h"
#include "sim/rtl_cosim.h"
#include "sim/scheduler.h"
#include "sim/timeline.h"
#include "sim/vcd.h"

namespace hw::sim {

// --vcd and --timeline at the cycle level: per block instance two VCD signals (tokens in
// progress, chunks in the input channel) changed at the cycle they change, and one timeline
// slice per token visit.
class CycleTrace : public CycleObserver {
 public:
  CycleTrace(const std::string& vcd_path, int64_t timeline_max_events, const ClockBase& clock,
             const std::vector<CycleProcess*>& processes)
      : timeline_(std::max<int64_t>(1, timeline_max_events)),
        record_timeline_(timeline_max_events > 0) {
    for (const CycleProcess* p : processes) {
      // The token level's track names ("L03.qkv", pipeline.h Stage::label), so one timeline
      // reader serves both levels.
      TimelineRecorder::Track t;
      t.label_ = p->basename();
      if (p->layer() >= 0) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "L%02lld.", static_cast<long long>(p->layer()));
        t.label_ = buf + p->block_name();
      }
      tracks_.push_back(t);
    }
    if (vcd_path.empty()) return;
    vcd_ = std::make_unique<VcdProbe>("vcd_probe", vcd_path, clock);
    for (const CycleProcess* p : processes) {
      const std::string n = p->basename();
      signals_.emplace_back(std::make_unique<sc_core::sc_signal<int>>(("vcd_" + n + "_busy").c_str()));
      const int busy = vcd_->add_signal(*signals_.back(), n + "_busy");
      signals_.emplace_back(std::make_unique<sc_core::sc_signal<int>>(("vcd_" + n + "_queued").c_str()));
      const int queued = vcd_->add_signal(*signals_.back(), n + "_queued");
      ids_.emplace_back(busy, queued);
    }
  }
  void on_start(size_t index, const Token&, Cycle now) override {
    if (vcd_) vcd_->change(now, ids_[index].first, +1);
  }
  void on_depart(size_t index, const Token& t, Cycle start, Cycle now) override {
    if (vcd_) vcd_->change(now, ids_[index].first, -1);
    if (record_timeline_) timeline_.on_visit(index, t, start, start, now, now);
  }
  void on_queue(size_t index, int64_t chunks, Cycle now) override {
    if (!vcd_) return;
    if (queued_.size() <= index) queued_.resize(index + 1, 0);
    vcd_->change(now, ids_[index].second, int(chunks - queued_[index]));
    queued_[index] = chunks;
  }
  std::pair<int64_t, int64_t> finish(const std::string& timeline_path, double clock_hz,
                                     const nlohmann::json& metadata) {
    if (vcd_) vcd_->close();
    if (record_timeline_ && !timeline_path.empty()) {
      timeline_.write(timeline_path, tracks_, clock_hz, metadata);
    }
    return {timeline_.recorded(), timeline_.dropped()};
  }

 private:
  std::unique_ptr<VcdProbe> vcd_;
  std::vector<std::unique_ptr<sc_core::sc_signal<int>>> signals_;
  std::vector<std::pair<int, int>> ids_;  // busy, queued signal per process
  std::vector<int64_t> queued_;
  TimelineRecorder timeline_;
  bool record_timeline_;
  std::vector<TimelineRecorder::Track> tracks_;
};

namespace {

int64_t ceil_cycles(double x) {
  if (x <= 0) return 0;
  return static_cast<int64_t>(std::ceil(x * (1.0 - 1e-12)));
}

std::string instance_name(const std::string& block, int64_t layer) {
  if (layer < 0) return block;
  char buf[32];
  std::snprintf(buf, sizeof buf, "L%02lld_", static_cast<long long>(layer));
  return buf + block;
}

CycleBlockSpec vector_spec(const std::string& name, int64_t layer, int64_t die, int64_t inputs,
                           int64_t outputs, int64_t work, int64_t lanes, int64_t inputs_per_lane,
                           int64_t depth, int64_t chunk) {
  CycleBlockSpec s;
  s.name_ = name;
  s.layer_ = layer;
  s.die_ = die;
  s.inputs_ = inputs;
  s.outputs_ = outputs;
  CyclePhase p;
  p.steps_ = std::max<int64_t>(1, ceil_div(work, lanes));
  p.cycles_per_step_ = 1;
  p.inputs_per_step_ = lanes * inputs_per_lane;
  p.outputs_per_step_ = lanes;
  p.outputs_ = outputs;
  s.phases_ = {p};
  s.depth_cycles_ = depth;
  s.output_lanes_ = chunk;
  s.output_buffer_ = std::max(2 * chunk, lanes);
  return s;
}

// A vector unit that holds its vector (rtl/rms_norm.sv, rtl/activation.sv): pass 1 takes the
// `inputs` elements, `take_work` of them through its lanes (the rest pass through); pass 2
// produces the `outputs`, `emit_work` of them through its lanes (the last step also the
// pass-through ones).
CycleBlockSpec two_pass_spec(const std::string& name, int64_t layer, int64_t die, int64_t inputs,
                             int64_t outputs, int64_t take_work, int64_t emit_work,
                             const VectorUnitConfig& u, int64_t chunk) {
  CycleBlockSpec s;
  s.name_ = name;
  s.layer_ = layer;
  s.die_ = die;
  s.inputs_ = inputs;
  s.outputs_ = outputs;
  CyclePhase take;
  take.steps_ = ceil_div(take_work, u.elements_per_cycle_);
  take.inputs_per_step_ = u.elements_per_cycle_;
  take.outputs_ = 0;
  CyclePhase emit;
  emit.steps_ = ceil_div(emit_work, u.elements_per_cycle_);
  emit.inputs_per_step_ = 0;
  emit.outputs_per_step_ = u.elements_per_cycle_;
  emit.outputs_ = outputs;
  s.phases_ = {take, emit};
  s.depth_cycles_ = u.pipeline_depth_cycles_;
  s.output_lanes_ = chunk;
  s.output_buffer_ = std::max(2 * chunk, u.elements_per_cycle_);
  return s;
}

// RMSNorm over the first `work` elements of an `n`-element vector (the rest pass through):
// pass 1 takes the input (max |x|, max |x g| and the sums of squares), pass 2 scales, quantizes
// and produces the output.
CycleBlockSpec norm_spec(const std::string& name, int64_t layer, int64_t die, int64_t n,
                         int64_t work, const VectorUnitConfig& u, int64_t chunk) {
  return two_pass_spec(name, layer, die, n, n, work, work, u, chunk);
}

// SwiGLU activation and the quantization before ffn_down: pass 1 takes gate (f) then up (f),
// pass 2 produces the f quantized values. It holds the vector because up_i comes f elements
// after gate_i and the quantization needs max |h| over all of h.
CycleBlockSpec activation_spec(int64_t layer, int64_t die, int64_t f, const VectorUnitConfig& u,
                               int64_t chunk) {
  return two_pass_spec("activation", layer, die, 2 * f, f, 2 * f, f, u, chunk);
}

// RoPE: q and k through the lanes, v passed by the last step (rtl/rope_unit.sv).
CycleBlockSpec rope_spec(int64_t layer, int64_t die, int64_t q, int64_t kv,
                         const VectorUnitConfig& u, int64_t chunk) {
  return vector_spec("rope", layer, die, q + 2 * kv, q + 2 * kv, q + kv, u.elements_per_cycle_, 1,
                     u.pipeline_depth_cycles_, chunk);
}

// C inputs, R outputs on the block's structure (chip_config.h MatrixBlockConfig).
CycleBlockSpec matrix_spec(const std::string& name, int64_t layer, int64_t die, int64_t inputs,
                           int64_t outputs, const MatrixBlockConfig& m) {
  CycleBlockSpec s;
  s.name_ = name;
  s.layer_ = layer;
  s.die_ = die;
  s.inputs_ = inputs;
  s.outputs_ = outputs;
  CyclePhase p;
  p.steps_ = ceil_div(inputs, m.input_lanes_);
  p.cycles_per_step_ = m.output_mux_;
  p.inputs_per_step_ = m.input_lanes_;
  p.outputs_per_step_ = 0;
  p.outputs_ = outputs;
  s.phases_ = {p};
  s.depth_cycles_ = m.tree_registers() + m.accumulate_stages_ + m.requant_stages_;
  s.output_lanes_ = m.output_lanes_;
  s.output_buffer_ = outputs;  // the output registers: one vector (accumulators are the other)
  s.matrix_pre_hold_ = m.tree_registers() + m.accumulate_stages_;
  s.matrix_requant_stages_ = m.requant_stages_;
  return s;
}

}  // namespace

CycleBlockSpec matrix_block_spec(const std::string& name, int64_t layer, int64_t inputs,
                                 int64_t outputs, const MatrixBlockConfig& m) {
  return matrix_spec(name, layer, 0, inputs, outputs, m);
}

CycleBlockSpec rope_block_spec(int64_t layer, int64_t q, int64_t kv, const VectorUnitConfig& u,
                               int64_t chunk) {
  return rope_spec(layer, 0, q, kv, u, chunk);
}

CycleBlockSpec norm_block_spec(const std::string& name, int64_t layer, int64_t n,
                               const VectorUnitConfig& u, int64_t chunk) {
  return norm_spec(name, layer, 0, n, n, u, chunk);
}

CycleBlockSpec activation_block_spec(int64_t layer, int64_t f, const VectorUnitConfig& u,
                                     int64_t chunk) {
  return activation_spec(layer, 0, f, u, chunk);
}

std::unique_ptr<CycleProcess> make_cycle_block(const std::string& name, const ClockBase& clock,
                                               int64_t chunk_elements, const CycleBlockSpec& s,
                                               const BlockModule* golden, bool functional,
                                               std::function<void(Token*, Cycle)> on_drop) {
  if (s.matrix_pre_hold_ > 0) {
    return std::make_unique<CycleMatrixBlock>(name.c_str(), clock, chunk_elements, s,
                                              s.matrix_pre_hold_, s.matrix_requant_stages_,
                                              golden, functional);
  }
  return std::make_unique<CycleBlock>(name.c_str(), clock, chunk_elements, s, golden, functional,
                                      std::move(on_drop));
}

CycleChip::CycleChip(sc_core::sc_module_name name, const ChipMapping& mapping,
                     const ClockBase& clock, FunctionalData* functional,
                     int64_t shared_prefix_positions, const CycleChipOptions& options)
    : sc_core::sc_module(name), mapping_(mapping), clock_(clock), functional_(functional),
      chunk_elements_(mapping.chip_.chunk_elements_),
      channel_depth_(mapping.chip_.channel_depth_chunks_) {
  const ChipMapping& m = mapping;
  const ChipConfig& c = m.chip_;
  const ModelConfig& mc = m.model_;
  const int64_t d = mc.d_model_, q = mc.q_dim(), kv = mc.kv_dim(), f = mc.d_ff_, V = mc.vocab_;
  const int64_t N = chunk_elements_;
  const bool fn = functional != nullptr;

  g_embedding_ = std::make_unique<Embedding>("g_embedding", m.embedding_);
  g_attn_norm_ = std::make_unique<RmsNorm>("g_attn_norm", m.attn_norm_, NormPlace::kAttention);
  g_qk_norm_ = std::make_unique<RmsNorm>("g_qk_norm", m.qk_norm_, NormPlace::kQk);
  g_ffn_norm_ = std::make_unique<RmsNorm>("g_ffn_norm", m.ffn_norm_, NormPlace::kFfn);
  g_final_norm_ = std::make_unique<RmsNorm>("g_final_norm", m.final_norm_, NormPlace::kFinal);
  g_qkv_ = std::make_unique<Qkv>("g_qkv", m.qkv_);
  g_rope_ = std::make_unique<Rope>("g_rope", m.rope_);
  g_kv_write_ = std::make_unique<KvWrite>("g_kv_write", m.kv_write_);
  g_attention_ = std::make_unique<Attention>("g_attention");
  g_o_proj_ = std::make_unique<OProj>("g_o_proj", m.o_proj_);
  g_ffn_gate_up_ = std::make_unique<FfnGateUp>("g_ffn_gate_up", m.ffn_gate_up_);
  g_activation_ = std::make_unique<Activation>("g_activation", m.activation_);
  g_ffn_down_ = std::make_unique<FfnDown>("g_ffn_down", m.ffn_down_);
  g_lm_head_ = std::make_unique<LmHead>("g_lm_head", m.lm_head_);
  g_sampler_ = std::make_unique<Sampler>("g_sampler", m.sampler_);
  if (fn) {
    for (BlockModule* b :
         std::initializer_list<BlockModule*>{g_embedding_.get(), g_attn_norm_.get(), g_qk_norm_.get(),
          g_ffn_norm_.get(), g_final_norm_.get(), g_qkv_.get(), g_rope_.get(), g_kv_write_.get(),
          g_attention_.get(), g_o_proj_.get(), g_ffn_gate_up_.get(), g_activation_.get(),
          g_ffn_down_.get(), g_lm_head_.get(), g_sampler_.get()}) {
      b->set_golden(&functional->golden());
      b->set_hook(functional->block_hook());
    }
  }

  // KV geometry shared by every layer engine.
  const AttentionConfig& a = c.attention_;
  KvLayerGeometry g;
  g.dram_ = a.kv_memory_ == KvMemory::kDram;
  g.q_ = q;
  g.kv_ = kv;
  g.bytes_per_position_ = double(m.kv_bytes_per_position_layer_);
  g.macs_per_position_ = 2 * q;
  g.exps_per_position_ = mc.n_heads_;
  g.macs_per_cycle_ = a.macs_per_cycle_;
  g.exps_per_cycle_ = a.softmax_elements_per_cycle_;
  g.out_depth_ = a.pipeline_depth_cycles_ + a.exp_latency_cycles_;
  g.query_tile_ = a.query_tile_;
  if (!g.dram_) {
    g.words_per_position_ = m.kv_words_per_position_;
    g.words_per_row_ = m.kv_words_per_position_ / 2;
    g.elements_per_word_ = ceil_div(kv, g.words_per_row_);
    g.read_latency_ = a.kv_sram_.read_latency_cycles_;
    g.write_latency_ = a.kv_sram_.write_latency_cycles_;
  } else {
    for (int64_t i = 0; i < m.dies_used_; ++i) {
      drams_.push_back(
          std::make_unique<KvDram>(a.kv_dram_, c.clock_hz_, m.kv_dram_latency_cycles_));
    }
    g.dram_layout_.positions_ = m.kv_positions_;
    g.dram_layout_.bytes_per_position_ = m.kv_bytes_per_position_layer_;
    g.dram_layout_.head_bytes_ = m.kv_bytes_per_position_layer_ / 2 / std::max<int64_t>(1, mc.n_kv_heads_);
  }
  runs_ = std::make_unique<KvRuns>(m.kv_positions_, shared_prefix_positions,
                                   m.kv_words_per_position_);

  auto drop = [this](Token* t, Cycle) {
    if (scheduler_) scheduler_->body_done(*t);
    finish(t);
  };
  auto addr = [this](const Token& t) { return address_of(t); };

  ChunkChannel* prev = channel("host_to_embedding");
  input_ = prev;
  auto chain = [&](std::unique_ptr<CycleProcess> p) {
    CycleProcess* raw = p.get();
    raw->in_(*prev);
    prev = channel(std::string(raw->basename()) + "_out");
    raw->out_(*prev);
    add(std::move(p));
  };
  {
    CycleBlockSpec s;
    s.name_ = "embedding";
    s.inputs_ = 1;
    s.outputs_ = d;
    CyclePhase p;
    p.steps_ = 1;
    p.cycles_per_step_ = c.embedding_lookup_cycles_;
    p.inputs_per_step_ = 1;
    p.outputs_ = d;
    s.phases_ = {p};
    s.output_lanes_ = N;
    s.output_buffer_ = d;
    chain(std::make_unique<CycleBlock>("embedding", clock, N, s, g_embedding_.get(), fn, nullptr));
  }
  if (options.rtl_layer_ >= 0) {
    if (options.rtl_layer_ >= mc.n_layers_) {
      throw make_error("--rtl layer=" + std::to_string(options.rtl_layer_),
                       "the model has layers 0.." + std::to_string(mc.n_layers_ - 1));
    }
    if (!rtl_block_factory()) {
      throw make_error("--rtl", "this build has no Verilated RTL blocks",
                       "configure with Verilator and SystemC installed (-DHARDWIRE_VERILATOR=ON, "
                       "docs/rtl.md \"Co-simulation\") and rebuild");
    }
  }
  for (const DieAssignment& die : m.dies_) {
    const int64_t di = die.index_;
    g.dram_layout_.first_layer_ = die.first_layer_;
    for (int64_t l = die.first_layer_; l < die.first_layer_ + die.layers_; ++l) {
      auto block = [&](const CycleBlockSpec& s, const BlockModule* golden) {
        const std::string inst = instance_name(s.name_, l);
        if (l == options.rtl_layer_) {
          RtlBlockRequest r;
          r.mapping_ = &mapping;
          r.clock_ = &clock;
          r.functional_ = functional;
          r.block_ = s.name_;
          r.instance_ = inst;
          r.layer_ = l;
          r.chunk_elements_ = N;
          r.vcd_path_ = options.rtl_vcd_path_;
          std::unique_ptr<CycleProcess> p = (*rtl_block_factory())(r);
          if (p) {
            rtl_processes_.push_back(p.get());
            chain(std::move(p));
            return;
          }
        }
        chain(make_cycle_block(inst, clock, N, s, golden, fn, nullptr));
      };
      block(norm_spec("attn_norm", l, di, d, d, c.norm_, N), g_attn_norm_.get());
      block(matrix_spec("qkv", l, di, d, q + 2 * kv, m.chip_.qkv_), g_qkv_.get());
      if (mc.qk_norm_) block(norm_spec("qk_norm", l, di, q + 2 * kv, q + kv, c.norm_, N), g_qk_norm_.get());
      block(rope_spec(l, di, q, kv, c.rope_, N), g_rope_.get());
      if (!g.dram_ && a.kv_sram_.shared_across_layers_) {
        // One pool of banks x layers-on-die banks for the die; layer-major word addresses.
        if (l == die.first_layer_) {
          engines_.push_back(std::make_unique<KvBankEngine>(a.kv_sram_.banks_ * die.layers_,
                                                            a.kv_sram_.ports_per_bank_));
        }
        g.layer_base_words_ = (l - die.first_layer_) * m.kv_positions_ * m.kv_words_per_position_;
      } else {
        engines_.push_back(std::make_unique<KvBankEngine>(
            g.dram_ ? 1 : a.kv_sram_.banks_, g.dram_ ? 1 : a.kv_sram_.ports_per_bank_));
        g.layer_base_words_ = 0;
      }
      KvBankEngine* engine = engines_.back().get();
      KvDram* dram = g.dram_ ? drams_[size_t(di)].get() : nullptr;
      RtlAttentionProcesses rtl_attention;
      if (l == options.rtl_layer_ && rtl_attention_factory()) {
        // The layer's KV write and attention as one RTL unit with its own KV SRAM banks.
        RtlAttentionRequest r;
        r.mapping_ = &mapping;
        r.clock_ = &clock;
        r.functional_ = functional;
        r.layer_ = l;
        r.chunk_elements_ = N;
        r.kv_write_instance_ = instance_name("kv_write", l);
        r.attention_instance_ = instance_name("attention", l);
        r.address_ = addr;
        r.vcd_path_ = options.rtl_vcd_path_;
        rtl_attention = (*rtl_attention_factory())(r);
      }
      if (rtl_attention.kv_write_ && rtl_attention.attention_) {
        rtl_processes_.push_back(rtl_attention.kv_write_.get());
        rtl_processes_.push_back(rtl_attention.attention_.get());
        chain(std::move(rtl_attention.kv_write_));
        chain(std::move(rtl_attention.attention_));
      } else {
        chain(std::make_unique<CycleKvWrite>(instance_name("kv_write", l).c_str(), clock, N, l, g,
                                             engine, dram, g_kv_write_.get(), fn, addr));
        chain(std::make_unique<CycleAttention>(instance_name("attention", l).c_str(), clock, N,
                                               l, g, engine, dram, g_attention_.get(), fn, addr));
      }
      block(matrix_spec("o_proj", l, di, q, d, m.chip_.o_proj_), g_o_proj_.get());
      block(norm_spec("ffn_norm", l, di, d, d, c.norm_, N), g_ffn_norm_.get());
      block(matrix_spec("ffn_gate_up", l, di, d, 2 * f, m.chip_.ffn_gate_up_), g_ffn_gate_up_.get());
      block(activation_spec(l, di, f, c.activation_, N), g_activation_.get());
      block(matrix_spec("ffn_down", l, di, f, d, m.chip_.ffn_down_), g_ffn_down_.get());
    }
    if (di + 1 < m.dies_used_) {
      // d-vector over the link: bandwidth as whole elements per cycle, latency as depth.
      const double elem_bytes = double(c.activation_bits_) / 8.0;
      const int64_t lanes = std::max<int64_t>(
          1, static_cast<int64_t>(c.link_.bandwidth_bytes_per_s_ / c.clock_hz_ / elem_bytes));
      const int64_t lat = ceil_cycles(c.link_.latency_s_ * c.clock_hz_);
      CycleBlockSpec s = vector_spec("link", -1, di, d, d, d, lanes, 1, lat, N);
      chain(std::make_unique<CycleBlock>(("link" + std::to_string(di)).c_str(), clock, N, s,
                                         nullptr, fn, nullptr));
    }
  }
  const int64_t last_die = m.dies_used_ - 1;
  {
    CycleBlockSpec s = norm_spec("final_norm", -1, last_die, d, d, c.norm_, N);
    s.head_ = true;
    chain(std::make_unique<CycleBlock>("final_norm", clock, N, s, g_final_norm_.get(), fn, drop));
  }
  chain(make_cycle_block("lm_head", clock, N,
                         matrix_spec("lm_head", -1, last_die, d, V, m.chip_.lm_head_),
                         g_lm_head_.get(), fn, nullptr));
  {
    CycleBlockSpec s;
    s.name_ = "sampler";
    s.die_ = last_die;
    s.inputs_ = V;
    s.outputs_ = 1;
    CyclePhase p;
    p.steps_ = ceil_div(V, c.sampler_.elements_per_cycle_);
    p.inputs_per_step_ = c.sampler_.elements_per_cycle_;
    p.outputs_ = 1;
    s.phases_ = {p};
    s.depth_cycles_ = c.sampler_.pipeline_depth_cycles_;
    s.output_lanes_ = N;
    s.output_buffer_ = 1;
    chain(std::make_unique<CycleBlock>("sampler", clock, N, s, g_sampler_.get(), fn, nullptr));
  }
  if (m.dies_used_ > 1) {
    CycleBlockSpec s;
    s.name_ = "link_return";
    s.die_ = last_die;
    s.inputs_ = 1;
    s.outputs_ = 1;
    CyclePhase p;
    p.steps_ = 1;
    p.cycles_per_step_ = std::max<int64_t>(1, m.link_return_.service_cycles_);
    p.inputs_per_step_ = 1;
    p.outputs_ = 1;
    s.phases_ = {p};
    s.depth_cycles_ = ceil_cycles(c.link_.latency_s_ * c.clock_hz_);
    s.output_lanes_ = N;
    s.output_buffer_ = 1;
    chain(std::make_unique<CycleBlock>("link_return", clock, N, s, nullptr, fn, nullptr));
  }
  auto sink = std::make_unique<CycleSink>("host", clock, [this](Token* t, Cycle now) {
    if (scheduler_) scheduler_->token_out(*t, now);
    finish(t);
  });
  sink->in_(*prev);
  sink_out_ = std::make_unique<ChunkChannel>("host_unused", 1);
  sink->out_(*sink_out_);
  add(std::move(sink));
  if (!options.vcd_path_.empty() || options.timeline_max_events_ > 0) {
    trace_ = std::make_unique<CycleTrace>(options.vcd_path_, options.timeline_max_events_, clock,
                                          processes_);
    for (size_t i = 0; i < processes_.size(); ++i) processes_[i]->observe(trace_.get(), i);
  }
}

std::pair<int64_t, int64_t> CycleChip::finish_traces(const std::string& timeline_path,
                                                     double clock_hz,
                                                     const nlohmann::json& metadata) {
  if (!trace_) return {0, 0};
  return trace_->finish(timeline_path, clock_hz, metadata);
}

CycleChip::~CycleChip() = default;

ChunkChannel* CycleChip::channel(const std::string& name) {
  channels_.push_back(std::make_unique<ChunkChannel>(name.c_str(), int(channel_depth_)));
  return channels_.back().get();
}

void CycleChip::add(std::unique_ptr<CycleProcess> p) {
  processes_.push_back(p.get());
  owned_.push_back(std::move(p));
}

Cycle CycleChip::input_space_at(Cycle now) const {
  return input_->num_free() > 0 ? now : INT64_MAX;
}

const sc_core::sc_event* CycleChip::wake_event() const { return &input_->data_read_event(); }

Cycle CycleChip::enter(Token& t, Cycle) {
  Token* slot;
  if (!free_tokens_.empty()) {
    slot = free_tokens_.back();
    free_tokens_.pop_back();
  } else {
    tokens_.emplace_back();
    slot = &tokens_.back();
  }
  *slot = t;
  if (functional_) {
    TokenState* s;
    if (!free_states_.empty()) {
      s = free_states_.back();
      free_states_.pop_back();
    } else {
      states_.push_back(functional_->golden().make_state());
      s = &states_.back();
    }
    slot->state_ = s;
  }
  live_[slot] = true;
  peak_live_ = std::max<int64_t>(peak_live_, int64_t(live_.size()));
  Chunk c;
  c.token_ = slot;
  c.index_ = 0;
  c.elements_ = 1;
  c.last_ = true;
  input_->write(c);
  return -1;
}

void CycleChip::finish(Token* t) {
  if (t->state_ && functional_) free_states_.push_back(t->state_);
  t->state_ = nullptr;
  live_.erase(t);
  free_tokens_.push_back(t);
}

bool CycleChip::place_user(int64_t user, int64_t positions, int64_t group) {
  return runs_->place_user(user, positions, group);
}

bool CycleChip::place_prefix(int64_t group, int64_t positions) {
  return runs_->place_prefix(group, positions);
}

void CycleChip::free_prefix(int64_t group) { runs_->free_prefix(group); }

void CycleChip::free_user(int64_t user) {
  for (auto& e : engines_) e->forget_user(user);
  runs_->free_user(user);
}

KvAddress CycleChip::address_of(const Token& t) const { return runs_->address(t.user_); }

int64_t CycleChip::kv_positions_read() const {
  int64_t n = 0;
  for (const CycleProcess* p : processes_) n += p->stats().kv_positions_read_;
  return n;
}

int64_t CycleChip::state_bytes() const {
  int64_t bytes = int64_t(tokens_.size() * sizeof(Token));
  for (const auto& e : engines_) bytes += int64_t(e->reads().size() * 3 * sizeof(int64_t));
  bytes += int64_t(channels_.size()) * channel_depth_ * int64_t(sizeof(Chunk));
  return bytes;
}

}  // namespace hw::sim
