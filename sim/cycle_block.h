// Block processes of the cycle-level chip model (docs/simulate.md "Cycle level"). Every block
// instance of every layer is one of these sc_modules, with an input port and an output port
// (sc_fifo_in / sc_fifo_out of Chunk, chunk.h) and one SC_METHOD that acts on the edges of the
// chip clock: once per cycle while it has work, asleep on its input channel when idle (it
// resumes at the edge after a chunk is written).
//
// A block takes chunks through a one-chunk input register (at most one chunk per cycle from its
// channel), works on one token at a time in steps, and emits its output chunks (at most one per
// cycle, output_lanes elements per cycle) from an output buffer. The work of one token is a list
// of phases, each a number of steps of a few cycles; a step needs a prefix of the input (so a
// block starts on its first chunk and waits, stalled on input, when the next chunk is late) and
// produces a run of outputs, visible `depth` cycles after the step ends. A step that would
// overfill the output buffer waits (output_full): back-pressure is per chunk. The phases of
// each block kind follow its declared microarchitecture (chip_config.h):
//   matrix   CycleMatrixBlock below: ceil(C/Li) steps of output_mux cycles, Li inputs each, then
//            the tree, accumulate, hold and requant registers, Lo outputs per cycle, register
//            by register as the RTL block (rtl/matvec_core.sv)
//   norm, activation   pass 1: steps of `lanes` taking the whole input (the activation takes
//            gate and up, 2f values: QUANT needs max|silu(g) u| over the vector); pass 2:
//            ceil(n/lanes) steps producing the output; depth = pipeline_depth
//   rope, link   ceil(n/lanes) steps, each taking and producing `lanes`
//   sampler  ceil(V/lanes) steps taking the logits, the token id at the end
//   embedding  one step of lookup_cycles, then the d-vector
// kv_write and attention have their own processes (KV traffic, kv_banks.h).
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include <systemc>

#include "sim/block.h"
#include "sim/chunk.h"
#include "sim/clock.h"
#include "sim/kv_banks.h"
#include "sim/kv_dram.h"
#include "sim/kv_runs.h"
#include "sim/token.h"

namespace hw::sim {

struct CyclePhase {
  int64_t steps_ = 0;
  int64_t cycles_per_step_ = 1;
  int64_t inputs_per_step_ = 0;   // input elements each step adds to what it needs
  int64_t outputs_per_step_ = 0;  // 0: the phase's outputs all come at its last step
  int64_t outputs_ = 0;           // outputs of the phase
};

struct CycleBlockSpec {
  std::string name_;              // block key ("qkv", ...)
  int64_t layer_ = -1;
  int64_t die_ = 0;
  int64_t inputs_ = 0;            // elements per input vector
  int64_t outputs_ = 0;           // elements per output vector
  std::vector<CyclePhase> phases_;
  int64_t depth_cycles_ = 0;      // registers between a step's end and its outputs
  int64_t output_lanes_ = 1;      // output elements per cycle
  int64_t output_buffer_ = 1;     // output elements held before steps stall
  bool head_ = false;             // head input: drops tokens that produce no output
  // Matrix blocks (CycleMatrixBlock): registers after a step up to and including the hand-over
  // to the hold registers (tree registers + accumulate stages), and requantization stages; 0:
  // not a matrix block.
  int64_t matrix_pre_hold_ = 0;
  int64_t matrix_requant_stages_ = 0;
};

// Counters of one block instance; every cycle is busy or one of the stall reasons (input_empty
// is what remains).
struct CycleBlockStats {
  Cycle busy_cycles_ = 0;
  std::array<Cycle, kStallReasonCount> stall_cycles_{};
  int64_t tokens_ = 0;
  int64_t channel_peak_chunks_ = 0;
  // Attention: its sweeps over the KV context (a tile of queries is one) and the positions they
  // read (a tile reads its context once).
  int64_t kv_sweeps_ = 0;
  int64_t kv_positions_read_ = 0;
};

// Watches block instances at the cycle level (the chip's --vcd and --timeline): `index` is
// the process's place in CycleChip::processes().
class CycleObserver {
 public:
  virtual ~CycleObserver() = default;
  // The first chunk of `t` was taken from the input channel at `now`.
  virtual void on_start(size_t index, const Token& t, Cycle now) = 0;
  // The last chunk of `t` left (or the block is done with it) at `now`; it started at `start`.
  virtual void on_depart(size_t index, const Token& t, Cycle start, Cycle now) = 0;
  // The input channel holds `chunks` at `now`.
  virtual void on_queue(size_t index, int64_t chunks, Cycle now) = 0;
};

class CycleProcess : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(CycleProcess);
  CycleProcess(sc_core::sc_module_name name, const ClockBase& clock, int64_t chunk_elements);

  sc_core::sc_fifo_in<Chunk> in_;
  sc_core::sc_fifo_out<Chunk> out_;

  const CycleBlockStats& stats() const { return stats_; }
  virtual const std::string& block_name() const = 0;
  virtual int64_t layer() const = 0;
  void observe(CycleObserver* observer, size_t index) {
    observer_ = observer;
    observer_index_ = index;
  }

 protected:
  // One cycle of work at `now`; returns false when idle (nothing held, nothing to emit).
  virtual bool tick(Cycle now) = 0;

  // Input register: the chunk taken from the channel, not yet consumed.
  bool fill_input();
  // Output buffer: `elements` of `t` visible from cycle `ready`.
  void produce(Token* t, int64_t elements, int64_t vector_elements, Cycle ready);
  // Emits at most one chunk; counts an output_full stall when one is ready but the channel is
  // full. Returns whether anything remains to emit.
  bool emit(Cycle now, int64_t output_lanes);
  int64_t output_pending() const { return out_pending_; }
  // The block is done with `t` at `now`: its last output chunk left (emit() calls this;
  // processes that write their channel themselves or drop tokens call it too).
  void departed(const Token* t, Cycle now);

  const ClockBase& clock_;
  int64_t chunk_elements_;
  CycleBlockStats stats_;
  bool in_valid_ = false;
  Chunk in_reg_;

 private:
  void run();
  CycleObserver* observer_ = nullptr;
  size_t observer_index_ = 0;
  std::vector<std::pair<const Token*, Cycle>> starts_;  // observed tokens held: start cycles
  int64_t observed_queue_ = 0;
  struct OutRun {
    Cycle ready_;
    Token* token_;
    int64_t elements_;
    int64_t vector_elements_;
  };
  std::deque<OutRun> out_runs_;
  int64_t out_pending_ = 0;
  int64_t out_sent_ = 0;   // elements of the head token already emitted
  int32_t out_index_ = 0;  // next chunk number of the head token
  int64_t out_credit_ = 0;
  bool sleeping_ = true;
};

// Matrix blocks, vector units, embedding, links: the phase engine above.
class CycleBlock : public CycleProcess {
 public:
  // `golden`: the token-level module whose compute() applies the block's golden function
  // (functional mode); `on_drop`: called when a head block drops a token that produces no
  // output (its last chunk consumed).
  CycleBlock(sc_core::sc_module_name name, const ClockBase& clock, int64_t chunk_elements,
             CycleBlockSpec spec, const BlockModule* golden, bool functional,
             std::function<void(Token*, Cycle)> on_drop);
  const std::string& block_name() const override { return spec_.name_; }
  int64_t layer() const override { return spec_.layer_; }
  const CycleBlockSpec& spec() const { return spec_; }

 protected:
  bool tick(Cycle now) override;

 private:
  int64_t need_of_step() const;  // input elements the current step needs
  int64_t outputs_of_step() const;
  CycleBlockSpec spec_;
  const BlockModule* golden_;
  bool functional_;
  std::function<void(Token*, Cycle)> on_drop_;
  Token* cur_ = nullptr;
  bool dropping_ = false;
  int64_t received_ = 0;
  bool applied_ = false;  // the token's golden function applied
  size_t phase_ = 0;
  int64_t step_ = 0;
  int64_t phase_input_base_ = 0;  // input needed before this phase
  int64_t produced_ = 0;          // outputs of the current phase so far
  Cycle busy_until_ = 0;
};

// Matrix blocks (qkv, o_proj, ffn_gate_up, ffn_down, lm_head), register by register as the RTL
// matrix block (rtl/matvec_core.sv) has them, so the Verilated block co-simulates cycle for
// cycle (tests/rtl/test_rtl_timing.cpp): the one-chunk input register; steps of Li inputs, each
// output_mux cycles; `pre_hold` registers after a step (the tree registers and the accumulate
// stages, the last being the hand-over of a finished vector's accumulators to the output
// (hold) registers); the hold registers, one vector, issuing Lo rows per cycle into
// `requant_stages` requantization registers; the output chunk assembled from them, Lo per
// cycle, and written into the channel when complete. A finished vector whose hold registers
// are still busy waits in the last register before them (and holds up the next vector's steps
// behind it); the hold registers are free in the cycle their last rows enter requantization.
// Back-pressure reaches the requantization registers when the output chunk cannot be written.
class CycleMatrixBlock : public CycleProcess {
 public:
  // `spec`: matrix_block_spec() (one phase of input steps).
  CycleMatrixBlock(sc_core::sc_module_name name, const ClockBase& clock, int64_t chunk_elements,
                   CycleBlockSpec spec, int64_t pre_hold_registers, int64_t requant_stages,
                   const BlockModule* golden, bool functional);
  const std::string& block_name() const override { return spec_.name_; }
  int64_t layer() const override { return spec_.layer_; }

 protected:
  bool tick(Cycle now) override;

 private:
  struct Stage {
    Token* token_ = nullptr;
    int64_t elements_ = 0;
    bool valid_ = false;
  };
  struct Waiting {
    Token* token_;
    Cycle earliest_;  // first edge at which its accumulators can enter the hold registers
  };
  int64_t want() const;  // elements of the output chunk being assembled
  // Whether the hold registers take the first waiting vector at edge now + 1.
  bool hold_takes_next(Cycle now) const;
  CycleBlockSpec spec_;
  int64_t pre_hold_;
  const BlockModule* golden_;
  bool functional_;
  // input side
  Token* cur_ = nullptr;
  int64_t received_ = 0;
  int64_t step_ = 0;
  Cycle busy_until_ = 0;
  std::deque<Waiting> waiting_;
  int64_t steps_behind_ = 0;  // steps taken since the first waiting vector's last step
  // output side
  Token* hold_ = nullptr;
  Cycle hold_at_ = 0;
  int64_t hold_issued_ = 0;
  std::vector<Stage> requant_;
  std::deque<Token*> out_tokens_;  // vectors in the hold / requant registers or being assembled
  int64_t assembled_ = 0;
  int64_t emitted_ = 0;  // elements of out_tokens_.front() written
};

// The per-layer attention engine's two KV processes.
struct KvLayerGeometry {
  bool dram_ = false;
  int64_t q_ = 0, kv_ = 0;             // elements of q and of k (= v)
  int64_t words_per_row_ = 0;          // SRAM: ceil(R / bank_width), K (or V) of one position
  int64_t elements_per_word_ = 0;      // SRAM
  int64_t words_per_position_ = 0;     // Wp = 2 * words_per_row
  int64_t write_latency_ = 0;
  int64_t read_latency_ = 0;
  double bytes_per_position_ = 0;      // 2R (DRAM requests)
  KvDramLayout dram_layout_;           // DRAM: (layer, slot) -> byte address, per die
  int64_t query_tile_ = 1;             // prompt queries of one user per sweep
  int64_t layer_base_words_ = 0;       // SRAM: the layer's first word in its bank pool
  int64_t macs_per_position_ = 0;      // 2q
  int64_t exps_per_position_ = 0;      // n_heads
  int64_t macs_per_cycle_ = 0;
  int64_t exps_per_cycle_ = 0;
  int64_t out_depth_ = 0;              // attention pipeline + exp latency
};

class CycleKvWrite : public CycleProcess {
 public:
  CycleKvWrite(sc_core::sc_module_name name, const ClockBase& clock, int64_t chunk_elements,
               int64_t layer, const KvLayerGeometry& g, KvBankEngine* banks,
               KvDram* dram, const BlockModule* golden, bool functional,
               std::function<KvAddress(const Token&)> address);
  const std::string& block_name() const override { return name_; }
  int64_t layer() const override { return layer_; }

 protected:
  bool tick(Cycle now) override;

 private:
  std::string name_ = "kv_write";
  int64_t layer_;
  KvLayerGeometry g_;
  KvBankEngine* banks_;
  KvDram* dram_;
  const BlockModule* golden_;
  bool functional_;
  std::function<KvAddress(const Token&)> address_;
  // q output buffer: query_tile q vectors plus a chunk of the next (what a tile of queries needs
  // waiting at attention's input; the RTL unit's q queue, rtl/attention_unit.sv QVEC).
  int64_t q_buffer_elements_;
  Token* cur_ = nullptr;
  int64_t received_ = 0;
  int64_t words_written_ = 0;
  Cycle last_write_ = 0;
};

// Prefill query tiling: consecutive prompt positions of one user already waiting at the input
// (up to query_tile; each whole q is taken) share one sweep over positions 0..last of the tile;
// position j is scored against every query at or after it (causal mask), so the sweep's MAC and
// exp work per position grows with the queries it serves while its KV reads are done once. The
// block never waits for a query: a tile closes when full, at a token that is not an inner prompt
// token, or when the next token at the input is not the user's next position (or there is none
// yet). Tiles form from the prompt tokens queued at the attention block (where its KV reads are
// the bottleneck), so the KV reads of a prefill drop by the mean tile size, up to query_tile when
// the upstream buffers hold that many tokens; where tokens do not queue, each is swept alone and
// nothing is delayed.
class CycleAttention : public CycleProcess {
 public:
  CycleAttention(sc_core::sc_module_name name, const ClockBase& clock, int64_t chunk_elements,
                 int64_t layer, const KvLayerGeometry& g, KvBankEngine* banks, KvDram* dram,
                 const BlockModule* golden, bool functional,
                 std::function<KvAddress(const Token&)> address);
  const std::string& block_name() const override { return name_; }
  int64_t layer() const override { return layer_; }

 protected:
  bool tick(Cycle now) override;

 private:
  bool joins(const Token& last, const Token& next) const;
  int64_t queries_at(int64_t position) const;  // tile queries that score `position`

  std::string name_ = "attention";
  int64_t layer_;
  KvLayerGeometry g_;
  KvBankEngine* banks_;
  KvDram* dram_;
  const BlockModule* golden_;
  bool functional_;
  std::function<KvAddress(const Token&)> address_;
  std::vector<Token*> tile_;   // queries gathered, in position order
  int64_t first_query_ = 0;    // position of the tile's first query
  Token* cur_ = nullptr;       // token whose q is being received
  int64_t received_ = 0;
  bool sweeping_ = false;
  KvAddress addr_;
  int64_t positions_ = 0;      // L
  int64_t words_total_ = 0;
  int64_t words_issued_ = 0;
  std::deque<std::pair<Cycle, int64_t>> returns_;  // (cycle, words issued by then)
  int64_t words_returned_ = 0;
  int64_t computed_ = 0;       // positions scored and accumulated
  int64_t mac_credit_ = 0;
  int64_t exp_credit_ = 0;
  int64_t dram_request_ = -1;
};

// The host side of the chip's output: takes the sampled token ids (one chunk each) and reports
// them.
class CycleSink : public CycleProcess {
 public:
  CycleSink(sc_core::sc_module_name name, const ClockBase& clock,
            std::function<void(Token*, Cycle)> on_token);
  const std::string& block_name() const override { return name_; }
  int64_t layer() const override { return -1; }

 protected:
  bool tick(Cycle now) override;

 private:
  std::string name_ = "host";
  std::function<void(Token*, Cycle)> on_token_;
};

}  // namespace hw::sim
