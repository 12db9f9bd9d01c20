// Writes small seed files for the fuzzers: a GGUF with every metadata type, llama metadata and
// one tensor of each decodable block type, and a safetensors file with F32/F16/BF16 tensors and
// __metadata__. Small seeds let libFuzzer mutate every field quickly; the oracle GGUFs copied
// beside them give it real-world layouts.
// Usage: fuzz_make_seeds <gguf corpus dir> <safetensors corpus dir>
#include <cstdio>
#include <string>

#include "tests/model/format_writers.h"

namespace {

namespace gt = hw::test::gguf_type;
namespace mt = hw::test::ggml_type;

void write_gguf_seed(const std::string& path) {
  hw::test::GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_u32("general.alignment", 32);
  w.add_u32("llama.block_count", 1);
  w.add_u32("llama.context_length", 16);
  w.add_u32("llama.embedding_length", 32);
  w.add_u32("llama.feed_forward_length", 64);
  w.add_u32("llama.attention.head_count", 2);
  w.add_u32("llama.attention.head_count_kv", 1);
  w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.add_f32("llama.rope.freq_base", 10000.0f);
  w.add_bool("tokenizer.ggml.add_bos_token", true);
  w.add_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"});
  w.add_raw("t.u8", gt::kUint8, {7});
  w.add_raw("t.i16", gt::kInt16, {0xd4, 0xfe});
  w.add_i32("t.i32", -7);
  w.add_u64("t.u64", 1u << 20);
  hw::test::ByteWriter f64;
  f64.f64(0.5);
  w.add_raw("t.f64", gt::kFloat64, f64.data_);
  hw::test::ByteWriter nested;
  nested.u32(gt::kArray);
  nested.u64(1);
  nested.u32(gt::kString);
  nested.u64(1);
  nested.gguf_string("x");
  w.add_raw("t.nested", gt::kArray, nested.data_);
  w.add_f32_tensor("token_embd.weight", {32, 4}, std::vector<float>(128, 0.5f));
  w.add_tensor({"f16",
                {32},
                mt::kF16,
                hw::test::f16_bytes(std::vector<float>(32, 1.5f)),
                std::nullopt,
                false});
  w.add_tensor({"bf16",
                {32},
                mt::kBF16,
                hw::test::bf16_bytes(std::vector<float>(32, -2.0f)),
                std::nullopt,
                false});
  w.add_tensor({"q8", {32}, mt::kQ8_0, std::vector<uint8_t>(34, 0x11), std::nullopt, false});
  w.add_tensor({"q4", {32}, mt::kQ4_0, std::vector<uint8_t>(18, 0x3c), std::nullopt, false});
  w.write(path);
}

void write_safetensors_seed(const std::string& path) {
  hw::test::SafetensorsWriter w;
  w.metadata_ = {{"format", "pt"}};
  w.add_f32("model.norm.weight", {4}, {1.0f, 2.0f, 3.0f, 4.0f});
  w.add("model.embed_tokens.weight", "F16", {2, 4},
        hw::test::f16_bytes({1, -1, 0.5f, 2, 3, 4, 5, 6}));
  w.add("lm_head.weight", "BF16", {2, 2}, hw::test::bf16_bytes({1, 2, 3, 4}));
  w.add("ids", "I64", {1}, std::vector<uint8_t>(8, 0));
  w.write(path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <gguf corpus dir> <safetensors corpus dir>\n", argv[0]);
    return 2;
  }
  try {
    write_gguf_seed(std::string(argv[1]) + "/seed_small.gguf");
    write_safetensors_seed(std::string(argv[2]) + "/seed_small.safetensors");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
