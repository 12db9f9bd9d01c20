// RTL co-simulation of the attention unit (see cosim_attention.h).
#include "rtl/cosim_attention.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include <systemc>

// Verilator's headers have unused parameters: keep the project's warning flags quiet on them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "Vhw_attention_unit_gqa_slow.h"
#include "Vhw_attention_unit_tiny_gqa_s.h"
#include "Vhw_attention_unit_tiny_mha.h"
#include "Vhw_attention_unit_tiny_trained_a.h"
#include "verilated_vcd_sc.h"
#pragma GCC diagnostic pop
#include "common/error.h"
#include "rtl/cosim_clock.h"
#include "rtl/cosim_trace.h"
#include "model/golden_model.h"

namespace hw::rtl {
namespace {

// The parameters a Verilated unit was built with (rtl/CMakeLists.txt, -G...).
struct UnitParams {
  const char* name_;
  int64_t heads_, kv_heads_, head_dim_, lanes_, banks_, rows_, read_latency_, write_latency_;
  int64_t macs_, exps_, depth_, max_keys_;
};

constexpr int kTableBits = 7;  // EXP2 table: 2^7 + 1 entries (numerics exp2_table_bits)
constexpr int kFracBits = 16;  // Q.16 q, k, v and attention output (numerics activation_frac_bits)
constexpr int kLaneBits = 512;  // 16 int32 lanes
constexpr int kTabBits = ((1 << kTableBits) + 1) * 32;
using BvChunk = sc_dt::sc_bv<kLaneBits>;
using BvTab = sc_dt::sc_bv<kTabBits>;

// Each oracle model on hc1-like's attention engine with 16-element chunks (the co-simulation
// chip), and tiny-gqa-s's shape (8 heads, 2 kv heads) on a slow engine (8 banks, MACs for 2.5
// positions and exponentials for 3 per cycle, read latency 3, write latency 2, up to 32
// positions) whose sweeps are bound by each rate in turn.
constexpr UnitParams kTinyMha{"tiny-mha on hc1-like (16-element chunks)", 4, 4, 16, 16, 128, 16,
                              2, 1, 32768, 128, 18, 128};
constexpr UnitParams kTinyGqaS{"tiny-gqa-s on hc1-like (16-element chunks)", 8, 2, 16, 16, 128,
                               16, 2, 1, 32768, 128, 18, 128};
constexpr UnitParams kTinyTrainedA{"tiny-trained-a on hc1-like (16-element chunks, 128 B bank "
                                   "words)", 4, 4, 32, 16, 128, 16, 2, 1, 32768, 128, 18, 128};
constexpr UnitParams kGqaSlow{"8 heads / 2 kv heads x 16 on a slow engine (8 banks, 640 MACs, "
                              "24 exps per cycle, read 3, write 2, depth 40, 32 positions)",
                              8, 2, 16, 16, 8, 64, 3, 2, 640, 24, 40, 32};

class Unit;

// One stream of the unit as a cycle-level process: the unit does the work (see cosim_attention.h).
class Face : public sim::CycleProcess {
 public:
  Face(sc_core::sc_module_name name, const sim::ClockBase& clock, int64_t chunk_elements,
       std::string block, int64_t layer, std::shared_ptr<Unit> unit)
      : sim::CycleProcess(name, clock, chunk_elements), block_(std::move(block)), layer_(layer),
        unit_(std::move(unit)) {}
  const std::string& block_name() const override { return block_; }
  int64_t layer() const override { return layer_; }

  // The next chunk, if the channel held one at this cycle's edge (or the register holds one).
  bool take(int64_t available_at_edge, sim::Chunk* c) {
    if ((in_valid_ || available_at_edge > 0) && fill_input()) {
      *c = in_reg_;
      in_valid_ = false;
      return true;
    }
    return false;
  }
  bool holds_input() const { return in_valid_; }
  sim::CycleBlockStats& counters() { return stats_; }
  void done(const sim::Token* t, sim::Cycle now) { departed(t, now); }

 protected:
  bool tick(sim::Cycle now) override;

 private:
  std::string block_;
  int64_t layer_;
  std::shared_ptr<Unit> unit_;
};

using Clock = sc_core::sc_signal<bool, sc_core::SC_MANY_WRITERS>;

class Unit : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Unit);
  Unit(sc_core::sc_module_name name, const RtlAttentionRequest& r, const UnitParams& p)
      : sc_core::sc_module(name),
        rtl_clock_("rtl_clock", *r.clock_, [this] { input_side(); }),
        kw_in_valid_("kw_in_valid"),
        kw_in_ready_("kw_in_ready"), kw_out_valid_("kw_out_valid"), at_in_valid_("at_in_valid"),
        at_in_ready_("at_in_ready"), at_out_valid_("at_out_valid"), at_busy_("at_busy"),
        kw_out_ready_("kw_out_ready"), at_out_ready_("at_out_ready"),
        kw_in_data_("kw_in_data"), kw_out_data_("kw_out_data"), at_in_data_("at_in_data"),
        at_out_data_("at_out_data"), kw_in_addr_("kw_in_addr"), at_in_base_("at_in_base"),
        at_in_n_("at_in_n"), score_m_("score_m"), score_e_("score_e"), tab_("tab"), p_(p),
        clock_(*r.clock_), layer_(r.layer_), functional_(r.functional_), address_(r.address_),
        vcd_path_(r.vcd_path_) {
    const int64_t q = p.heads_ * p.head_dim_, kv = p.kv_heads_ * p.head_dim_;
    q_chunks_ = q / p.lanes_;
    kv_chunks_ = kv / p.lanes_;
    q_ = q;
    kv_dim_ = kv;
    if (functional_) {
      const GoldenModel& g = functional_->golden();
      BvTab tab(0);
      const auto& t = g.tables().exp2_;
      for (size_t i = 0; i < t.size() && i < size_t(1 << kTableBits) + 1; ++i) {
        tab.range(int(i) * 32 + 31, int(i) * 32) = static_cast<uint32_t>(t[i]);
      }
      tab_.write(tab);
      score_m_.write(static_cast<uint32_t>(g.tables().score_scale_.m_));
      score_e_.write(static_cast<uint32_t>(g.tables().score_scale_.e_));
    }
  }

  template <typename V>
  void bind() {
    // Built after this module (a sibling in the chip): "<chip>.L<ll>_attention_unit_rtl".
    auto v = std::make_unique<V>((std::string(basename()) + "_rtl").c_str());
    v->clk(rtl_clock_.clk_);
    v->rst(rtl_clock_.rst_);
    v->kw_in_valid(kw_in_valid_);
    v->kw_in_ready(kw_in_ready_);
    v->kw_in_data(kw_in_data_);
    v->kw_in_addr(kw_in_addr_);
    v->kw_out_valid(kw_out_valid_);
    v->kw_out_ready(kw_out_ready_);
    v->kw_out_data(kw_out_data_);
    v->at_in_valid(at_in_valid_);
    v->at_in_ready(at_in_ready_);
    v->at_in_data(at_in_data_);
    v->at_in_base(at_in_base_);
    v->at_in_n(at_in_n_);
    v->at_out_valid(at_out_valid_);
    v->at_out_ready(at_out_ready_);
    v->at_out_data(at_out_data_);
    v->at_busy(at_busy_);
    v->tab(tab_);
    v->score_m(score_m_);
    v->score_e(score_e_);
    if (!vcd_path_.empty()) {
      trace_ = join_trace(vcd_path_, [m = v.get()](VerilatedVcdSc* file) { m->trace(file, 99); });
    }
    model_ = std::move(v);
  }

  Face* kv_ = nullptr;
  Face* at_ = nullptr;

  // Called by each face's tick at chip cycle `now`; the first call of the cycle does its work.
  bool tick(sim::Cycle now) {
    if (now != last_) {
      last_ = now;
      avail_kv_ = kv_->in_->num_available();
      avail_at_ = at_->in_->num_available();
      output_side(now);
      rtl_clock_.start(now);
    }
    return !kv_q_.empty() || !at_tokens_.empty() || now < kv_settle_ || avail_kv_ > 0 ||
           avail_at_ > 0 || kv_->holds_input() || at_->holds_input() || kv_chunk_ != 0;
  }

 protected:
  void start_of_simulation() override {
    if (trace_) open_trace(*trace_);
  }

 private:
  struct QOut {
    sim::Token* token_;
    int32_t index_;
  };
  struct AtToken {
    sim::Token* token_;
    std::vector<int32_t> out_;
    int32_t emitted_ = 0;
  };


  // Delta 0 of cycle `now`: the output transfers of edge `now`, written into the channels.
  void output_side(sim::Cycle now) {
    if (at_busy_.read()) ++at_->counters().busy_cycles_;  // edge now - 1 was a sweep cycle
    kw_out_ready_.write(false);
    if (kw_out_valid_.read()) {
      if (kv_->out_->num_free() > 0) {
        kw_out_ready_.write(true);
        const QOut o = kv_q_.front();
        kv_q_.pop_front();
        sim::Chunk c;
        c.token_ = o.token_;
        c.index_ = o.index_;
        c.elements_ = static_cast<int32_t>(p_.lanes_);
        c.last_ = o.index_ + 1 == q_chunks_;
        q_data_.push_back(kw_out_data_.read());  // what the attention face will drive
        kv_->out_->write(c);
        if (c.last_) kv_->done(c.token_, now);
      } else {
        ++kv_->counters().stall_cycles_[size_t(sim::StallReason::kOutputFull)];
      }
    }
    at_out_ready_.write(false);
    if (at_out_valid_.read()) {
      if (at_->out_->num_free() > 0) {
        at_out_ready_.write(true);
        AtToken& a = at_tokens_.front();
        const BvChunk data = at_out_data_.read();
        for (int64_t i = 0; i < p_.lanes_; ++i) {
          a.out_[size_t(a.emitted_ * p_.lanes_ + i)] = static_cast<int32_t>(
              static_cast<uint32_t>(data.range(int(i) * 32 + 31, int(i) * 32).to_uint64()));
        }
        check(a);
        sim::Chunk c;
        c.token_ = a.token_;
        c.index_ = a.emitted_;
        c.elements_ = static_cast<int32_t>(p_.lanes_);
        c.last_ = ++a.emitted_ == q_chunks_;
        at_->out_->write(c);
        if (c.last_) {
          at_->done(c.token_, now);
          at_tokens_.pop_front();
        }
      } else {
        ++at_->counters().stall_cycles_[size_t(sim::StallReason::kOutputFull)];
      }
    }
  }


  // Word address of position `pos`'s K word (CycleKvWrite's map), checked against the banks.
  int64_t word_address(const sim::Token& t, int64_t pos) const {
    const sim::KvAddress a = address_(t);
    if (a.prefix_positions_ > 0) {
      throw make_error("RTL attention unit, layer " + std::to_string(layer_),
                       "shared-prefix KV runs are not in the RTL unit",
                       "co-simulate without shared prefixes");
    }
    const int64_t w = a.private_base_words_ + pos * 2;
    if (w + 2 > p_.banks_ * p_.rows_) {
      throw make_error("RTL attention unit, layer " + std::to_string(layer_),
                       "user " + std::to_string(t.user_) + " position " + std::to_string(pos) +
                           " is KV word " + std::to_string(w) + "; the Verilated banks hold " +
                           std::to_string(p_.banks_ * p_.rows_) + " words",
                       "fewer or shorter requests");
    }
    return w;
  }

  // Delta 2: the inputs of edge `last_`.
  void input_side() {
    bool kv_valid = false;
    if (kw_in_ready_.read()) {
      sim::Chunk c;
      if (kv_->take(avail_kv_, &c)) {
        sim::Token* t = c.token_;
        if (c.index_ == 0) ++kv_->counters().tokens_;
        ++kv_->counters().busy_cycles_;
        BvChunk data(0);
        if (functional_ && t->state_) {
          const TokenState& s = *t->state_;
          for (int64_t i = 0; i < p_.lanes_; ++i) {
            const int64_t e = int64_t(c.index_) * p_.lanes_ + i;
            const int32_t v = e < q_ ? s.q_[size_t(e)]
                              : e < q_ + kv_dim_ ? s.k_[size_t(e - q_)]
                                             : s.v_[size_t(e - q_ - kv_dim_)];
            data.range(int(i) * 32 + 31, int(i) * 32) = static_cast<uint32_t>(v);
          }
        }
        kw_in_data_.write(data);
        if (c.index_ == 0) kw_in_addr_.write(uint32_t(word_address(*t, t->position_)));
        if (c.index_ < q_chunks_) kv_q_.push_back({t, c.index_});
        kv_chunk_ = c.last_ ? 0 : c.index_ + 1;
        if (c.last_) {
          kv_settle_ = last_ + p_.write_latency_ + 2;
          if (functional_ && t->state_ && t->cache_) {
            functional_->golden().kv_write(layer_, *t->state_, *t->cache_);
            const sim::BlockHook* hook = functional_->block_hook();
            if (hook && *hook) (*hook)(*t, "kv_write", layer_);
          }
        }
        kv_valid = true;
      }
    }
    kw_in_valid_.write(kv_valid);
    bool at_valid = false;
    if (at_in_ready_.read()) {
      sim::Chunk c;
      if (at_->take(avail_at_, &c)) {
        sim::Token* t = c.token_;
        // q as it left the KV write path of the unit
        at_in_data_.write(q_data_.front());
        q_data_.pop_front();
        if (c.index_ == 0) {
          ++at_->counters().tokens_;
          ++at_->counters().kv_sweeps_;  // query_tile 1: a sweep per token
          at_->counters().kv_positions_read_ += t->position_ + 1;
          if (t->position_ + 1 > p_.max_keys_) {
            throw make_error("RTL attention unit, layer " + std::to_string(layer_),
                             "position " + std::to_string(t->position_) +
                                 " is beyond the Verilated unit's " +
                                 std::to_string(p_.max_keys_) + " positions",
                             "shorter requests");
          }
          at_in_base_.write(uint32_t(word_address(*t, 0)));
          at_in_n_.write(uint32_t(t->position_ + 1));
          AtToken a;
          a.token_ = t;
          a.out_.assign(size_t(q_), 0);
          at_tokens_.push_back(std::move(a));
        }
        at_valid = true;
      }
    }
    at_in_valid_.write(at_valid);
  }

  // The unit's output chunk (a.emitted_) checked against the golden attention, which the first
  // chunk writes into the token's attn_ (o_proj reads the whole vector when its first chunk
  // arrives); the check makes attn_ the unit's outputs.
  void check(AtToken& a) {
    if (!functional_ || !a.token_->state_ || !a.token_->cache_) return;
    TokenState& s = *a.token_->state_;
    if (a.emitted_ == 0) {
      functional_->golden().attention(layer_, s, *a.token_->cache_);
      const sim::BlockHook* hook = functional_->block_hook();
      if (hook && *hook) (*hook)(*a.token_, "attention", layer_);
    }
    for (int64_t i = a.emitted_ * p_.lanes_; i < (a.emitted_ + 1) * p_.lanes_; ++i) {
      if (s.attn_[size_t(i)] != a.out_[size_t(i)]) {
        throw make_error("RTL co-simulation, layer " + std::to_string(layer_) + " attention",
                         "RTL output element " + std::to_string(i) + " of position " +
                             std::to_string(s.position_) + " is " +
                             std::to_string(a.out_[size_t(i)]) + ", the golden model's " +
                             std::to_string(s.attn_[size_t(i)]));
      }
    }
  }

 public:
  RtlClock rtl_clock_;
  sc_core::sc_signal<bool> kw_in_valid_, kw_in_ready_, kw_out_valid_, at_in_valid_,
      at_in_ready_, at_out_valid_, at_busy_;
  // Written by whichever face's process runs the cycle first.
  Clock kw_out_ready_, at_out_ready_;
  sc_core::sc_signal<BvChunk> kw_in_data_, kw_out_data_, at_in_data_, at_out_data_;
  sc_core::sc_signal<uint32_t> kw_in_addr_, at_in_base_, at_in_n_, score_m_, score_e_;
  sc_core::sc_signal<BvTab> tab_;

 private:
  UnitParams p_;
  const sim::ClockBase& clock_;
  int64_t layer_;
  const sim::FunctionalData* functional_;
  std::function<sim::KvAddress(const sim::Token&)> address_;
  int64_t q_ = 0, kv_dim_ = 0, q_chunks_ = 0, kv_chunks_ = 0;
  std::unique_ptr<sc_core::sc_module> model_;
  std::string vcd_path_;
  std::shared_ptr<SharedTrace> trace_;  // the run's VCD (cosim_trace.h), if any
  std::deque<QOut> kv_q_;           // q chunks taken by the KV write path, not yet out
  std::deque<BvChunk> q_data_;      // q chunks out of the KV write path, not yet into the engine
  std::deque<AtToken> at_tokens_;   // tokens in the engine (first q chunk in .. last output out)
  int32_t kv_chunk_ = 0;            // next chunk of the token the KV write path is taking
  sim::Cycle kv_settle_ = 0;        // the last K/V word is written and readable before this
  sim::Cycle last_ = -1;
  int64_t avail_kv_ = 0, avail_at_ = 0;
};

bool Face::tick(sim::Cycle now) { return unit_->tick(now); }

std::string describe(const UnitParams& p) { return p.name_; }

// The key of the request that differs from the unit, or "" when the unit serves it.
std::string mismatch(const RtlAttentionRequest& r, const UnitParams& p) {
  const ChipConfig& c = r.mapping_->chip_;
  const ModelConfig& m = r.mapping_->model_;
  const AttentionConfig& a = c.attention_;
  auto key = [](const std::string& k, int64_t have, int64_t want) {
    return have == want ? std::string() : k + " is " + std::to_string(have) + ", the unit's " +
                                              std::to_string(want);
  };
  std::string why;
  auto check = [&](const std::string& s) {
    if (why.empty()) why = s;
  };
  check(a.kv_memory_ == KvMemory::kSram ? "" : "chip.attention.kv_memory is dram, the unit's sram");
  check(key("model n_heads", m.n_heads_, p.heads_));
  check(key("model n_kv_heads", m.n_kv_heads_, p.kv_heads_));
  check(key("model head_dim", m.head_dim_, p.head_dim_));
  check(key("chip.buffers.chunk_elements", r.chunk_elements_, p.lanes_));
  check(key("chip.attention.kv_sram.banks", a.kv_sram_.banks_, p.banks_));
  check(key("chip.attention.kv_sram.read_latency", a.kv_sram_.read_latency_cycles_,
            p.read_latency_));
  check(key("chip.attention.kv_sram.write_latency", a.kv_sram_.write_latency_cycles_,
            p.write_latency_));
  check(key("chip.attention.macs_per_cycle", a.macs_per_cycle_, p.macs_));
  check(key("chip.attention.softmax_elements_per_cycle", a.softmax_elements_per_cycle_, p.exps_));
  check(key("chip.attention.pipeline_depth + exp_latency",
            a.pipeline_depth_cycles_ + a.exp_latency_cycles_, p.depth_));
  check(key("chip.attention.query_tile", a.query_tile_, 1));
  check(a.kv_sram_.ports_per_bank_ >= 2 ? ""
                                        : "chip.attention.kv_sram.ports_per_bank is 1, the unit's 2");
  check(a.kv_sram_.shared_across_layers_ ? "chip.attention.kv_sram.bank_scope is die, the unit's layer"
                                         : "");
  check(key("KV words per position (2 x ceil(kv row bytes / bank_width))",
            r.mapping_->kv_words_per_position_, 2));
  return why;
}

template <typename V>
RtlAttentionProcesses build(const RtlAttentionRequest& r, const UnitParams& p) {
  auto unit = std::make_shared<Unit>((r.attention_instance_ + "_unit").c_str(), r, p);
  unit->bind<V>();
  auto kv = std::make_unique<Face>(r.kv_write_instance_.c_str(), *r.clock_, r.chunk_elements_,
                                   "kv_write", r.layer_, unit);
  auto at = std::make_unique<Face>(r.attention_instance_.c_str(), *r.clock_, r.chunk_elements_,
                                   "attention", r.layer_, unit);
  unit->kv_ = kv.get();
  unit->at_ = at.get();
  RtlAttentionProcesses out;
  out.kv_write_ = std::move(kv);
  out.attention_ = std::move(at);
  return out;
}

// The units this build verilates (rtl/CMakeLists.txt hw_attention_unit), first match serves.
struct BuiltUnit {
  const UnitParams* params_;
  RtlAttentionProcesses (*build_)(const RtlAttentionRequest& r, const UnitParams& p);
};
const BuiltUnit kUnits[] = {
    {&kTinyMha, &build<Vhw_attention_unit_tiny_mha>},
    {&kTinyGqaS, &build<Vhw_attention_unit_tiny_gqa_s>},
    {&kTinyTrainedA, &build<Vhw_attention_unit_tiny_trained_a>},
    {&kGqaSlow, &build<Vhw_attention_unit_gqa_slow>},
};

const BuiltUnit* unit_for(const RtlAttentionRequest& r) {
  for (const BuiltUnit& u : kUnits) {
    if (mismatch(r, *u.params_).empty()) return &u;
  }
  return nullptr;
}

}  // namespace

std::string attention_units_available() {
  std::string s;
  for (const BuiltUnit& u : kUnits) s += (s.empty() ? "" : "; ") + describe(*u.params_);
  return s;
}

RtlAttentionProcesses make_rtl_attention(const RtlAttentionRequest& r) {
  if (r.functional_) {
    const GoldenModel& g = r.functional_->golden();
    const NumericsProfile& n = g.profile();
    if (n.kv_bits() != 8 || n.activation_bits_ != 8 || n.activation_frac_bits_ != kFracBits ||
        n.exp2_table_bits_ != kTableBits) {
      throw make_error("RTL attention unit", "the Verilated unit is built for int8 KV and "
                                             "activations, Q.16 and a 2^7-entry EXP2 table; "
                                             "numerics " + n.name_ + " differ",
                       "a numerics profile with kv bits 8 (w4a8, w8a8)");
    }
  }
  if (const BuiltUnit* u = unit_for(r)) return u->build_(r, *u->params_);
  // Name the chip key that differs from a unit built for this model's shape, if there is one.
  std::string why = mismatch(r, *kUnits[0].params_);
  for (const BuiltUnit& u : kUnits) {
    const std::string m = mismatch(r, *u.params_);
    if (m.rfind("model ", 0) != 0) {
      why = m;
      break;
    }
  }
  throw make_error("RTL attention unit, layer " + std::to_string(r.layer_),
                   "no Verilated attention unit for this model and chip (" + why + ")",
                   "this build has " + attention_units_available() +
                       "; set the chip keys to a unit's values (docs/rtl.md \"Attention unit\") "
                       "or add a verilate() of rtl/attention_unit.sv with your parameters to "
                       "rtl/CMakeLists.txt and a row here");
}

RtlAttentionProcesses make_rtl_attention_if_built(const RtlAttentionRequest& r) {
  if (!unit_for(r)) return {};
  return make_rtl_attention(r);
}

void register_rtl_attention_cosim() { sim::set_rtl_attention_factory(&make_rtl_attention_if_built); }

}  // namespace hw::rtl
