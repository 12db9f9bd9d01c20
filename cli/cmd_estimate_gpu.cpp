// The GPU branch of `hardwire estimate` (see gpu_estimate.h): same workload options and metric
// keys as the chip estimate, roots gpu and workload for --set.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "chip/workload.h"
#include "cli/gpu_estimate.h"
#include "cli/output.h"
#include "cli/run_options.h"
#include "common/error.h"
#include "cost/gpu_model.h"
#include "model/model_config.h"
#include "power/estimator.h"

namespace hw::cli {
namespace {

std::string num(double v, const char* f) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

void run_gpu_estimate(const GpuEstimateRequest& q) {
  check_override_roots(q.sets_, {"gpu", "workload"});
  const ModelConfig model = load_model_config(q.model_);
  const GpuConfig gpu = load_gpu_config(q.gpu_, q.sets_);
  const WorkloadConfig wl =
      load_workload(q.scenario_, workload_overrides(q.sets_, q.users_, q.prompt_, q.gen_));
  if (q.weight_bits_ > 0 && std::floor(q.weight_bits_) != q.weight_bits_) {
    throw make_error("--weight-bits", "a GPU serves whole-bit formats",
                     "give an integer such as 8 or 4");
  }
  const GpuEstimate e =
      gpu_estimate(model, gpu, workload_point(wl), int(q.weight_bits_), q.kv_bits_);
  nlohmann::json result = e.to_json();
  result["source"] = "estimate-gpu";
  result["model"] = model.name_;
  result["chip"] = gpu.name_;
  if (!q.out_.empty()) {
    make_out_dir(q.out_);
    write_json_file(std::filesystem::path(q.out_) / "result.json", result);
    nlohmann::json cfg = {{"model", model.name_},
                          {"weight_bits", e.weight_bits_},
                          {"kv_bits", e.kv_bits_}};
    cfg.update(gpu.to_json());
    cfg.update(wl.to_json());
    write_json_file(std::filesystem::path(q.out_) / "resolved_config.json", cfg);
  }
  if (q.json_) {
    std::cout << result.dump(2) << "\n";
    return;
  }
  std::cout << model.name_ << " on " << gpu.name_ << " (GPU roofline + batching model), weights "
            << e.weight_bits_ << " bits, KV " << e.kv_bits_ << " bits, " << wl.users_
            << " users\n\n";
  Table t;
  t.add_row({"tokens/s per user", num(e.tokens_per_s_per_user_, "%.1f") + " (decode alone " +
                                      num(e.decode_tokens_per_s_per_user_, "%.1f") + ")"});
  t.add_row({"tokens/s total", num(e.tokens_per_s_total_, "%.0f")});
  t.add_row({"users admitted / rejected",
             std::to_string(e.users_admitted_) + " / " + std::to_string(e.users_rejected_)});
  t.add_row({"users decoding together", std::to_string(e.batch_) + " (KV holds " +
                                            std::to_string(e.max_users_at_context_) +
                                            " at the longest context)"});
  t.add_row({"decode step", num(e.step_s_ * 1e3, "%.3f") + " ms (" +
                                (e.batch_ > 0 ? (e.memory_bound_ ? "memory" : "compute") : "none") +
                                "-bound; HBM " + num(e.step_memory_s_ * 1e3, "%.3f") +
                                " ms, compute " + num(e.step_compute_s_ * 1e3, "%.3f") + " ms)"});
  t.add_row({"prefill per request", num(e.prefill_s_ * 1e3, "%.3f") + " ms in the batch, " +
                                         num(e.ttft_s_ * 1e3, "%.3f") + " ms alone (TTFT)"});
  t.add_row({"KV capacity", binary_bytes(int64_t(e.kv_capacity_bytes_)) + " beside " +
                                binary_bytes(int64_t(e.weight_bytes_)) + " of weights"});
  t.add_row({"power", num(e.power_w_, "%.0f") + " W"});
  t.add_row({"energy per token", num(e.energy_per_token_j_ * 1e3, "%.3f") + " mJ"});
  t.print(std::cout, "  ");
}

}  // namespace hw::cli
