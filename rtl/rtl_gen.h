// Generator of the weight-carrying RTL (docs/rtl.md): writes the quantized weights of a
// matrix slice as constants of a SystemVerilog wrapper around rtl/matvec_core.sv, the norm
// gains and numerics tables as constants of the norm, RoPE and softmax wrappers, and a whole
// decoder layer as one file per block. Output is deterministic (same model and profile, same
// bytes) and readable: every constant names the rows and columns it holds.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/golden_model.h"
#include "model/quantizer.h"

namespace hw::rtl {

// Product fabric of a matrix block (rtl/matvec_core.sv): HC1-style precomputed multiples
// selected by each weight code, or a multiplier per weight. Same bits, different cells.
enum class Fabric { kProductSelect = 0, kConstantMultipliers = 1 };
Fabric parse_fabric(const std::string& name);
const char* fabric_name(Fabric f);

struct MatvecSpec {
  std::string module_;        // SystemVerilog module name ("" = derived from layer/tensor/rows)
  // Start of the derived module name: "hw_" gives hw_mv_l0_attn_q_r0_63. Blocks of several
  // models verilated into one library need distinct names, e.g. "hw_tiny_gqa_s_".
  std::string module_prefix_ = "hw_";
  std::string tensor_;        // attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down, lm_head
  int64_t layer_ = 0;         // -1 for lm_head
  int64_t row_begin_ = 0;     // rows [row_begin_, row_end_) of the tensor
  int64_t row_end_ = -1;      // -1 = all rows
  int lanes_in_ = 16;         // input int8 columns per cycle (chunk width)
  int lanes_out_ = 4;         // output int32 rows per cycle
  Fabric fabric_ = Fabric::kProductSelect;
  // Emit only the weight fabric (ROM + products + adder tree of one chunk, combinational:
  // rtl/matvec_core.sv hw_matvec_fabric) with the chunk index as an input: what `rtl synth`
  // measures per weight bit.
  bool fabric_only_ = false;
};

// Shape and timing of one generated matrix block, as written into its header.
struct MatvecInfo {
  std::string module_;
  int64_t rows_ = 0, cols_ = 0;
  int weight_bits_ = 0;       // code width (the widest group of the slice)
  int64_t group_size_ = 0;
  int lanes_in_ = 0, lanes_out_ = 0;
  int out_frac_bits_ = 0;
  int64_t in_chunks_ = 0, out_chunks_ = 0;
  int64_t latency_cycles_ = 0, interval_cycles_ = 0;  // rtl/matvec_core.sv formulas
  int64_t weight_bits_total_ = 0;                     // rows * cols * weight_bits_
};

// The quantized matrix a tensor name denotes in `model` at `layer` (throws naming the choices).
const QuantizedMatrix& tensor_matrix(const QuantizedModel& model, const std::string& tensor,
                                     int64_t layer);
// Fraction bits of the tensor's output (Fa for q/k/v/gate/up, Fr for attn_output/ffn_down,
// logits' for lm_head).
int tensor_out_frac_bits(const NumericsProfile& profile, const std::string& tensor);

// SystemVerilog text of the block; `info` (optional) receives its shape and timing.
std::string generate_matvec(const QuantizedModel& model, const MatvecSpec& spec,
                            MatvecInfo* info = nullptr);
// The same for one quantized matrix (spec.tensor_ names it; rows as in spec).
std::string generate_matvec(const QuantizedMatrix& w, const std::string& model_name,
                            const NumericsProfile& profile, const MatvecSpec& spec,
                            MatvecInfo* info = nullptr);

// RMSNorm wrapper (rtl/rms_norm.sv) with the gains of `norm` ("attn_norm", "ffn_norm",
// "output_norm") of `layer` and the rsqrt table / eps constants as literals.
std::string generate_rms_norm(const QuantizedModel& model, const GoldenModel& golden,
                              const std::string& norm, int64_t layer, int lanes,
                              const std::string& module);
// RoPE wrapper (rtl/rope.sv hw_rope_unit, the chip's rope block: q and k rotated, v passed;
// module parameter DEPTH, output registers): the sine table and per-pair phase steps.
std::string generate_rope(const GoldenModel& golden, int lanes_pairs, const std::string& module);
// Attention unit (rtl/attention.sv + rtl/softmax.sv + rtl/kv_sram.sv) for one query head over
// up to max_positions keys of one kv head, with the exp2 table as constants.
std::string generate_attention(const GoldenModel& golden, const std::string& module);
// SwiGLU activation + dynamic quantization wrapper (rtl/activation.sv): the sigmoid table of
// the profile, d_ff values, `lanes` per chunk; module parameter DEPTH (output registers).
std::string generate_activation(const GoldenModel& golden, int lanes, const std::string& module);

struct GeneratedFile {
  std::string name_;  // file name inside the output directory
  std::string text_;
};

// Every block of decoder layer `layer` that carries weights or tables: attn_norm, attn_q/k/v,
// rope, attn_output, ffn_norm, ffn_gate/up/down (full row ranges), the exp2 table, plus a
// manifest (layer.json: modules, shapes, timing). Module names start with `module_prefix`
// (<prefix>l0_attn_norm, <prefix>mv_l0_attn_q_r0_63, ...).
std::vector<GeneratedFile> generate_layer(const QuantizedModel& model, const GoldenModel& golden,
                                          int64_t layer, int lanes_in, int lanes_out,
                                          Fabric fabric, const std::string& module_prefix = "hw_");

// Checks that `prefix` can start a SystemVerilog module name (a letter or _, then letters,
// digits, _); throws naming `option` otherwise.
void check_module_prefix(const std::string& prefix, const std::string& option);

// Writes files into `dir` (created if missing); returns the paths written.
std::vector<std::string> write_files(const std::string& dir, const std::vector<GeneratedFile>& files);

}  // namespace hw::rtl
