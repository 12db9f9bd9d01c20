// RTL co-simulation adapter and factory (see cosim.h).
#include "rtl/cosim.h"

#include <algorithm>
#include <deque>
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
#include "Vhw_tiny_gqa_s_mv_l0_attn_k_r0_31.h"
#include "Vhw_tiny_gqa_s_mv_l0_attn_output_r0_127.h"
#include "Vhw_tiny_gqa_s_mv_l0_attn_q_r0_127.h"
#include "Vhw_tiny_gqa_s_mv_l0_attn_v_r0_31.h"
#include "Vhw_tiny_gqa_s_mv_l0_ffn_down_r0_127.h"
#include "Vhw_tiny_gqa_s_mv_l0_ffn_gate_r0_127.h"
#include "Vhw_tiny_gqa_s_mv_l0_ffn_up_r0_127.h"
#include "Vhw_tiny_trained_a_mv_l0_attn_k_r0_127.h"
#include "Vhw_tiny_trained_a_mv_l0_attn_output_r0_127.h"
#include "Vhw_tiny_trained_a_mv_l0_attn_q_r0_127.h"
#include "Vhw_tiny_trained_a_mv_l0_attn_v_r0_127.h"
#include "Vhw_tiny_trained_a_mv_l0_ffn_down_r0_127.h"
#include "Vhw_tiny_trained_a_mv_l0_ffn_gate_r0_383.h"
#include "Vhw_tiny_trained_a_mv_l0_ffn_up_r0_383.h"
#include "verilated_vcd_sc.h"
#pragma GCC diagnostic pop
#include "common/error.h"
#include "rtl/cosim_attention.h"
#include "rtl/cosim_clock.h"
#include "rtl/cosim_trace.h"
#include "rtl/cosim_attention.h"
#include "rtl/cosim_vector.h"
#include "model/fixed_point.h"
#include "model/golden_model.h"

namespace hw::rtl {
namespace {

// Every layer's matrix blocks were generated with 16 input lanes and 4 output lanes (the
// generator's defaults), so all modules share one pin shape (Part).
constexpr int64_t kLanesIn = 16, kLanesOut = 4;

using Bv128 = sc_dt::sc_bv<128>;

struct Part;

// The modules' clock (cosim_clock.h).
using Clock = sc_core::sc_signal<bool, sc_core::SC_MANY_WRITERS>;

// The pins of one Verilated matrix module (16 int8 lanes in, 4 int32 lanes out).
struct Part {
  explicit Part(const std::string& n)
      : in_valid((n + "_in_valid").c_str()), in_ready((n + "_in_ready").c_str()),
        in_last((n + "_in_last").c_str()), out_valid((n + "_out_valid").c_str()),
        out_ready((n + "_out_ready").c_str()), out_last((n + "_out_last").c_str()),
        in_data((n + "_in_data").c_str()), out_data((n + "_out_data").c_str()),
        scale_m((n + "_scale_m").c_str()), scale_e((n + "_scale_e").c_str()), name_(n) {}
  virtual ~Part() = default;
  virtual void trace(VerilatedVcdSc* file) = 0;
  int64_t rows_ = 0;
  sc_core::sc_signal<bool> in_valid, in_ready, in_last, out_valid, out_ready, out_last;
  sc_core::sc_signal<Bv128> in_data, out_data;
  sc_core::sc_signal<uint32_t> scale_m, scale_e;
  std::string name_;  // the tensor (attn_q, ...)
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

class RtlMatrixBlock;

// One row of the table of Verilated layers: which model, numerics and layer the modules'
// constants hold, the shapes (rows of q = heads x head_dim, of k and v = kv heads x head_dim),
// and the function that adds a block kind's modules.
struct CosimLayer {
  const char* model_;
  const char* numerics_;
  int64_t layer_;
  const char* dir_;  // rtl/gen/<dir_>
  int64_t d_, q_, kv_, ff_;
  void (*build_)(RtlMatrixBlock& b, Kind kind, const CosimLayer& l);
};

class RtlMatrixBlock : public sim::CycleProcess {
 public:
  SC_HAS_PROCESS(RtlMatrixBlock);
  // `build` adds the modules (add_part) while this module is under construction, so they and
  // their pins are its children ("chip.L00_qkv.attn_q").
  RtlMatrixBlock(sc_core::sc_module_name name, const sim::RtlBlockRequest& r, Kind kind,
                 const CosimLayer& shape)
      : sim::CycleProcess(name, *r.clock_, r.chunk_elements_),
        rtl_clock_("rtl_clock", *r.clock_, [this] { input_side(); }),
        kind_(kind), shape_(shape), block_(r.block_), layer_(r.layer_),
        inputs_(kind == Kind::kOProj ? shape.q_ : kind == Kind::kFfnDown ? shape.ff_ : shape.d_),
        functional_(r.functional_),
        input_from_rtl_((kind == Kind::kFfnDown && has_rtl_vector_block(r, "activation")) ||
                        (kind == Kind::kQkv && has_rtl_vector_block(r, "attn_norm")) ||
                        (kind == Kind::kFfnGateUp && has_rtl_vector_block(r, "ffn_norm"))) {
    if (!r.vcd_path_.empty()) {
      trace_ = join_trace(r.vcd_path_, [this](VerilatedVcdSc* file) {
        for (auto& p : parts_) p->trace(file);
      });
    }
    shape_.build_(*this, kind_, shape_);
  }

  template <typename V>
  void add_part(const std::string& tensor, int64_t rows) {
    parts_.push_back(std::make_unique<PartOf<V>>(tensor, rows, rtl_clock_.clk_, rtl_clock_.rst_));
    outputs_ += rows;
  }

  const std::string& block_name() const override { return block_; }
  int64_t layer() const override { return layer_; }

 protected:
  void start_of_simulation() override {
    if (trace_) open_trace(*trace_);
  }

  bool tick(sim::Cycle now) override {
    now_ = now;
    // What the channel held at this cycle's edge: a chunk written during this cycle (visible
    // to the later deltas where the input side runs) is not there until the next edge.
    available_at_edge_ = in_->num_available();
    output_side();
    rtl_clock_.start(now);
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
    std::vector<int32_t> expect_;  // the golden model's products of the same input (scoreboard)
    bool checked_ = false;
    int64_t captured_ = 0;         // outputs taken from the modules
    int64_t emitted_ = 0;          // outputs written into the channel
  };


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
    if (kind_ == Kind::kFfnGateUp) write_gate_up(f, c.elements_);
    if (kind_ == Kind::kQkv) write_qkv(f, c.elements_);
    if (kind_ == Kind::kOProj || kind_ == Kind::kFfnDown) add_residual(f, c.elements_);
    if (c.last_ && !f.checked_) check_outputs(f);
    out_->write(c);
    f.emitted_ += c.elements_;
    if (c.last_) {
      departed(f.token_, now_);
      flights_.pop_front();
    }
  }


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
      if (input_from_rtl_ && golden() && f.token_->state_) {
        // Behind an RTL vector unit (qkv behind attn_norm, ffn_gate_up behind ffn_norm,
        // ffn_down behind the activation): its chunks' values and the scale are in the token's
        // state from when the unit's chunks left.
        const TokenState& s = *f.token_->state_;
        std::copy(s.x_q_.begin() + base,
                  s.x_q_.begin() + std::min<int64_t>(inputs_, base + c.elements_),
                  f.x_.begin() + base);
        f.scale_ = s.x_scale_;
      }
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
      // Behind an RTL vector unit the input arrives chunk by chunk (input_side) and the
      // scoreboard's products are formed at the last chunk (expect_from_state).
      if (!input_from_rtl_) {
        if (kind_ == Kind::kOProj) {
          s.x_scale_ = fx::quantize_dynamic(s.attn_.data(), shape_.q_, af, qmax, s.x_q_.data());
        } else if (kind_ == Kind::kFfnDown) {
          // Behind the SystemC activation block (whose golden function is part of ffn_down's):
          // silu(gate) * up, quantized, from the golden gate and up.
          const std::vector<int32_t> gate = project(l.w_gate_, s, af);
          const std::vector<int32_t> up = project(l.w_up_, s, af);
          for (int64_t i = 0; i < shape_.ff_; ++i) {
            s.hidden_[size_t(i)] =
                fx::swiglu_fixed(gate[size_t(i)], up[size_t(i)], af, g->tables().sigmoid_.data(),
                                 p.silu_table_bits_);
          }
          s.x_scale_ =
              fx::quantize_dynamic(s.hidden_.data(), shape_.ff_, af, qmax, s.x_q_.data());
        }
        f.expect_ = expect_from_state(s);
        std::copy(s.x_q_.begin(), s.x_q_.begin() + inputs_, f.x_.begin());
        f.scale_ = s.x_scale_;
      }
    }
    flights_.push_back(std::move(f));
  }

  // The golden products of the block's modules (in output order) from the input in the
  // token's state (x_q_, x_scale_).
  std::vector<int32_t> expect_from_state(const TokenState& s) const {
    const GoldenModel& g = *golden();
    const QuantizedLayer& l = g.model().layers_[size_t(layer_)];
    const int af = g.profile().activation_frac_bits_;
    std::vector<const QuantizedMatrix*> ws;
    if (kind_ == Kind::kQkv) ws = {&l.wq_, &l.wk_, &l.wv_};
    if (kind_ == Kind::kFfnGateUp) ws = {&l.w_gate_, &l.w_up_};
    if (kind_ == Kind::kOProj) ws = {&l.wo_};
    if (kind_ == Kind::kFfnDown) ws = {&l.w_down_};
    const bool residual = kind_ == Kind::kOProj || kind_ == Kind::kFfnDown;
    const int frac = residual ? g.profile().residual_frac_bits_ : af;
    std::vector<int32_t> out;
    for (const QuantizedMatrix* w : ws) {
      for (int32_t v : project(*w, s, frac)) out.push_back(v);
    }
    return out;
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

  // ffn_gate_up: the rows of the chunk about to leave into the token's gate_ / up_, so that the
  // activation behind it (which takes its input chunk by chunk) reads them (functional mode).
  void write_gate_up(const Flight& f, int64_t elements) {
    if (!golden() || !f.token_->state_) return;
    TokenState& s = *f.token_->state_;
    for (int64_t r = f.emitted_; r < f.emitted_ + elements; ++r) {
      if (r < shape_.ff_) {
        s.gate_[size_t(r)] = f.out_[size_t(r)];
      } else {
        s.up_[size_t(r - shape_.ff_)] = f.out_[size_t(r)];
      }
    }
  }

  // qkv: the rows of the chunk about to leave into the token's q_, k_, v_ (plus their biases),
  // so that an RTL rope behind it (which takes its input chunk by chunk) reads them.
  void write_qkv(const Flight& f, int64_t elements) {
    if (!golden() || !f.token_->state_) return;
    TokenState& s = *f.token_->state_;
    const QuantizedLayer& l = golden()->model().layers_[size_t(layer_)];
    const int64_t q = shape_.q_, kv = shape_.kv_;
    auto put = [](std::vector<int32_t>& x, const std::vector<int32_t>& bias, int64_t i, int32_t v) {
      x[size_t(i)] = bias.empty() ? v : fx::add_saturate(v, bias[size_t(i)]);
    };
    for (int64_t r = f.emitted_; r < f.emitted_ + elements; ++r) {
      const int32_t v = f.out_[size_t(r)];
      if (r < q) {
        put(s.q_, l.bq_, r, v);
      } else if (r < q + kv) {
        put(s.k_, l.bk_, r - q, v);
      } else {
        put(s.v_, l.bv_, r - q - kv, v);
      }
    }
  }

  // o_proj, ffn_down: the rows of the chunk about to leave added to the token's residual_, so
  // that an RTL norm behind it (which takes its input chunk by chunk) reads the sums.
  void add_residual(const Flight& f, int64_t elements) {
    if (!golden() || !f.token_->state_) return;
    TokenState& s = *f.token_->state_;
    for (int64_t r = f.emitted_; r < f.emitted_ + elements; ++r) {
      s.residual_[size_t(r)] = fx::add_saturate(s.residual_[size_t(r)], f.out_[size_t(r)]);
    }
  }

  // Functional mode, before the last chunk leaves: the scoreboard (the RTL's outputs against the
  // golden model's products of the same input), then the block hook.
  void check_outputs(Flight& f) {
    f.checked_ = true;
    const GoldenModel* g = golden();
    if (!g || !f.token_->state_) return;
    TokenState& s = *f.token_->state_;
    if (input_from_rtl_) f.expect_ = expect_from_state(s);
    // Scoreboard: a module whose constants are not this model's weights (or a datapath bug)
    // is an error naming the module and row, not a silently different token.
    for (size_t r = 0; r < f.out_.size(); ++r) {
      if (f.out_[r] != f.expect_[r]) {
        const auto [pi, local] = part_of(static_cast<int64_t>(r));
        throw make_error("RTL co-simulation, layer " + std::to_string(layer_) + " " + block_,
                         "RTL " + parts_[pi]->name_ + " output row " + std::to_string(local) +
                             " is " + std::to_string(f.out_[r]) + ", the golden model's " +
                             std::to_string(f.expect_[r]),
                         "the Verilated modules hold " + std::string(shape_.model_) + " " +
                             shape_.numerics_ + " (rtl/gen/" + shape_.dir_ +
                             "): regenerate them if the weights or numerics changed");
      }
    }
    // The outputs are in the token's state already: written chunk by chunk as they left
    // (write_qkv, add_residual, write_gate_up).
    const sim::BlockHook* hook = functional_->block_hook();
    if (hook && *hook) (*hook)(*f.token_, block_, layer_);
  }

  RtlClock rtl_clock_;
  Kind kind_;
  const CosimLayer& shape_;
  std::string block_;
  int64_t layer_;
  int64_t inputs_;
  int64_t outputs_ = 0;
  const sim::FunctionalData* functional_;
  bool input_from_rtl_;  // ffn_down behind the RTL activation (cosim_vector.h)
  std::vector<std::unique_ptr<Part>> parts_;
  std::deque<Flight> flights_;
  sim::Cycle now_ = 0;
  int64_t available_at_edge_ = 0;
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

// The modules of one layer, one Verilated class per tensor.
template <typename Q, typename K, typename V, typename O, typename G, typename U, typename D>
void build_layer(RtlMatrixBlock& b, Kind kind, const CosimLayer& l) {
  switch (kind) {
    case Kind::kQkv:
      b.add_part<Q>("attn_q", l.q_);
      b.add_part<K>("attn_k", l.kv_);
      b.add_part<V>("attn_v", l.kv_);
      break;
    case Kind::kOProj:
      b.add_part<O>("attn_output", l.d_);
      break;
    case Kind::kFfnGateUp:
      b.add_part<G>("ffn_gate", l.ff_);
      b.add_part<U>("ffn_up", l.ff_);
      break;
    case Kind::kFfnDown:
      b.add_part<D>("ffn_down", l.d_);
      break;
  }
}

// The Verilated layers of this build (rtl/CMakeLists.txt verilates rtl/gen/<dir>). To add one:
// generate it (docs/rtl.md "Co-simulation"), verilate it there and add its row here.
const CosimLayer kLayers[] = {
    {"tiny-mha", "w4a8", 0, "tiny-mha-w4a8-l0", 64, 64, 64, 172,
     &build_layer<Vhw_mv_l0_attn_q_r0_63, Vhw_mv_l0_attn_k_r0_63, Vhw_mv_l0_attn_v_r0_63,
                  Vhw_mv_l0_attn_output_r0_63, Vhw_mv_l0_ffn_gate_r0_171,
                  Vhw_mv_l0_ffn_up_r0_171, Vhw_mv_l0_ffn_down_r0_63>},
    // GQA: 8 query heads, 2 kv heads of 16: k and v have 32 rows.
    {"tiny-gqa-s", "w4a8", 0, "tiny-gqa-s-w4a8-l0", 128, 128, 32, 128,
     &build_layer<Vhw_tiny_gqa_s_mv_l0_attn_q_r0_127, Vhw_tiny_gqa_s_mv_l0_attn_k_r0_31,
                  Vhw_tiny_gqa_s_mv_l0_attn_v_r0_31, Vhw_tiny_gqa_s_mv_l0_attn_output_r0_127,
                  Vhw_tiny_gqa_s_mv_l0_ffn_gate_r0_127, Vhw_tiny_gqa_s_mv_l0_ffn_up_r0_127,
                  Vhw_tiny_gqa_s_mv_l0_ffn_down_r0_127>},
    {"tiny-trained-a", "w4a8", 0, "tiny-trained-a-w4a8-l0", 128, 128, 128, 384,
     &build_layer<Vhw_tiny_trained_a_mv_l0_attn_q_r0_127, Vhw_tiny_trained_a_mv_l0_attn_k_r0_127,
                  Vhw_tiny_trained_a_mv_l0_attn_v_r0_127,
                  Vhw_tiny_trained_a_mv_l0_attn_output_r0_127,
                  Vhw_tiny_trained_a_mv_l0_ffn_gate_r0_383, Vhw_tiny_trained_a_mv_l0_ffn_up_r0_383,
                  Vhw_tiny_trained_a_mv_l0_ffn_down_r0_127>},
};

std::string layer_text(const CosimLayer& l) {
  return std::string(l.model_) + " " + l.numerics_ + " layer " + std::to_string(l.layer_);
}

}  // namespace

std::vector<CosimLayerInfo> cosim_layers() {
  std::vector<CosimLayerInfo> out;
  for (const CosimLayer& l : kLayers) out.push_back({l.model_, l.numerics_, l.layer_, l.dir_});
  return out;
}

std::string cosim_available() {
  std::string s;
  for (const CosimLayer& l : kLayers) s += (s.empty() ? "" : ", ") + layer_text(l);
  return s;
}

std::unique_ptr<sim::CycleProcess> make_rtl_block(const sim::RtlBlockRequest& r) {
  if (r.block_ == "activation" || r.block_ == "attn_norm" || r.block_ == "ffn_norm" ||
      r.block_ == "rope") {
    return make_rtl_vector_block(r);  // cosim_vector.h; nullptr: the SystemC block
  }
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
  const std::string where = "--rtl layer=" + std::to_string(r.layer_);
  const std::string numerics =
      r.functional_ ? r.functional_->golden().profile().name_ : std::string();
  const std::string how =
      "this build's Verilated RTL is " + cosim_available() +
      "; for another model, layer or numerics generate it (hardwire rtl generate --model M.gguf "
      "--numerics P --layer L --module-prefix hw_<model>_ --out rtl/gen/<model>-P-lL), verilate "
      "it in rtl/CMakeLists.txt (hw_matrix_layer), add its row to the table in rtl/cosim.cpp "
      "and rebuild (docs/rtl.md \"Co-simulation\")";
  // The model by name (the GGUF's file stem), then its layer and numerics; timing runs (no
  // golden model) take any numerics: the cycles do not depend on the weights' values.
  const CosimLayer* found = nullptr;
  bool model_known = false, layer_known = false;
  for (const CosimLayer& l : kLayers) {
    if (mc.name_ != l.model_) continue;
    model_known = true;
    if (l.layer_ != r.layer_) continue;
    layer_known = true;
    if (numerics.empty() || numerics == l.numerics_) {
      found = &l;
      break;
    }
  }
  if (!model_known) {
    throw make_error(where, "no Verilated RTL for model " + mc.name_ + " in this build", how);
  }
  if (!layer_known) {
    throw make_error(where,
                     "no Verilated RTL for layer " + std::to_string(r.layer_) + " of " +
                         mc.name_ + " in this build",
                     how);
  }
  if (!found) {
    throw make_error(where,
                     "no Verilated RTL of " + mc.name_ + " layer " + std::to_string(r.layer_) +
                         " at numerics " + numerics + " in this build",
                     how);
  }
  const CosimLayer& l = *found;
  if (mc.d_model_ != l.d_ || mc.q_dim() != l.q_ || mc.kv_dim() != l.kv_ || mc.d_ff_ != l.ff_ ||
      mc.qk_norm_) {
    throw make_error(where,
                     "model " + mc.name_ + " (d_model " + std::to_string(mc.d_model_) + ", q " +
                         std::to_string(mc.q_dim()) + ", kv " + std::to_string(mc.kv_dim()) +
                         ", d_ff " + std::to_string(mc.d_ff_) +
                         ") does not have the shape of the Verilated " + layer_text(l) +
                         " (d_model " + std::to_string(l.d_) + ", q " + std::to_string(l.q_) +
                         ", kv " + std::to_string(l.kv_) + ", d_ff " + std::to_string(l.ff_) +
                         ")",
                     how);
  }
  if (r.functional_ && r.functional_->golden().static_act_scales()) {
    throw make_error("--rtl", "co-simulation needs dynamic activation scales", how);
  }
  check_structure(r, *m);
  return std::make_unique<RtlMatrixBlock>(r.instance_.c_str(), r, kind, l);
}

void register_rtl_cosim() {
  sim::set_rtl_block_factory(&make_rtl_block);
  register_rtl_attention_cosim();  // cosim_attention.h: the layer's KV write and attention
}

}  // namespace hw::rtl
