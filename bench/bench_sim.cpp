// Speed of the SystemC chip model in timing mode (docs/benchmarks.md), token level and cycle
// level: Llama 3.1 8B on
// hc1-like with the CLI's default numerics (hc1-mix), 64 users of 1k prompt / 1k output (the
// target: more simulated tokens per wall second than the chip's ~17k tokens/s per user) and one
// user, the token level on kv-in-dram (KV in DRAM: stages in time order), plus a memory check: the peak RSS and the model's own state for a growing number of
// generated tokens. SystemC elaborates once per process, so every iteration simulates in a
// forked child and reports its figures back through a pipe; the iteration time is the child's
// CPU time for the whole run_simulation() (mapping, elaboration, kernel run), which on a shared
// machine measures the simulator rather than the other jobs. Wall-time rates are reported too.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chip/chip_config.h"
#include "chip/workload.h"
#include "model/model_config.h"
#include "model/numerics_profile.h"
#include "sim/simulate.h"

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

struct Run {
  double cpu_s_ = 0;
  double wall_s_ = 0;
  double tokens_generated_ = 0;
  double token_passes_ = 0;
  double cycles_ = 0;
  double engine_state_bytes_ = 0;
  double peak_rss_bytes_ = 0;
  double tokens_per_s_per_user_ = 0;
  bool ok_ = false;
  std::string error_;
};

Run simulate_in_child(int64_t users, int64_t prompt, int64_t output,
                      hw::sim::SimLevel level = hw::sim::SimLevel::kToken,
                      const char* chip_name = "hc1-like") {
  int fds[2];
  Run run;
  if (pipe(fds) != 0) return run;
  const pid_t pid = fork();
  if (pid < 0) return run;
  if (pid == 0) {
    close(fds[0]);
    nlohmann::json j;
    try {
      const hw::ModelConfig model = hw::load_model_config("llama-3.1-8b");
      const hw::ChipConfig chip = hw::load_chip_config(chip_name, {});
      const hw::NumericsProfile numerics = hw::load_numerics_profile("hc1-mix");
      std::vector<hw::UserRequest> requests;
      for (int64_t i = 0; i < users; ++i) {
        hw::UserRequest r;
        r.id_ = i;
        r.prompt_tokens_ = prompt;
        r.output_tokens_ = output;
        requests.push_back(r);
      }
      hw::sim::SimOptions o;
      o.level_ = level;
      o.weight_bits_ = numerics.mean_weight_bits(model);
      o.kv_bits_ = numerics.kv_bits();
      const double cpu0 = cpu_seconds();
      const hw::sim::SimResult res = hw::sim::run_simulation(model, chip, requests, o);
      const double cpu_s = cpu_seconds() - cpu0;
      rusage usage{};
      getrusage(RUSAGE_SELF, &usage);
      j = {{"cpu_s", cpu_s},
           {"wall_s", res.wall_s_},
           {"tokens_generated", res.tokens_generated_},
           {"token_passes", res.tokens_generated_ + res.prompt_tokens_computed_},
           {"cycles", res.cycles_},
           {"engine_state_bytes", res.engine_state_bytes_},
           {"peak_rss_bytes", double(usage.ru_maxrss) * 1024.0},
           {"tokens_per_s_per_user", res.tokens_per_s_per_user_}};
    } catch (const std::exception& e) {
      j = {{"error", e.what()}};
    }
    const std::string text = j.dump();
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = write(fds[1], text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    run.error_ = "child produced no result";
  } else if (j.contains("error")) {
    run.error_ = j["error"];
  } else {
    run.ok_ = true;
    run.cpu_s_ = j["cpu_s"];
    run.wall_s_ = j["wall_s"];
    run.tokens_generated_ = j["tokens_generated"];
    run.token_passes_ = j["token_passes"];
    run.cycles_ = j["cycles"];
    run.engine_state_bytes_ = j["engine_state_bytes"];
    run.peak_rss_bytes_ = j["peak_rss_bytes"];
    run.tokens_per_s_per_user_ = j["tokens_per_s_per_user"];
  }
  return run;
}

void report(benchmark::State& state, const Run& r) {
  state.counters["sim_tokens_per_cpu_s"] = r.tokens_generated_ / r.cpu_s_;
  state.counters["sim_token_passes_per_cpu_s"] = r.token_passes_ / r.cpu_s_;
  state.counters["sim_cycles_per_cpu_s"] = r.cycles_ / r.cpu_s_;
  state.counters["sim_tokens_per_wall_s"] = r.tokens_generated_ / r.wall_s_;
  state.counters["sim_cycles_per_wall_s"] = r.cycles_ / r.wall_s_;
  state.counters["tokens_generated"] = r.tokens_generated_;
  state.counters["chip_tokens_per_s_per_user"] = r.tokens_per_s_per_user_;
  state.counters["engine_state_bytes"] = r.engine_state_bytes_;
  state.counters["peak_rss_bytes"] = r.peak_rss_bytes_;
}

// Times state.range(0..2) = users, prompt, output at `level` on `chip_name` (child CPU time).
// The rates are reported over the iterations' mean CPU and wall times (the runs are identical).
void time_runs(benchmark::State& state, hw::sim::SimLevel level, const char* chip_name) {
  Run last;
  double cpu_s = 0, wall_s = 0;
  int64_t runs = 0;
  for (auto _ : state) {
    last = simulate_in_child(state.range(0), state.range(1), state.range(2), level, chip_name);
    if (!last.ok_) {
      state.SkipWithError(last.error_.c_str());
      return;
    }
    state.SetIterationTime(last.cpu_s_);
    cpu_s += last.cpu_s_;
    wall_s += last.wall_s_;
    ++runs;
  }
  if (runs > 0) {
    last.cpu_s_ = cpu_s / double(runs);
    last.wall_s_ = wall_s / double(runs);
  }
  report(state, last);
}

// Args: users, prompt, output.
void BM_SimLlama8bHc1(benchmark::State& state) {
  time_runs(state, hw::sim::SimLevel::kToken, "hc1-like");
}
BENCHMARK(BM_SimLlama8bHc1)
    ->Args({64, 1024, 1024})
    ->Args({1, 1024, 1024})
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// KV in DRAM (kv-in-dram, query tiles of 8): the token level evaluates stages across tokens in
// time order (sim/pipeline.h), which costs more per token than hc1-like's token order. Args:
// users, prompt, output.
void BM_SimLlama8bKvInDram(benchmark::State& state) {
  time_runs(state, hw::sim::SimLevel::kToken, "kv-in-dram");
}
BENCHMARK(BM_SimLlama8bKvInDram)
    ->Args({64, 1024, 1024})
    ->Args({1, 1024, 8})
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// The cycle level (every block instance a clocked process): Llama 3.1 8B on hc1-like, one user,
// 32-token prompt, 32 generated (target: under 5 minutes on one core).
void BM_SimCycleLlama8bHc1(benchmark::State& state) {
  time_runs(state, hw::sim::SimLevel::kCycle, "hc1-like");
}
BENCHMARK(BM_SimCycleLlama8bHc1)
    ->Args({1, 32, 32})
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// One user, prompt 128, growing output (context up to the 4096 positions hc1-like holds):
// peak_rss_bytes and engine_state_bytes stay flat.
void BM_SimMemoryFlat(benchmark::State& state) {
  Run last;
  for (auto _ : state) {
    last = simulate_in_child(1, 128, state.range(0));
    if (!last.ok_) {
      state.SkipWithError(last.error_.c_str());
      return;
    }
    state.SetIterationTime(last.cpu_s_);
  }
  report(state, last);
}
BENCHMARK(BM_SimMemoryFlat)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(3968)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
