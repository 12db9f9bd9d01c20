// RTL co-simulation adapter and factory (see cosim.h).
#include "rtl/cosim.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include <systemc>

// Verilator's headers have unused parameters: keep the project's warning flags quiet on them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "Vhw_mv_l0_attn_k_r0_63.h"
#include "Vhw_mv_l0_attn_output_r0_63.h"
#include "Vhw_mv_l0_attn_q_r0_63.h"
#include "Vhw_mv_l0_attn_v_r0_63.h"
#include "Vhw_mv_l0_ffn_down_r0_63.h"
#include "Vhw_mv_l0_ffn_gate_r0_171.h"
#include "Vhw_mv_l0_ffn_up_r0_171.h"
#include "verilated_vcd_sc.h"
#pragma GCC diagnostic pop
#include "common/error.h"
#include "model/fixed_point.h"
#include "model/golden_model.h"

namespace hw::rtl {
namespace {

// The Verilated library's layer: tiny-mha (d 64, q = kv 64, d_ff 172) at w4a8, layer 0,
// generated with 16 input lanes and 4 output lanes (rtl/gen/tiny-mha-w4a8-l0).
constexpr const char* kModel = "tiny-mha";
constexpr const char* kNumerics = "w4a8";
constexpr int64_t kLayer = 0;
constexpr int64_t kLanesIn = 16, kLanesOut = 4;
constexpr int64_t kD = 64, kQ = 64, kKv = 64, kFf = 172;

using Bv128 = sc_dt::sc_bv<128>;

struct Part;

// The VCD of the co-simulated blocks: one Verilator trace file shared by every RTL block of the
// run; the first block to start simulation adds every block's modules and opens it, the file is
// closed when the last block goes (after sc_start returns).
struct SharedTrace {
  std::string path_;
  std::unique_ptr<VerilatedVcdSc> file_;
  std::vector<std::vector<std::unique_ptr<Part>>*> blocks_;
  bool opened_ = false;
  ~SharedTrace() {
    if (file_ && opened_) file_->close();
  }
};
std::weak_ptr<SharedTrace>& current_trace() {
  static std::weak_ptr<SharedTrace> t;
  return t;
}

// The modules' clock: the reset thread, the rising edge (phase) and the falling edge (fall)
// drive it, one at a time.
using Clock = sc_core::sc_signal<bool, sc_core::SC_MANY_WRITERS>;

// The pins of one Verilated matrix module (16 int8 lanes in, 4 int32 lanes out).
struct Part {
  explicit Part(const std::string& n)
      : in_valid((n + "_in_valid").c_str()), in_ready((n + "_in_ready").c_str()),
        in_last((n + "_in_last").c_str()), out_valid((n + "_out_valid").c_str()),
        out_ready((n + "_out_ready").c_str()), out_last((n + "_out_last").c_str()),
        in_data((n + "_in_data").c_str()), out_data((n + "_out_data").c_str()),
        scale_m((n + "_scale_m").c_str()), scale_e((n + "_scale_e").c_str()) {}
  virtual ~Part() = default;
  virtual void trace(VerilatedVcdSc* file) = 0;
  int64_t rows_ = 0;
  sc_core::sc_signal<bool> in_valid, in_ready, in_last, out_valid, out_ready, out_last;
  sc_core::sc_signal<Bv128> in_data, out_data;
  sc_core::sc_signal<uint32_t> scale_m, scale_e;
};

template <typename V>
struct PartOf : Part {
  PartOf(const std::string& n, int64_t rows, Clock& clk, sc_core::sc_signal<bool>& rst)
      : Part(n), v_(std::make_unique<V>(n.c_str())) {
    rows_ = rows;
    v_->clk(clk);
    v_->rst(rst);
    v_->in_valid(in_valid);
    v_->in_ready(in_ready);
    v_->in_last(in_last);
    v_->in_data(in_data);
    v_->in_scale_m(scale_m);
    v_->in_scale_e(scale_e);
    v_->out_valid(out_valid);
    v_->out_ready(out_ready);
    v_->out_data(out_data);
    v_->out_last(out_last);
  }
  void trace(VerilatedVcdSc* file) override { v_->trace(file, 99); }
  std::unique_ptr<V> v_;
};

enum class Kind { kQkv, kOProj, kFfnGateUp, kFfnDown };

class RtlMatrixBlock : public sim::CycleProcess {
 public:
  SC_HAS_PROCESS(RtlMatrixBlock);
  // `build` adds the modules (add_part) while this module is under construction, so they and
  // their pins are its children ("chip.L00_qkv.attn_q").
  RtlMatrixBlock(sc_core::sc_module_name name, const sim::RtlBlockRequest& r, Kind kind,
                 int64_t inputs, const std::function<void(RtlMatrixBlock&)>& build)
      : sim::CycleProcess(name, *r.clock_, r.chunk_elements_), clk_("clk"), rst_("rst"),
        kind_(kind), block_(r.block_), layer_(r.layer_), inputs_(inputs),
        functional_(r.functional_) {
    SC_METHOD(phase);
    sensitive << phase_ev_;
    dont_initialize();
    SC_METHOD(fall);
    sensitive << fall_ev_;
    dont_initialize();
    SC_THREAD(reset);
    if (!r.vcd_path_.empty()) {
      Verilated::traceEverOn(true);
      trace_ = current_trace().lock();
      if (!trace_) {
        trace_ = std::make_shared<SharedTrace>();
        trace_->path_ = r.vcd_path_;
        trace_->file_ = std::make_unique<VerilatedVcdSc>();
        current_trace() = trace_;
      }
      trace_->blocks_.push_back(&parts_);
    }
    build(*this);
  }

  template <typename V>
  void add_part(const std::string& tensor, int64_t rows) {
    parts_.push_back(std::make_unique<PartOf<V>>(tensor, rows, clk_, rst_));
    outputs_ += rows;
  }

  const std::string& block_name() const override { return block_; }
  int64_t layer() const override { return layer_; }

 protected:
  void start_of_simulation() override {
    if (!trace_ || trace_->opened_) return;
    for (auto* parts : trace_->blocks_) {
      for (auto& p : *parts) p->trace(trace_->file_.get());
    }
    trace_->file_->open(trace_->path_.c_str());
    trace_->opened_ = true;
  }

  bool tick(sim::Cycle now) override {
    now_ = now;
    // What the channel held at this cycle's edge: a chunk written during this cycle (visible
    // to the later deltas where the input side runs) is not there until the next edge.
    available_at_edge_ = in_->num_available();
    output_side();
    phase_step_ = 0;
    phase_ev_.notify(sc_core::SC_ZERO_TIME);
    const bool more = !flights_.empty() || in_valid_ || in_->num_available() > 0;
    if (!flights_.empty()) ++stats_.busy_cycles_;
    return more;
  }

 private:
  struct Flight {
    sim::Token* token_ = nullptr;
    std::vector<int8_t> x_;
    fx::Dyadic scale_;
    std::vector<int32_t> out_;
    std::vector<int32_t> expect_;  // ffn_gate_up: the golden gate and up (scoreboard)
    bool written_back_ = false;
    int64_t captured_ = 0;         // outputs taken from the modules
    int64_t emitted_ = 0;          // outputs written into the channel
  };

  // Reset of the modules in zero time at the start (delta-cycle clock edges).
  void reset() {
    rst_.write(true);
    for (int i = 0; i < 3; ++i) {
      clk_.write(false);
      for (int d = 0; d < 3; ++d) wait(sc_core::SC_ZERO_TIME);
      clk_.write(true);
      for (int d = 0; d < 3; ++d) wait(sc_core::SC_ZERO_TIME);
    }
    clk_.write(false);
    rst_.write(false);
  }

  int64_t want() const {
    const Flight& f = flights_.front();
    return std::min(chunk_elements_, outputs_ - f.emitted_);
  }

  // Which module streams output row `row` of the block, and the row within it.
  std::pair<size_t, int64_t> part_of(int64_t row) const {
    size_t p = 0;
    while (p + 1 < parts_.size() && row >= parts_[p]->rows_) row -= parts_[p++]->rows_;
    return {p, row};
  }

  // Delta 0 of cycle t: output transfers of edge t and the channel write.
  void output_side() {
    for (auto& p : parts_) p->out_ready.write(false);
    if (flights_.empty()) return;
    Flight& f = flights_.front();
    const int64_t assembled = f.captured_ - f.emitted_;
    const bool room = assembled < want() && f.captured_ < outputs_;
    if (room) {
      const auto [pi, local] = part_of(f.captured_);
      Part& p = *parts_[pi];
      p.out_ready.write(true);
      if (p.out_valid.read()) {
        const Bv128 data = p.out_data.read();
        const int64_t n = std::min<int64_t>(kLanesOut, p.rows_ - local);
        for (int64_t i = 0; i < n; ++i) {
          const uint64_t u = data.range(int(i) * 32 + 31, int(i) * 32).to_uint64();
          f.out_[size_t(f.captured_ + i)] = static_cast<int32_t>(static_cast<uint32_t>(u));
        }
        f.captured_ += n;
      }
    }
    if (f.captured_ - f.emitted_ < want()) return;
    if (out_->num_free() <= 0) {
      ++stats_.stall_cycles_[size_t(sim::StallReason::kOutputFull)];
      return;
    }
    sim::Chunk c;
    c.token_ = f.token_;
    c.index_ = static_cast<int32_t>(f.emitted_ / chunk_elements_);
    c.elements_ = static_cast<int32_t>(want());
    c.last_ = f.emitted_ + want() >= outputs_;
    if (c.last_ && !f.written_back_) write_back(f);
    out_->write(c);
    f.emitted_ += c.elements_;
    if (c.last_) {
      departed(f.token_, now_);
      flights_.pop_front();
    }
  }

  // Deltas 1..3 of cycle t: wait for in_ready, drive the input side, then the clock edge.
  void phase() {
    ++phase_step_;
    if (phase_step_ < 2) {
      phase_ev_.notify(sc_core::SC_ZERO_TIME);
      return;
    }
    if (phase_step_ == 2) {
      input_side();
      phase_ev_.notify(sc_core::SC_ZERO_TIME);
      return;
    }
    clk_.write(true);
    const sc_core::sc_time period = clock_.time_of(now_ + 1) - clock_.time_of(now_);
    fall_ev_.notify(period / 2);
  }

  void fall() { clk_.write(false); }

  void input_side() {
    bool ready = true;
    for (auto& p : parts_) ready = ready && p->in_ready.read();
    bool valid = false;
    if (ready && (in_valid_ || available_at_edge_ > 0) && fill_input()) {
      const sim::Chunk c = in_reg_;
      in_valid_ = false;
      if (c.index_ == 0) start_flight(c.token_);
      Flight& f = flights_.back();
      const int64_t base = int64_t(c.index_) * chunk_elements_;
      Bv128 data(0);
      for (int64_t i = 0; i < c.elements_ && base + i < inputs_; ++i) {
        data.range(int(i) * 8 + 7, int(i) * 8) =
            static_cast<uint64_t>(static_cast<uint8_t>(f.x_[size_t(base + i)]));
      }
      for (auto& p : parts_) {
        p->in_data.write(data);
        p->in_last.write(c.last_);
        p->scale_m.write(static_cast<uint32_t>(f.scale_.m_));
        p->scale_e.write(static_cast<uint32_t>(f.scale_.e_) & 0xFFFFu);
      }
      valid = true;
    }
    for (auto& p : parts_) p->in_valid.write(valid);
  }

  const GoldenModel* golden() const { return functional_ ? &functional_->golden() : nullptr; }

  // The block's input vector and scale, from the token's state (functional mode).
  void start_flight(sim::Token* t) {
    ++stats_.tokens_;
    Flight f;
    f.token_ = t;
    f.x_.assign(size_t(inputs_), 0);
    f.out_.assign(size_t(outputs_), 0);
    const GoldenModel* g = golden();
    if (g && t->state_) {
      TokenState& s = *t->state_;
      const NumericsProfile& p = g->profile();
      const int af = p.activation_frac_bits_;
      const int32_t qmax = (int32_t{1} << (p.activation_bits_ - 1)) - 1;
      const QuantizedLayer& l = g->model().layers_[size_t(layer_)];
      switch (kind_) {
        case Kind::kQkv:
          break;
        case Kind::kOProj:
          s.x_scale_ = fx::quantize_dynamic(s.attn_.data(), kQ, af, qmax, s.x_q_.data());
          break;
        case Kind::kFfnGateUp:
          f.expect_ = project(l.w_gate_, s, af);
          for (int32_t v : project(l.w_up_, s, af)) f.expect_.push_back(v);
          break;
        case Kind::kFfnDown: {
          // The activation block's work (silu(gate) * up, quantized) from the golden gate and
          // up: the cycle-level activation streams, so this block's first chunk can come
          // before ffn_gate_up's last output (whose RTL values the scoreboard there checks).
          const std::vector<int32_t> gate = project(l.w_gate_, s, af);
          const std::vector<int32_t> up = project(l.w_up_, s, af);
          for (int64_t i = 0; i < kFf; ++i) {
            s.hidden_[size_t(i)] =
                fx::swiglu_fixed(gate[size_t(i)], up[size_t(i)], af, g->tables().sigmoid_.data(),
                                 p.silu_table_bits_);
          }
          s.x_scale_ = fx::quantize_dynamic(s.hidden_.data(), kFf, af, qmax, s.x_q_.data());
          break;
        }
      }
      std::copy(s.x_q_.begin(), s.x_q_.begin() + inputs_, f.x_.begin());
      f.scale_ = s.x_scale_;
    }
    flights_.push_back(std::move(f));
  }

  std::vector<int32_t> project(const QuantizedMatrix& w, const TokenState& s, int frac) const {
    std::vector<int64_t> acc(size_t(w.rows_));
    gemv(w, s.x_q_.data(), acc.data());
    std::vector<int32_t> out(size_t(w.rows_));
    for (int64_t r = 0; r < w.rows_; ++r) {
      out[size_t(r)] = fx::requantize(
          acc[size_t(r)], {s.x_scale_.m_, s.x_scale_.e_ + w.row_exp_[size_t(r)]}, frac);
    }
    return out;
  }

  // The RTL's outputs into the token's state (functional mode), before its last chunk leaves.
  void write_back(Flight& f) {
    f.written_back_ = true;
    const GoldenModel* g = golden();
    if (!g || !f.token_->state_) return;
    TokenState& s = *f.token_->state_;
    const QuantizedLayer& l = g->model().layers_[size_t(layer_)];
    auto add_bias = [](int32_t* x, const std::vector<int32_t>& b) {
      for (size_t i = 0; i < b.size(); ++i) x[i] = fx::add_saturate(x[i], b[i]);
    };
    switch (kind_) {
      case Kind::kQkv:
        std::copy(f.out_.begin(), f.out_.begin() + kQ, s.q_.begin());
        std::copy(f.out_.begin() + kQ, f.out_.begin() + kQ + kKv, s.k_.begin());
        std::copy(f.out_.begin() + kQ + kKv, f.out_.end(), s.v_.begin());
        add_bias(s.q_.data(), l.bq_);
        add_bias(s.k_.data(), l.bk_);
        add_bias(s.v_.data(), l.bv_);
        break;
      case Kind::kOProj:
      case Kind::kFfnDown:
        for (int64_t r = 0; r < kD; ++r) {
          s.residual_[size_t(r)] = fx::add_saturate(s.residual_[size_t(r)], f.out_[size_t(r)]);
        }
        break;
      case Kind::kFfnGateUp:
        for (size_t r = 0; r < f.out_.size(); ++r) {
          if (f.out_[r] != f.expect_[r]) {
            throw make_error("RTL co-simulation, layer " + std::to_string(layer_) + " " + block_,
                             "RTL output row " + std::to_string(r) + " is " +
                                 std::to_string(f.out_[r]) + ", the golden model's " +
                                 std::to_string(f.expect_[r]));
          }
        }
        std::copy(f.out_.begin(), f.out_.begin() + kFf, s.gate_.begin());
        std::copy(f.out_.begin() + kFf, f.out_.end(), s.up_.begin());
        break;
    }
    const sim::BlockHook* hook = functional_->block_hook();
    if (hook && *hook) (*hook)(*f.token_, block_, layer_);
  }

  Clock clk_;
  sc_core::sc_signal<bool> rst_;
  Kind kind_;
  std::string block_;
  int64_t layer_;
  int64_t inputs_;
  int64_t outputs_ = 0;
  const sim::FunctionalData* functional_;
  std::vector<std::unique_ptr<Part>> parts_;
  std::deque<Flight> flights_;
  sim::Cycle now_ = 0;
  int64_t available_at_edge_ = 0;
  int phase_step_ = 0;
  sc_core::sc_event phase_ev_, fall_ev_;
  std::shared_ptr<SharedTrace> trace_;
};

void check_structure(const sim::RtlBlockRequest& r, const MatrixBlockConfig& m) {
  const std::string k = "chip." + r.block_ + ".";
  auto need = [&](const std::string& key, int64_t have, int64_t want) {
    if (have != want) {
      throw make_error("--rtl", key + " is " + std::to_string(have) +
                                    ", the Verilated block has " + std::to_string(want),
                       "--set " + key + "=" + std::to_string(want) +
                           " (docs/rtl.md \"Co-simulation\")");
    }
  };
  need("chip.buffers.chunk_elements", r.chunk_elements_, kLanesIn);
  need(k + "input_lanes", m.input_lanes_, kLanesIn);
  need(k + "output_lanes", m.output_lanes_, kLanesOut);
  need(k + "output_mux", m.output_mux_, 1);
  need(k + "adder_levels_per_register (tree registers)", m.tree_registers(), 1);
  need(k + "accumulate_stages", m.accumulate_stages_, 1);
  need(k + "requant_stages", m.requant_stages_, 2);
  need(k + "product_bits_per_cycle", m.product_bits_per_cycle_, 0);
}

}  // namespace

std::string cosim_available() {
  return std::string(kModel) + " " + kNumerics + " layer " + std::to_string(kLayer);
}

std::unique_ptr<sim::CycleProcess> make_rtl_block(const sim::RtlBlockRequest& r) {
  Kind kind;
  const MatrixBlockConfig* m = nullptr;
  const ChipConfig& chip = r.mapping_->chip_;
  if (r.block_ == "qkv") {
    kind = Kind::kQkv;
    m = &chip.qkv_;
  } else if (r.block_ == "o_proj") {
    kind = Kind::kOProj;
    m = &chip.o_proj_;
  } else if (r.block_ == "ffn_gate_up") {
    kind = Kind::kFfnGateUp;
    m = &chip.ffn_gate_up_;
  } else if (r.block_ == "ffn_down") {
    kind = Kind::kFfnDown;
    m = &chip.ffn_down_;
  } else {
    return nullptr;  // vector units, KV and attention stay SystemC blocks
  }
  const ModelConfig& mc = r.mapping_->model_;
  const std::string how =
      "this build's Verilated RTL is " + cosim_available() +
      "; for another layer or model generate it (hardwire rtl generate --model M --numerics P "
      "--layer L --out rtl/gen/<dir>), add its modules to rtl/CMakeLists.txt and rtl/cosim.cpp "
      "and rebuild (docs/rtl.md \"Co-simulation\")";
  if (mc.d_model_ != kD || mc.q_dim() != kQ || mc.kv_dim() != kKv || mc.d_ff_ != kFf ||
      mc.qk_norm_) {
    throw make_error("--rtl layer=" + std::to_string(r.layer_),
                     "no Verilated RTL for model " + mc.name_ + " in this build", how);
  }
  if (r.layer_ != kLayer) {
    throw make_error("--rtl layer=" + std::to_string(r.layer_),
                     "no Verilated RTL for layer " + std::to_string(r.layer_) + " in this build",
                     how);
  }
  if (r.functional_) {
    const GoldenModel& g = r.functional_->golden();
    if (g.profile().name_ != kNumerics) {
      throw make_error("--rtl layer=" + std::to_string(r.layer_),
                       "the Verilated RTL holds the " + std::string(kNumerics) +
                           " weights, the run uses numerics " + g.profile().name_,
                       how);
    }
    if (g.static_act_scales()) {
      throw make_error("--rtl", "co-simulation needs dynamic activation scales", how);
    }
  }
  check_structure(r, *m);
  auto inputs = [&] { return r.block_ == "o_proj" ? kQ : r.block_ == "ffn_down" ? kFf : kD; };
  auto build = [kind](RtlMatrixBlock& b) {
    switch (kind) {
      case Kind::kQkv:
        b.add_part<Vhw_mv_l0_attn_q_r0_63>("attn_q", kQ);
        b.add_part<Vhw_mv_l0_attn_k_r0_63>("attn_k", kKv);
        b.add_part<Vhw_mv_l0_attn_v_r0_63>("attn_v", kKv);
        break;
      case Kind::kOProj:
        b.add_part<Vhw_mv_l0_attn_output_r0_63>("attn_output", kD);
        break;
      case Kind::kFfnGateUp:
        b.add_part<Vhw_mv_l0_ffn_gate_r0_171>("ffn_gate", kFf);
        b.add_part<Vhw_mv_l0_ffn_up_r0_171>("ffn_up", kFf);
        break;
      case Kind::kFfnDown:
        b.add_part<Vhw_mv_l0_ffn_down_r0_63>("ffn_down", kD);
        break;
    }
  };
  return std::make_unique<RtlMatrixBlock>(r.instance_.c_str(), r, kind, inputs(), build);
}

void register_rtl_cosim() { sim::set_rtl_block_factory(&make_rtl_block); }

}  // namespace hw::rtl
