// The mapping of a model onto a chip: which layers go on which die, whether the weights fit the
// ROM and the KV cache the SRAM (or DRAM), and the service cycles of every block for one token.
// These closed forms are derived from the declared block structure (chip_config.h): the analytic
// estimator (power/) and the token-level SystemC model (sim/pipeline.h) evaluate them; the
// cycle-level SystemC model (sim/cycle_chip.h) does not use them but clocks the same structure,
// and is what they are checked against (docs/simulate.md). docs/chip.md states them. Everything
// is derived here from (ModelConfig, ChipConfig, weight bits, KV bits).
//
// Notation: d = d_model, q = n_heads*head_dim, kv = n_kv_heads*head_dim, f = d_ff, V = vocab,
// H = n_heads, N = n_layers, ceil(a/b) integer ceiling, L = context tokens of a step = the
// number of positions attended, including the token being processed.
//
// Block rules (service S = cycles the block is busy per token, i.e. its initiation interval):
//   embedding      S = embedding.lookup_cycles
//   norm (RMSNorm) S = 2*ceil(n/norm.elements_per_cycle)   (sum of squares pass, scale pass)
//                  n = d for attn_norm, ffn_norm and the final norm; n = q+kv for qk_norm
//   matrix blocks  C inputs, R outputs (qkv d -> q+2kv, o_proj q -> d, ffn_gate_up d -> 2f,
//                  ffn_down f -> d, lm_head d -> V); fold = ceil(C/input_lanes) * output_mux,
//                  S = max(fold, ceil(R/output_lanes))
//   rope           S = ceil((q+kv)/rope.elements_per_cycle)
//   activation     S = ceil(2f/activation.elements_per_cycle) + ceil(f/activation.elements_per_cycle)
//                  (takes gate then up, SiLU(gate)*up; then the quantized f: the quantization
//                  before ffn_down needs max |h| over the whole vector, so it holds it)
//   sampler        S = ceil(V/sampler.elements_per_cycle)      (greedy argmax)
//   kv_write, attention: see "KV SRAM rule" below.
// With many tokens in flight (users, or prompt tokens in prefill) the slowest S is the
// pipeline's stage time.
//
// Streaming rule (latency). Blocks pass vectors as chunks of chip.buffers.chunk_elements over
// channels of buffers.channel_depth chunks, as the cycle level clocks them: a block starts on
// the first chunk of its input (a cycle after it was written), takes at most one chunk per
// cycle, paces its steps by the chunks it needs, and its outputs leave as chunks at
// output_lanes per cycle. stream_step() gives, per kind (StreamKind), the cycles of a token's
// final step and of its first and last output chunk from those of its input, when the block is
// free and when its output buffer has room; the token level (sim/pipeline.h) evaluates it for
// every token with chunk-level back-pressure. Each block's latency share (BlockTiming::
// latency_cycles_) is its last output chunk minus its feeder's for one token alone at a
// reference context (1024) in a steady layer; the embedding's share absorbs the first layer
// and the host's read, so the shares add up to one token's latency, and attention(L)'s share is
// its service at L plus a constant (attention_extra_latency_cycles_).
//
// KV SRAM rule (the token-level model evaluates this; the cycle level issues the addressed
// reads and writes it summarises, kv_banks.h):
//   R  = ceil(kv*kv_bits/8) bytes: the K (or V) row of one position in one layer.
//   Wp = 2*ceil(R/bank_width) words per position (K words then V words).
//   Every layer has its own engine of B banks with P ports each. Within an engine, the KV of a
//   user slot is a run of consecutive words, position after position; the shared prefix (if
//   any) is one run stored once before the user slots. Global word index k lives in bank
//   (k mod B), row floor(k / B).
//   Ports: P >= 2 reserves one port per bank for writes and leaves Pr = P-1 read ports;
//   P = 1 shares the single port (Pr = 1, writes steal it).
//   kv_write: the new position's Wp words, one write per bank per cycle:
//     S = ceil(Wp/B); readable write_latency after the last word (streaming rule).
//   attention at context L (p = shared-prefix positions, 0 <= p < L): a read sweep issues
//   B*Pr consecutive words per cycle (conflict-free for any start word, since B*Pr consecutive
//   indices hit every bank exactly Pr times); the prefix run and the private run are swept one
//   after the other (no cycle mixes them):
//     sweep    = ceil(p*Wp/(B*Pr)) + ceil((L-p)*Wp/(B*Pr))
//     macs     = ceil(L*2q / attention.macs_per_cycle)           (q.k and p.v)
//     softmax  = ceil(L*H / attention.softmax_elements_per_cycle)
//     conflict = (P == 1 and write_conflict) ? ceil(Wp/B) : 0   (the write wave's stolen cycles)
//     S = max(sweep, macs, softmax) + conflict;
//     output read_latency + 1 + attention.pipeline_depth + attention.exp_latency after the
//     last read (streaming rule)
//   write_conflict means another token's kv_write hits this engine during the sweep: true in
//   prefill (back-to-back tokens) and in decode with more than one user in the pipeline.
// KV DRAM rule (attention.kv_memory = dram): per die one JEDEC-style DRAM (sim/kv_dram.h)
//   shared by the layers on the die; sustained bytes per cycle bpc = channels x row_size /
//   (row period) x (1 - refresh share) / clock, the row period being the row's bursts
//   (B n_ccd tCK) unless row-bound (kv_dram_row_cycles_); access La = 1 + ceil((tRP + tRCD +
//   CL) x clock) (a stream's first access opens its rows); Ld = ceil(kv_dram.latency*clock).
//   kv_write S = ceil(2R/bpc), readable S + La + Ld after posting.
//   attention sweep = ceil(p*2R/bpc) + ceil((L-p)*2R/bpc), no conflicts, posted once the
//   position is readable, data La + Ld after the last byte. These closed forms (the estimator's)
//   charge every stream the sustained rate of all channels and La, plus two expected terms on
//   kv_write's and attention's latencies: the refresh wait W^2 / (2 tREFI) (an access at a
//   random phase meets a window W = tRP + tRFC with probability W / tREFI and waits W / 2), and
//   minus the open-row saving of the layers without row rivals (share of such layers; a refresh
//   between a layer's accesses, probability min(1, token latency / tREFI), leaves only tRP
//   saved). The token level's calendar
//   (sim/kv_sram.h, docs/simulate.md "KV in DRAM") keeps more of the cycle level: the peak
//   rate with every refresh window (tRP + tRFC from k x tREFI) blocked, at least a transfer's
//   busiest channel's bursts, the rows of a transfer that reaches every channel served row by
//   row on one channel (bank waits: PRE after the bank's last burst and ACT + tRAS, tRP, tRCD,
//   the controller's look-ahead), and for narrower ones the row state (open rows save tRP +
//   tRCD, banks a refresh closed save tRP).
//   Shared-bandwidth stage bound: every token moves (L+1)*2R bytes per layer through its
//   die's DRAM, so the stage time is at least ceil(layers_on_die*(L+1)*2R/bpc).
// Links (dies_used > 1): after each die but the last the d-vector (d*activation_bits/8 bytes)
//   crosses a link: S = ceil(bytes/link.bandwidth*clock), latency ceil(link.latency*clock);
//   the sampled token id (4 bytes) returns from the last die to die 0 the same way.
// Prefill streams the prompt tokens back to back: token at position i (context i+1) enters
//   one prefill stage time after the previous one, where the prefill stage time is the
//   largest S among embedding, layer blocks and forward links (prompt tokens other than the
//   last skip the final norm, lm_head and sampler); the last prompt token's full latency,
//   which produces the first output token, ends the prefill:
//     prefill(P, p) = sum_{i=p}^{P-2} prefill_stage(i+1) + token_latency(P)
//   Positions below the shared prefix p are not recomputed (their KV is stored once). With
//   query tiles of T (attention.query_tile) the stage's KV reads (attention's sweep, the DRAM
//   bound) are divided by T: full tiles, the least traffic, a lower bound where reads bind.
#pragma once
#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chip/chip_config.h"
#include "model/model_config.h"

namespace hw {

// How a block streams at the cycle level (sim/cycle_block.h, cycle_chip.cpp): the declared
// structure the chunk-time closed forms below evaluate ("Streaming rule" above).
enum class StreamKind {
  kNone,       // absent block (qk_norm of a model without it, links of one die)
  kEmbedding,  // one lookup step, then the d-vector
  kNorm,       // pass 1 takes the input, pass 2 produces the output (norms, activation)
  kMatrix,     // ceil(C/Li) steps of output_mux cycles, the R outputs at the end
  kVector,     // rope, activation, link: steps taking and producing `lanes`
  kSampler,    // steps taking the logits, the token id at the end
  kStep,       // link_return: one step of `step_cycles`
  kKvWrite,    // passes q through, writes K and V words into the banks
  kAttention,  // takes the whole q, sweeps the context, then emits the output
};

struct StreamBlock {
  StreamKind kind_ = StreamKind::kNone;
  int64_t inputs_ = 0;           // elements of the input vector
  int64_t outputs_ = 0;          // elements of the output vector (kv_write: q)
  int64_t work_ = 0;             // elements its lanes process (norm pass, rope: q+kv, sampler: V)
  int64_t emit_work_ = 0;        // kNorm: elements of pass 2 through the lanes (0: work_)
  int64_t lanes_ = 1;            // elements per step (matrix: input_lanes)
  int64_t inputs_per_lane_ = 1;  // activation: gate and up
  int64_t step_cycles_ = 1;      // matrix: output_mux; embedding: lookup; kStep: its cycles
  int64_t depth_cycles_ = 0;     // registers between a step's end and its outputs
  int64_t output_lanes_ = 1;     // output elements per cycle
  int64_t chunk_ = 1;            // chip.buffers.chunk_elements
  // Embedding and attention: a token's final step (sweep) waits until the previous one's outputs
  // left; matrix blocks: its outputs follow the previous token's (the steps go on).
  bool holds_output_ = false;
  // kv_write / attention (KV in SRAM).
  int64_t kv_words_per_position_ = 0;
  int64_t kv_elements_per_word_ = 1;
  int64_t kv_banks_ = 1;                  // kv_write: one write per bank per cycle
  int64_t kv_read_words_per_cycle_ = 1;   // attention: banks x read ports
  int64_t kv_write_latency_ = 0;
  int64_t kv_read_latency_ = 0;
  int64_t macs_per_position_ = 0, macs_per_cycle_ = 1;
  int64_t exps_per_position_ = 0, exps_per_cycle_ = 1;
  int64_t emit_work() const { return emit_work_ > 0 ? emit_work_ : work_; }
  int64_t in_chunks() const;
  int64_t out_chunks() const;
};

// Timing of one block for one token of one user.
struct BlockTiming {
  std::string name_;           // "qkv", "attention", "link", ...
  int64_t service_cycles_ = 0;  // busy time per token (initiation interval)
  // The block's share of one token's latency on an idle chip: cycles from the previous block's
  // last output chunk to this block's (streaming rule); they add up to token_latency_cycles.
  int64_t latency_cycles_ = 0;
  StreamBlock stream_;          // its structure, for the streaming closed forms
};

// Chunk times of one token at one block (streaming rule), in cycles.
struct StreamTimes {
  int64_t start_ = 0;     // takes the token's first input chunk
  int64_t done_ = 0;      // its final step (attention: the last position scored)
  int64_t first_ = 0;     // writes its first output chunk
  int64_t last_ = 0;      // writes its last output chunk (no back-pressure from downstream)
  int64_t free_ = 0;      // can take the next token's first chunk
  int64_t kv_ready_ = 0;  // kv_write: the position is readable by attention
};

// Inputs of stream_step: the write cycles of the token's first and last input chunk, when the
// block is free, when the previous token's outputs have all left (holds_output_ blocks), and
// for attention the read sweep's cycles (with any conflict cycles), the context and when the
// token's own K and V are readable. `drop`: the head's input taking a token that produces no
// output (it only consumes the chunks).
struct StreamInput {
  int64_t first_in_ = 0;
  int64_t last_in_ = 0;
  int64_t free_ = 0;
  int64_t out_clear_ = 0;
  int64_t sweep_cycles_ = 0;
  int64_t context_ = 0;
  int64_t kv_ready_ = 0;
  bool drop_ = false;
};
StreamTimes stream_step(const StreamBlock& b, const StreamInput& in);
// stream_step with everything that does not depend on the token precomputed (the token level
// evaluates it ~350 times per token; stream_step is its reference, tests/chip compares them).
// Fields are cycle offsets of the forms stream_step computes; kNoTerm marks an absent term.
struct StreamPlan {
  static constexpr int64_t kNoTerm = INT64_MIN / 4;
  StreamKind kind_ = StreamKind::kNone;
  int64_t m_ = 1;                 // input chunks
  int64_t m_out_ = 0;
  bool holds_output_ = false;
  // done = max(s + done_ahead, taken(done_chunk) + done_tail, last input + 1 + done_last,
  //            out_clear)
  int64_t done_ahead_ = 0, done_chunk_ = -1, done_tail_ = 0, done_last_ = kNoTerm;
  int64_t done_chunk_pace_ = 0;
  // first = max(s + first_ahead, taken(first_chunk) + first_tail, done + first_done)
  int64_t first_ahead_ = kNoTerm, first_chunk_ = -1, first_tail_ = 0, first_done_ = kNoTerm;
  int64_t first_chunk_pace_ = 0;
  int64_t last_done_ = 0;         // last = done + last_done (emission-limited: >= first + m_out-1)
  bool outputs_follow_ = false;   // matrix: first output >= out_clear + 1 (after the previous's)
  bool emission_limited_ = false;
  int64_t free_done_ = 1;         // free = done + free_done
  // kv_write: q chunks, last write offsets; attention: own-position read cycles.
  int64_t m_q_ = 0, kv_last_chunk_cycles_ = 0, kv_all_words_cycles_ = 0, kv_write_latency_ = 0;
  int64_t q_chunk_pace_ = 0;
  int64_t own_read_cycles_ = 0, read_latency_ = 0, out_first_ = 0, out_last_ = 0;
  int64_t macs_per_position_ = 0, macs_per_cycle_ = 1, exps_per_position_ = 0,
          exps_per_cycle_ = 1;
  bool dram_ = false;
  // Back-pressure paces: when this block takes chunk m-depth-2 and m-depth-3 (its feeder's last
  // and second-to-last chunk may then be written), -1 when the channel holds them anyway.
  int64_t bp_last_pace_ = -1, bp_clear_pace_ = -1;
};
StreamPlan make_stream_plan(const StreamBlock& b, int64_t channel_depth);
// ceil(a / b) for b > 0, and 0 for a <= 0 (the cycles of a non-positive amount of work); the
// closed forms here, the estimator and the cycle level share it.
inline int64_t ceil_div(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }
// Defined here so that the token level's step function inlines it (it is most of the step).
__attribute__((always_inline)) inline StreamTimes stream_step(const StreamPlan& p,
                                                            const StreamInput& in) {
  const int64_t m = p.m_;
  const int64_t a = in.first_in_ + 1, bb = std::max(in.last_in_, in.first_in_) + 1;
  StreamTimes t;
  const int64_t s = std::max(a, in.free_);
  t.start_ = s;
  auto readable = [&](int64_t j) { return m <= 1 ? bb : a + (j * (bb - a)) / (m - 1); };
  auto taken = [&](int64_t j, int64_t pace) { return std::max(s + pace, readable(j)); };
  if (in.drop_) {
    t.done_ = std::max(s + m - 1, bb);
    t.free_ = t.done_ + 1;
    t.first_ = t.last_ = t.done_;
    return t;
  }
  switch (p.kind_) {
    case StreamKind::kNone:
      t.done_ = t.first_ = in.first_in_;
      t.last_ = in.last_in_;
      t.free_ = in.free_;
      return t;
    case StreamKind::kKvWrite: {
      t.first_ = taken(0, 0) + 1;
      t.last_ = taken(p.m_q_ - 1, p.m_q_ - 1) + 1;
      int64_t last_write = taken(m - 1, m - 1) + p.kv_last_chunk_cycles_;
      if (p.m_q_ < m) {
        last_write = std::max(last_write, taken(p.m_q_, p.m_q_) + p.kv_all_words_cycles_);
      }
      t.done_ = last_write - 1;
      t.free_ = last_write;
      t.kv_ready_ = last_write + p.kv_write_latency_;
      return t;
    }
    case StreamKind::kAttention: {
      const int64_t L = std::max<int64_t>(1, in.context_);
      int64_t sweep_start = std::max(taken(m - 1, m - 1), in.out_clear_);
      if (p.dram_) sweep_start = std::max(sweep_start, in.kv_ready_);
      const int64_t last_issue =
          p.dram_ ? sweep_start + in.sweep_cycles_ - 1
                  : std::max(sweep_start + in.sweep_cycles_ - 1,
                             in.kv_ready_ + p.own_read_cycles_ - 1);
      const int64_t compute =
          std::max(ceil_div((L - 1) * p.macs_per_position_, p.macs_per_cycle_),
                   ceil_div((L - 1) * p.exps_per_position_, p.exps_per_cycle_));
      t.done_ = std::max(last_issue + p.read_latency_, sweep_start + p.read_latency_ + compute - 1);
      t.first_ = t.done_ + p.out_first_;
      t.last_ = t.done_ + p.out_last_;
      t.free_ = t.done_ + 1;
      return t;
    }
    default:
      break;
  }
  int64_t done = s + p.done_ahead_;
  if (p.done_chunk_ >= 0) {
    done = std::max(done, taken(p.done_chunk_, p.done_chunk_pace_) + p.done_tail_);
  }
  if (p.done_last_ != StreamPlan::kNoTerm) done = std::max(done, bb + p.done_last_);
  if (p.holds_output_) done = std::max(done, in.out_clear_);
  t.done_ = done;
  int64_t first = StreamPlan::kNoTerm;
  if (p.first_ahead_ != StreamPlan::kNoTerm) first = s + p.first_ahead_;
  if (p.first_chunk_ >= 0) {
    first = std::max(first, taken(p.first_chunk_, p.first_chunk_pace_) + p.first_tail_);
  }
  if (p.first_done_ != StreamPlan::kNoTerm) first = std::max(first, done + p.first_done_);
  t.last_ = done + p.last_done_;
  if (p.outputs_follow_ && in.out_clear_ + 1 > first) {
    t.last_ += in.out_clear_ + 1 - first;
    first = in.out_clear_ + 1;
  }
  if (p.emission_limited_) t.last_ = std::max(t.last_, first + p.m_out_ - 1);
  t.first_ = first;
  t.free_ = done + p.free_done_;
  return t;
}

// Cycles after its start at which the block takes input chunk j when its input is ahead of it.
int64_t stream_pace(const StreamBlock& b, int64_t chunk, bool drop = false);
// kNorm, pass 2 under back-pressure: the output chunks of a token that must have left before
// its last step can go (its output buffer holds the rest), and the steps before it that wait for
// the same chunk (then one per cycle); zeros for other kinds.
struct FinalStepWait {
  int64_t chunks_ = 0;
  int64_t steps_ = 0;
};
FinalStepWait stream_final_step_wait(const StreamBlock& b);
// Write cycle of output chunk j of a token whose first and last chunks are written at `first`
// and `last` (evenly spread between them).
int64_t stream_chunk_cycle(int64_t first, int64_t last, int64_t chunks, int64_t j);

// What one die holds.
struct DieAssignment {
  int64_t index_ = 0;
  int64_t first_layer_ = 0;
  int64_t layers_ = 0;
  bool has_embedding_ = false;  // die 0
  bool has_lm_head_ = false;    // last die used: final norm, lm_head, sampler
  double weight_bits_ = 0.0;    // ROM bits needed on this die
  int64_t rom_capacity_bits_ = 0;
  int64_t kv_capacity_bytes_ = 0;
  int64_t kv_positions_per_layer_ = 0;  // positions (all users together) each engine can hold
  bool fits_rom() const { return weight_bits_ <= double(rom_capacity_bits_); }
};

// Event counts for the power model to multiply by energies. Doubles: prefill sums over long
// prompts exceed 2^31 and energies are real anyway. MACs are split per block so per-tensor
// weight widths can be applied; the weight operand of every matrix MAC comes from ROM, the
// other operand is an activation (activation_bits); attention MACs use KV at kv_bits.
struct ActivityCounts {
  double qkv_macs_ = 0, o_proj_macs_ = 0, ffn_macs_ = 0, lm_head_macs_ = 0;
  double weight_macs_ = 0;          // sum of the four above
  double rom_bits_read_ = 0;        // weight_macs * weight_bits + embedding row
  double attention_macs_ = 0;       // q.k and p.v
  double softmax_exps_ = 0;
  double norm_elements_ = 0;
  double rope_elements_ = 0;
  double activation_elements_ = 0;  // SiLU(gate)*up
  double residual_adds_ = 0;
  double sampler_elements_ = 0;
  double kv_sram_read_bits_ = 0;    // whole bank words
  double kv_sram_write_bits_ = 0;
  double kv_dram_read_bits_ = 0;
  double kv_dram_write_bits_ = 0;
  double buffer_bits_ = 0;          // inter-block FIFO traffic, written + read
  double link_bits_ = 0;
  double tokens_ = 0;               // tokens these counts cover

  ActivityCounts& operator+=(const ActivityCounts& other);
  nlohmann::json to_json() const;
};

struct ChipMapping {
  // Inputs (copied: a mapping is a self-contained value).
  ModelConfig model_;
  ChipConfig chip_;
  double weight_bits_ = 0.0;  // mean over tensors
  int kv_bits_ = 0;

  // Placement.
  int64_t dies_used_ = 0;
  std::vector<DieAssignment> dies_;
  double weight_bits_total_ = 0.0;  // over all dies (tied embeddings counted twice: the
                                    // lookup table and the lm_head fabric are separate)

  // KV geometry.
  int64_t kv_row_bytes_ = 0;                // R
  int64_t kv_bytes_per_position_layer_ = 0; // 2R
  int64_t kv_words_per_position_ = 0;       // Wp (SRAM)
  int64_t kv_bytes_per_token_ = 0;          // one user, one position, every layer (2R*N)
  int64_t kv_read_ports_ = 0;               // Pr (SRAM)
  int64_t kv_positions_ = 0;                // per engine, min over dies: the binding capacity
  double kv_dram_bytes_per_cycle_ = 0.0;    // DRAM only: sustained (bursts, refresh share)
  int64_t kv_dram_latency_cycles_ = 0;      // DRAM only: controller + PHY (kv_dram.latency)
  int64_t kv_dram_access_cycles_ = 0;       // DRAM only: posting + tRP + tRCD + CL of a stream
  // DRAM only: what a stream saves when its first rows are still open (the same user's previous
  // stream in this layer left them so, and no refresh closed them since): access - (1 + CL);
  // and the refresh interval tREFI in chip cycles (0: no refresh), the cycle level's one timer
  // for all channels (refreshes at k x tREFI).
  int64_t kv_dram_open_row_saving_cycles_ = 0;
  double kv_dram_refresh_interval_cycles_ = 0.0;
  // DRAM only: what a stream saves when its banks are closed (a refresh since the die's last
  // access, or no access yet): no PRE, access - (1 + tRCD + CL).
  int64_t kv_dram_closed_bank_saving_cycles_ = 0;
  // DRAM only, for the token level's channel calendar (sim/kv_sram.h), which blocks every
  // refresh explicitly instead of derating the rate: the peak bytes per chip cycle (bursts
  // back to back, no refresh share) and how long each refresh holds the channels, tRP + tRFC
  // (close the open rows, refresh) in chip cycles; the row opening after it is charged by the
  // rows' state (banks closed: tRCD + CL).
  double kv_dram_peak_bytes_per_cycle_ = 0.0;
  double kv_dram_refresh_cycles_ = 0.0;
  // DRAM only: chip cycles one channel's bus is held per burst (tCCD >= BL/2 tCK), for the
  // token level's bound that a transfer takes at least its busiest channel's bursts.
  double kv_dram_burst_cycles_ = 0.0;
  // DRAM only: a long stream's period per row on one channel, in chip cycles: the most of a
  // row's bursts, the row commands' wait for the controller's look-ahead (kv_dram.queue_depth)
  // and tRAS + tRP per bank over the banks (mapping.cpp derives it from the cycle level's
  // rules). Above the bursts' time a stream is row-bound (few banks, short rows, a fast bus).
  double kv_dram_row_cycles_ = 0.0;
  // DRAM only: tRAS in chip cycles, how long a row must stay open before a PRE may close it:
  // an access whose bank holds another layer's row (a row miss) cannot precharge before that
  // row's ACT + tRAS (the token level's row rule, sim/kv_sram.h).
  int64_t kv_dram_ras_cycles_ = 0;
  // DRAM only: the closed form's expected refresh wait per access, W^2 / (2 tREFI) for refresh
  // windows of W = tRP + tRFC (added to kv_write's and attention's latencies; the token level
  // blocks every window on its calendar instead).
  int64_t kv_dram_refresh_wait_cycles_ = 0;
  // DRAM only: per layer, the layers of its die whose accesses close its rows (their regions'
  // first rows are other rows of the same banks: the cycle level's address map, sim/kv_dram.h).
  std::vector<std::vector<int64_t>> kv_dram_row_rivals_;

  // Static blocks of one decode token, one user.
  BlockTiming embedding_, attn_norm_, qkv_, qk_norm_, rope_, kv_write_, o_proj_, ffn_norm_,
      ffn_gate_up_, activation_, ffn_down_, final_norm_, lm_head_, sampler_;
  BlockTiming link_forward_;  // one die boundary, d-vector (zero when one die)
  BlockTiming link_return_;   // token id back to die 0 (zero when one die)
  StreamBlock attention_stream_;  // the attention engine's structure (timing: attention())
  int64_t attention_extra_latency_cycles_ = 0;  // attention(L).latency - service (streaming)
  int64_t buffer_bytes_per_layer_ = 0;  // all inter-block FIFOs of one layer at fifo depth

  // Bank of global KV word index k (SRAM rule above).
  int64_t kv_bank_of_word(int64_t word_index) const;
  // Attention block at context L, p shared-prefix positions (p < L). `queries_per_sweep` > 1:
  // the block's share of a sweep that serves that many queries (prefill query tiles), whose KV
  // reads are done once; scores and softmax stay per query.
  BlockTiming attention(int64_t context_tokens, int64_t shared_prefix_tokens = 0,
                        bool write_conflict = false, int64_t queries_per_sweep = 1) const;
  // One layer's blocks in dataflow order (qk_norm only for models that have it).
  std::vector<BlockTiming> layer_blocks(int64_t context_tokens, int64_t shared_prefix_tokens = 0,
                                        bool write_conflict = false,
                                        int64_t queries_per_sweep = 1) const;
  int64_t layer_latency_cycles(int64_t context_tokens, int64_t shared_prefix_tokens = 0,
                               bool write_conflict = false) const;
  // Critical path of one decode token: embedding + N layers + final norm + lm_head + sampler
  // + links.
  int64_t token_latency_cycles(int64_t context_tokens, int64_t shared_prefix_tokens = 0,
                               bool write_conflict = false) const;
  double token_latency_s(int64_t context_tokens, int64_t shared_prefix_tokens = 0,
                         bool write_conflict = false) const;
  // Slowest block (largest S) among every block, the links and the DRAM bound: the decode
  // pipeline's stage time, which caps aggregate throughput.
  BlockTiming bottleneck(int64_t context_tokens, int64_t shared_prefix_tokens = 0,
                         bool write_conflict = false) const;
  int64_t stage_service_cycles(int64_t context_tokens, int64_t shared_prefix_tokens = 0,
                               bool write_conflict = false) const;
  // Prefill stage time at context L (no final norm / lm_head / sampler, write_conflict on).
  int64_t prefill_stage_cycles(int64_t context_tokens, int64_t shared_prefix_tokens = 0) const;
  int64_t prefill_cycles(int64_t prompt_tokens, int64_t shared_prefix_tokens = 0) const;
  double prefill_s(int64_t prompt_tokens, int64_t shared_prefix_tokens = 0) const;
  // host -> chip prompt, prefill, first token -> host.
  double time_to_first_token_s(int64_t prompt_tokens, int64_t shared_prefix_tokens = 0) const;
  // One user alone: output tokens / the sum of the latencies of the steps that produce them
  // (contexts prompt .. prompt+output-1; the first is the last prompt token's pass).
  double decode_tokens_per_s(int64_t prompt_tokens, int64_t output_tokens) const;
  // Steady-state decode rate of `users` at context L: only r = min(users, max_users(L, p))
  // are resident (the rest wait for KV memory); min(r / latency, 1 / stage time), with
  // write_conflict when r > 1; 0 when not even one user fits.
  double aggregate_tokens_per_s(int64_t users, int64_t context_tokens,
                                int64_t shared_prefix_tokens = 0) const;

  // Capacity. Positions per engine (kv_positions_) are shared by the prefix run (stored once)
  // and the users' private runs. max_context_tokens = min(prefix + floor((positions - prefix) /
  // users), model max_positions), or 0 when that leaves no private position; max_users =
  // floor((positions - prefix) / (context - prefix)) for context > prefix, 0 when context is
  // beyond the model's max_positions.
  int64_t max_context_tokens(int64_t users, int64_t shared_prefix_tokens = 0) const;
  int64_t max_users(int64_t context_tokens, int64_t shared_prefix_tokens = 0) const;

  // Activity of one decode step at context L (lm_head and sampler included) and of a prefill
  // of positions p..P-1 (lm_head and sampler only for the last).
  ActivityCounts decode_activity(int64_t context_tokens, int64_t shared_prefix_tokens = 0) const;
  ActivityCounts prefill_activity(int64_t prompt_tokens, int64_t shared_prefix_tokens = 0) const;
  // Sets a's KV read bits (kv_sram_read_bits_: whole bank words, or kv_dram_read_bits_: bytes,
  // as chip.attention.kv_memory says) for `position_reads` (layer, position) K-and-V reads: N L
  // for a decode step at context L; the simulator passes the reads its sweeps made (a tile of
  // prompt queries reads its context once, which the formulas above do not know).
  void set_kv_read_bits(ActivityCounts& a, double position_reads) const;

  // Human-readable: dies, ROM use, KV capacity, block table, headline rates.
  std::string fit_report() const;
  // Stable keys with units in names.
  nlohmann::json to_json() const;
};

// Derives the mapping. Throws hw::Error with the numbers when the weights do not fit the ROM of
// some die (suggesting the smallest chip.dies that would fit), when KV memory cannot hold one
// position of one user, or when chip.layers_per_die is inconsistent with the model.
ChipMapping map_model(const ModelConfig& model, const ChipConfig& chip, double weight_bits,
                      int kv_bits);

}  // namespace hw
