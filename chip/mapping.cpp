// The mapping formulas of chip/mapping.h: placement of layers on dies with the ROM fit check,
// KV geometry and capacity, per-block service and latency cycles, pipeline stage time, prefill
// and the activity counts the power model turns into energy. Comments in mapping.h state every
// rule; this file is their only implementation.
#include "chip/mapping.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <sstream>

#include "common/error.h"

namespace hw {
namespace {

// Whole cycles covering `x` cycles of real time; the tolerance keeps 3.0000000000004 at 3.
int64_t ceil_cycles(double x) {
  if (x <= 0) return 0;
  return static_cast<int64_t>(std::ceil(x * (1.0 - 1e-12)));
}

BlockTiming block(const std::string& name, int64_t service, int64_t extra_latency) {
  return {name, service, service + extra_latency, StreamBlock{}};
}

BlockTiming norm_block(const std::string& name, int64_t n, const VectorUnitConfig& u) {
  return block(name, 2 * ceil_div(n, u.elements_per_cycle_), u.pipeline_depth_cycles_);
}

// SwiGLU activation: takes gate and up (2f), then emits the f quantized values.
BlockTiming activation_block(const std::string& name, int64_t f, const VectorUnitConfig& u) {
  return block(name, ceil_div(2 * f, u.elements_per_cycle_) + ceil_div(f, u.elements_per_cycle_),
               u.pipeline_depth_cycles_);
}

BlockTiming vector_block(const std::string& name, int64_t n, const VectorUnitConfig& u) {
  return block(name, ceil_div(n, u.elements_per_cycle_), u.pipeline_depth_cycles_);
}

// A C-input, R-output matrix on the block's structure (chip_config.h): fold = ceil(C/Li) *
// output_mux compute cycles, then tree registers, accumulate and requant stages and ceil(R/Lo)
// output cycles. Fills the derived fold and depth into `m` (the mapping's copy of the chip).
BlockTiming matrix_block(const std::string& name, MatrixBlockConfig& m, int64_t inputs,
                         int64_t outputs) {
  m.fold_cycles_ = ceil_div(inputs, m.input_lanes_) * m.output_mux_;
  const int64_t drain = ceil_div(outputs, m.output_lanes_);
  m.pipeline_depth_cycles_ =
      m.tree_registers() + m.accumulate_stages_ + m.requant_stages_ + drain;
  return {name, std::max(m.fold_cycles_, drain), m.fold_cycles_ + m.pipeline_depth_cycles_,
          StreamBlock{}};
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// "211.7 Gbit", "427.3 kbit": the message stays readable for tiny test models too.
std::string gbit(double bits) {
  if (bits >= 1e9) return fmt("%.1f", bits / 1e9) + " Gbit";
  if (bits >= 1e6) return fmt("%.1f", bits / 1e6) + " Mbit";
  if (bits >= 1e3) return fmt("%.1f", bits / 1e3) + " kbit";
  return fmt("%.0f", bits) + " bit";
}

struct Placement {
  std::vector<int64_t> layers_;
  std::vector<double> bits_;
};

// Per-die ROM need for a given split: layers, plus the embedding table on die 0 and the final
// norm + lm_head on the last die (tied embeddings need both copies: lookup and MAC fabric).
Placement place(const ModelConfig& m, const std::vector<int64_t>& layers, double wb) {
  Placement p;
  p.layers_ = layers;
  const double layer_bits = double(m.params_per_layer()) * wb;
  const double embd_bits = double(m.vocab_) * double(m.d_model_) * wb;
  const double head_bits = (double(m.d_model_) + double(m.vocab_) * double(m.d_model_)) * wb;
  for (size_t i = 0; i < layers.size(); ++i) {
    double b = double(layers[i]) * layer_bits;
    if (i == 0) b += embd_bits;
    if (i + 1 == layers.size()) b += head_bits;
    p.bits_.push_back(b);
  }
  return p;
}

std::vector<int64_t> balanced_split(int64_t n_layers, int64_t dies) {
  std::vector<int64_t> out(static_cast<size_t>(dies), n_layers / dies);
  for (int64_t i = 0; i < n_layers % dies; ++i) ++out[static_cast<size_t>(i)];
  return out;
}

bool fits(const Placement& p, int64_t capacity_bits) {
  for (double b : p.bits_) {
    if (b > double(capacity_bits)) return false;
  }
  return true;
}

std::string layer_list(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

int64_t StreamBlock::in_chunks() const { return ceil_div(inputs_, chunk_); }
int64_t StreamBlock::out_chunks() const { return ceil_div(outputs_, chunk_); }

namespace {

// Outputs made visible together at `ready`, leaving at output_lanes per cycle in chunks: a
// chunk of w elements needs max(1, ceil(w / Lo)) cycles of output credit (the credit is capped
// at one chunk, or Lo when Lo is wider). Returns the write cycles of the first and last chunk.
std::pair<int64_t, int64_t> emit_burst(int64_t ready, int64_t elements, int64_t lanes,
                                       int64_t chunk) {
  if (elements <= 0) return {ready, ready};
  const int64_t full = elements / chunk, rest = elements % chunk;
  const int64_t per_full = std::max<int64_t>(1, ceil_div(chunk, lanes));
  const int64_t per_rest = rest > 0 ? std::max<int64_t>(1, ceil_div(rest, lanes)) : 0;
  const int64_t first = ready + (full > 0 ? per_full : per_rest) - 1;
  return {first, ready + full * per_full + per_rest - 1};
}

// Step (0-based) of a block taking `per_step` input elements per step that first needs chunk j.
int64_t step_of_chunk(int64_t j, int64_t chunk, int64_t per_step) {
  return (j * chunk) / std::max<int64_t>(1, per_step);
}

}  // namespace

int64_t stream_chunk_cycle(int64_t first, int64_t last, int64_t chunks, int64_t j) {
  if (chunks <= 1) return last;
  return first + (j * (last - first)) / (chunks - 1);
}

namespace {

// Pass 2 of a block that holds its vector (kNorm: norms, activation) as the cycle-level block
// runs it (sim/cycle_block.cpp CycleBlock): one step per cycle producing `lanes` outputs (the
// last the rest), visible depth + 1 cycles after the step; at most one chunk leaves per cycle
// (consumer ready); a step waits while the outputs not yet left (in the pipeline registers or
// the output buffer) and its own would exceed the buffer, max(2N, lanes, largest step + N).
// Cycles from pass 1's last step to pass 2's last step and to the first and last output chunk.
struct EmitPass {
  int64_t done_ = 0, first_ = 0, last_ = 0;
};
// Its output buffer in elements (cycle_chip.cpp two_pass_spec; the CycleBlock constructor raises
// it to hold the largest step beside a chunk).
int64_t emit_buffer(const StreamBlock& b) {
  const int64_t N = b.chunk_, lam = b.lanes_, n2 = ceil_div(b.emit_work(), lam);
  const int64_t rest = b.outputs_ - (n2 - 1) * lam;
  return std::max({2 * N, lam, std::max(lam, rest) + N});
}

EmitPass emit_pass(const StreamBlock& b) {
  const int64_t N = b.chunk_, lam = b.lanes_, n2 = ceil_div(b.emit_work(), lam);
  const int64_t rest = b.outputs_ - (n2 - 1) * lam;
  const int64_t buffer = emit_buffer(b);
  std::deque<std::pair<int64_t, int64_t>> runs;  // (visible from, elements)
  int64_t pending = 0, emitted = 0, k = 0;
  EmitPass e;
  for (int64_t t = 1; emitted < b.outputs_; ++t) {
    const int64_t want = std::min(N, b.outputs_ - emitted);
    int64_t ready = 0;
    for (const auto& r : runs) {
      if (r.first > t) break;
      ready += r.second;
      if (ready >= want) break;
    }
    if (ready >= want) {
      if (emitted == 0) e.first_ = t;
      emitted += want;
      pending -= want;
      for (int64_t left = want; left > 0;) {
        const int64_t take = std::min(left, runs.front().second);
        runs.front().second -= take;
        left -= take;
        if (runs.front().second == 0) runs.pop_front();
      }
      if (emitted >= b.outputs_) e.last_ = t;
    }
    if (k < n2) {
      const int64_t o = k + 1 < n2 ? lam : rest;
      if (pending + o <= buffer) {
        runs.emplace_back(t + 1 + b.depth_cycles_, o);
        pending += o;
        if (++k == n2) e.done_ = t;
      }
    }
  }
  return e;
}

}  // namespace

FinalStepWait stream_final_step_wait(const StreamBlock& b) {
  FinalStepWait w;
  if (b.kind_ != StreamKind::kNorm) return w;
  // Step k goes once its outputs fit beside those not yet left: the first P_k - buffer elements
  // (P_k: outputs through step k) must have left, as whole chunks.
  const int64_t N = b.chunk_, lam = b.lanes_, n2 = ceil_div(b.emit_work(), lam);
  const int64_t buffer = emit_buffer(b);
  auto chunks = [&](int64_t k) {
    const int64_t produced = k == n2 ? b.outputs_ : k * lam;
    return ceil_div(produced - buffer, N);
  };
  w.chunks_ = chunks(n2);
  while (w.chunks_ > 0 && w.steps_ + 1 < n2 && chunks(n2 - w.steps_ - 1) == w.chunks_) ++w.steps_;
  return w;
}

int64_t stream_pace(const StreamBlock& b, int64_t j, bool drop) {
  const int64_t N = b.chunk_;
  if (drop) return j;
  switch (b.kind_) {
    case StreamKind::kMatrix: {
      const int64_t k = step_of_chunk(j, N, b.lanes_);
      return b.lanes_ <= N ? k * b.step_cycles_ : j + k * (b.step_cycles_ - 1);
    }
    case StreamKind::kNorm: {
      const int64_t n1 = ceil_div(b.work_, b.lanes_), n2 = ceil_div(b.emit_work(), b.lanes_);
      const int64_t m_w = ceil_div(b.work_, N);
      if (j < m_w) return std::max(j, step_of_chunk(j, N, b.lanes_));
      return n1 + n2 - 1 + (j - m_w);
    }
    case StreamKind::kVector:
    case StreamKind::kSampler: {
      const int64_t e = b.lanes_ * b.inputs_per_lane_;
      const int64_t n1 = ceil_div(b.work_, b.lanes_);
      const int64_t m_pre = n1 >= 2 ? ceil_div(std::min(b.inputs_, e * (n1 - 1)), N) : 0;
      if (j < m_pre) return std::max(j, step_of_chunk(j, N, e));
      const int64_t prev = n1 >= 2 ? std::max(n1 - 2, m_pre - 1) : -1;
      return prev + 1 + (j - m_pre);
    }
    case StreamKind::kKvWrite:
    case StreamKind::kAttention:
      return j;
    default:
      return 0;
  }
}

StreamTimes stream_step(const StreamBlock& b, const StreamInput& in) {
  const int64_t N = b.chunk_;
  const int64_t m = std::max<int64_t>(1, b.in_chunks());
  // Input chunk j is readable the cycle after its write; chunks spread evenly over the span.
  const int64_t a = in.first_in_ + 1, bb = std::max(in.last_in_, in.first_in_) + 1;
  auto readable = [&](int64_t j) { return m <= 1 ? bb : a + (j * (bb - a)) / (m - 1); };
  StreamTimes t;
  t.start_ = std::max(a, in.free_);
  const int64_t s = t.start_;
  auto taken = [&](int64_t j) { return std::max(s + stream_pace(b, j, in.drop_), readable(j)); };
  if (in.drop_) {
    t.done_ = std::max(s + m - 1, bb);
    t.free_ = t.done_ + 1;
    t.first_ = t.last_ = t.done_;
    return t;
  }
  switch (b.kind_) {
    case StreamKind::kNone:
      t.done_ = t.first_ = in.first_in_;
      t.last_ = in.last_in_;
      t.free_ = in.free_;
      return t;
    case StreamKind::kEmbedding: {
      t.done_ = std::max(s, in.out_clear_);
      const auto e = emit_burst(t.done_ + b.step_cycles_ + b.depth_cycles_, b.outputs_,
                                b.output_lanes_, N);
      t.first_ = e.first;
      t.last_ = e.second;
      t.free_ = t.done_ + b.step_cycles_;
      return t;
    }
    case StreamKind::kStep: {
      t.done_ = s;
      t.first_ = t.last_ = s + b.step_cycles_ + b.depth_cycles_;
      t.free_ = s + b.step_cycles_;
      return t;
    }
    case StreamKind::kMatrix: {
      const int64_t n = ceil_div(b.inputs_, b.lanes_), mux = b.step_cycles_;
      const int64_t ahead =
          b.lanes_ <= N ? (n - 1) * mux : std::max((n - 1) * mux, m - 1 + (n - 1) * (mux - 1));
      const int64_t tail =
          b.lanes_ <= N ? (n - 1 - step_of_chunk(m - 1, N, b.lanes_)) * mux : 0;
      // The output registers take the next vector once the previous one has left them: its
      // outputs follow the previous token's, the steps do not wait (sim/cycle_block.h).
      t.done_ = std::max(s + ahead, taken(m - 1) + tail);
      const auto e = emit_burst(t.done_ + mux + b.depth_cycles_, b.outputs_, b.output_lanes_, N);
      const int64_t shift = std::max<int64_t>(0, in.out_clear_ + 1 - e.first);
      t.first_ = e.first + shift;
      t.last_ = e.second + shift;
      t.free_ = t.done_ + mux;
      return t;
    }
    case StreamKind::kNorm: {
      const int64_t lam = b.lanes_, n1 = ceil_div(b.work_, lam), m_w = ceil_div(b.work_, N);
      const int64_t n2 = ceil_div(b.emit_work(), lam);
      const int64_t k_w = step_of_chunk(m_w - 1, N, lam);
      const int64_t p1_last = std::max(s + std::max(n1 - 1, m_w - 1),
                                       taken(m_w - 1) + std::max<int64_t>(0, n1 - 1 - k_w));
      const int64_t extra = m - m_w;
      if (extra == 0) {
        const EmitPass e = emit_pass(b);
        t.done_ = p1_last + e.done_;
        t.first_ = p1_last + e.first_;
        t.last_ = p1_last + e.last_;
        t.free_ = t.done_ + 1;
        return t;
      }
      t.done_ = std::max(p1_last + n2 + extra - 1, bb);
      const int64_t kf = ceil_div(std::min(N, b.outputs_), lam);
      t.first_ = kf <= n2 - 1 ? p1_last + kf + 1 + b.depth_cycles_
                              : t.done_ + 1 + b.depth_cycles_;
      const int64_t before = ((n2 - 1) * lam) % N;
      const int64_t rest = b.outputs_ - (n2 - 1) * lam;
      t.last_ = emit_burst(t.done_ + 1 + b.depth_cycles_, before + rest, N, N).second;
      if (lam > N) t.last_ = std::max(t.last_, t.first_ + b.out_chunks() - 1);
      t.free_ = t.done_ + 1;
      return t;
    }
    case StreamKind::kVector:
    case StreamKind::kSampler: {
      const int64_t lam = b.lanes_, e = lam * b.inputs_per_lane_, n1 = ceil_div(b.work_, lam);
      const int64_t m_pre = n1 >= 2 ? ceil_div(std::min(b.inputs_, e * (n1 - 1)), N) : 0;
      int64_t prev = s - 1;  // cycle of step n1 - 2
      if (n1 >= 2) {
        prev = std::max(s + std::max(n1 - 2, m_pre - 1),
                        taken(m_pre - 1) +
                            std::max<int64_t>(0, n1 - 2 - step_of_chunk(m_pre - 1, N, e)));
      }
      const int64_t extra = m - m_pre;
      t.done_ = std::max(prev + std::max<int64_t>(1, extra), bb);
      t.free_ = t.done_ + 1;
      if (b.kind_ == StreamKind::kSampler) {
        t.first_ = t.last_ = t.done_ + 1 + b.depth_cycles_;
        return t;
      }
      const int64_t kf = ceil_div(std::min(N, b.outputs_), lam);
      if (kf - 1 <= n1 - 2) {
        const int64_t need = ceil_div(std::min(b.inputs_, e * kf), N);
        t.first_ = std::max(s + std::max(kf - 1, need - 1), taken(need - 1)) + 1 + b.depth_cycles_;
      } else {
        t.first_ = t.done_ + 1 + b.depth_cycles_;
      }
      const int64_t before = ((n1 - 1) * lam) % N;
      const int64_t rest = b.outputs_ - (n1 - 1) * lam;
      t.last_ = emit_burst(t.done_ + 1 + b.depth_cycles_, before + rest, N, N).second;
      if (lam > N) t.last_ = std::max(t.last_, t.first_ + b.out_chunks() - 1);
      return t;
    }
    case StreamKind::kKvWrite: {
      const int64_t m_q = std::min(m, ceil_div(b.outputs_, N));
      t.first_ = taken(0) + 1;
      t.last_ = taken(m_q - 1) + 1;
      const int64_t wp = b.kv_words_per_position_;
      const int64_t last_chunk_words = std::min(wp, ceil_div(N, b.kv_elements_per_word_));
      int64_t last_write = taken(m - 1) + ceil_div(last_chunk_words, b.kv_banks_);
      if (m_q < m) last_write = std::max(last_write, taken(m_q) + ceil_div(wp, b.kv_banks_));
      t.done_ = last_write - 1;
      t.free_ = last_write;
      t.kv_ready_ = last_write + b.kv_write_latency_;
      return t;
    }
    case StreamKind::kAttention: {
      const int64_t L = std::max<int64_t>(1, in.context_);
      // SRAM: the sweep starts with the whole q and reads the token's own position once its K
      // and V are written. DRAM: the sweep's one request is posted once they are in the DRAM.
      const bool dram = b.kv_words_per_position_ == 0;
      int64_t sweep_start = std::max(taken(m - 1), in.out_clear_);
      if (dram) sweep_start = std::max(sweep_start, in.kv_ready_);
      const int64_t own = dram ? 0 : ceil_div(b.kv_words_per_position_, b.kv_read_words_per_cycle_);
      const int64_t last_issue =
          dram ? sweep_start + in.sweep_cycles_ - 1
               : std::max(sweep_start + in.sweep_cycles_ - 1, in.kv_ready_ + own - 1);
      const int64_t compute =
          std::max(ceil_div((L - 1) * b.macs_per_position_, b.macs_per_cycle_),
                   ceil_div((L - 1) * b.exps_per_position_, b.exps_per_cycle_));
      t.done_ = std::max(last_issue + b.kv_read_latency_,
                         sweep_start + b.kv_read_latency_ + compute - 1);
      const auto e = emit_burst(t.done_ + 1 + b.depth_cycles_, b.outputs_, N, N);
      t.first_ = e.first;
      t.last_ = e.second;
      t.free_ = t.done_ + 1;
      return t;
    }
  }
  return t;
}

StreamPlan make_stream_plan(const StreamBlock& b, int64_t channel_depth) {
  StreamPlan p;
  const int64_t N = b.chunk_;
  const int64_t m = std::max<int64_t>(1, b.in_chunks());
  p.kind_ = b.kind_;
  p.m_ = m;
  p.m_out_ = b.out_chunks();
  p.holds_output_ = b.holds_output_;
  if (m - channel_depth - 2 >= 0) p.bp_last_pace_ = stream_pace(b, m - channel_depth - 2);
  if (m - channel_depth - 3 >= 0) p.bp_clear_pace_ = stream_pace(b, m - channel_depth - 3);
  auto set_done_chunk = [&](int64_t j, int64_t tail) {
    p.done_chunk_ = j;
    p.done_chunk_pace_ = stream_pace(b, j);
    p.done_tail_ = tail;
  };
  auto set_first_chunk = [&](int64_t j, int64_t tail) {
    p.first_chunk_ = j;
    p.first_chunk_pace_ = stream_pace(b, j);
    p.first_tail_ = tail;
  };
  switch (b.kind_) {
    case StreamKind::kNone:
      break;
    case StreamKind::kEmbedding: {
      const auto e = emit_burst(b.step_cycles_ + b.depth_cycles_, b.outputs_, b.output_lanes_, N);
      p.first_done_ = e.first;
      p.last_done_ = e.second;
      p.free_done_ = b.step_cycles_;
      break;
    }
    case StreamKind::kStep:
      p.holds_output_ = false;
      p.first_done_ = p.last_done_ = b.step_cycles_ + b.depth_cycles_;
      p.free_done_ = b.step_cycles_;
      break;
    case StreamKind::kMatrix: {
      const int64_t n = ceil_div(b.inputs_, b.lanes_), mux = b.step_cycles_;
      p.done_ahead_ =
          b.lanes_ <= N ? (n - 1) * mux : std::max((n - 1) * mux, m - 1 + (n - 1) * (mux - 1));
      set_done_chunk(m - 1,
                     b.lanes_ <= N ? (n - 1 - step_of_chunk(m - 1, N, b.lanes_)) * mux : 0);
      const auto e = emit_burst(mux + b.depth_cycles_, b.outputs_, b.output_lanes_, N);
      p.first_done_ = e.first;
      p.last_done_ = e.second;
      p.free_done_ = mux;
      p.holds_output_ = false;
      p.outputs_follow_ = true;
      break;
    }
    case StreamKind::kNorm: {
      const int64_t lam = b.lanes_, n1 = ceil_div(b.work_, lam), m_w = ceil_div(b.work_, N);
      const int64_t n2 = ceil_div(b.emit_work(), lam);
      const int64_t ktail = std::max<int64_t>(0, n1 - 1 - step_of_chunk(m_w - 1, N, lam));
      const int64_t p1_ahead = std::max(n1 - 1, m_w - 1);
      const int64_t extra = m - m_w;
      if (extra == 0) {
        const EmitPass e = emit_pass(b);
        p.done_ahead_ = p1_ahead + e.done_;
        set_done_chunk(m_w - 1, ktail + e.done_);
        p.first_ahead_ = p1_ahead + e.first_;
        set_first_chunk(m_w - 1, ktail + e.first_);
        p.last_done_ = e.last_ - e.done_;
        p.free_done_ = 1;
        break;
      }
      const int64_t x = std::max<int64_t>(0, extra - 1);
      p.done_ahead_ = p1_ahead + n2 + x;
      set_done_chunk(m_w - 1, ktail + n2 + x);
      if (extra > 0) p.done_last_ = 0;
      const int64_t kf = ceil_div(std::min(N, b.outputs_), lam);
      if (kf <= n2 - 1) {
        p.first_ahead_ = p1_ahead + kf + 1 + b.depth_cycles_;
        set_first_chunk(m_w - 1, ktail + kf + 1 + b.depth_cycles_);
      } else {
        p.first_done_ = 1 + b.depth_cycles_;
      }
      const int64_t before = ((n2 - 1) * lam) % N;
      const int64_t rest = b.outputs_ - (n2 - 1) * lam;
      p.last_done_ = emit_burst(1 + b.depth_cycles_, before + rest, N, N).second;
      p.emission_limited_ = lam > N;
      p.free_done_ = 1;
      break;
    }
    case StreamKind::kVector:
    case StreamKind::kSampler: {
      const int64_t lam = b.lanes_, e = lam * b.inputs_per_lane_, n1 = ceil_div(b.work_, lam);
      const int64_t m_pre = n1 >= 2 ? ceil_div(std::min(b.inputs_, e * (n1 - 1)), N) : 0;
      const int64_t x = std::max<int64_t>(1, m - m_pre);
      if (n1 >= 2) {
        p.done_ahead_ = std::max(n1 - 2, m_pre - 1) + x;
        set_done_chunk(m_pre - 1,
                       std::max<int64_t>(0, n1 - 2 - step_of_chunk(m_pre - 1, N, e)) + x);
      } else {
        p.done_ahead_ = x - 1;
      }
      p.done_last_ = 0;
      p.free_done_ = 1;
      if (b.kind_ == StreamKind::kSampler) {
        p.first_done_ = p.last_done_ = 1 + b.depth_cycles_;
        break;
      }
      const int64_t kf = ceil_div(std::min(N, b.outputs_), lam);
      if (kf - 1 <= n1 - 2) {
        const int64_t need = ceil_div(std::min(b.inputs_, e * kf), N);
        p.first_ahead_ = std::max(kf - 1, need - 1) + 1 + b.depth_cycles_;
        set_first_chunk(need - 1, 1 + b.depth_cycles_);
      } else {
        p.first_done_ = 1 + b.depth_cycles_;
      }
      const int64_t before = ((n1 - 1) * lam) % N;
      const int64_t rest = b.outputs_ - (n1 - 1) * lam;
      p.last_done_ = emit_burst(1 + b.depth_cycles_, before + rest, N, N).second;
      p.emission_limited_ = lam > N;
      break;
    }
    case StreamKind::kKvWrite: {
      p.m_q_ = std::min(m, ceil_div(b.outputs_, N));
      const int64_t wp = b.kv_words_per_position_;
      p.kv_last_chunk_cycles_ =
          ceil_div(std::min(wp, ceil_div(N, b.kv_elements_per_word_)), b.kv_banks_);
      p.kv_all_words_cycles_ = ceil_div(wp, b.kv_banks_);
      p.kv_write_latency_ = b.kv_write_latency_;
      break;
    }
    case StreamKind::kAttention: {
      p.dram_ = b.kv_words_per_position_ == 0;
      p.own_read_cycles_ =
          p.dram_ ? 0 : ceil_div(b.kv_words_per_position_, b.kv_read_words_per_cycle_);
      p.read_latency_ = b.kv_read_latency_;
      const auto e = emit_burst(1 + b.depth_cycles_, b.outputs_, N, N);
      p.out_first_ = e.first;
      p.out_last_ = e.second;
      p.macs_per_position_ = b.macs_per_position_;
      p.macs_per_cycle_ = b.macs_per_cycle_;
      p.exps_per_position_ = b.exps_per_position_;
      p.exps_per_cycle_ = b.exps_per_cycle_;
      break;
    }
  }
  return p;
}

ActivityCounts& ActivityCounts::operator+=(const ActivityCounts& o) {
  qkv_macs_ += o.qkv_macs_;
  o_proj_macs_ += o.o_proj_macs_;
  ffn_macs_ += o.ffn_macs_;
  lm_head_macs_ += o.lm_head_macs_;
  weight_macs_ += o.weight_macs_;
  rom_bits_read_ += o.rom_bits_read_;
  attention_macs_ += o.attention_macs_;
  softmax_exps_ += o.softmax_exps_;
  norm_elements_ += o.norm_elements_;
  rope_elements_ += o.rope_elements_;
  activation_elements_ += o.activation_elements_;
  residual_adds_ += o.residual_adds_;
  sampler_elements_ += o.sampler_elements_;
  kv_sram_read_bits_ += o.kv_sram_read_bits_;
  kv_sram_write_bits_ += o.kv_sram_write_bits_;
  kv_dram_read_bits_ += o.kv_dram_read_bits_;
  kv_dram_write_bits_ += o.kv_dram_write_bits_;
  buffer_bits_ += o.buffer_bits_;
  link_bits_ += o.link_bits_;
  tokens_ += o.tokens_;
  return *this;
}

nlohmann::json ActivityCounts::to_json() const {
  return {{"qkv_macs", qkv_macs_},
          {"o_proj_macs", o_proj_macs_},
          {"ffn_macs", ffn_macs_},
          {"lm_head_macs", lm_head_macs_},
          {"weight_macs", weight_macs_},
          {"rom_bits_read", rom_bits_read_},
          {"attention_macs", attention_macs_},
          {"softmax_exps", softmax_exps_},
          {"norm_elements", norm_elements_},
          {"rope_elements", rope_elements_},
          {"activation_elements", activation_elements_},
          {"residual_adds", residual_adds_},
          {"sampler_elements", sampler_elements_},
          {"kv_sram_read_bits", kv_sram_read_bits_},
          {"kv_sram_write_bits", kv_sram_write_bits_},
          {"kv_dram_read_bits", kv_dram_read_bits_},
          {"kv_dram_write_bits", kv_dram_write_bits_},
          {"buffer_bits", buffer_bits_},
          {"link_bits", link_bits_},
          {"tokens", tokens_}};
}

int64_t ChipMapping::kv_bank_of_word(int64_t word_index) const {
  return word_index % chip_.attention_.kv_sram_.banks_;
}

BlockTiming ChipMapping::attention(int64_t context_tokens, int64_t shared_prefix_tokens,
                                   bool write_conflict, int64_t queries_per_sweep) const {
  if (context_tokens < 1) {
    throw make_error("attention", "context must be at least 1 token, got " +
                                      std::to_string(context_tokens));
  }
  if (shared_prefix_tokens < 0 || shared_prefix_tokens >= context_tokens) {
    throw make_error("attention", "shared prefix " + std::to_string(shared_prefix_tokens) +
                                      " must be below the context " +
                                      std::to_string(context_tokens));
  }
  const AttentionConfig& a = chip_.attention_;
  const int64_t L = context_tokens;
  const int64_t p = shared_prefix_tokens;
  const int64_t macs = ceil_div(L * 2 * model_.q_dim(), a.macs_per_cycle_);
  const int64_t softmax = ceil_div(L * model_.n_heads_, a.softmax_elements_per_cycle_);
  int64_t sweep = 0;
  int64_t conflict = 0;
  if (a.kv_memory_ == KvMemory::kSram) {
    const int64_t B = a.kv_sram_.banks_;
    const int64_t per_cycle = B * kv_read_ports_ * std::max<int64_t>(1, queries_per_sweep);
    sweep = ceil_div(p * kv_words_per_position_, per_cycle) +
            ceil_div((L - p) * kv_words_per_position_, per_cycle);
    if (a.kv_sram_.ports_per_bank_ == 1 && write_conflict) {
      // One KV write wave (ceil(Wp/B) cycles of writes, one per bank per cycle) takes the single
      // port of the banks it writes; the in-order sweep loses those cycles.
      conflict = ceil_div(kv_words_per_position_, B);
    }
  } else {
    const double rate = kv_dram_bytes_per_cycle_ * double(std::max<int64_t>(1, queries_per_sweep));
    sweep = ceil_cycles(double(p * kv_bytes_per_position_layer_) / rate) +
            ceil_cycles(double((L - p) * kv_bytes_per_position_layer_) / rate);
  }
  const int64_t service = std::max({sweep, macs, softmax}) + conflict;
  return {"attention", service, service + attention_extra_latency_cycles_, attention_stream_};
}

std::vector<BlockTiming> ChipMapping::layer_blocks(int64_t context_tokens,
                                                   int64_t shared_prefix_tokens,
                                                   bool write_conflict,
                                                   int64_t queries_per_sweep) const {
  std::vector<BlockTiming> out = {attn_norm_, qkv_};
  if (model_.qk_norm_) out.push_back(qk_norm_);
  out.push_back(rope_);
  out.push_back(kv_write_);
  out.push_back(attention(context_tokens, shared_prefix_tokens, write_conflict, queries_per_sweep));
  for (const BlockTiming* b : {&o_proj_, &ffn_norm_, &ffn_gate_up_, &activation_, &ffn_down_}) {
    out.push_back(*b);
  }
  return out;
}

int64_t ChipMapping::layer_latency_cycles(int64_t context_tokens, int64_t shared_prefix_tokens,
                                          bool write_conflict) const {
  int64_t t = 0;
  for (const auto& b : layer_blocks(context_tokens, shared_prefix_tokens, write_conflict)) {
    t += b.latency_cycles_;
  }
  return t;
}

int64_t ChipMapping::token_latency_cycles(int64_t context_tokens, int64_t shared_prefix_tokens,
                                          bool write_conflict) const {
  return embedding_.latency_cycles_ +
         model_.n_layers_ *
             layer_latency_cycles(context_tokens, shared_prefix_tokens, write_conflict) +
         final_norm_.latency_cycles_ + lm_head_.latency_cycles_ + sampler_.latency_cycles_ +
         (dies_used_ - 1) * link_forward_.latency_cycles_ + link_return_.latency_cycles_;
}

double ChipMapping::token_latency_s(int64_t context_tokens, int64_t shared_prefix_tokens,
                                    bool write_conflict) const {
  return double(token_latency_cycles(context_tokens, shared_prefix_tokens, write_conflict)) /
         chip_.clock_hz_;
}

namespace {

// Largest service time; the first one wins ties so the report is stable.
void take_max(BlockTiming& best, const BlockTiming& b) {
  if (b.service_cycles_ > best.service_cycles_) best = b;
}

}  // namespace

BlockTiming ChipMapping::bottleneck(int64_t context_tokens, int64_t shared_prefix_tokens,
                                    bool write_conflict) const {
  BlockTiming best = embedding_;
  for (const auto& b : layer_blocks(context_tokens, shared_prefix_tokens, write_conflict)) {
    take_max(best, b);
  }
  take_max(best, final_norm_);
  take_max(best, lm_head_);
  take_max(best, sampler_);
  take_max(best, link_forward_);
  take_max(best, link_return_);
  if (chip_.attention_.kv_memory_ == KvMemory::kDram) {
    int64_t max_layers = 0;
    for (const auto& d : dies_) max_layers = std::max(max_layers, d.layers_);
    const double bytes = double(max_layers) * double(context_tokens + 1) *
                         double(kv_bytes_per_position_layer_);
    take_max(best, {"kv_dram_bandwidth", ceil_cycles(bytes / kv_dram_bytes_per_cycle_), 0,
                     StreamBlock{}});
  }
  return best;
}

int64_t ChipMapping::stage_service_cycles(int64_t context_tokens, int64_t shared_prefix_tokens,
                                          bool write_conflict) const {
  return bottleneck(context_tokens, shared_prefix_tokens, write_conflict).service_cycles_;
}

int64_t ChipMapping::prefill_stage_cycles(int64_t context_tokens,
                                          int64_t shared_prefix_tokens) const {
  // Prefill query tiles (chip.attention.query_tile T) taken full: every KV sweep of the prompt
  // serves T queries, so a prompt position's share of the KV reads (per layer, and on the
  // shared DRAM for all its layers) is 1/T. The least KV traffic the tiles allow, so this
  // bounds the prefill from below where the reads are the bottleneck (docs/estimator.md).
  const int64_t tile = std::max<int64_t>(1, chip_.attention_.query_tile_);
  int64_t s = std::max(embedding_.service_cycles_, link_forward_.service_cycles_);
  for (const auto& b : layer_blocks(context_tokens, shared_prefix_tokens, true, tile)) {
    s = std::max(s, b.service_cycles_);
  }
  if (chip_.attention_.kv_memory_ == KvMemory::kDram) {
    int64_t max_layers = 0;
    for (const auto& d : dies_) max_layers = std::max(max_layers, d.layers_);
    const double bytes = double(max_layers) * double(context_tokens + 1) *
                         double(kv_bytes_per_position_layer_);
    s = std::max(s, ceil_cycles(bytes / (kv_dram_bytes_per_cycle_ * double(tile))));
  }
  return s;
}

int64_t ChipMapping::prefill_cycles(int64_t prompt_tokens, int64_t shared_prefix_tokens) const {
  if (prompt_tokens < 1 || shared_prefix_tokens < 0 || shared_prefix_tokens >= prompt_tokens) {
    throw make_error("prefill", "need 0 <= shared prefix (" +
                                    std::to_string(shared_prefix_tokens) + ") < prompt (" +
                                    std::to_string(prompt_tokens) + ")");
  }
  int64_t total = 0;
  for (int64_t i = shared_prefix_tokens; i + 1 < prompt_tokens; ++i) {
    total += prefill_stage_cycles(i + 1, shared_prefix_tokens);
  }
  return total + token_latency_cycles(prompt_tokens, shared_prefix_tokens, false);
}

double ChipMapping::prefill_s(int64_t prompt_tokens, int64_t shared_prefix_tokens) const {
  return double(prefill_cycles(prompt_tokens, shared_prefix_tokens)) / chip_.clock_hz_;
}

double ChipMapping::time_to_first_token_s(int64_t prompt_tokens,
                                          int64_t shared_prefix_tokens) const {
  return 2.0 * chip_.host_latency_s_ + prefill_s(prompt_tokens, shared_prefix_tokens);
}

double ChipMapping::decode_tokens_per_s(int64_t prompt_tokens, int64_t output_tokens) const {
  if (prompt_tokens < 1 || output_tokens < 1) {
    throw make_error("decode_tokens_per_s", "prompt and output must be at least 1 token");
  }
  int64_t cycles = 0;
  for (int64_t c = prompt_tokens; c < prompt_tokens + output_tokens; ++c) {
    cycles += token_latency_cycles(c, 0, false);
  }
  return double(output_tokens) * chip_.clock_hz_ / double(cycles);
}

double ChipMapping::aggregate_tokens_per_s(int64_t users, int64_t context_tokens,
                                           int64_t shared_prefix_tokens) const {
  if (users < 1) throw make_error("aggregate_tokens_per_s", "users must be at least 1");
  const int64_t resident = std::min(users, max_users(context_tokens, shared_prefix_tokens));
  if (resident < 1) return 0.0;
  const bool conflict = resident > 1;
  const double latency = token_latency_s(context_tokens, shared_prefix_tokens, conflict);
  const double stage =
      double(stage_service_cycles(context_tokens, shared_prefix_tokens, conflict)) /
      chip_.clock_hz_;
  return std::min(double(resident) / latency, 1.0 / stage);
}

int64_t ChipMapping::max_context_tokens(int64_t users, int64_t shared_prefix_tokens) const {
  if (users < 1) throw make_error("max_context_tokens", "users must be at least 1");
  if (shared_prefix_tokens < 0) throw make_error("max_context_tokens", "negative shared prefix");
  const int64_t avail = kv_positions_ - shared_prefix_tokens;
  if (avail < users) return 0;
  return std::min(shared_prefix_tokens + avail / users, model_.max_positions_);
}

int64_t ChipMapping::max_users(int64_t context_tokens, int64_t shared_prefix_tokens) const {
  if (shared_prefix_tokens < 0 || context_tokens <= shared_prefix_tokens) {
    throw make_error("max_users", "context (" + std::to_string(context_tokens) +
                                      ") must exceed the shared prefix (" +
                                      std::to_string(shared_prefix_tokens) + ")");
  }
  if (context_tokens > model_.max_positions_) return 0;
  const int64_t avail = kv_positions_ - shared_prefix_tokens;
  if (avail <= 0) return 0;
  return avail / (context_tokens - shared_prefix_tokens);
}

namespace {

// Vector widths entering each inter-block FIFO of one layer, in dataflow order, plus the
// residual stream held across attention and across the FFN.
int64_t layer_buffer_elements(const ModelConfig& m) {
  const int64_t d = m.d_model_, q = m.q_dim(), kv = m.kv_dim(), f = m.d_ff_;
  return d                 // -> attn_norm
         + d               // -> qkv
         + (q + 2 * kv)    // -> rope (and qk_norm)
         + 2 * kv          // -> kv_write
         + q               // -> attention
         + q               // -> o_proj
         + d               // -> ffn_norm
         + d               // -> ffn_gate_up
         + 2 * f           // -> activation
         + f               // -> ffn_down
         + 2 * d;          // residual copies around attention and FFN
}

}  // namespace

ActivityCounts ChipMapping::decode_activity(int64_t context_tokens,
                                            int64_t shared_prefix_tokens) const {
  // Validates L and p with the same messages as the timing functions.
  attention(context_tokens, shared_prefix_tokens, false);
  const ModelConfig& m = model_;
  const double N = double(m.n_layers_), d = double(m.d_model_), q = double(m.q_dim()),
               kv = double(m.kv_dim()), f = double(m.d_ff_), V = double(m.vocab_),
               L = double(context_tokens), ab = double(chip_.activation_bits_);
  ActivityCounts a;
  a.tokens_ = 1;
  a.qkv_macs_ = N * d * (q + 2 * kv);
  a.o_proj_macs_ = N * q * d;
  a.ffn_macs_ = N * 3 * f * d;
  a.lm_head_macs_ = V * d;
  a.weight_macs_ = a.qkv_macs_ + a.o_proj_macs_ + a.ffn_macs_ + a.lm_head_macs_;
  a.rom_bits_read_ = (a.weight_macs_ + d) * weight_bits_;
  a.attention_macs_ = N * L * 2 * q;
  a.softmax_exps_ = N * L * double(m.n_heads_);
  a.norm_elements_ = N * 2 * d + (m.qk_norm_ ? N * (q + kv) : 0.0) + d;
  a.rope_elements_ = N * (q + kv);
  a.activation_elements_ = N * f;
  a.residual_adds_ = N * 2 * d;
  a.sampler_elements_ = V;
  set_kv_read_bits(a, N * L);
  if (chip_.attention_.kv_memory_ == KvMemory::kSram) {
    const double word_bits = 8.0 * double(chip_.attention_.kv_sram_.bank_width_bytes_);
    a.kv_sram_write_bits_ = N * double(kv_words_per_position_) * word_bits;
  } else {
    a.kv_dram_write_bits_ = N * 8.0 * double(kv_bytes_per_position_layer_);
  }
  // Each FIFO vector is written once and read once; the head adds final norm, lm_head and
  // sampler inputs (the logits vector).
  a.buffer_bits_ = 2.0 * ab * (N * double(layer_buffer_elements(m)) + 2 * d + V);
  if (dies_used_ > 1) a.link_bits_ = double(dies_used_ - 1) * d * ab + 32.0;
  return a;
}

void ChipMapping::set_kv_read_bits(ActivityCounts& a, double position_reads) const {
  if (chip_.attention_.kv_memory_ == KvMemory::kSram) {
    const double word_bits = 8.0 * double(chip_.attention_.kv_sram_.bank_width_bytes_);
    a.kv_sram_read_bits_ = position_reads * double(kv_words_per_position_) * word_bits;
  } else {
    a.kv_dram_read_bits_ = position_reads * 8.0 * double(kv_bytes_per_position_layer_);
  }
}

ActivityCounts ChipMapping::prefill_activity(int64_t prompt_tokens,
                                             int64_t shared_prefix_tokens) const {
  if (prompt_tokens < 1 || shared_prefix_tokens < 0 || shared_prefix_tokens >= prompt_tokens) {
    throw make_error("prefill_activity", "need 0 <= shared prefix (" +
                                             std::to_string(shared_prefix_tokens) +
                                             ") < prompt (" + std::to_string(prompt_tokens) + ")");
  }
  ActivityCounts total;
  const double d = double(model_.d_model_), V = double(model_.vocab_),
               ab = double(chip_.activation_bits_);
  for (int64_t i = shared_prefix_tokens; i < prompt_tokens; ++i) {
    ActivityCounts a = decode_activity(i + 1, shared_prefix_tokens);
    if (i + 1 < prompt_tokens) {
      // No final norm, lm_head, sampler or token return for the inner prompt tokens.
      a.weight_macs_ -= a.lm_head_macs_;
      a.rom_bits_read_ -= a.lm_head_macs_ * weight_bits_;
      a.lm_head_macs_ = 0;
      a.norm_elements_ -= d;
      a.sampler_elements_ = 0;
      a.buffer_bits_ -= 2.0 * ab * (2 * d + V);
      if (dies_used_ > 1) a.link_bits_ -= 32.0;
    }
    total += a;
  }
  return total;
}

std::string ChipMapping::fit_report() const {
  std::ostringstream os;
  const double wt = weight_bits_total_;
  os << model_.name_ << " on " << chip_.name_ << ": " << dies_used_ << " die"
     << (dies_used_ > 1 ? "s" : "") << ", " << gbit(wt) << " of weights at "
     << fmt("%.2f", weight_bits_) << " bits, KV at " << kv_bits_ << " bits\n";
  os << "  die  layers     ROM needed    ROM capacity  use    KV capacity   KV positions/layer\n";
  for (const auto& d : dies_) {
    char line[200];
    std::snprintf(line, sizeof line, "  %3lld  %3lld-%-4lld  %12s  %12s  %5.1f%%  %9.1f MiB  %lld\n",
                  static_cast<long long>(d.index_), static_cast<long long>(d.first_layer_),
                  static_cast<long long>(d.first_layer_ + d.layers_ - 1),
                  gbit(d.weight_bits_).c_str(), gbit(double(d.rom_capacity_bits_)).c_str(),
                  100.0 * d.weight_bits_ / double(d.rom_capacity_bits_),
                  double(d.kv_capacity_bytes_) / 1048576.0,
                  static_cast<long long>(d.kv_positions_per_layer_));
    os << line;
  }
  os << "  KV per token per user: " << kv_bytes_per_token_ << " B ("
     << kv_bytes_per_position_layer_ << " B per layer";
  if (chip_.attention_.kv_memory_ == KvMemory::kSram) {
    os << ", " << kv_words_per_position_ << " words of " << chip_.attention_.kv_sram_.bank_width_bytes_
       << " B";
  }
  os << ")\n  max context per user: " << max_context_tokens(1) << " tokens at 1 user";
  for (int64_t u : {8, 64}) {
    os << ", " << max_context_tokens(u) << " at " << u;
  }
  os << " (model trained for " << model_.max_positions_ << ")\n";
  os << "  block          service  latency  cycles (decode, one token, one layer unless noted)\n";
  std::vector<BlockTiming> rows = {embedding_};
  for (const auto& b : layer_blocks(1024)) {
    BlockTiming r = b;
    if (r.name_ == "attention") r.name_ = "attention@1k";
    rows.push_back(r);
  }
  rows.push_back(final_norm_);
  rows.push_back(lm_head_);
  rows.push_back(sampler_);
  if (dies_used_ > 1) {
    rows.push_back(link_forward_);
    rows.push_back(link_return_);
  }
  for (const auto& b : rows) {
    char line[160];
    std::snprintf(line, sizeof line, "  %-14s %7lld  %7lld\n", b.name_.c_str(),
                  static_cast<long long>(b.service_cycles_),
                  static_cast<long long>(b.latency_cycles_));
    os << line;
  }
  const double lat = token_latency_s(1024);
  os << "  token latency at 1k context: " << fmt("%.2f", lat * 1e6) << " us ("
     << fmt("%.0f", 1.0 / lat) << " tokens/s per user); 1k/1k decode: "
     << fmt("%.0f", decode_tokens_per_s(1024, 1024)) << " tokens/s per user\n";
  const BlockTiming bn = bottleneck(1024, 0, true);
  os << "  pipeline stage at 1k context: " << bn.service_cycles_ << " cycles (" << bn.name_
     << "), at most " << fmt("%.0f", chip_.clock_hz_ / double(bn.service_cycles_))
     << " tokens/s aggregate\n";
  return os.str();
}

nlohmann::json ChipMapping::to_json() const {
  nlohmann::json dies = nlohmann::json::array();
  for (const auto& d : dies_) {
    dies.push_back({{"index", d.index_},
                    {"first_layer", d.first_layer_},
                    {"layers", d.layers_},
                    {"has_embedding", d.has_embedding_},
                    {"has_lm_head", d.has_lm_head_},
                    {"weight_bits", d.weight_bits_},
                    {"rom_capacity_bits", d.rom_capacity_bits_},
                    {"kv_capacity_bytes", d.kv_capacity_bytes_},
                    {"kv_positions_per_layer", d.kv_positions_per_layer_}});
  }
  nlohmann::json blocks = nlohmann::json::object();
  for (const BlockTiming* b :
       {&embedding_, &attn_norm_, &qkv_, &qk_norm_, &rope_, &kv_write_, &o_proj_, &ffn_norm_,
        &ffn_gate_up_, &activation_, &ffn_down_, &final_norm_, &lm_head_, &sampler_,
        &link_forward_, &link_return_}) {
    blocks[b->name_] = {{"service_cycles", b->service_cycles_},
                        {"latency_cycles", b->latency_cycles_}};
  }
  return {{"model", model_.name_},
          {"chip", chip_.name_},
          {"weight_bits_mean", weight_bits_},
          {"kv_bits", kv_bits_},
          {"dies_used", dies_used_},
          {"dies", dies},
          {"weight_bits_total", weight_bits_total_},
          {"kv_row_bytes", kv_row_bytes_},
          {"kv_bytes_per_position_layer", kv_bytes_per_position_layer_},
          {"kv_words_per_position", kv_words_per_position_},
          {"kv_bytes_per_token", kv_bytes_per_token_},
          {"kv_read_ports", kv_read_ports_},
          {"kv_positions_per_layer", kv_positions_},
          {"max_context_tokens_1_user", max_context_tokens(1)},
          {"buffer_bytes_per_layer", buffer_bytes_per_layer_},
          {"blocks", blocks}};
}

namespace {

// Context at which the blocks' latency shares are taken (long enough that attention never waits
// for its own position's K and V).
constexpr int64_t kStreamReferenceContext = 1024;

StreamBlock matrix_stream(int64_t inputs, int64_t outputs, const MatrixBlockConfig& c,
                          int64_t chunk) {
  StreamBlock s;
  s.kind_ = StreamKind::kMatrix;
  s.inputs_ = inputs;
  s.outputs_ = outputs;
  s.lanes_ = c.input_lanes_;
  s.step_cycles_ = c.output_mux_;
  s.depth_cycles_ = c.tree_registers() + c.accumulate_stages_ + c.requant_stages_;
  s.output_lanes_ = c.output_lanes_;
  s.chunk_ = chunk;
  s.holds_output_ = true;
  return s;
}

StreamBlock lanes_stream(StreamKind kind, int64_t inputs, int64_t outputs, int64_t work,
                         int64_t lanes, int64_t inputs_per_lane, int64_t depth, int64_t chunk) {
  StreamBlock s;
  s.kind_ = kind;
  s.inputs_ = inputs;
  s.outputs_ = outputs;
  s.work_ = work;
  s.lanes_ = std::max<int64_t>(1, lanes);
  s.inputs_per_lane_ = inputs_per_lane;
  s.depth_cycles_ = depth;
  s.output_lanes_ = chunk;
  s.chunk_ = chunk;
  return s;
}

// The declared structure of every block, as the cycle level builds it (sim/cycle_chip.cpp).
void set_streams(ChipMapping& m) {
  const ChipConfig& c = m.chip_;
  const ModelConfig& mc = m.model_;
  const int64_t d = mc.d_model_, q = mc.q_dim(), kv = mc.kv_dim(), f = mc.d_ff_, V = mc.vocab_;
  const int64_t N = c.chunk_elements_;
  {
    StreamBlock s;
    s.kind_ = StreamKind::kEmbedding;
    s.inputs_ = 1;
    s.outputs_ = d;
    s.step_cycles_ = c.embedding_lookup_cycles_;
    s.output_lanes_ = N;
    s.chunk_ = N;
    s.holds_output_ = true;
    m.embedding_.stream_ = s;
  }
  auto norm = [&](int64_t n, int64_t work) {
    return lanes_stream(StreamKind::kNorm, n, n, work, c.norm_.elements_per_cycle_, 1,
                        c.norm_.pipeline_depth_cycles_, N);
  };
  m.attn_norm_.stream_ = norm(d, d);
  m.ffn_norm_.stream_ = norm(d, d);
  m.final_norm_.stream_ = norm(d, d);
  if (mc.qk_norm_) m.qk_norm_.stream_ = norm(q + 2 * kv, q + kv);
  m.qkv_.stream_ = matrix_stream(d, q + 2 * kv, m.chip_.qkv_, N);
  m.o_proj_.stream_ = matrix_stream(q, d, m.chip_.o_proj_, N);
  m.ffn_gate_up_.stream_ = matrix_stream(d, 2 * f, m.chip_.ffn_gate_up_, N);
  m.ffn_down_.stream_ = matrix_stream(f, d, m.chip_.ffn_down_, N);
  m.lm_head_.stream_ = matrix_stream(d, V, m.chip_.lm_head_, N);
  m.rope_.stream_ = lanes_stream(StreamKind::kVector, q + 2 * kv, q + 2 * kv, q + kv,
                                 c.rope_.elements_per_cycle_, 1, c.rope_.pipeline_depth_cycles_, N);
  // The activation holds its vector (sim/cycle_chip.cpp activation_spec): pass 1 over gate and
  // up, pass 2 over the f quantized outputs.
  m.activation_.stream_ =
      lanes_stream(StreamKind::kNorm, 2 * f, f, 2 * f, c.activation_.elements_per_cycle_, 1,
                   c.activation_.pipeline_depth_cycles_, N);
  m.activation_.stream_.emit_work_ = f;
  m.sampler_.stream_ = lanes_stream(StreamKind::kSampler, V, 1, V, c.sampler_.elements_per_cycle_,
                                    1, c.sampler_.pipeline_depth_cycles_, N);
  if (m.dies_used_ > 1) {
    // The d-vector over the link: its bandwidth as whole elements per cycle.
    const double elem_bytes = double(c.activation_bits_) / 8.0;
    const int64_t lanes = std::max<int64_t>(
        1, static_cast<int64_t>(c.link_.bandwidth_bytes_per_s_ / c.clock_hz_ / elem_bytes));
    const int64_t lat = ceil_cycles(c.link_.latency_s_ * c.clock_hz_);
    m.link_forward_.stream_ = lanes_stream(StreamKind::kVector, d, d, d, lanes, 1, lat, N);
    StreamBlock r;
    r.kind_ = StreamKind::kStep;
    r.inputs_ = 1;
    r.outputs_ = 1;
    r.step_cycles_ = std::max<int64_t>(1, m.link_return_.service_cycles_);
    r.depth_cycles_ = lat;
    r.output_lanes_ = N;
    r.chunk_ = N;
    m.link_return_.stream_ = r;
  }
  const AttentionConfig& a = c.attention_;
  const bool sram = a.kv_memory_ == KvMemory::kSram;
  StreamBlock w;
  w.kind_ = StreamKind::kKvWrite;
  w.inputs_ = q + 2 * kv;
  w.outputs_ = q;
  w.chunk_ = N;
  w.output_lanes_ = N;
  StreamBlock at;
  at.kind_ = StreamKind::kAttention;
  at.inputs_ = q;
  at.outputs_ = q;
  at.chunk_ = N;
  at.output_lanes_ = N;
  at.holds_output_ = true;
  at.depth_cycles_ = a.pipeline_depth_cycles_ + a.exp_latency_cycles_;
  at.macs_per_position_ = 2 * q;
  at.macs_per_cycle_ = a.macs_per_cycle_;
  at.exps_per_position_ = mc.n_heads_;
  at.exps_per_cycle_ = a.softmax_elements_per_cycle_;
  if (sram) {
    w.kv_words_per_position_ = m.kv_words_per_position_;
    w.kv_elements_per_word_ = ceil_div(kv, std::max<int64_t>(1, m.kv_words_per_position_ / 2));
    w.kv_banks_ = a.kv_sram_.banks_;
    w.kv_write_latency_ = a.kv_sram_.write_latency_cycles_;
    at.kv_words_per_position_ = m.kv_words_per_position_;
    at.kv_read_words_per_cycle_ = a.kv_sram_.banks_ * m.kv_read_ports_;
    at.kv_read_latency_ = a.kv_sram_.read_latency_cycles_;
  } else {
    // KV in DRAM: the position's bytes at the die's bandwidth, then the access latency.
    w.kv_words_per_position_ = 1;
    w.kv_elements_per_word_ = 2 * kv;
    w.kv_banks_ = 1;
    w.kv_write_latency_ =
        m.kv_write_.service_cycles_ + m.kv_dram_access_cycles_ + m.kv_dram_latency_cycles_;
    at.kv_words_per_position_ = 0;
    at.kv_read_words_per_cycle_ = 1;
    at.kv_read_latency_ = m.kv_dram_access_cycles_ + m.kv_dram_latency_cycles_;
  }
  m.kv_write_.stream_ = w;
  m.attention_stream_ = at;
}

// KV DRAM: each layer's row rivals, from the cycle level's address map (KvDramConfig::locate;
// layer regions of kv_positions_ x 2R bytes from the die's first layer, sim/kv_dram.h). A rival
// is a layer of the same die whose region's first rows (one interleave piece per channel, from
// slot 0) are other rows of the same bank of the same channel.
void set_kv_dram_row_rivals(ChipMapping& m) {
  const KvDramConfig& k = m.chip_.attention_.kv_dram_;
  m.kv_dram_row_rivals_.assign(static_cast<size_t>(m.model_.n_layers_), {});
  for (const DieAssignment& die : m.dies_) {
    std::map<std::pair<int64_t, int64_t>, std::vector<std::pair<int64_t, int64_t>>> users;
    for (int64_t l = die.first_layer_; l < die.first_layer_ + die.layers_; ++l) {
      const int64_t base = (l - die.first_layer_) * m.kv_positions_ * m.kv_bytes_per_position_layer_;
      for (int64_t piece = 0; piece < k.channels_; ++piece) {
        const KvDramLocation at = k.locate(base + piece * k.interleave_bytes_);
        users[{at.channel_, at.bank_}].emplace_back(l, at.row_);
      }
    }
    for (const auto& [where, list] : users) {
      for (const auto& [l, row] : list) {
        std::vector<int64_t>& rivals = m.kv_dram_row_rivals_[size_t(l)];
        for (const auto& [l2, row2] : list) {
          if (l2 != l && row2 != row && std::find(rivals.begin(), rivals.end(), l2) == rivals.end()) {
            rivals.push_back(l2);
          }
        }
      }
    }
  }
}

// One token alone through the chip at the reference context (streaming rule): each block's
// share of the latency is its last output chunk minus its feeder's, taken in a steady layer
// (layer 1); the embedding's share is what makes the shares add up to the whole chain (it
// absorbs layer 0 and the dies' first layers being fed by the embedding and the links).
void set_stream_latencies(ChipMapping& m) {
  const int64_t L = kStreamReferenceContext;
  const int64_t n_layers = m.model_.n_layers_;
  const int64_t steady = n_layers >= 2 ? 1 : 0;
  const int64_t sweep = m.attention(L).service_cycles_;
  int64_t first = 0, last = 0;  // the host writes the token's chunk at cycle 0
  auto run = [&](const StreamBlock& s, int64_t context = 0, int64_t kv_ready = 0) {
    StreamInput in;
    in.first_in_ = first;
    in.last_in_ = last;
    in.sweep_cycles_ = sweep;
    in.context_ = context;
    in.kv_ready_ = kv_ready;
    const StreamTimes t = stream_step(s, in);
    first = t.first_;
    last = t.last_;
    return t;
  };
  auto share = [&](BlockTiming& b, bool take) {
    const int64_t before = last;
    run(b.stream_);
    if (take) b.latency_cycles_ = last - before;
  };
  run(m.embedding_.stream_);
  int64_t attention_share = 0;
  bool link_taken = false;
  for (const DieAssignment& die : m.dies_) {
    for (int64_t l = die.first_layer_; l < die.first_layer_ + die.layers_; ++l) {
      const bool take = l == steady;
      share(m.attn_norm_, take);
      share(m.qkv_, take);
      if (m.model_.qk_norm_) share(m.qk_norm_, take);
      share(m.rope_, take);
      const int64_t rope_last = last;
      const StreamTimes w = run(m.kv_write_.stream_);
      run(m.attention_stream_, L, w.kv_ready_);
      if (take) {
        m.kv_write_.latency_cycles_ = w.kv_ready_ - rope_last;
        attention_share = last - rope_last - m.kv_write_.latency_cycles_;
      }
      share(m.o_proj_, take);
      share(m.ffn_norm_, take);
      share(m.ffn_gate_up_, take);
      share(m.activation_, take);
      share(m.ffn_down_, take);
    }
    if (die.index_ + 1 < m.dies_used_) {
      share(m.link_forward_, !link_taken);
      link_taken = true;
    }
  }
  share(m.final_norm_, true);
  share(m.lm_head_, true);
  share(m.sampler_, true);
  if (m.dies_used_ > 1) share(m.link_return_, true);
  const int64_t total = last + 1;  // the host reads the token id a cycle after its write
  m.attention_extra_latency_cycles_ = attention_share - sweep;
  int64_t others = m.final_norm_.latency_cycles_ + m.lm_head_.latency_cycles_ +
                   m.sampler_.latency_cycles_ + m.link_return_.latency_cycles_ +
                   (m.dies_used_ - 1) * m.link_forward_.latency_cycles_;
  int64_t layer = attention_share + m.kv_write_.latency_cycles_;
  for (const BlockTiming* b : {&m.attn_norm_, &m.qkv_, &m.qk_norm_, &m.rope_, &m.o_proj_,
                               &m.ffn_norm_, &m.ffn_gate_up_, &m.activation_, &m.ffn_down_}) {
    layer += b->latency_cycles_;
  }
  others += n_layers * layer;
  m.embedding_.latency_cycles_ = total - others;
}

}  // namespace

ChipMapping map_model(const ModelConfig& model, const ChipConfig& chip, double weight_bits,
                      int kv_bits) {
  model.validate();
  if (!(weight_bits > 0) || weight_bits > 64) {
    throw make_error("weight bits", "must be in (0, 64], got " + fmt("%g", weight_bits));
  }
  if (kv_bits < 1 || kv_bits > 64) {
    throw make_error("kv bits", "must be in [1, 64], got " + std::to_string(kv_bits));
  }
  ChipMapping m;
  m.model_ = model;
  m.chip_ = chip;
  m.weight_bits_ = weight_bits;
  m.kv_bits_ = kv_bits;
  const int64_t n = model.n_layers_;

  // Placement and the ROM fit.
  std::vector<int64_t> split = chip.layers_per_die_;
  if (split.empty()) {
    if (chip.dies_ > n) {
      throw make_error("chip.dies", std::to_string(chip.dies_) + " dies for " +
                                        std::to_string(n) + " layers of " + model.name_,
                       "use at most " + std::to_string(n) + " dies");
    }
    split = balanced_split(n, chip.dies_);
  } else {
    int64_t sum = 0;
    for (int64_t l : split) sum += l;
    if (sum != n) {
      throw make_error(chip.source_.empty() ? "chip.layers_per_die"
                                            : chip.source_ + ": chip.layers_per_die",
                       layer_list(split) + " maps " + std::to_string(sum) + " layers but " +
                           model.name_ + " has " + std::to_string(n),
                       "make the entries sum to " + std::to_string(n) +
                           ", or leave the list empty to derive it");
    }
  }
  const Placement pl = place(model, split, weight_bits);
  if (!fits(pl, chip.rom_capacity_bits_)) {
    double total = 0;
    size_t worst = 0;
    for (size_t i = 0; i < pl.bits_.size(); ++i) {
      total += pl.bits_[i];
      if (pl.bits_[i] > pl.bits_[worst]) worst = i;
    }
    int64_t need = 0;
    for (int64_t dcount = 1; dcount <= n; ++dcount) {
      if (fits(place(model, balanced_split(n, dcount), weight_bits), chip.rom_capacity_bits_)) {
        need = dcount;
        break;
      }
    }
    std::string hint;
    if (need > 0) {
      hint = "set chip.dies=" + std::to_string(need) +
             (chip.layers_per_die_.empty() ? std::string() : " and drop chip.layers_per_die") +
             ", the fewest dies whose balanced split fits, or raise chip.rom.capacity";
    } else {
      hint = "a single layer needs more than one die's ROM: raise chip.rom.capacity or lower "
             "the weight bits";
    }
    throw make_error(
        model.name_ + " on " + chip.name_,
        "needs " + gbit(total) + " of weight ROM at " + fmt("%.2f", weight_bits) + " bits; " +
            chip.name_ + " has " + gbit(double(chip.rom_capacity_bits_)) + " per die and " +
            std::to_string(split.size()) + " die" + (split.size() > 1 ? "s" : "") + " (die " +
            std::to_string(worst) + " would hold " + std::to_string(split[worst]) + " layers" +
            (worst == 0 ? " + embedding" : "") + (worst + 1 == split.size() ? " + lm_head" : "") +
            " = " + gbit(pl.bits_[worst]) + ")",
        hint);
  }

  // KV geometry and capacity.
  const AttentionConfig& a = chip.attention_;
  m.kv_row_bytes_ = (model.kv_dim() * kv_bits + 7) / 8;
  m.kv_bytes_per_position_layer_ = 2 * m.kv_row_bytes_;
  m.kv_bytes_per_token_ = m.kv_bytes_per_position_layer_ * n;
  const bool sram = a.kv_memory_ == KvMemory::kSram;
  if (sram) {
    m.kv_words_per_position_ = 2 * ceil_div(m.kv_row_bytes_, a.kv_sram_.bank_width_bytes_);
    m.kv_read_ports_ = a.kv_sram_.ports_per_bank_ >= 2 ? a.kv_sram_.ports_per_bank_ - 1 : 1;
  } else {
    // JEDEC closed form of the cycle level's DRAM (sim/kv_dram.h, docs/simulate.md "KV
    // memory"): timings in DRAM clocks tCK = 2 / data_rate, n_X = ceil(t_X / tCK); a burst of
    // bus_width/8 x burst_length bytes holds a channel's bus n_ccd = max(BL/2, n_ccd) clocks;
    // refresh takes f = (n_rfc + n_rp + n_rcd) / n_refi of every channel's time; a stream's
    // first access opens its rows (n_rp + n_rcd + n_cl). Sustained bytes per chip cycle =
    // channels x row_size / (row period) x (1 - f) / clock, the row period (below) being the
    // row's bursts, B n_ccd tCK, unless the stream is row-bound.
    const KvDramConfig& k = a.kv_dram_;
    const double tck_s = 2.0 / k.data_rate_hz_;
    const auto n_tck = [tck_s](double t_s) {
      return t_s > 0 ? std::ceil(t_s / tck_s - 1e-9) : 0.0;
    };
    const double n_ccd = std::max(double((k.burst_length_ + 1) / 2), n_tck(k.t_ccd_s_));
    const double n_refi = n_tck(k.t_refi_s_);
    const double refresh_share =
        n_refi > 0 ? (n_tck(k.t_rfc_s_) + n_tck(k.t_rp_s_) + n_tck(k.t_rcd_s_)) / n_refi : 0.0;
    // A long stream's rows on one channel, each B = row_size / burst bursts: a row's PRE waits
    // for the column command of the burst queue_depth Q places ahead, m = ceil(Q / B) rows back
    // (m P >= (m B - Q) n_ccd + n_rp + n_rcd), and for its bank's previous row's ACT + tRAS,
    // `banks` rows back (banks P >= n_ras + n_rp); and a row's bursts take B n_ccd.
    const double row_bursts = double(k.row_bytes_ / k.burst_bytes());
    const double q = double(k.queue_depth_bursts_);
    const double m_rows = std::max(1.0, std::ceil(q / row_bursts));
    const double look_ahead =
        ((m_rows * row_bursts - q) * n_ccd + n_tck(k.t_rp_s_) + n_tck(k.t_rcd_s_)) / m_rows;
    const double bank_cycle = (n_tck(k.t_ras_s_) + n_tck(k.t_rp_s_)) / double(k.banks_);
    const double row_tck = std::max({row_bursts * n_ccd, look_ahead, bank_cycle});
    m.kv_dram_row_cycles_ = row_tck * tck_s * chip.clock_hz_;
    m.kv_dram_bytes_per_cycle_ = double(k.channels_ * k.row_bytes_) / (row_tck * tck_s) *
                                 (1.0 - refresh_share) / chip.clock_hz_;
    m.kv_dram_latency_cycles_ = ceil_cycles(k.latency_s_ * chip.clock_hz_);
    m.kv_dram_access_cycles_ =
        1 + ceil_cycles((n_tck(k.t_rp_s_) + n_tck(k.t_rcd_s_) + n_tck(k.t_cl_s_)) * tck_s *
                        chip.clock_hz_);
    m.kv_dram_open_row_saving_cycles_ =
        m.kv_dram_access_cycles_ - (1 + ceil_cycles(n_tck(k.t_cl_s_) * tck_s * chip.clock_hz_));
    m.kv_dram_refresh_interval_cycles_ = n_refi * tck_s * chip.clock_hz_;
    m.kv_dram_closed_bank_saving_cycles_ =
        m.kv_dram_access_cycles_ -
        (1 + ceil_cycles((n_tck(k.t_rcd_s_) + n_tck(k.t_cl_s_)) * tck_s * chip.clock_hz_));
    m.kv_dram_burst_cycles_ = n_ccd * tck_s * chip.clock_hz_;
    m.kv_dram_ras_cycles_ = ceil_cycles(n_tck(k.t_ras_s_) * tck_s * chip.clock_hz_);
    m.kv_dram_peak_bytes_per_cycle_ =
        double(k.channels_ * k.burst_bytes()) / (n_ccd * tck_s) / chip.clock_hz_;
    m.kv_dram_refresh_cycles_ =
        n_refi > 0 ? (n_tck(k.t_rfc_s_) + n_tck(k.t_rp_s_)) * tck_s *
                         chip.clock_hz_
                   : 0.0;
  }
  const int64_t kv_capacity = sram ? a.kv_sram_.capacity_bytes_ : a.kv_dram_.capacity_bytes_;
  m.dies_used_ = static_cast<int64_t>(split.size());
  m.kv_positions_ = INT64_MAX;
  int64_t first = 0;
  for (size_t i = 0; i < split.size(); ++i) {
    DieAssignment d;
    d.index_ = static_cast<int64_t>(i);
    d.first_layer_ = first;
    d.layers_ = split[i];
    d.has_embedding_ = i == 0;
    d.has_lm_head_ = i + 1 == split.size();
    d.weight_bits_ = pl.bits_[i];
    d.rom_capacity_bits_ = chip.rom_capacity_bits_;
    d.kv_capacity_bytes_ = kv_capacity;
    const int64_t per_layer_bytes = kv_capacity / d.layers_;
    d.kv_positions_per_layer_ =
        sram ? (per_layer_bytes / a.kv_sram_.bank_width_bytes_) / m.kv_words_per_position_
             : per_layer_bytes / m.kv_bytes_per_position_layer_;
    m.kv_positions_ = std::min(m.kv_positions_, d.kv_positions_per_layer_);
    m.weight_bits_total_ += d.weight_bits_;
    m.dies_.push_back(d);
    first += split[i];
  }
  if (m.kv_positions_ < 1) {
    const std::string mem = sram ? "chip.attention.kv_sram.capacity" : "chip.attention.kv_dram.capacity";
    int64_t max_layers = 0;
    for (int64_t l : split) max_layers = std::max(max_layers, l);
    const int64_t one_position = sram ? m.kv_words_per_position_ * a.kv_sram_.bank_width_bytes_
                                      : m.kv_bytes_per_position_layer_;
    throw make_error(model.name_ + " on " + chip.name_,
                     "KV memory cannot hold one position of one user: " +
                         std::to_string(max_layers) + " layers x " + std::to_string(one_position) +
                         " B per position need " + std::to_string(max_layers * one_position) +
                         " B, " + mem + " is " + std::to_string(kv_capacity) + " B per die",
                     "raise " + mem + " or spread the layers over more dies");
  }

  // Static blocks.
  const int64_t d = model.d_model_, q = model.q_dim(), kv = model.kv_dim();
  m.embedding_ = {"embedding", chip.embedding_lookup_cycles_, chip.embedding_lookup_cycles_,
                   StreamBlock{}};
  m.attn_norm_ = norm_block("attn_norm", d, chip.norm_);
  m.qkv_ = matrix_block("qkv", m.chip_.qkv_, d, q + 2 * kv);
  m.qk_norm_ = model.qk_norm_ ? norm_block("qk_norm", q + kv, chip.norm_)
                              : BlockTiming{"qk_norm", 0, 0, StreamBlock{}};
  m.rope_ = vector_block("rope", q + kv, chip.rope_);
  if (sram) {
    m.kv_write_ = block("kv_write", ceil_div(m.kv_words_per_position_, a.kv_sram_.banks_),
                        a.kv_sram_.write_latency_cycles_);
  } else {
    m.kv_write_ = block("kv_write",
                        ceil_cycles(double(m.kv_bytes_per_position_layer_) /
                                    m.kv_dram_bytes_per_cycle_),
                        m.kv_dram_access_cycles_ + m.kv_dram_latency_cycles_);
  }
  m.o_proj_ = matrix_block("o_proj", m.chip_.o_proj_, q, d);
  m.ffn_norm_ = norm_block("ffn_norm", d, chip.norm_);
  m.ffn_gate_up_ = matrix_block("ffn_gate_up", m.chip_.ffn_gate_up_, d, 2 * model.d_ff_);
  m.activation_ = activation_block("activation", model.d_ff_, chip.activation_);
  m.ffn_down_ = matrix_block("ffn_down", m.chip_.ffn_down_, model.d_ff_, d);
  m.final_norm_ = norm_block("final_norm", d, chip.norm_);
  m.lm_head_ = matrix_block("lm_head", m.chip_.lm_head_, d, model.vocab_);
  m.sampler_ = vector_block("sampler", model.vocab_, chip.sampler_);
  if (m.dies_used_ > 1) {
    const double fwd_bytes = double(d) * double(chip.activation_bits_) / 8.0;
    const int64_t lat = ceil_cycles(chip.link_.latency_s_ * chip.clock_hz_);
    m.link_forward_ = block(
        "link", ceil_cycles(fwd_bytes / chip.link_.bandwidth_bytes_per_s_ * chip.clock_hz_), lat);
    m.link_return_ = block(
        "link_return", ceil_cycles(4.0 / chip.link_.bandwidth_bytes_per_s_ * chip.clock_hz_), lat);
  } else {
    m.link_forward_ = {"link", 0, 0, StreamBlock{}};
    m.link_return_ = {"link_return", 0, 0, StreamBlock{}};
  }
  m.buffer_bytes_per_layer_ = ceil_div(
      chip.fifo_depth_tokens_ * layer_buffer_elements(model) * chip.activation_bits_, 8);
  set_streams(m);
  set_stream_latencies(m);
  if (!sram) {
    set_kv_dram_row_rivals(m);
    // The closed form's rows and refresh (KV DRAM rule). A layer without row rivals finds the
    // rows its previous access left open (tRP + tRCD saved), taken as the share of such layers.
    // An access posted at a random phase of the refresh timer meets a window of W = tRP + tRFC
    // with probability W / tREFI and then waits W / 2 on average: W^2 / (2 tREFI) per access
    // (the token level blocks every window on its calendar; a long transfer's share of the
    // windows is the bandwidth derating).
    // A refresh between two accesses of a layer, a token's pass T apart, closes its banks
    // (tRP still saved) with probability min(1, T / tREFI).
    int64_t alone = 0;
    for (const auto& rivals : m.kv_dram_row_rivals_) alone += rivals.empty() ? 1 : 0;
    const double refi = m.kv_dram_refresh_interval_cycles_;
    const double closed =
        refi > 0 ? std::min(1.0, double(m.token_latency_cycles(kStreamReferenceContext)) / refi)
                 : 0.0;
    const int64_t saving = static_cast<int64_t>(std::llround(
        (double(m.kv_dram_open_row_saving_cycles_) * (1.0 - closed) +
         double(m.kv_dram_closed_bank_saving_cycles_) * closed) *
        double(alone) / double(std::max<int64_t>(1, n))));
    const double w = m.kv_dram_refresh_cycles_;
    m.kv_dram_refresh_wait_cycles_ = refi > 0 ? ceil_cycles(w * w / (2.0 * refi)) : 0;
    m.kv_write_.latency_cycles_ += m.kv_dram_refresh_wait_cycles_ - saving;
    m.attention_extra_latency_cycles_ += m.kv_dram_refresh_wait_cycles_ - saving;
  }
  return m;
}

}  // namespace hw
