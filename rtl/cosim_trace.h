// The VCD of a co-simulated layer (`hardwire simulate --rtl layer=L --rtl-vcd F`): one
// Verilator trace file shared by every RTL block of the run (matrix blocks, vector units, the
// attention unit), each module under its own scope. Every block joins while the chip is built;
// the first block to start simulation adds all of them and opens the file (Verilator needs
// every traced module added before it opens), and the file is closed when the last block goes.
#pragma once
#include <functional>
#include <memory>
#include <string>

class VerilatedVcdSc;

namespace hw::rtl {

struct SharedTrace;

// Joins the run's trace at `path` (starting it if no block has); `add` adds the block's
// Verilated modules to the file. Keep the result for as long as the block lives.
std::shared_ptr<SharedTrace> join_trace(const std::string& path,
                                        std::function<void(VerilatedVcdSc*)> add);

// From each block's start_of_simulation: the first call adds every joined block and opens the
// file; later calls do nothing.
void open_trace(SharedTrace& trace);

}  // namespace hw::rtl
