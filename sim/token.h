// The unit of work of the SystemC chip model: one position of one user travelling through the
// block pipeline (embedding, the layers, the head). It carries who it belongs to, which position
// it is, its attention timing at that context (computed once from chip/mapping.h), and in
// functional mode pointers to the integer data the golden model's block functions transform.
// Also the cycle type and the stall reasons every block reports.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "chip/mapping.h"

namespace hw {
struct TokenState;
struct KvCache;
}  // namespace hw

namespace hw::sim {

using Cycle = int64_t;

// Why a block was not doing useful work in a cycle. Every cycle of every block instance is
// either busy or one of these (the JSON key is stall_reason_name()).
enum class StallReason {
  kInputEmpty,     // nothing in the input FIFO
  kOutputFull,     // result ready but the downstream FIFO full (back-pressure)
  kBankConflict,   // attention sweep lengthened by a KV write on single-ported banks
  kDramBandwidth,  // waiting for the die's KV DRAM channel, busy with other layers
};
constexpr int kStallReasonCount = 4;
const char* stall_reason_name(StallReason reason);

struct Token {
  int64_t seq_ = 0;              // injection order: the order every FIFO serves tokens in
  int64_t user_ = 0;             // request id
  int64_t position_ = 0;         // attends positions 0..position_ (context position_ + 1)
  int64_t prefix_ = 0;           // shared-prefix run swept separately (0: one private run)
  bool prompt_ = false;          // a prompt position (prefill), not a fed-back output
  bool produces_output_ = false;  // last prompt token or decode token: runs the head
  int32_t input_id_ = 0;         // token id fed to the embedding (functional mode)
  int32_t output_id_ = -1;       // sampled id (functional mode)
  Cycle attention_service_cycles_ = 0;  // attention at this context, no write conflict
  Cycle attention_latency_cycles_ = 0;
  Cycle conflict_penalty_cycles_ = 0;  // added when its KV write hit the previous sweep
  Cycle time_ = 0;               // arrival at the input FIFO of the stage being evaluated
  Cycle kv_write_start_ = 0;     // KV write of this token at the current layer
  Cycle kv_write_end_ = 0;
  TokenState* state_ = nullptr;  // functional mode: the token's integer data
  KvCache* cache_ = nullptr;     // functional mode: its user's KV cache
};

// Functional mode: called after a block applied its golden function to t's data
// (simulate --check-against, gpu_ref/trace.h).
using BlockHook = std::function<void(const Token& t, const std::string& block, int64_t layer)>;

}  // namespace hw::sim
