// The block pipeline of the chip: every block instance in dataflow order (embedding; per layer
// attn_norm, qkv, [qk_norm], rope, kv_write, attention, o_proj, ffn_norm, ffn_gate_up,
// activation, ffn_down; a link after each die but the last; final_norm, lm_head, sampler; the
// token's return link), each behind its bounded input FIFO.
//
// How time is computed. The pipeline is a line: every FIFO serves in order and every block
// takes one token at a time, so a token never overtakes another and nothing a later token does
// can change an earlier token's timing. The SystemC kernel therefore only has to stop when a
// token enters the chip (the scheduler's decision, which depends on who is ready then) and when
// one leaves it; at entry, pass() evaluates the token's whole trajectory with the recurrences
// of a tandem line with blocking, which is exact for this structure:
//   start    = max(arrival in the input FIFO, the block free again)
//   ready    = start + latency (+ the bank-conflict or DRAM-wait cycles of this token)
//   depart   = max(ready, previous token's departure, space in the next block's FIFO)
//   free     = start + service + (depart - ready)   (a blocked output holds the block)
// where "space" is the cycle the next block took the token `fifo_depth` places ahead. Cycles a
// block spends blocked are output_full stalls, extra attention cycles bank_conflict, waiting for
// the DRAM channel dram_bandwidth, the rest of its idle time input_empty.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "sim/block.h"
#include "sim/fifo.h"
#include "sim/kv_sram.h"
#include "sim/token_path.h"
#include "sim/token.h"

namespace hw::sim {

enum class StageKind { kPlain, kKvWrite, kAttention };

struct Stage {
  Stage(BlockModule* block, int64_t layer, int64_t die, StageKind kind, bool head,
        int64_t fifo_depth_tokens);

  BlockModule* block_ = nullptr;
  int64_t layer_ = -1;  // -1 for blocks outside the layers
  int64_t die_ = 0;
  StageKind kind_ = StageKind::kPlain;
  bool head_ = false;   // final norm onwards: only tokens that produce output visit it
  BoundedFifo input_;
  Cycle service_cycles_ = 0;  // from the block, for every kind but attention (per token)
  Cycle latency_cycles_ = 0;

  Cycle next_issue_ = 0;      // the block can take its next token from this cycle
  Cycle last_departure_ = 0;  // outputs leave in order
  // Attention: read sweeps [start, end) of earlier tokens that may still be running when a
  // later token's KV write lands (at most fifo_depth + 1 of them, pruned as writes advance).
  std::deque<std::pair<Cycle, Cycle>> sweeps_;

  Cycle busy_cycles_ = 0;
  std::array<Cycle, kStallReasonCount> stall_cycles_{};
  int64_t tokens_ = 0;

  // "L03.qkv", "embedding", "link0", ...: the stage's name in timelines.
  std::string label() const;
};

// Receives every stage visit (timeline and VCD recorders).
class VisitObserver {
 public:
  virtual ~VisitObserver() = default;
  // Token t was in stage `index`'s input FIFO from `arrive`, taken at `start`, kept the block
  // busy until `busy_end` and left at `depart`.
  virtual void on_visit(size_t index, const Token& t, Cycle arrive, Cycle start, Cycle busy_end,
                        Cycle depart) = 0;
};

class Pipeline : public TokenPath {
 public:
  Pipeline(std::vector<Stage> stages, KvSram& kv, bool functional);

  // TokenPath: the token level.
  Cycle input_space_at(Cycle) const override { return input_space_at(); }
  Cycle enter(Token& t, Cycle) override { return pass(t); }

  // Cycle from which the embedding's input FIFO can take one more token.
  Cycle input_space_at() const { return stages_.front().input_.space_at(); }
  // Evaluates t's passage from t.time_ (its arrival in the embedding's input FIFO) through every
  // stage it visits (tokens that produce no output stop after the last layer); returns the cycle
  // it leaves the last one. Functional mode applies each block's golden function on the way.
  Cycle pass(Token& t);
  void set_observer(VisitObserver* observer) { observer_ = observer; }

  const std::vector<Stage>& stages() const { return stages_; }
  // Latest departure seen: the end of the simulated activity.
  Cycle last_cycle() const { return last_cycle_; }
  int64_t state_bytes() const;

 private:
  std::vector<Stage> stages_;
  size_t body_end_ = 0;  // stages_[0, body_end_) are visited by every token
  KvSram& kv_;
  bool functional_ = false;
  VisitObserver* observer_ = nullptr;
  Cycle last_cycle_ = 0;
};

}  // namespace hw::sim
