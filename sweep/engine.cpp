// Engines that evaluate one sweep point (sweep.h). The estimate engine resolves every point
// through the same loaders and strict `--set` validation as `hardwire estimate` (cli/run_options.h
// holds the shared numerics-or-widths rule) and caches, per thread, what does not depend on the
// workload (model, chip, tech, widths, the mapping), so a sweep over workload keys costs one
// estimate per point. The simulate engine runs `hardwire simulate --json --power` in a child
// process per point, because SystemC elaborates once per process.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "chip/chip_config.h"
#include "chip/mapping.h"
#include "chip/workload.h"
#include "cli/run_options.h"
#include "common/error.h"
#include "common/param_tree.h"
#include "model/model_config.h"
#include "power/estimator.h"
#include "power/tech_table.h"
#include "sweep/sweep.h"

extern char** environ;

namespace hw::sweep {
namespace {

constexpr size_t kMaxCachedDesigns = 4096;
constexpr size_t kMaxCachedWorkloads = 65536;

bool is_workload_set(const std::string& s) { return s.rfind("workload.", 0) == 0; }

std::string design_key(const PointConfig& p) {
  const BaseDesign& d = p.design_;
  std::string k = d.model_ + '\x1f' + d.chip_ + '\x1f' + d.tech_ + '\x1f' + d.numerics_ + '\x1f' +
                  std::to_string(d.weight_bits_) + '\x1f' + std::to_string(d.kv_bits_);
  for (const auto& s : p.sets_) {
    if (!is_workload_set(s)) k += '\x1f' + s;
  }
  return k;
}

std::string workload_key(const PointConfig& p) {
  const BaseDesign& d = p.design_;
  std::string k = d.scenario_ + '\x1f' + std::to_string(d.users_) + '\x1f' +
                  std::to_string(d.prompt_tokens_) + '\x1f' + std::to_string(d.gen_tokens_);
  for (const auto& s : p.sets_) {
    if (is_workload_set(s)) k += '\x1f' + s;
  }
  return k;
}

struct Resolved {
  ModelConfig model_;
  ChipConfig chip_;
  TechTable tech_;
  WorkloadConfig workload_;
  cli::Widths widths_;
};

Resolved resolve_all(const PointConfig& p) {
  const BaseDesign& d = p.design_;
  check_override_roots(p.sets_, {"chip", "tech", "workload", "numerics"});
  Resolved r;
  r.model_ = load_model_config(d.model_);
  r.chip_ = load_chip_config(d.chip_, p.sets_);
  r.tech_ = load_tech(d.tech_, p.sets_);
  r.workload_ = load_workload(
      d.scenario_, cli::workload_overrides(p.sets_, d.users_, d.prompt_tokens_, d.gen_tokens_));
  r.widths_ =
      cli::resolve_widths(r.model_, d.numerics_, d.weight_bits_, d.kv_bits_, p.sets_, "sweep");
  return r;
}

// A mapped design, or the error that resolving or mapping it raised.
struct DesignEntry {
  std::unique_ptr<ChipMapping> mapping_;
  std::unique_ptr<TechTable> tech_;
  std::string error_;
};

struct WorkloadEntry {
  WorkloadPoint point_;
  std::string error_;
};

class EstimateEngine final : public Engine {
 public:
  struct Ctx : Context {
    std::unordered_map<std::string, std::shared_ptr<const ModelConfig>> models_;
    std::unordered_map<std::string, std::unique_ptr<DesignEntry>> designs_;
    std::unordered_map<std::string, WorkloadEntry> workloads_;
  };

  std::string name() const override { return "estimate"; }
  std::unique_ptr<Context> make_context() const override { return std::make_unique<Ctx>(); }

  nlohmann::json evaluate(const PointConfig& p, Context& context) const override {
    Ctx& ctx = static_cast<Ctx&>(context);
    check_override_roots(p.sets_, {"chip", "tech", "workload", "numerics"});
    const DesignEntry& d = design(ctx, p);
    const WorkloadEntry& w = workload(ctx, p);
    if (!d.error_.empty()) throw Error(d.error_);
    if (!w.error_.empty()) throw Error(w.error_);
    return estimate(*d.mapping_, *d.tech_, w.point_).to_json();
  }

  nlohmann::json resolved_config(const PointConfig& p) const override {
    const Resolved r = resolve_all(p);
    return cli::design_config_json(r.model_, r.chip_, &r.tech_, r.workload_, r.widths_);
  }

 private:
  static const DesignEntry& design(Ctx& ctx, const PointConfig& p) {
    const std::string key = design_key(p);
    auto it = ctx.designs_.find(key);
    if (it != ctx.designs_.end()) return *it->second;
    if (ctx.designs_.size() >= kMaxCachedDesigns) ctx.designs_.clear();
    auto e = std::make_unique<DesignEntry>();
    try {
      const BaseDesign& b = p.design_;
      auto mit = ctx.models_.find(b.model_);
      if (mit == ctx.models_.end()) {
        mit =
            ctx.models_
                .emplace(b.model_, std::make_shared<const ModelConfig>(load_model_config(b.model_)))
                .first;
      }
      const ModelConfig& model = *mit->second;
      const ChipConfig chip = load_chip_config(b.chip_, p.sets_);
      e->tech_ = std::make_unique<TechTable>(load_tech(b.tech_, p.sets_));
      const cli::Widths widths =
          cli::resolve_widths(model, b.numerics_, b.weight_bits_, b.kv_bits_, p.sets_, "sweep");
      e->mapping_ = std::make_unique<ChipMapping>(
          map_model(model, chip, widths.weight_bits_, widths.kv_bits_));
    } catch (const std::exception& ex) {
      e->error_ = ex.what();
      e->mapping_.reset();
    }
    return *ctx.designs_.emplace(key, std::move(e)).first->second;
  }

  static const WorkloadEntry& workload(Ctx& ctx, const PointConfig& p) {
    const std::string key = workload_key(p);
    auto it = ctx.workloads_.find(key);
    if (it != ctx.workloads_.end()) return it->second;
    if (ctx.workloads_.size() >= kMaxCachedWorkloads) ctx.workloads_.clear();
    WorkloadEntry e;
    try {
      const BaseDesign& b = p.design_;
      e.point_ = workload_point(load_workload(
          b.scenario_,
          cli::workload_overrides(p.sets_, b.users_, b.prompt_tokens_, b.gen_tokens_)));
    } catch (const std::exception& ex) {
      e.error_ = ex.what();
    }
    return ctx.workloads_.emplace(key, std::move(e)).first->second;
  }
};

// Runs argv, returns (exit status, stdout, stderr).
struct ChildResult {
  int status_ = -1;
  std::string out_;
  std::string err_;
};

ChildResult run_child(const std::vector<std::string>& args) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw Error(std::string("sweep: cannot create a pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    throw Error("sweep: cannot run " + args[0] + ": " + std::strerror(rc));
  }
  ChildResult r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? r.out_ : r.err_).append(buf, size_t(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

class SimulateEngine final : public Engine {
 public:
  explicit SimulateEngine(std::string exe) : exe_(std::move(exe)) {}
  std::string name() const override { return "simulate"; }
  std::unique_ptr<Context> make_context() const override { return std::make_unique<Context>(); }
  uint64_t chunk_points() const override { return 1; }

  nlohmann::json evaluate(const PointConfig& p, Context&) const override {
    const BaseDesign& d = p.design_;
    std::vector<std::string> args = {exe_,      "simulate", "--json", "--no-progress",
                                     "--power", "--model",  d.model_, "--chip",
                                     d.chip_,   "--tech",   d.tech_};
    if (!d.numerics_.empty()) args.insert(args.end(), {"--numerics", d.numerics_});
    if (!d.scenario_.empty()) args.insert(args.end(), {"--scenario", d.scenario_});
    if (d.weight_bits_ > 0)
      args.insert(args.end(), {"--weight-bits", std::to_string(d.weight_bits_)});
    if (d.kv_bits_ > 0) args.insert(args.end(), {"--kv-bits", std::to_string(d.kv_bits_)});
    if (d.users_ > 0) args.insert(args.end(), {"--users", std::to_string(d.users_)});
    if (d.prompt_tokens_ > 0)
      args.insert(args.end(), {"--prompt", std::to_string(d.prompt_tokens_)});
    if (d.gen_tokens_ > 0) args.insert(args.end(), {"--gen", std::to_string(d.gen_tokens_)});
    for (const auto& s : p.sets_) args.insert(args.end(), {"--set", s});
    const ChildResult r = run_child(args);
    if (r.status_ != 0) {
      // The child's last non-empty stderr line is its one-line error.
      std::string msg;
      size_t end = r.err_.find_last_not_of("\n ");
      if (end != std::string::npos) {
        const size_t start = r.err_.rfind('\n', end);
        msg = r.err_.substr(start == std::string::npos ? 0 : start + 1,
                            end + 1 - (start == std::string::npos ? 0 : start + 1));
      }
      const std::string prefix = "hardwire: error: ";
      if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
      if (msg.empty()) msg = "simulate exited with status " + std::to_string(r.status_);
      throw Error(msg);
    }
    try {
      return nlohmann::json::parse(r.out_);
    } catch (const nlohmann::json::exception&) {
      throw Error("simulate printed no JSON result (exit 0)");
    }
  }

 private:
  std::string exe_;
};

void flatten_into(const nlohmann::json& j, const std::string& prefix,
                  std::vector<std::pair<std::string, nlohmann::json>>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string name = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) {
      flatten_into(*it, name, out);
    } else if (!it->is_array() && !it->is_null()) {
      out.emplace_back(name, *it);
    }
  }
}

}  // namespace

nlohmann::json Engine::resolved_config(const PointConfig& p) const {
  const Resolved r = resolve_all(p);
  return cli::design_config_json(r.model_, r.chip_, &r.tech_, r.workload_, r.widths_);
}

std::unique_ptr<Engine> make_estimate_engine() { return std::make_unique<EstimateEngine>(); }

std::unique_ptr<Engine> make_simulate_engine(const std::string& hardwire_exe) {
  return std::make_unique<SimulateEngine>(hardwire_exe);
}

std::vector<std::pair<std::string, nlohmann::json>> flatten_metrics(const nlohmann::json& result) {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  if (result.is_object()) flatten_into(result, "", out);
  return out;
}

}  // namespace hw::sweep
