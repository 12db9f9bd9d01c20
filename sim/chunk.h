// The unit of the cycle-level chip model's channels (docs/simulate.md "Cycle level", the
// block interface in rtl/ co-simulation): one chunk of an activation vector, at most
// chip.buffers.chunk_elements elements, passed between two block processes over a bounded
// registered FIFO (sc_fifo: a chunk written at edge t is visible to the reader from edge t+1, a
// slot freed at t is visible to the writer from t+1, so the FIFO is valid/ready with one cycle
// of latency each way). The lane values themselves are not copied into the chunk: in functional
// mode they live in the token's golden-model state, which the block's golden function
// transforms when the block has consumed its whole input.
#pragma once
#include <cstdint>
#include <ostream>

#include <systemc>

#include "sim/token.h"

namespace hw::sim {

struct Chunk {
  Token* token_ = nullptr;  // the vector's token (user, position, flags, functional state)
  int32_t index_ = 0;       // chunk number within the vector
  int32_t elements_ = 0;    // valid lanes (the last chunk of a vector may be partial)
  bool last_ = false;       // last chunk of the vector
};

inline std::ostream& operator<<(std::ostream& os, const Chunk& c) {
  return os << "chunk(seq " << (c.token_ ? c.token_->seq_ : -1) << ", #" << c.index_ << ", "
            << c.elements_ << (c.last_ ? ", last)" : ")");
}

using ChunkChannel = sc_core::sc_fifo<Chunk>;

}  // namespace hw::sim
