// RTL co-simulation of the vector units (see cosim_vector.h).
#include "rtl/cosim_vector.h"

#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include <systemc>

// Verilator's headers have unused parameters: keep the project's warning flags quiet on them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "Vhw_l0_activation.h"
#include "Vhw_tiny_gqa_s_l0_activation.h"
#include "Vhw_tiny_gqa_s_l0_attn_norm.h"
#include "Vhw_tiny_gqa_s_l0_ffn_norm.h"
#include "Vhw_tiny_gqa_s_l0_rope.h"
#include "Vhw_tiny_trained_a_l0_activation.h"
#include "Vhw_tiny_trained_a_l0_attn_norm.h"
#include "Vhw_tiny_trained_a_l0_ffn_norm.h"
#include "Vhw_tiny_trained_a_l0_rope.h"
#include "Vhw_l0_attn_norm.h"
#include "Vhw_l0_ffn_norm.h"
#include "Vhw_l0_rope.h"
#include "verilated_vcd_sc.h"
#pragma GCC diagnostic pop
#include "common/error.h"
#include "rtl/cosim_clock.h"
#include "rtl/cosim_trace.h"
#include "model/fixed_point.h"
#include "model/golden_model.h"

namespace hw::rtl {
namespace {

// The Verilated vector units of layer 0 of each oracle model at w4a8, 16 lanes, DEPTH 4
// (rtl/gen/<model>-w4a8-l0/<prefix>l0_{attn_norm,ffn_norm,rope,activation}.sv).
constexpr const char* kNumerics = "w4a8";
constexpr int64_t kLanes = 16, kDepth = 4;

enum class Kind { kAttnNorm, kFfnNorm, kRope, kActivation };

struct VectorLayer;
using MakeVectorBlock = std::unique_ptr<sim::CycleProcess> (*)(const sim::RtlBlockRequest& r,
                                                               Kind kind, const VectorLayer& l);
// One model's layer 0: its shapes and its Verilated units.
struct VectorLayer {
  const char* model_;
  int64_t d_, q_, kv_, ff_;
  MakeVectorBlock make_;
};

// One Verilated vector unit (16 int32 lanes in; out 16 int8 lanes + scale, kOutBits 128, or
// for the rope unit 16 int32 lanes, kOutBits 512, with the token's position in) as a
// cycle-level block process.
template <typename V, int kOutBits>
class RtlVectorBlock : public sim::CycleProcess {
  static constexpr bool kRopeUnit = kOutBits == 512;

 public:
  SC_HAS_PROCESS(RtlVectorBlock);
  RtlVectorBlock(sc_core::sc_module_name name, const sim::RtlBlockRequest& r, Kind kind,
                 const VectorLayer& l)
      : sim::CycleProcess(name, *r.clock_, r.chunk_elements_),
        rtl_clock_("rtl_clock", *r.clock_, [this] { input_side(); }),
        in_valid_pin_("in_valid"), in_ready_pin_("in_ready"), in_last_pin_("in_last"),
        out_valid_pin_("out_valid"), out_ready_pin_("out_ready"), out_last_pin_("out_last"),
        in_data_("in_data"), out_data_("out_data"), scale_m_("scale_m"), scale_e_("scale_e"),
        pos_("in_pos"), v_(r.block_.c_str()), kind_(kind), d_(l.d_), q_(l.q_), kv_(l.kv_),
        ff_(l.ff_),
        outputs_(kind == Kind::kActivation ? ff_ : kind == Kind::kRope ? q_ + 2 * kv_ : d_),
        block_(r.block_), layer_(r.layer_), functional_(r.functional_) {
    v_.clk(rtl_clock_.clk_);
    v_.rst(rtl_clock_.rst_);
    v_.in_valid(in_valid_pin_);
    v_.in_ready(in_ready_pin_);
    v_.in_last(in_last_pin_);
    v_.in_data(in_data_);
    v_.out_valid(out_valid_pin_);
    v_.out_ready(out_ready_pin_);
    v_.out_data(out_data_);
    if constexpr (kRopeUnit) {
      v_.in_pos(pos_);
    } else {
      v_.out_scale_m(scale_m_);
      v_.out_scale_e(scale_e_);
    }
    v_.out_last(out_last_pin_);
    if (!r.vcd_path_.empty()) {
      trace_ = join_trace(r.vcd_path_, [this](VerilatedVcdSc* file) { v_.trace(file, 99); });
    }
  }

  const std::string& block_name() const override { return block_; }
  int64_t layer() const override { return layer_; }

 protected:
  void start_of_simulation() override {
    if (trace_) open_trace(*trace_);
  }

  bool tick(sim::Cycle now) override {
    now_ = now;
    // What the channel held at this cycle's edge (a chunk written during this cycle is not
    // there until the next edge).
    available_at_edge_ = in_->num_available();
    output_side();
    rtl_clock_.start(now);
    if (!flights_.empty()) ++stats_.busy_cycles_;
    return !flights_.empty() || in_valid_ || in_->num_available() > 0;
  }

 private:
  struct Flight {
    sim::Token* token_ = nullptr;
    int64_t emitted_ = 0;       // output values written into the channel
    std::vector<int32_t> in_;   // rope unit: the values driven in (q, k, v), for the check
  };


  TokenState* state(const sim::Token* t) const {
    return functional_ && t->state_ ? t->state_ : nullptr;
  }

  // Delta 0 of cycle t: the output transfer of edge t (out_ready = the channel has room, as the
  // SystemC block writes a chunk when the channel has room) and its channel write.
  void output_side() {
    const bool room = out_->num_free() > 0;
    out_ready_pin_.write(room);
    if (!out_valid_pin_.read()) return;
    if (!room) {
      ++stats_.stall_cycles_[size_t(sim::StallReason::kOutputFull)];
      return;
    }
    if (flights_.empty()) {
      throw make_error("RTL co-simulation, layer " + std::to_string(layer_) + " " + block_,
                       "the RTL emitted a chunk with no vector in flight");
    }
    Flight& f = flights_.front();
    const int64_t n = std::min(kLanes, outputs_ - f.emitted_);
    if (TokenState* s = state(f.token_); s && kRopeUnit) {
      write_rope_outputs(f, *s, n);
    } else if (s) {
      const sc_dt::sc_bv<kOutBits> data = out_data_.read();
      for (int64_t i = 0; i < n; ++i) {
        s->x_q_[size_t(f.emitted_ + i)] =
            static_cast<int8_t>(data.range(int(i) * 8 + 7, int(i) * 8).to_uint64());
      }
      if (f.emitted_ == 0) {
        s->x_scale_.m_ = static_cast<int32_t>(scale_m_.read());
        s->x_scale_.e_ = static_cast<int32_t>(static_cast<int16_t>(scale_e_.read() & 0xFFFFu));
      }
    }
    sim::Chunk c;
    c.token_ = f.token_;
    c.index_ = static_cast<int32_t>(f.emitted_ / chunk_elements_);
    c.elements_ = static_cast<int32_t>(n);
    c.last_ = f.emitted_ + n >= outputs_;
    if (c.last_ != out_last_pin_.read()) {
      throw make_error("RTL co-simulation, layer " + std::to_string(layer_) + " " + block_,
                       "out_last of output chunk " + std::to_string(c.index_) + " is " +
                           (out_last_pin_.read() ? "set" : "clear") + ", expected the opposite");
    }
    if (c.last_) check_and_hook(f.token_);
    out_->write(c);
    f.emitted_ += n;
    if (c.last_) {
      departed(f.token_, now_);
      flights_.pop_front();
    }
  }


  void input_side() {
    bool valid = false;
    if (in_ready_pin_.read() && (in_valid_ || available_at_edge_ > 0) && fill_input()) {
      const sim::Chunk c = in_reg_;
      in_valid_ = false;
      if (c.index_ == 0) {
        ++stats_.tokens_;
        flights_.push_back({c.token_, 0, {}});
      }
      sc_dt::sc_bv<512> data(0);
      if (const TokenState* s = state(c.token_)) {
        const int64_t base = int64_t(c.index_) * chunk_elements_;
        for (int64_t i = 0; i < c.elements_; ++i) {
          const int64_t e = base + i;
          int32_t v = 0;
          if (kind_ == Kind::kRope) {
            v = e < q_ ? s->q_[size_t(e)] : e < q_ + kv_ ? s->k_[size_t(e - q_)]
                                                          : s->v_[size_t(e - q_ - kv_)];
            flights_.back().in_.push_back(v);
          } else if (kind_ == Kind::kActivation) {
            v = e < ff_ ? s->gate_[size_t(e)] : s->up_[size_t(e - ff_)];
          } else {
            v = s->residual_[size_t(e)];
          }
          data.range(int(i) * 32 + 31, int(i) * 32) =
              static_cast<uint64_t>(static_cast<uint32_t>(v));
        }
      }
      in_data_.write(data);
      pos_.write(static_cast<uint32_t>(c.token_->position_));
      in_last_pin_.write(c.last_);
      valid = true;
    }
    in_valid_pin_.write(valid);
  }

  // At the last chunk (its values written): the RTL's x_q_ and scale against the golden model's
  // function of the same input (the norm of residual_, or silu(gate) * up and QUANT); then the
  // block hook, as the SystemC block's golden apply calls it.
  void check_and_hook(sim::Token* t) {
    TokenState* s = state(t);
    if (!s) return;
    const GoldenModel& g = functional_->golden();
    if (kind_ == Kind::kRope) {
      check_rope(*s, g);
    } else {
      check_quantized(*s, g);
    }
    const sim::BlockHook* hook = functional_->block_hook();
    if (hook && *hook) (*hook)(*t, block_, layer_);
  }

  // The rope unit's outputs of chunk [emitted, emitted + n) into q_ and k_ (their inputs were
  // all driven before: a chunk leaves after it went in); v must leave as it went in.
  void write_rope_outputs(const Flight& f, TokenState& s, int64_t n) {
    const sc_dt::sc_bv<kOutBits> data = out_data_.read();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t e = f.emitted_ + i;
      const int32_t v = static_cast<int32_t>(data.range(int(i) * 32 + 31, int(i) * 32).to_uint64());
      if (e < q_) {
        s.q_[size_t(e)] = v;
      } else if (e < q_ + kv_) {
        s.k_[size_t(e - q_)] = v;
      } else if (v != f.in_[size_t(e)]) {
        throw make_error("RTL co-simulation, layer " + std::to_string(layer_) + " " + block_,
                         "RTL v output " + std::to_string(e - q_ - kv_) + " is " +
                             std::to_string(v) + ", its input " + std::to_string(f.in_[size_t(e)]));
      }
    }
  }

  // The RTL's rotated q and k against the golden model's RoPE of the same input.
  void check_rope(const TokenState& s, const GoldenModel& g) {
    const Flight& f = flights_.front();
    TokenState want = s;
    std::copy(f.in_.begin(), f.in_.begin() + q_, want.q_.begin());
    std::copy(f.in_.begin() + q_, f.in_.begin() + q_ + kv_, want.k_.begin());
    g.rope(layer_, want);
    for (int64_t e = 0; e < q_ + kv_; ++e) {
      const int32_t got = e < q_ ? s.q_[size_t(e)] : s.k_[size_t(e - q_)];
      const int32_t exp = e < q_ ? want.q_[size_t(e)] : want.k_[size_t(e - q_)];
      if (got != exp) {
        throw make_error("RTL co-simulation, layer " + std::to_string(layer_) + " " + block_,
                         "RTL output " + std::to_string(e) + " is " + std::to_string(got) +
                             ", the golden model's " + std::to_string(exp));
      }
    }
  }

  // The norms' and activation's x_q_ and scale against the golden model's function of the
  // same input.
  void check_quantized(TokenState& s, const GoldenModel& g) {
    TokenState want = s;
    if (kind_ == Kind::kAttnNorm) {
      g.attn_norm(layer_, want);
    } else if (kind_ == Kind::kFfnNorm) {
      g.ffn_norm(layer_, want);
    } else {
      const NumericsProfile& p = g.profile();
      const int af = p.activation_frac_bits_;
      const int32_t qmax = (int32_t{1} << (p.activation_bits_ - 1)) - 1;
      for (int64_t i = 0; i < ff_; ++i) {
        want.hidden_[size_t(i)] = fx::swiglu_fixed(s.gate_[size_t(i)], s.up_[size_t(i)], af,
                                                   g.tables().sigmoid_.data(), p.silu_table_bits_);
      }
      want.x_scale_ = fx::quantize_dynamic(want.hidden_.data(), ff_, af, qmax, want.x_q_.data());
      s.hidden_ = want.hidden_;
    }
    for (int64_t i = 0; i < outputs_; ++i) {
      if (s.x_q_[size_t(i)] != want.x_q_[size_t(i)]) {
        throw make_error("RTL co-simulation, layer " + std::to_string(layer_) + " " + block_,
                         "RTL output " + std::to_string(i) + " is " +
                             std::to_string(s.x_q_[size_t(i)]) + ", the golden model's " +
                             std::to_string(want.x_q_[size_t(i)]));
      }
    }
    if (s.x_scale_.m_ != want.x_scale_.m_ || s.x_scale_.e_ != want.x_scale_.e_) {
      throw make_error("RTL co-simulation, layer " + std::to_string(layer_) + " " + block_,
                       "RTL scale (" + std::to_string(s.x_scale_.m_) + ", " +
                           std::to_string(s.x_scale_.e_) + "), the golden model's (" +
                           std::to_string(want.x_scale_.m_) + ", " +
                           std::to_string(want.x_scale_.e_) + ")");
    }
  }

  RtlClock rtl_clock_;
  sc_core::sc_signal<bool> in_valid_pin_, in_ready_pin_, in_last_pin_;
  sc_core::sc_signal<bool> out_valid_pin_, out_ready_pin_, out_last_pin_;
  sc_core::sc_signal<sc_dt::sc_bv<512>> in_data_;
  sc_core::sc_signal<sc_dt::sc_bv<kOutBits>> out_data_;
  sc_core::sc_signal<uint32_t> scale_m_, scale_e_, pos_;
  V v_;
  std::shared_ptr<SharedTrace> trace_;  // the run's VCD (cosim_trace.h), if any
  Kind kind_;
  const int64_t d_, q_, kv_, ff_;  // the model's shapes (d_model, q, k and v, d_ff)
  int64_t outputs_;
  std::string block_;
  int64_t layer_;
  const sim::FunctionalData* functional_;
  std::deque<Flight> flights_;
  sim::Cycle now_ = 0;
  int64_t available_at_edge_ = 0;
};

void need(const std::string& key, int64_t have, int64_t want) {
  if (have != want) {
    throw make_error("--rtl", key + " is " + std::to_string(have) +
                                  ", the Verilated block has " + std::to_string(want),
                     "--set " + key + "=" + std::to_string(want) +
                         " (docs/rtl.md \"Co-simulation\")");
  }
}

template <typename AttnNorm, typename FfnNorm, typename Rope, typename Activation>
std::unique_ptr<sim::CycleProcess> make_units(const sim::RtlBlockRequest& r, Kind kind,
                                              const VectorLayer& l) {
  const char* n = r.instance_.c_str();
  switch (kind) {
    case Kind::kAttnNorm:
      return std::make_unique<RtlVectorBlock<AttnNorm, 128>>(n, r, kind, l);
    case Kind::kFfnNorm:
      return std::make_unique<RtlVectorBlock<FfnNorm, 128>>(n, r, kind, l);
    case Kind::kRope:
      return std::make_unique<RtlVectorBlock<Rope, 512>>(n, r, kind, l);
    case Kind::kActivation:
      break;
  }
  return std::make_unique<RtlVectorBlock<Activation, 128>>(n, r, kind, l);
}

// rtl/CMakeLists.txt verilates these from rtl/gen (one row per model, as rtl/cosim.cpp's table).
const VectorLayer kVectorLayers[] = {
    {"tiny-mha", 64, 64, 64, 172,
     &make_units<Vhw_l0_attn_norm, Vhw_l0_ffn_norm, Vhw_l0_rope, Vhw_l0_activation>},
    {"tiny-gqa-s", 128, 128, 32, 128,
     &make_units<Vhw_tiny_gqa_s_l0_attn_norm, Vhw_tiny_gqa_s_l0_ffn_norm, Vhw_tiny_gqa_s_l0_rope,
                 Vhw_tiny_gqa_s_l0_activation>},
    {"tiny-trained-a", 128, 128, 128, 384,
     &make_units<Vhw_tiny_trained_a_l0_attn_norm, Vhw_tiny_trained_a_l0_ffn_norm,
                 Vhw_tiny_trained_a_l0_rope, Vhw_tiny_trained_a_l0_activation>},
};

const VectorLayer* vector_layer(const sim::RtlBlockRequest& r) {
  const ModelConfig& mc = r.mapping_->model_;
  if (r.layer_ != 0) return nullptr;
  for (const VectorLayer& l : kVectorLayers) {
    if (mc.name_ == l.model_ && mc.d_model_ == l.d_ && mc.q_dim() == l.q_ &&
        mc.kv_dim() == l.kv_ && mc.d_ff_ == l.ff_) {
      return &l;
    }
  }
  return nullptr;
}

}  // namespace

bool has_rtl_vector_block(const sim::RtlBlockRequest& r, const std::string& block) {
  return (block == "activation" || block == "attn_norm" || block == "ffn_norm" ||
          block == "rope") &&
         vector_layer(r) != nullptr;
}

std::unique_ptr<sim::CycleProcess> make_rtl_vector_block(const sim::RtlBlockRequest& r) {
  if (!has_rtl_vector_block(r, r.block_)) return nullptr;
  if (r.functional_ && r.functional_->golden().profile().name_ != kNumerics) {
    throw make_error("--rtl layer=" + std::to_string(r.layer_),
                     "no Verilated RTL of " + r.mapping_->model_.name_ + " layer " +
                         std::to_string(r.layer_) + " at numerics " +
                         r.functional_->golden().profile().name_ + " in this build (its " +
                         r.block_ + " block holds the " + kNumerics + " constants)",
                     "--numerics " + std::string(kNumerics) +
                         ", or generate and verilate the layer at your numerics (docs/rtl.md "
                         "\"Co-simulation\")");
  }
  const ChipConfig& chip = r.mapping_->chip_;
  const bool norm = r.block_ == "attn_norm" || r.block_ == "ffn_norm";
  const VectorUnitConfig& u = norm                   ? chip.norm_
                              : r.block_ == "rope"   ? chip.rope_
                                                     : chip.activation_;
  const std::string key = "chip." + std::string(norm ? "norm" : r.block_) + ".";
  need("chip.buffers.chunk_elements", r.chunk_elements_, kLanes);
  need(key + "elements_per_cycle", u.elements_per_cycle_, kLanes);
  need(key + "pipeline_depth", u.pipeline_depth_cycles_, kDepth);
  const Kind kind = r.block_ == "attn_norm" ? Kind::kAttnNorm
                    : r.block_ == "ffn_norm" ? Kind::kFfnNorm
                    : r.block_ == "rope"     ? Kind::kRope
                                             : Kind::kActivation;
  const VectorLayer& l = *vector_layer(r);
  return l.make_(r, kind, l);
}

}  // namespace hw::rtl
