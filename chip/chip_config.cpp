// Chip description: the declared "chip" parameter tree and its translation into ChipConfig,
// with the cross-key checks a per-key range cannot express (KV memory of the chosen kind must
// be described, links must exist when there are several dies, layers_per_die vs dies).
#include "chip/chip_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "common/error.h"
#include "model/model_config.h"

namespace hw {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxCycles = 1000000000;  // 1 s at 1 GHz: far beyond any block

void add_vector_unit(ParamSchema& s, const std::string& block, const std::string& what) {
  s.add_int(block + ".elements_per_cycle", 0, "", what + ": elements processed per cycle", 1,
            int64_t(1) << 30)
      .required()
      .add_int(block + ".pipeline_depth", 0, "cycles",
               what + ": pipeline latency added after the last element", 0, kMaxCycles)
      .required();
}

void add_matrix(ParamSchema& s, const std::string& block, const std::string& what) {
  s.add_int(block + ".input_lanes", 0, "",
            what + ": input elements taken per cycle (Li); every output row's adder tree sums "
                   "Li weight x activation products per cycle",
            1, int64_t(1) << 20)
      .required()
      .add_int(block + ".output_mux", 1, "",
               what + ": output rows sharing one adder tree and accumulator, served in turn "
                      "(each input slice is held this many cycles); 1 = a tree per row",
               1, int64_t(1) << 20)
      .add_int(block + ".output_lanes", 0, "",
               what + ": output elements leaving the output registers per cycle (Lo)", 1,
               int64_t(1) << 20)
      .required()
      .add_string(block + ".products", "product_select",
                  what + ": product_select (per input lane the multiples x*code are formed once "
                         "and each weight cell selects one, HC1-style) or constant_multipliers "
                         "(a shift-add constant multiplier per weight); same numbers, different "
                         "energy and area",
                  {"product_select", "constant_multipliers"})
      .add_int(block + ".adder_levels_per_register", 0, "",
               what + ": adder-tree levels between pipeline registers; 0 = the whole tree of "
                      "ceil(log2 Li) levels, then one register",
               0, 64)
      .add_int(block + ".accumulate_stages", 1, "cycles",
               what + ": accumulate / group-scale stages after the tree", 0, 64)
      .add_int(block + ".requant_stages", 2, "cycles",
               what + ": requantization stages (accumulator x scale, round-shift and saturate)",
               0, 64)
      .add_int(block + ".product_bits_per_cycle", 0, "bits",
               what + ": product bits a lane's adder-tree input takes from its weight cells per "
                      "cycle; 0 = a whole product per lane per cycle; s > 0: a product of an "
                      "a-bit activation and a d-bit weight digit takes ceil((a + d) / s) cycles "
                      "(1 = bit-serial, one transistor per digit cell as HC1 claims) and power/ "
                      "builds cells of s transistors",
               0, 64);
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

VectorUnitConfig vector_unit(const ParamValues& v, const std::string& block) {
  VectorUnitConfig u;
  u.elements_per_cycle_ = v.get_int(block + ".elements_per_cycle");
  u.pipeline_depth_cycles_ = v.get_int(block + ".pipeline_depth");
  return u;
}

MatrixBlockConfig matrix(const ParamValues& v, const std::string& block) {
  MatrixBlockConfig m;
  m.input_lanes_ = v.get_int(block + ".input_lanes");
  m.output_mux_ = v.get_int(block + ".output_mux");
  m.output_lanes_ = v.get_int(block + ".output_lanes");
  m.products_ = v.get_string(block + ".products") == "constant_multipliers"
                    ? MatrixProducts::kConstantMultipliers
                    : MatrixProducts::kProductSelect;
  m.adder_levels_per_register_ = v.get_int(block + ".adder_levels_per_register");
  m.accumulate_stages_ = v.get_int(block + ".accumulate_stages");
  m.requant_stages_ = v.get_int(block + ".requant_stages");
  m.product_bits_per_cycle_ = v.get_int(block + ".product_bits_per_cycle");
  return m;
}

}  // namespace

int64_t product_cycles(int64_t activation_bits, int64_t digit_bits,
                       int64_t product_bits_per_cycle) {
  if (product_bits_per_cycle <= 0) return 1;
  return std::max<int64_t>(
      1, (activation_bits + digit_bits + product_bits_per_cycle - 1) / product_bits_per_cycle);
}

int64_t MatrixBlockConfig::cycles_per_product(int64_t activation_bits, int64_t digit_bits) const {
  return product_cycles(activation_bits, digit_bits, product_bits_per_cycle_);
}

int64_t MatrixBlockConfig::tree_registers() const {
  int64_t levels = 0;
  while ((int64_t(1) << levels) < input_lanes_) ++levels;
  if (adder_levels_per_register_ == 0) return 1;
  return std::max<int64_t>(1, (levels + adder_levels_per_register_ - 1) / adder_levels_per_register_);
}

ParamSchema chip_schema() {
  ParamSchema s("chip");
  s.add_string("description", "", "free text: what this design is and where its numbers come from")
      .add_real("clock", 0.0, "Hz", "core clock of every block", 1e6, 1e11)
      .required()
      .add_int("dies", 1, "",
               "dies (chips) in the system, connected in a chain by links; layers are split "
               "across them",
               1, 4096)
      .add_int_list("layers_per_die", {}, "",
                    "layers on each die in order; empty = balanced split derived from the model "
                    "(first dies get the extra layer)",
                    1, 1 << 20)
      .add_int("activation_bits", 16, "",
               "bits per activation value in inter-block buffers and on links (16: the bf16 "
               "activations of the published checkpoints)",
               1, 64)
      .add_int("rom.capacity", 0, "bit",
               "weight ROM per die (embedding table, layer matrices, norms, lm_head)", 1)
      .required()
      .add_real("link.bandwidth", 0.0, "B/s",
                "chip-to-chip link bandwidth per direction; needed when more than one die is used",
                0.0)
      .add_real("link.latency", 0.0, "s", "chip-to-chip link latency, one hop", 0.0, 1.0)
      .add_real("host.latency", 0.0, "s",
                "host interface latency, one way, per message (prompt in, first token out)", 0.0,
                10.0)
      .required()
      .add_int("embedding.lookup_cycles", 0, "cycles",
               "token id to embedding vector (ROM row read), service and latency", 1, kMaxCycles)
      .required();
  add_vector_unit(s, "norm", "RMSNorm unit (two passes: sum of squares, then scale)");
  add_matrix(s, "qkv", "fused q, k, v projection");
  add_vector_unit(s, "rope", "rotary position embedding of q and k");
  s.add_string("attention.kv_memory", "sram",
               "where the KV cache lives: on-die SRAM banks or external DRAM", {"sram", "dram"})
      .add_int("attention.macs_per_cycle", 0, "",
               "q.k and p.v multiply-accumulates per cycle, per layer attention engine", 1,
               int64_t(1000000000000))
      .required()
      .add_int("attention.softmax_elements_per_cycle", 0, "",
               "softmax exponentials per cycle, per layer attention engine", 1, int64_t(1) << 30)
      .required()
      .add_int("attention.pipeline_depth", 0, "cycles",
               "score -> softmax -> accumulate pipeline latency after the last KV word", 0,
               kMaxCycles)
      .required()
      .add_int("attention.exp_latency", 2, "cycles",
               "exp-table lookup latency in the softmax path (latency, not throughput)", 0,
               kMaxCycles)
      .add_int("attention.kv_sram.capacity", 0, "B",
               "KV SRAM per die, shared evenly by the layers on the die (kv_memory = sram)", 0)
      .add_int("attention.kv_sram.banks", 0, "",
               "banks per layer attention engine; word k of the engine is in bank k mod banks", 0,
               1 << 20)
      .add_int("attention.kv_sram.ports_per_bank", 0, "",
               "ports per bank; with 2 or more, one is reserved for writes", 0, 16)
      .add_int("attention.kv_sram.bank_width", 0, "B", "bytes per bank access (one word)", 0,
               1 << 16)
      .add_int("attention.kv_sram.read_latency", 0, "cycles", "bank read latency", 0, kMaxCycles)
      .add_int("attention.kv_sram.write_latency", 0, "cycles",
               "bank write latency until the word is readable", 0, kMaxCycles)
      .add_string("attention.kv_sram.bank_scope", "layer",
                  "cycle level: layer = every layer engine its own banks; die = the die's layers "
                  "share one pool of banks x layers-on-die banks (layer-major addresses: layers "
                  "conflict with each other, counted per bank)",
                  {"layer", "die"})
      .add_int("attention.kv_dram.capacity", 0, "B", "KV DRAM per die (kv_memory = dram)", 0)
      .add_real("attention.kv_dram.bandwidth", 0.0, "B/s",
                "KV DRAM bandwidth per die, reads and writes together, shared by its layers", 0.0)
      .add_real("attention.kv_dram.latency", 0.0, "s",
                "KV DRAM access latency of the controller, PHY and interconnect (the cycle "
                "level adds the DRAM core timings below on top)",
                0.0, 1.0)
      .add_int("attention.kv_dram.channels", 8, "",
               "KV DRAM channels per die, each with its own data bus, banks and FCFS "
               "controller (default: one HBM2 stack, DRAMsim3 HBM2_8Gb_x128)",
               1, 1 << 16)
      .add_int("attention.kv_dram.bus_width", 128, "bit",
               "data pins per channel (default HBM2 legacy channel, DRAMsim3 HBM2_8Gb_x128)", 8,
               1 << 16)
      .add_real("attention.kv_dram.data_rate", 0.0, "Hz",
                "transfers per pin per second (6.4 GHz = 6400 MT/s); 0 = derived from "
                "kv_dram.bandwidth = channels x bus_width/8 x data_rate; give one or both "
                "(then they must agree)",
                0.0, 1e12)
      .add_int("attention.kv_dram.burst_length", 4, "",
               "transfers per column access (BL; default HBM2 BL4, DRAMsim3 HBM2_8Gb_x128)", 1,
               64)
      .add_int("attention.kv_dram.banks", 16, "",
               "banks per channel (default HBM2 4 bank groups x 4 banks, DRAMsim3 "
               "HBM2_8Gb_x128; bank groups are not modelled)",
               1, 1 << 12)
      .add_int("attention.kv_dram.row_size", 1024, "B",
               "page: bytes of one row of one bank of one channel, held open until another row "
               "of the bank is needed (default 64 columns x 128 bit, DRAMsim3 HBM2_8Gb_x128)",
               8, 1 << 24)
      .add_int("attention.kv_dram.interleave", 256, "B",
               "address interleave: consecutive bytes on one channel before the next channel "
               "(a multiple of the burst, dividing row_size) [choice]",
               1, 1 << 24)
      .add_real("attention.kv_dram.t_rcd", 14e-9, "s",
                "tRCD, ACT to column command (default DRAMsim3 HBM2_8Gb_x128: 14 tCK of 1 ns)",
                0.0, 1e-3)
      .add_real("attention.kv_dram.t_cl", 14e-9, "s",
                "CL, column command to first data; writes use it too (default DRAMsim3 "
                "HBM2_8Gb_x128)",
                0.0, 1e-3)
      .add_real("attention.kv_dram.t_rp", 14e-9, "s",
                "tRP, precharge to ACT (default DRAMsim3 HBM2_8Gb_x128)", 0.0, 1e-3)
      .add_real("attention.kv_dram.t_ras", 34e-9, "s",
                "tRAS, ACT to precharge of the same bank (default DRAMsim3 HBM2_8Gb_x128)", 0.0,
                1e-3)
      .add_real("attention.kv_dram.t_rfc", 260e-9, "s",
                "tRFC, all-bank refresh: the channel does nothing else (default DRAMsim3 "
                "HBM2_8Gb_x128)",
                0.0, 1e-3)
      .add_real("attention.kv_dram.t_refi", 3.9e-6, "s",
                "tREFI, one all-bank refresh per channel every interval; 0 = no refresh "
                "(default DRAMsim3 HBM2_8Gb_x128)",
                0.0, 1.0)
      .add_real("attention.kv_dram.t_ccd", 0.0, "s",
                "tCCD, column command to column command; 0 = the burst (BL/2 clocks), the "
                "back-to-back rate",
                0.0, 1e-3)
      .add_int("attention.kv_dram.queue_depth", 32, "",
               "bursts each channel's controller looks ahead: a row's PRE and ACT may issue "
               "once the burst this many places ahead of its first burst has issued its "
               "column command (default DRAMsim3's cmd_queue_size) [choice]",
               1, 1 << 16)
      .add_int("attention.query_tile", 1, "",
               "prompt positions of one user whose queries share one sweep over the KV "
               "context (causal mask per query), and the q vectors (plus a chunk) kv_write's "
               "output buffer holds for them; 1 = a sweep per token (default: on KV SRAM a "
               "tile's bunched outputs delay the matrix blocks; kv-in-dram sets 8) [choice]",
               1, 4096);
  add_matrix(s, "o_proj", "attention output projection");
  add_matrix(s, "ffn_gate_up", "FFN gate and up projections (computed side by side)");
  add_vector_unit(s, "activation", "SiLU(gate) * up unit");
  add_matrix(s, "ffn_down", "FFN down projection");
  add_matrix(s, "lm_head", "output projection to vocabulary logits");
  add_vector_unit(s, "sampler", "greedy argmax over the logits");
  s.add_int("buffers.fifo_depth", 2, "",
            "inter-block buffer depth in token vectors, for the buffer area and traffic "
            "estimate (both simulation levels pass chunks over buffers.channel_depth)",
            1, 1 << 20)
      .add_int("buffers.chunk_elements", 256, "",
               "cycle level: activation elements per chunk on every block-to-block channel (one "
               "chunk per channel per cycle)",
               1, 1 << 20)
      .add_int("buffers.channel_depth", 2, "",
               "cycle level: depth in chunks of every block-to-block channel (a registered "
               "FIFO; 2 sustains one chunk per cycle)",
               1, 1 << 20);
  s.add_real("power.tdp_w", 0.0, "W",
             "card thermal design power: above it the estimator throttles the token rate, "
             "and the simulator's power cap uses it when power.cap_w is 0 (0 = no limit)",
             0.0, 1e6);
  s.add_real("power.cap_w", 0.0, "W",
             "simulator power cap: a window whose activity-based card power exceeds it runs on "
             "a stretched clock until it fits (0 = power.tdp_w, so both limits agree; both 0 = "
             "no cap)",
             0.0, 1e6)
      .add_real("power.cap_window_us", 100.0, "us",
                "window of the simulator's power cap, at the nominal clock", 1e-3, 1e9);
  return s;
}

nlohmann::json ChipConfig::to_json() const {
  nlohmann::json j = params_.to_json();
  j["chip_name"] = name_;
  j["chip_source"] = source_;
  return j;
}

ChipConfig chip_config_from_yaml(const YAML::Node& root, const std::string& name,
                                 const std::string& file_name,
                                 const std::vector<std::string>& overrides) {
  const std::string where = file_name.empty() ? std::string("chip") : file_name;
  check_top_level_keys(root, {"chip"}, where);
  ChipConfig c;
  c.params_ = resolve_params(chip_schema(), root, file_name, overrides);
  const ParamValues& v = c.params_;
  c.name_ = name;
  c.source_ = file_name;
  c.description_ = v.get_string("description");
  c.clock_hz_ = v.get_real("clock");
  c.dies_ = v.get_int("dies");
  c.layers_per_die_ = v.get_int_list("layers_per_die");
  c.activation_bits_ = v.get_int("activation_bits");
  c.rom_capacity_bits_ = v.get_int("rom.capacity");
  c.link_.bandwidth_bytes_per_s_ = v.get_real("link.bandwidth");
  c.link_.latency_s_ = v.get_real("link.latency");
  c.host_latency_s_ = v.get_real("host.latency");
  c.embedding_lookup_cycles_ = v.get_int("embedding.lookup_cycles");
  c.norm_ = vector_unit(v, "norm");
  c.rope_ = vector_unit(v, "rope");
  c.activation_ = vector_unit(v, "activation");
  c.sampler_ = vector_unit(v, "sampler");
  c.qkv_ = matrix(v, "qkv");
  c.o_proj_ = matrix(v, "o_proj");
  c.ffn_gate_up_ = matrix(v, "ffn_gate_up");
  c.ffn_down_ = matrix(v, "ffn_down");
  c.lm_head_ = matrix(v, "lm_head");
  AttentionConfig& a = c.attention_;
  a.kv_memory_ = v.get_string("attention.kv_memory") == "dram" ? KvMemory::kDram : KvMemory::kSram;
  a.macs_per_cycle_ = v.get_int("attention.macs_per_cycle");
  a.softmax_elements_per_cycle_ = v.get_int("attention.softmax_elements_per_cycle");
  a.pipeline_depth_cycles_ = v.get_int("attention.pipeline_depth");
  a.exp_latency_cycles_ = v.get_int("attention.exp_latency");
  a.kv_sram_.capacity_bytes_ = v.get_int("attention.kv_sram.capacity");
  a.kv_sram_.banks_ = v.get_int("attention.kv_sram.banks");
  a.kv_sram_.ports_per_bank_ = v.get_int("attention.kv_sram.ports_per_bank");
  a.kv_sram_.bank_width_bytes_ = v.get_int("attention.kv_sram.bank_width");
  a.kv_sram_.read_latency_cycles_ = v.get_int("attention.kv_sram.read_latency");
  a.kv_sram_.write_latency_cycles_ = v.get_int("attention.kv_sram.write_latency");
  a.kv_sram_.shared_across_layers_ = v.get_string("attention.kv_sram.bank_scope") == "die";
  a.kv_dram_.capacity_bytes_ = v.get_int("attention.kv_dram.capacity");
  a.kv_dram_.bandwidth_bytes_per_s_ = v.get_real("attention.kv_dram.bandwidth");
  a.kv_dram_.latency_s_ = v.get_real("attention.kv_dram.latency");
  a.kv_dram_.channels_ = v.get_int("attention.kv_dram.channels");
  a.kv_dram_.bus_width_bits_ = v.get_int("attention.kv_dram.bus_width");
  a.kv_dram_.data_rate_hz_ = v.get_real("attention.kv_dram.data_rate");
  a.kv_dram_.burst_length_ = v.get_int("attention.kv_dram.burst_length");
  a.kv_dram_.banks_ = v.get_int("attention.kv_dram.banks");
  a.kv_dram_.row_bytes_ = v.get_int("attention.kv_dram.row_size");
  a.kv_dram_.interleave_bytes_ = v.get_int("attention.kv_dram.interleave");
  a.kv_dram_.t_rcd_s_ = v.get_real("attention.kv_dram.t_rcd");
  a.kv_dram_.t_cl_s_ = v.get_real("attention.kv_dram.t_cl");
  a.kv_dram_.t_rp_s_ = v.get_real("attention.kv_dram.t_rp");
  a.kv_dram_.t_ras_s_ = v.get_real("attention.kv_dram.t_ras");
  a.kv_dram_.t_rfc_s_ = v.get_real("attention.kv_dram.t_rfc");
  a.kv_dram_.t_refi_s_ = v.get_real("attention.kv_dram.t_refi");
  a.kv_dram_.t_ccd_s_ = v.get_real("attention.kv_dram.t_ccd");
  a.kv_dram_.queue_depth_bursts_ = v.get_int("attention.kv_dram.queue_depth");
  a.query_tile_ = v.get_int("attention.query_tile");
  c.fifo_depth_tokens_ = v.get_int("buffers.fifo_depth");
  c.chunk_elements_ = v.get_int("buffers.chunk_elements");
  c.channel_depth_chunks_ = v.get_int("buffers.channel_depth");
  c.power_tdp_w_ = v.get_real("power.tdp_w");
  c.power_cap_w_ = v.get_real("power.cap_w");
  c.power_cap_window_us_ = v.get_real("power.cap_window_us");

  // Cross-key checks.
  if (!c.layers_per_die_.empty()) {
    const int64_t n = static_cast<int64_t>(c.layers_per_die_.size());
    if (v.source_of("dies") != "default" && c.dies_ != n) {
      throw make_error(where + ": chip.layers_per_die",
                       "lists " + std::to_string(n) + " dies but chip.dies is " +
                           std::to_string(c.dies_) + " (from " + v.source_of("dies") + ")",
                       "give one entry per die, or drop chip.dies");
    }
    c.dies_ = n;
  }
  if (a.kv_memory_ == KvMemory::kSram) {
    const std::pair<const char*, int64_t> need[] = {
        {"attention.kv_sram.capacity", a.kv_sram_.capacity_bytes_},
        {"attention.kv_sram.banks", a.kv_sram_.banks_},
        {"attention.kv_sram.ports_per_bank", a.kv_sram_.ports_per_bank_},
        {"attention.kv_sram.bank_width", a.kv_sram_.bank_width_bytes_},
    };
    for (const auto& [key, value] : need) {
      if (value < 1) {
        throw make_error(where + ": chip." + key,
                         "must be at least 1 when chip.attention.kv_memory is sram, got " +
                             std::to_string(value),
                         "set it, or set chip.attention.kv_memory=dram and describe "
                         "chip.attention.kv_dram");
      }
    }
  } else {
    if (a.kv_dram_.capacity_bytes_ < 1) {
      throw make_error(where + ": chip.attention.kv_dram.capacity",
                       "must be positive when chip.attention.kv_memory is dram",
                       "give the DRAM capacity per die, e.g. 16 GiB");
    }
    KvDramConfig& d = a.kv_dram_;
    const double bytes_per_transfer = double(d.channels_) * double(d.bus_width_bits_) / 8.0;
    if (!(d.bandwidth_bytes_per_s_ > 0) && !(d.data_rate_hz_ > 0)) {
      throw make_error(where + ": chip.attention.kv_dram.bandwidth",
                       "must be positive when chip.attention.kv_memory is dram (or give "
                       "chip.attention.kv_dram.data_rate)",
                       "give the DRAM bandwidth per die, e.g. 819 GB/s");
    }
    if (!(d.data_rate_hz_ > 0)) {
      d.data_rate_hz_ = d.bandwidth_bytes_per_s_ / bytes_per_transfer;
    } else if (!(d.bandwidth_bytes_per_s_ > 0)) {
      d.bandwidth_bytes_per_s_ = d.data_rate_hz_ * bytes_per_transfer;
    } else if (std::abs(d.data_rate_hz_ * bytes_per_transfer - d.bandwidth_bytes_per_s_) >
               1e-3 * d.bandwidth_bytes_per_s_) {
      throw make_error(where + ": chip.attention.kv_dram.bandwidth",
                       "is " + std::to_string(d.bandwidth_bytes_per_s_) +
                           " B/s but channels x bus_width/8 x data_rate is " +
                           std::to_string(d.data_rate_hz_ * bytes_per_transfer) + " B/s",
                       "give one of kv_dram.bandwidth and kv_dram.data_rate, or make them agree");
    }
    if ((d.bus_width_bits_ * d.burst_length_) % 8 != 0) {
      throw make_error(where + ": chip.attention.kv_dram.burst_length",
                       "bus_width x burst_length must be whole bytes",
                       "use a bus width that is a multiple of 8 bits");
    }
    // The estimator's refresh share, (t_rp + t_rfc + t_rcd) / t_refi, must leave time for data.
    if (d.t_refi_s_ > 0 && d.t_rp_s_ + d.t_rfc_s_ + d.t_rcd_s_ >= d.t_refi_s_) {
      throw make_error(where + ": chip.attention.kv_dram.t_refi",
                       "a refresh costs each channel t_rp + t_rfc + t_rcd = " +
                           std::to_string((d.t_rp_s_ + d.t_rfc_s_ + d.t_rcd_s_) * 1e9) +
                           " ns, not less than t_refi = " + std::to_string(d.t_refi_s_ * 1e9) +
                           " ns: no time left for data",
                       "use a longer t_refi or a shorter t_rfc (t_refi = 0 turns refresh off)");
    }
    const int64_t burst = d.burst_bytes();
    if (d.interleave_bytes_ % burst != 0 || d.row_bytes_ % d.interleave_bytes_ != 0) {
      throw make_error(where + ": chip.attention.kv_dram.interleave",
                       "must be a multiple of the burst (" + std::to_string(burst) +
                           " B) and divide row_size (" + std::to_string(d.row_bytes_) + " B), got " +
                           std::to_string(d.interleave_bytes_) + " B",
                       "e.g. interleave = 4 bursts, row_size a power-of-two multiple of it");
    }
  }
  if (c.dies_ > 1 && !(c.link_.bandwidth_bytes_per_s_ > 0)) {
    throw make_error(where + ": chip.link.bandwidth",
                     "must be positive when chip.dies is " + std::to_string(c.dies_),
                     "give the chip-to-chip bandwidth, e.g. 100 GB/s");
  }
  return c;
}

ChipConfig load_chip_config(const std::string& name_or_path,
                            const std::vector<std::string>& overrides) {
  if (name_or_path.empty()) {
    throw make_error("chip", "no chip description given",
                     "pass a name (" + join(chip_preset_names(), ", ") + ") or a YAML path");
  }
  std::error_code ec;
  fs::path path(name_or_path);
  const bool looks_like_path = path.has_extension() || name_or_path.find('/') != std::string::npos;
  if (!looks_like_path || !fs::exists(path, ec)) {
    const fs::path preset = fs::path(configs_dir()) / "chips" / (name_or_path + ".yaml");
    if (!looks_like_path && fs::exists(preset, ec)) {
      path = preset;
    } else {
      const std::vector<std::string> names = chip_preset_names();
      const std::string near = closest_match(name_or_path, names);
      throw make_error(name_or_path, looks_like_path ? "chip file not found"
                                                     : "not a shipped chip description",
                       (near.empty() ? std::string() : "did you mean '" + near + "'? ") +
                           "shipped: " + join(names, ", "));
    }
  }
  const YAML::Node root = load_yaml_file(path.string());
  return chip_config_from_yaml(root, path.stem().string(), path.string(), overrides);
}

std::vector<std::string> chip_preset_names() {
  return config_file_stems((fs::path(configs_dir()) / "chips").string(), ".yaml");
}

}  // namespace hw
