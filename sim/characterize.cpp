// Cycle-level characterization tables (see characterize.h).
#include "sim/characterize.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "chip/mapping.h"
#include "chip/workload.h"
#include "common/error.h"
#include "sim/simulate.h"

namespace hw::sim {
namespace {

// Bumped when the table's keys or what a point measures change: old cached tables then miss.
constexpr int kFormatVersion = 1;

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

nlohmann::json model_json(const ModelConfig& m) {
  return {{"name", m.name_},         {"arch", m.arch_},         {"n_layers", m.n_layers_},
          {"d_model", m.d_model_},   {"n_heads", m.n_heads_},   {"n_kv_heads", m.n_kv_heads_},
          {"head_dim", m.head_dim_}, {"d_ff", m.d_ff_},         {"vocab", m.vocab_},
          {"max_positions", m.max_positions_}, {"qk_norm", m.qk_norm_},
          {"tied_embeddings", m.tied_embeddings_}};
}


nlohmann::json figures(const nlohmann::json& r) {
  return {{"tokens_per_s_total", r["tokens_per_s_total"]},
          {"ttft_s", r["ttft_s"]["mean"]},
          {"inter_token_latency_s", r["inter_token_latency_s"]["mean"]}};
}

nlohmann::json error_pct(const nlohmann::json& a, const nlohmann::json& ref) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : ref.items()) {
    if (!a.contains(k) || a[k].is_null() || v.is_null() || v.get<double>() == 0.0) {
      out[k] = nullptr;
      continue;
    }
    out[k] = 100.0 * (a[k].get<double>() - v.get<double>()) / v.get<double>();
  }
  return out;
}

}  // namespace

nlohmann::json json_from_child(const std::function<nlohmann::json()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) return {{"error", "pipe failed"}};
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return {{"error", "fork failed"}};
  }
  if (pid == 0) {
    close(fds[0]);
    std::string text;
    try {
      text = fn().dump();
    } catch (const std::exception& e) {
      text = nlohmann::json{{"error", e.what()}}.dump();
    }
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = write(fds[1], text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || text.empty()) {
    return {{"error", "child crashed (status " + std::to_string(status) + ")"}};
  }
  return nlohmann::json::parse(text);
}

nlohmann::json run_simulation_in_child(const ModelConfig& model, const ChipConfig& chip,
                                       const std::vector<UserRequest>& requests,
                                       const SimOptions& options) {
  return json_from_child(
      [&] { return run_simulation(model, chip, requests, options).to_json(); });
}

std::string characterize_key(const ModelConfig& model, const ChipConfig& chip,
                             const CharacterizeOptions& o) {
  const nlohmann::json j = {{"format", kFormatVersion},
                            {"model", model_json(model)},
                            {"chip", chip.to_json()},
                            {"numerics", o.numerics_},
                            {"weight_bits", o.weight_bits_},
                            {"kv_bits", o.kv_bits_}};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(j.dump())));
  return buf;
}

std::string characterize_cache_path(const std::string& key) {
  std::string root;
  if (const char* d = std::getenv("HARDWIRE_CACHE_DIR"); d && *d) {
    root = d;
  } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    root = std::string(x) + "/hardwire";
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    root = std::string(h) + "/.cache/hardwire";
  } else {
    root = ".hardwire-cache";
  }
  return root + "/characterize/" + key + ".json";
}

nlohmann::json characterize(const ModelConfig& full_model, const ChipConfig& chip,
                            const CharacterizeOptions& o,
                            const std::function<void(int64_t, int64_t)>& progress) {
  if (o.weight_bits_ <= 0 || o.kv_bits_ <= 0) {
    throw make_error("characterize", "weight and KV bits are required");
  }
  if (o.contexts_.empty() || o.users_.empty() || o.output_tokens_ < 2) {
    throw make_error("characterize", "needs contexts, users and at least 2 output tokens");
  }
  ModelConfig model = full_model;
  ChipConfig c = chip;
  const ChipMapping full = map_model(full_model, chip, o.weight_bits_, o.kv_bits_);
  if (o.layers_ > 0 && o.layers_ < model.n_layers_) {
    // A few layers, on as many of the chip's dies as the full model uses (at most one layer
    // each), so links stay in the path.
    model.n_layers_ = o.layers_;
    c.dies_ = std::min(full.dies_used_, o.layers_);
    c.layers_per_die_.clear();
  }
  const ChipMapping m = map_model(model, c, o.weight_bits_, o.kv_bits_);
  nlohmann::json rows = nlohmann::json::array();
  nlohmann::json skipped = nlohmann::json::array();
  int64_t total = int64_t(o.contexts_.size() * o.users_.size()), done = 0;
  nlohmann::json worst = {{"token_vs_cycle", {{"tokens_per_s_total", 0.0}, {"ttft_s", 0.0},
                                              {"inter_token_latency_s", 0.0}}},
                          {"closed_form_vs_cycle", {{"inter_token_latency_s", 0.0}}}};
  for (int64_t L : o.contexts_) {
    for (int64_t U : o.users_) {
      const int64_t positions = L + o.output_tokens_ - 1;
      if (L < 1 || U < 1 || positions > model.max_positions_ || m.max_users(positions) < U) {
        skipped.push_back({{"context_tokens", L}, {"users", U},
                           {"reason", "does not fit the KV memory or the model's positions"}});
        if (progress) progress(++done, total);
        continue;
      }
      std::vector<UserRequest> requests;
      for (int64_t i = 0; i < U; ++i) {
        UserRequest r;
        r.id_ = i;
        r.prompt_tokens_ = L;
        r.output_tokens_ = o.output_tokens_;
        requests.push_back(r);
      }
      SimOptions so;
      so.weight_bits_ = o.weight_bits_;
      so.kv_bits_ = o.kv_bits_;
      const nlohmann::json t = run_simulation_in_child(model, c, requests, so);
      so.level_ = SimLevel::kCycle;
      const nlohmann::json y = run_simulation_in_child(model, c, requests, so);
      if (t.contains("error") || y.contains("error")) {
        throw make_error("characterize", "context " + std::to_string(L) + ", " +
                                             std::to_string(U) + " users: " +
                                             (t.contains("error") ? t : y)["error"].dump());
      }
      // Closed form: every user's token at context ctx takes the token latency, and with U
      // users the pipeline's stage time bounds the round.
      double itl_cycles = 0;
      for (int64_t ctx = L + 1; ctx < L + o.output_tokens_; ++ctx) {
        const double lat = double(m.token_latency_cycles(ctx, 0, U > 1));
        itl_cycles += std::max(lat, double(U) * double(m.stage_service_cycles(ctx, 0, U > 1)));
      }
      itl_cycles /= double(o.output_tokens_ - 1);
      nlohmann::json closed = {{"inter_token_latency_s", itl_cycles / c.clock_hz_}};
      if (U == 1) closed["ttft_s"] = m.time_to_first_token_s(L);
      nlohmann::json row = {{"context_tokens", L},
                            {"users", U},
                            {"output_tokens", o.output_tokens_},
                            {"cycle", figures(y)},
                            {"token", figures(t)},
                            {"closed_form", closed}};
      row["error_pct"] = {{"token_vs_cycle", error_pct(row["token"], row["cycle"])},
                          {"closed_form_vs_cycle", error_pct(closed, row["cycle"])}};
      for (const char* group : {"token_vs_cycle", "closed_form_vs_cycle"}) {
        for (auto& [k, v] : row["error_pct"][group].items()) {
          if (v.is_null()) continue;
          const double e = std::abs(v.get<double>());
          if (!worst[group].contains(k) || e > worst[group][k].get<double>()) worst[group][k] = e;
        }
      }
      nlohmann::json blocks = nlohmann::json::object();
      for (const auto& [name, b] : y["blocks"].items()) {
        const double tokens = std::max(1.0, b["tokens"].get<double>());
        nlohmann::json e = {{"service_cycles_per_token", b["busy_cycles"].get<double>() / tokens}};
        if (b.contains("queries_per_sweep")) {
          // Query tiles at both levels: fewer at the token level mean more KV traffic there.
          e["queries_per_sweep"] = b["queries_per_sweep"];
          e["token_queries_per_sweep"] = t["blocks"][name].value("queries_per_sweep", 1.0);
        }
        for (const auto& [reason, cycles] : y["stall_cycles"][name].items()) {
          if (reason == "input_empty") continue;
          e[reason + "_cycles_per_token"] = cycles.get<double>() / tokens;
        }
        blocks[name] = e;
      }
      row["blocks"] = blocks;
      rows.push_back(row);
      if (progress) progress(++done, total);
    }
  }
  return {{"format", kFormatVersion},
          {"key", characterize_key(full_model, chip, o)},
          {"model", full_model.name_},
          {"chip", chip.name_},
          {"numerics", o.numerics_},
          {"weight_bits", o.weight_bits_},
          {"kv_bits", o.kv_bits_},
          {"layers_simulated", model.n_layers_},
          {"dies_simulated", m.dies_used_},
          {"clock_hz", c.clock_hz_},
          {"grid", {{"contexts", o.contexts_}, {"users", o.users_},
                    {"output_tokens", o.output_tokens_}, {"layers", o.layers_}}},
          {"rows", rows},
          {"skipped", skipped},
          {"worst_abs_error_pct", worst}};
}

}  // namespace hw::sim
