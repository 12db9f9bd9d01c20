// The chip description: a microarchitecture (clock, ROM and SRAM capacities, per-block rates,
// attention engine, links) declared once as a parameter tree rooted at "chip" and read from
// configs/chips/<name>.yaml plus `--set chip.key=value` overrides. It says nothing about any
// particular model: matrix blocks are described by how many cycles they take for one token
// (`fold`), not by a MAC count, so the same description can be combined with any model on the
// command line and chip/mapping.h derives the numbers (docs/chip.md has every key).
//
// Block tree (YAML mirrors it; per-layer blocks exist once per mapped layer):
//   embedding -> [ per layer: attn_norm(norm) -> qkv -> (qk_norm) -> rope -> kv_write ->
//   attention -> o_proj -> ffn_norm(norm) -> ffn_gate_up -> activation -> ffn_down ]
//   -> final norm -> lm_head -> sampler -> (token back to embedding)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/param_tree.h"

namespace hw {

// How a hardwired matrix block forms weight x activation products (same numbers either way;
// energy and area differ, power/ reads it).
enum class MatrixProducts {
  kProductSelect,       // per input lane the multiples x*code are formed once; each weight cell
                        // selects one by wiring (HC1-style)
  kConstantMultipliers  // each weight cell a shift-add constant multiplier
};

// A weight matrix in silicon, column-serial with its rows in parallel (docs/chip.md "Matrix
// blocks"): the block takes input_lanes (Li) input elements per cycle; every output row has an
// adder tree summing Li products per cycle, shared by output_mux rows served in turn (each
// input slice is held output_mux cycles); after the last slice the tree registers, the
// accumulate and the requantization stages, then the R outputs leave output_lanes (Lo) per
// cycle. For a C x R matrix: fold = ceil(C/Li) * output_mux cycles of compute per token,
// service = max(fold, ceil(R/Lo)) (accumulators and output registers double-buffered). C and R
// come from the model, so fold and service are derived by chip/mapping.h.
struct MatrixBlockConfig {
  int64_t input_lanes_ = 1;
  int64_t output_mux_ = 1;
  int64_t output_lanes_ = 1;
  MatrixProducts products_ = MatrixProducts::kProductSelect;
  int64_t adder_levels_per_register_ = 0;  // 0: one register after the whole tree
  int64_t accumulate_stages_ = 1;
  int64_t requant_stages_ = 2;
  // Product bits a lane's tree input takes per cycle (s); 0 = a whole product per cycle.
  int64_t product_bits_per_cycle_ = 0;
  // Derived for a model by map_model() in ChipMapping::chip_ (0 in a ChipConfig straight from
  // the YAML): compute cycles per token, and the fixed latency after the last input slice.
  int64_t fold_cycles_ = 0;
  int64_t pipeline_depth_cycles_ = 0;
  // Registers in the adder tree over Li inputs: ceil(log2 Li) levels.
  int64_t tree_registers() const;
  // Cycles a lane's tree input spends on one product of an `activation_bits` activation and a
  // `digit_bits` weight digit (digit: ceil(b / ceil(b / tech.rom.bits_per_cell)) bits of a b-bit
  // weight): product_cycles(a, d, product_bits_per_cycle_).
  int64_t cycles_per_product(int64_t activation_bits, int64_t digit_bits) const;
};

// 1 when `product_bits_per_cycle` is 0 (whole products), else ceil((a + d) / s): the one formula
// of a product's cycles, shared by the chip's timing and power/cell_model.h.
int64_t product_cycles(int64_t activation_bits, int64_t digit_bits,
                       int64_t product_bits_per_cycle);

// An element-wise or reduction unit (RMSNorm, RoPE, SiLU*up, argmax sampler).
struct VectorUnitConfig {
  int64_t elements_per_cycle_ = 1;
  int64_t pipeline_depth_cycles_ = 0;
};

enum class KvMemory { kSram, kDram };

// On-die KV SRAM. Capacity is per die, shared evenly by the layers mapped on it; the bank
// geometry is per layer: every mapped layer has its own attention engine with `banks_` banks.
struct KvSramConfig {
  int64_t capacity_bytes_ = 0;  // per die
  int64_t banks_ = 0;           // per layer attention engine
  int64_t ports_per_bank_ = 0;  // >= 2: one port per bank is reserved for writes
  int64_t bank_width_bytes_ = 0;
  int64_t read_latency_cycles_ = 0;
  int64_t write_latency_cycles_ = 0;
  // Cycle level: false = every layer engine has its own `banks_` banks; true = the die's layers
  // share one pool of banks_ x layers-on-die banks (same total), layer-major word addresses, so
  // one layer's reads and writes can conflict with another's (sim/kv_banks.h).
  bool shared_across_layers_ = false;
  // Not a key: cycles an in-order read sweep loses per cycle of a KV write wave on single-ported
  // banks (the stolen port cycle), as chip/mapping.h's attention rule charges it.
  static constexpr int64_t bank_conflict_penalty_cycles_ = 1;
};

// External DRAM holding the KV cache (one attachment per die, shared by its layers). The cycle
// level serves it JEDEC-style (sim/kv_dram.h): `channels_` independent channels of
// `bus_width_bits_` data pins at `data_rate_hz_` transfers per pin per second (DDR: the command
// clock is data_rate / 2), each with `banks_` banks of `row_bytes_` open-row pages, bursts of
// `burst_length_` transfers, and the core timings below; peak bandwidth =
// channels x bus_width / 8 x data_rate (= bandwidth_bytes_per_s_, derived from one another).
// Where a byte of a die's KV DRAM region lives (KvDramConfig::locate).
struct KvDramLocation {
  int64_t channel_ = 0;
  int64_t bank_ = 0;
  int64_t row_ = 0;
  int64_t column_ = 0;  // byte offset in the row
};

struct KvDramConfig {
  int64_t capacity_bytes_ = 0;           // per die
  double bandwidth_bytes_per_s_ = 0.0;   // per die, reads and writes together (peak)
  double latency_s_ = 0.0;               // controller + PHY + interconnect, added to each access
  int64_t channels_ = 8;
  int64_t bus_width_bits_ = 128;         // data pins per channel
  double data_rate_hz_ = 0.0;            // transfers per pin per second
  int64_t burst_length_ = 4;             // transfers per column access
  int64_t banks_ = 16;                   // per channel
  int64_t row_bytes_ = 1024;             // page: bytes of one row of one bank of one channel
  int64_t interleave_bytes_ = 256;       // consecutive bytes on one channel before the next
  double t_rcd_s_ = 0.0;                 // ACT -> column command
  double t_cl_s_ = 0.0;                  // column command -> first data (reads; writes too)
  double t_rp_s_ = 0.0;                  // PRE -> ACT
  double t_ras_s_ = 0.0;                 // ACT -> PRE
  double t_rfc_s_ = 0.0;                 // all-bank refresh
  double t_refi_s_ = 0.0;                // refresh interval (0: no refresh)
  double t_ccd_s_ = 0.0;                 // column -> column (0: the burst, BL/2 clocks)
  int64_t queue_depth_bursts_ = 32;      // controller look-ahead for row commands
  int64_t burst_bytes() const { return bus_width_bits_ * burst_length_ / 8; }
  // The address map of the cycle level's DRAM (sim/kv_dram.h), which the mapping's closed
  // forms read too: byte A -> piece g = A / interleave on channel g mod channels, in-channel
  // a = (g / channels) x interleave + A mod interleave, row index r = a / row_size in bank
  // r mod banks, row r / banks, column a mod row_size.
  KvDramLocation locate(int64_t address) const {
    const int64_t g = address / interleave_bytes_;
    const int64_t in_channel = (g / channels_) * interleave_bytes_ + address % interleave_bytes_;
    const int64_t r = in_channel / row_bytes_;
    return {g % channels_, r % banks_, r / banks_, in_channel % row_bytes_};
  }
};

struct AttentionConfig {
  KvMemory kv_memory_ = KvMemory::kSram;
  int64_t macs_per_cycle_ = 1;               // q.k and p.v MACs per cycle per layer engine
  int64_t softmax_elements_per_cycle_ = 1;   // exp() per cycle per layer engine
  int64_t pipeline_depth_cycles_ = 0;        // score -> softmax -> accumulate pipeline
  int64_t exp_latency_cycles_ = 0;           // exp-table lookup in the softmax path
  KvSramConfig kv_sram_;                     // used when kv_memory_ == kSram
  KvDramConfig kv_dram_;                     // used when kv_memory_ == kDram
  // Prefill query tiling (cycle level): up to this many consecutive prompt positions of one
  // user share one sweep over the KV context (causal mask per query).
  int64_t query_tile_ = 8;
};

// Chip-to-chip link between consecutive dies (one per boundary, one direction each way).
struct LinkConfig {
  double bandwidth_bytes_per_s_ = 0.0;
  double latency_s_ = 0.0;
};

// Resolved, validated chip description. Built only by load_chip_config / chip_config_from;
// passed by const& everywhere afterwards.
struct ChipConfig {
  std::string name_;         // file stem, or the name given
  std::string source_;       // the YAML file it came from ("" for built from overrides only)
  std::string description_;  // free text from chip.description
  double clock_hz_ = 0.0;
  int64_t dies_ = 1;                      // dies in the system (chips connected by links)
  std::vector<int64_t> layers_per_die_;   // empty: derived by chip/mapping.h (balanced split)
  int64_t rom_capacity_bits_ = 0;         // weight ROM per die
  int64_t activation_bits_ = 16;          // width of activation vectors in buffers and links
  LinkConfig link_;
  double host_latency_s_ = 0.0;           // one way, host <-> chip, per request message
  int64_t embedding_lookup_cycles_ = 1;   // token id -> d_model vector from ROM
  VectorUnitConfig norm_;                 // RMSNorm (attn_norm, ffn_norm, qk_norm, final norm)
  VectorUnitConfig rope_;
  VectorUnitConfig activation_;           // SiLU(gate) * up
  VectorUnitConfig sampler_;              // greedy argmax over the vocabulary
  MatrixBlockConfig qkv_;
  MatrixBlockConfig o_proj_;
  MatrixBlockConfig ffn_gate_up_;
  MatrixBlockConfig ffn_down_;
  MatrixBlockConfig lm_head_;
  AttentionConfig attention_;
  int64_t fifo_depth_tokens_ = 1;         // every inter-block buffer, in token vectors (token level)
  int64_t chunk_elements_ = 256;          // activation elements per chunk on a channel (cycle level)
  int64_t channel_depth_chunks_ = 2;      // every block-to-block channel (cycle level)
  double power_tdp_w_ = 0.0;              // card TDP (power/estimator.h throttles above it); 0 = none
  // Simulator power cap (sim/power_cap.h): card power over each window of cap_window_us above
  // it throttles the clock. 0 = the TDP's value (power_tdp_w_), so both limits agree unless set.
  double power_cap_w_ = 0.0;
  double power_cap_window_us_ = 100.0;
  double power_cap_effective_w() const { return power_cap_w_ > 0 ? power_cap_w_ : power_tdp_w_; }

  double cycle_s() const { return 1.0 / clock_hz_; }
  // {"chip": {...resolved values...}, "chip_units": {...}, "chip_source": file}.
  nlohmann::json to_json() const;

  ParamValues params_;  // the resolved tree, kept for to_json()
};

// Every chip parameter: key, unit, default (or required), range, description.
ParamSchema chip_schema();

// `name_or_path`: a shipped name (configs/chips/<name>.yaml, found through configs_dir()) or a
// path to a YAML file. `overrides`: "chip.key=value" strings (others are ignored here, so one
// --set list can serve every tree). Throws hw::Error naming the file / key and the fix.
ChipConfig load_chip_config(const std::string& name_or_path,
                            const std::vector<std::string>& overrides);

// Builds from an already-parsed YAML tree (tests, embedded configs). `file_name` names it in
// errors and becomes source_.
ChipConfig chip_config_from_yaml(const YAML::Node& root, const std::string& name,
                                 const std::string& file_name,
                                 const std::vector<std::string>& overrides);

// Names of the shipped chip descriptions (configs/chips/*.yaml), sorted.
std::vector<std::string> chip_preset_names();

}  // namespace hw
