// `hardwire estimate --chip <gpu>`: when the chip names a GPU description (configs/gpus/), the
// estimate comes from the GPU roofline-plus-batching model (cost/gpu_model.h) with the same
// metric keys; cmd_estimate.cpp hands the parsed options here.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hw::cli {

struct GpuEstimateRequest {
  std::string model_;
  std::string gpu_;
  std::string scenario_;
  double weight_bits_ = 0;   // 0: the GPU's format
  int kv_bits_ = 0;
  int64_t users_ = 0;
  int64_t prompt_ = 0;
  int64_t gen_ = 0;
  std::vector<std::string> sets_;
  bool json_ = false;
  std::string out_;
};

void run_gpu_estimate(const GpuEstimateRequest& req);

}  // namespace hw::cli
