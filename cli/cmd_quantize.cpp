// `hardwire quantize`: quantizes a checkpoint (or seeded synthetic weights of a preset) to the
// chip format once, tensor by tensor from the mapped file, and writes a chip image
// (model/chip_image.h) that `emulate` and `simulate --functional` load instead of the
// checkpoint. Prints what was stored: widths, bytes, hashes, the time taken and the peak memory.
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/numerics_options.h"
#include "cli/output.h"
#include "common/error.h"
#include "model/chip_image.h"
#include "model/quantizer.h"

namespace hw::cli {
namespace {

struct QuantizeOptions {
  NumericsModelOptions model_;
  std::string out_;
  int threads_ = 0;
  bool json_ = false;
};

// Peak resident memory of this process so far (Linux reports ru_maxrss in KiB).
int64_t peak_rss_bytes() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_maxrss) * 1024;
}

std::string hex64(uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

int64_t stored_bytes(const QuantizedModel& q) {
  int64_t bytes = q.tok_embd_.stored_bytes() + q.output_.stored_bytes();
  for (const QuantizedLayer& l : q.layers_) {
    for (const QuantizedMatrix* m : {&l.wq_, &l.wk_, &l.wv_, &l.wo_, &l.w_gate_, &l.w_up_, &l.w_down_}) {
      bytes += m->stored_bytes();
    }
  }
  return bytes;
}

void run_quantize(const QuantizeOptions& o) {
  if (o.threads_ > 0) set_compute_threads(o.threads_);
  if (model_is_chip_image(o.model_)) {
    throw make_error("--model", o.model_.model_ + " is already a chip image",
                     "give the checkpoint it came from");
  }
  const NumericsProfile profile = load_profile_option(o.model_);
  const auto t0 = std::chrono::steady_clock::now();
  const QuantizedModel q = quantized_model_option(o.model_, profile, true);
  const auto t1 = std::chrono::steady_clock::now();
  const ChipImageInfo info = save_chip_image(o.out_, q);
  const auto t2 = std::chrono::steady_clock::now();
  const double quantize_s = std::chrono::duration<double>(t1 - t0).count();
  const double write_s = std::chrono::duration<double>(t2 - t1).count();
  const ModelConfig& c = q.config_;
  const int64_t value_bytes = (q.value_bits() + 7) / 8;
  if (o.json_) {
    nlohmann::json j = {{"model", c.name_},
                        {"numerics", profile.name_},
                        {"out", o.out_},
                        {"params", c.params()},
                        {"mean_weight_bits", profile.mean_weight_bits(c)},
                        {"weight_value_bytes", value_bytes},
                        {"matrix_stored_bytes", stored_bytes(q)},
                        {"file_bytes", info.file_bytes_},
                        {"file_xxh64", hex64(info.hash_)},
                        {"model_xxh64", hex64(info.model_hash_)},
                        {"quantize_s", quantize_s},
                        {"write_s", write_s},
                        {"threads", compute_threads()},
                        {"peak_rss_bytes", peak_rss_bytes()},
                        {"config", profile.to_json()}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << c.name_ << " quantized to chip numerics '" << profile.name_ << "' -> " << o.out_ << "\n\n";
  Table t;
  t.add_row({"parameters", std::to_string(c.params())});
  t.add_row({"mean weight bits", fixed(profile.mean_weight_bits(c), 3)});
  t.add_row({"weight values", binary_bytes(value_bytes)});
  t.add_row({"matrices as stored (packed + scales)", binary_bytes(stored_bytes(q))});
  t.add_row({"chip image", binary_bytes(static_cast<int64_t>(info.file_bytes_))});
  t.add_row({"image XXH64", hex64(info.hash_)});
  t.add_row({"model XXH64 (stored bits)", hex64(info.model_hash_)});
  t.add_row({"quantize time", fixed(quantize_s, 2) + " s on " + std::to_string(compute_threads()) + " threads"});
  t.add_row({"write time", fixed(write_s, 2) + " s"});
  t.add_row({"peak memory (RSS)", binary_bytes(peak_rss_bytes())});
  t.print(std::cout, "  ");
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto opts = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quantize",
      "Quantize a checkpoint to the chip format once and write a chip image (model + numerics + "
      "hash) for emulate and simulate --functional");
  add_numerics_model_options(cmd, opts->model_);
  cmd->add_option("--out", opts->out_, "The chip image file to write (e.g. llama-3.1-8b.w4a8.hwchip)")
      ->required();
  cmd->add_option("--threads", opts->threads_,
                  "Threads (default: HARDWIRE_THREADS or all cores); the bits do not depend on it")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", opts->json_, "Print JSON with stable keys (bytes, hashes, seconds)");
  cmd->callback([opts]() { run_quantize(*opts); });
}

}  // namespace hw::cli
