// Workload: the declared "workload" tree, scenario loading, trace parsing and the seeded
// expansion into user requests. The PRNG (splitmix64) and the transforms (rejection-sampled
// integers, Box-Muller normals, inverse-CDF exponentials) are written out here instead of
// taken from <random>, whose distributions differ between standard libraries.
#include "chip/workload.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "common/error.h"
#include "model/model_config.h"

namespace hw {
namespace {

namespace fs = std::filesystem;

constexpr char kTraceHeader[] = "arrival_s,prompt_tokens,output_tokens";
constexpr int64_t kMaxTokens = int64_t(1) << 30;
constexpr double kPi = 3.14159265358979323846;

void add_length(ParamSchema& s, const std::string& what, int64_t def) {
  s.add_string(what + ".dist", "fixed", what + " length distribution",
               {"fixed", "uniform", "normal"})
      .add_int(what + ".tokens", def, "tokens", what + " tokens when dist = fixed", 1, kMaxTokens)
      .add_int(what + ".min", 1, "tokens",
               "smallest " + what + " (uniform lower bound, normal clamp)", 1, kMaxTokens)
      .add_int(what + ".max", 0, "tokens",
               "largest " + what + " (uniform upper bound, needed; normal clamp, 0 = none)", 0,
               kMaxTokens)
      .add_real(what + ".mean", 0.0, "tokens", "normal: mean " + what + " tokens", 0.0,
                double(kMaxTokens))
      .add_real(what + ".stddev", 0.0, "tokens", "normal: standard deviation", 0.0,
                double(kMaxTokens));
}

LengthDistribution read_length(const ParamValues& v, const std::string& what,
                               const std::string& where) {
  LengthDistribution d;
  const std::string& kind = v.get_string(what + ".dist");
  d.kind_ = kind == "uniform" ? LengthDist::kUniform
            : kind == "normal" ? LengthDist::kNormal
                               : LengthDist::kFixed;
  d.tokens_ = v.get_int(what + ".tokens");
  d.min_tokens_ = v.get_int(what + ".min");
  d.max_tokens_ = v.get_int(what + ".max");
  d.mean_tokens_ = v.get_real(what + ".mean");
  d.stddev_tokens_ = v.get_real(what + ".stddev");
  if (d.kind_ == LengthDist::kNormal && d.max_tokens_ == 0) d.max_tokens_ = kMaxTokens;
  if (d.kind_ != LengthDist::kFixed && d.max_tokens_ < d.min_tokens_) {
    throw make_error(where + ": workload." + what + ".max",
                     std::to_string(d.max_tokens_) + " is below workload." + what + ".min (" +
                         std::to_string(d.min_tokens_) + ")",
                     "a " + kind + " distribution needs min <= max");
  }
  if (d.kind_ == LengthDist::kNormal && !(d.mean_tokens_ > 0)) {
    throw make_error(where + ": workload." + what + ".mean",
                     "must be positive for a normal distribution");
  }
  return d;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(trim(item));
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// splitmix64: tiny, well mixed, and identical everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // [0, 1)
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }
  // [lo, hi], unbiased by rejection.
  int64_t uniform_int(int64_t lo, int64_t hi) {
    const uint64_t range = uint64_t(hi - lo) + 1;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t x = next();
    while (x >= limit) x = next();
    return lo + int64_t(x % range);
  }
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }

 private:
  uint64_t state_;
};

int64_t draw(const LengthDistribution& d, Rng& rng) {
  switch (d.kind_) {
    case LengthDist::kFixed: return d.tokens_;
    case LengthDist::kUniform: return rng.uniform_int(d.min_tokens_, d.max_tokens_);
    case LengthDist::kNormal: {
      const double x = std::round(d.mean_tokens_ + d.stddev_tokens_ * rng.normal());
      return std::clamp(static_cast<int64_t>(std::clamp(x, -1e15, 1e15)), d.min_tokens_,
                        d.max_tokens_);
    }
  }
  return d.tokens_;
}

}  // namespace

const char* serving_policy_name(ServingPolicy policy) {
  switch (policy) {
    case ServingPolicy::kDecodeFirst: return "decode_first";
    case ServingPolicy::kPrefillFirst: return "prefill_first";
    case ServingPolicy::kInterleaved: return "interleaved";
  }
  return "decode_first";
}

ParamSchema workload_schema() {
  ParamSchema s("workload");
  s.add_int("users", 1, "",
            "number of users (requests); with arrival.kind = trace: the first N rows, all rows "
            "when not given",
            1, int64_t(1) << 24);
  // 1024/1024 is the point at which the HC1's 17k tokens/s per user is quoted
  // (shared/reference/public-figures.md).
  add_length(s, "prompt", 1024);
  add_length(s, "output", 1024);
  s.add_string("arrival.kind", "all_at_once", "when users arrive",
               {"all_at_once", "poisson", "trace"})
      .add_real("arrival.rate", 0.0, "Hz", "poisson: mean arrivals per second", 0.0, 1e12)
      .add_string("arrival.trace", "",
                  "trace: CSV file with header arrival_s,prompt_tokens,output_tokens (relative "
                  "to the scenario file)")
      .add_int("shared_prefix_tokens", 0, "tokens",
               "prompt prefix common to the users of a group (system prompt): its KV is stored "
               "once, the first user of the group computes it and later ones skip it while it "
               "stays cached; every prompt must be longer",
               0, kMaxTokens)
      .add_int("shared_prefix_groups", 1, "",
               "distinct shared prefixes of shared_prefix_tokens each (one system prompt per "
               "agent kind); each user draws one uniformly; a prefix's KV stays cached after "
               "its users leave until its space is needed (LRU)",
               1, int64_t(1) << 20)
      .add_int("seed", 1, "", "seed of the length, arrival and prefix-group draws", 0,
               INT64_MAX / 2)
      .add_string("serving.policy", "decode_first",
                  "which waiting token enters the chip first: decode_first (lowest inter-token "
                  "latency), prefill_first (lowest time to first token), interleaved (one of "
                  "each in turn)",
                  {"decode_first", "prefill_first", "interleaved"})
      .add_int("serving.prefill_chunk_tokens", 0, "tokens",
               "feed a prompt in chunks of this many tokens: the user then goes to the back of "
               "the prefill queue, and under prefill_first the waiting decode tokens go first "
               "(0 = whole prompt)",
               0, kMaxTokens);
  return s;
}

nlohmann::json WorkloadConfig::to_json() const {
  nlohmann::json j = params_.to_json();
  j["workload_name"] = name_;
  j["workload_source"] = source_;
  return j;
}

std::vector<TraceRow> parse_trace(const std::string& text, const std::string& file) {
  std::vector<TraceRow> rows;
  std::stringstream ss(text);
  std::string line;
  int64_t line_no = 0;
  bool header_seen = false;
  while (std::getline(ss, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const std::string where = file + ":" + std::to_string(line_no);
    const std::vector<std::string> f = split_csv(t);
    if (!header_seen) {
      if (join(f, ",") != kTraceHeader) {
        throw make_error(where, "expected the header '" + std::string(kTraceHeader) +
                                    "', got '" + t + "'",
                         "the first non-comment line names the three columns");
      }
      header_seen = true;
      continue;
    }
    if (f.size() != 3) {
      throw make_error(where, "expected 3 comma-separated fields, got " +
                                  std::to_string(f.size()),
                       "rows are arrival_s,prompt_tokens,output_tokens");
    }
    TraceRow r;
    {
      const char* b = f[0].c_str();
      char* e = nullptr;
      r.arrival_s_ = std::strtod(b, &e);
      if (f[0].empty() || *e != '\0' || !std::isfinite(r.arrival_s_) || r.arrival_s_ < 0) {
        throw make_error(where, "arrival_s '" + f[0] + "' is not a non-negative number of seconds");
      }
    }
    const char* names[] = {"prompt_tokens", "output_tokens"};
    int64_t vals[2] = {0, 0};
    for (int k = 0; k < 2; ++k) {
      const std::string& s = f[size_t(k) + 1];
      const char* b = s.c_str();
      char* e = nullptr;
      errno = 0;
      const long long v = std::strtoll(b, &e, 10);
      if (s.empty() || *e != '\0' || errno != 0 || v < 1 || v > kMaxTokens) {
        throw make_error(where, std::string(names[k]) + " '" + s +
                                    "' is not a whole number of tokens in [1, " +
                                    std::to_string(kMaxTokens) + "]");
      }
      vals[k] = v;
    }
    r.prompt_tokens_ = vals[0];
    r.output_tokens_ = vals[1];
    rows.push_back(r);
  }
  if (!header_seen) {
    throw make_error(file, "empty trace", "start with the header " + std::string(kTraceHeader));
  }
  if (rows.empty()) throw make_error(file, "trace has a header but no rows");
  return rows;
}

WorkloadConfig workload_from_yaml(const YAML::Node& root, const std::string& name,
                                  const std::string& file_name,
                                  const std::vector<std::string>& overrides) {
  const std::string where = file_name.empty() ? std::string("workload") : file_name;
  check_top_level_keys(root, {"description", "workload"}, where);
  WorkloadConfig w;
  w.params_ = resolve_params(workload_schema(), root, file_name, overrides);
  const ParamValues& v = w.params_;
  w.name_ = name;
  w.source_ = file_name;
  w.users_ = v.get_int("users");
  w.prompt_ = read_length(v, "prompt", where);
  w.output_ = read_length(v, "output", where);
  const std::string& kind = v.get_string("arrival.kind");
  w.arrival_ = kind == "poisson" ? ArrivalKind::kPoisson
               : kind == "trace" ? ArrivalKind::kTrace
                                 : ArrivalKind::kAllAtOnce;
  w.arrival_rate_per_s_ = v.get_real("arrival.rate");
  w.shared_prefix_tokens_ = v.get_int("shared_prefix_tokens");
  w.shared_prefix_groups_ = v.get_int("shared_prefix_groups");
  w.seed_ = static_cast<uint64_t>(v.get_int("seed"));
  const std::string& policy = v.get_string("serving.policy");
  w.serving_.policy_ = policy == "prefill_first" ? ServingPolicy::kPrefillFirst
                       : policy == "interleaved" ? ServingPolicy::kInterleaved
                                                 : ServingPolicy::kDecodeFirst;
  w.serving_.prefill_chunk_tokens_ = v.get_int("serving.prefill_chunk_tokens");
  if (w.shared_prefix_groups_ > 1 && w.shared_prefix_tokens_ == 0) {
    throw make_error(where + ": workload.shared_prefix_groups",
                     std::to_string(w.shared_prefix_groups_) +
                         " prefix groups but workload.shared_prefix_tokens is 0",
                     "set workload.shared_prefix_tokens, or leave the groups at 1");
  }
  if (w.arrival_ == ArrivalKind::kPoisson && !(w.arrival_rate_per_s_ > 0)) {
    throw make_error(where + ": workload.arrival.rate", "must be positive for poisson arrivals",
                     "e.g. --set workload.arrival.rate=50");
  }
  if (w.arrival_ == ArrivalKind::kTrace) {
    const std::string given = v.get_string("arrival.trace");
    if (given.empty()) {
      throw make_error(where + ": workload.arrival.trace", "no trace file given",
                       "set workload.arrival.trace to a CSV with header " +
                           std::string(kTraceHeader));
    }
    fs::path p(given);
    if (p.is_relative() && v.source_of("arrival.trace") != "--set" && !file_name.empty()) {
      p = fs::path(file_name).parent_path() / p;
    }
    w.trace_path_ = p.string();
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      throw make_error(where + ": workload.arrival.trace", "cannot open '" + w.trace_path_ + "'",
                       "relative paths resolve against the scenario file's directory");
    }
    std::stringstream buf;
    buf << in.rdbuf();
    w.trace_ = parse_trace(buf.str(), w.trace_path_);
    const int64_t rows = static_cast<int64_t>(w.trace_.size());
    if (v.source_of("users") == "default") {
      w.users_ = rows;
    } else if (w.users_ > rows) {
      throw make_error(where + ": workload.users",
                       std::to_string(w.users_) + " users but the trace has " +
                           std::to_string(rows) + " rows",
                       "lower workload.users or leave it out to replay every row");
    }
    if (w.shared_prefix_tokens_ > 0) {
      int64_t line_row = 0;
      for (const auto& r : w.trace_) {
        ++line_row;
        if (line_row > w.users_) break;
        if (r.prompt_tokens_ <= w.shared_prefix_tokens_) {
          throw make_error(w.trace_path_,
                           "row " + std::to_string(line_row) + ": prompt_tokens " +
                               std::to_string(r.prompt_tokens_) +
                               " is not longer than workload.shared_prefix_tokens (" +
                               std::to_string(w.shared_prefix_tokens_) + ")",
                           "prompts include the shared prefix and must extend it");
        }
      }
    }
  } else if (w.shared_prefix_tokens_ > 0 && w.prompt_.lowest() <= w.shared_prefix_tokens_) {
    const bool fixed = w.prompt_.kind_ == LengthDist::kFixed;
    throw make_error(where + ": workload.shared_prefix_tokens",
                     std::to_string(w.shared_prefix_tokens_) +
                         " is not below the shortest prompt (workload.prompt." +
                         (fixed ? "tokens" : "min") + " = " +
                         std::to_string(w.prompt_.lowest()) + ")",
                     "prompts include the shared prefix and must extend it");
  }
  return w;
}

WorkloadConfig load_workload(const std::string& scenario,
                             const std::vector<std::string>& overrides) {
  if (scenario.empty()) return workload_from_yaml(YAML::Node(), "", "", overrides);
  std::error_code ec;
  fs::path path(scenario);
  const bool looks_like_path = path.has_extension() || scenario.find('/') != std::string::npos;
  if (!looks_like_path) {
    const fs::path preset = fs::path(configs_dir()) / "scenarios" / (scenario + ".yaml");
    if (!fs::exists(preset, ec)) {
      const std::vector<std::string> names = scenario_names();
      const std::string near = closest_match(scenario, names);
      throw make_error(scenario, "not a shipped scenario",
                       (near.empty() ? std::string() : "did you mean '" + near + "'? ") +
                           "shipped: " + join(names, ", "));
    }
    path = preset;
  } else if (!fs::exists(path, ec)) {
    throw make_error(scenario, "scenario file not found");
  }
  return workload_from_yaml(load_yaml_file(path.string()), path.stem().string(), path.string(),
                            overrides);
}

std::vector<UserRequest> generate_requests(const WorkloadConfig& w) {
  // Independent streams: a change to one distribution leaves the other draws as they were.
  Rng seeder(w.seed_);
  Rng prompt_rng(seeder.next()), output_rng(seeder.next()), arrival_rng(seeder.next());
  Rng group_rng(seeder.next());
  std::vector<UserRequest> out;
  out.reserve(static_cast<size_t>(w.users_));
  double t = 0.0;
  for (int64_t i = 0; i < w.users_; ++i) {
    UserRequest r;
    r.shared_prefix_tokens_ = w.shared_prefix_tokens_;
    if (w.shared_prefix_groups_ > 1) {
      r.prefix_group_ = group_rng.uniform_int(0, w.shared_prefix_groups_ - 1);
    }
    if (w.arrival_ == ArrivalKind::kTrace) {
      const TraceRow& row = w.trace_.at(static_cast<size_t>(i));
      r.arrival_s_ = row.arrival_s_;
      r.prompt_tokens_ = row.prompt_tokens_;
      r.output_tokens_ = row.output_tokens_;
    } else {
      r.prompt_tokens_ = draw(w.prompt_, prompt_rng);
      r.output_tokens_ = draw(w.output_, output_rng);
      if (w.arrival_ == ArrivalKind::kPoisson) {
        t += -std::log(1.0 - arrival_rng.uniform()) / w.arrival_rate_per_s_;
        r.arrival_s_ = t;
      }
    }
    out.push_back(r);
  }
  std::stable_sort(out.begin(), out.end(), [](const UserRequest& a, const UserRequest& b) {
    return a.arrival_s_ < b.arrival_s_;
  });
  for (size_t i = 0; i < out.size(); ++i) out[i].id_ = static_cast<int64_t>(i);
  return out;
}

std::vector<std::string> scenario_names() {
  return config_file_stems((fs::path(configs_dir()) / "scenarios").string(), ".yaml");
}

}  // namespace hw
