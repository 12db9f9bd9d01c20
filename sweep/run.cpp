// run_sweep (sweep.h): set-up on rank 0 (resume scan of the CSV, the config file beside it,
// the metric columns from the first points that run), then worker threads on every rank take
// chunks of pending points, format rows and hand them to the writer: rank 0 appends and flushes
// them to the CSV, other ranks send them to rank 0. The main thread of each rank does the MPI
// traffic and the progress display.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "common/param_tree.h"
#include "sweep/mpi_comm.h"
#include "sweep/sweep.h"

namespace hw::sweep {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Points tried in order to learn the engine's metric columns before any row is written.
constexpr uint64_t kProbePoints = 64;

// Writes a metric value into `dst`, reusing its buffer (rows are formatted by the million).
void cell_into(const nlohmann::json& v, std::string& dst) {
  char buf[32];
  switch (v.type()) {
    case nlohmann::json::value_t::number_float: {
      const auto r = std::to_chars(buf, buf + sizeof buf, v.get<double>());
      dst.assign(buf, r.ptr);
      return;
    }
    case nlohmann::json::value_t::number_integer: {
      const auto r = std::to_chars(buf, buf + sizeof buf, v.get<int64_t>());
      dst.assign(buf, r.ptr);
      return;
    }
    case nlohmann::json::value_t::number_unsigned: {
      const auto r = std::to_chars(buf, buf + sizeof buf, v.get<uint64_t>());
      dst.assign(buf, r.ptr);
      return;
    }
    case nlohmann::json::value_t::boolean:
      dst.assign(v.get<bool>() ? "true" : "false");
      return;
    case nlohmann::json::value_t::string:
      dst.assign(v.get_ref<const std::string&>());
      return;
    default:
      dst.clear();
      return;
  }
}

// One line per error: CSV cells hold no newlines from us.
std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

std::string config_path_for(const std::string& csv) {
  fs::path p(csv);
  if (p.extension() == ".csv") p.replace_extension();
  return p.string() + ".resolved_config.json";
}

nlohmann::json sweep_description(const BaseDesign& b, const PointSet& points, const Engine& engine,
                                 const SweepOptions& o) {
  nlohmann::json axes = nlohmann::json::array();
  for (const auto& a : points.axes()) {
    axes.push_back({{"name", a.name_}, {"keys", a.keys_}, {"values", a.values_}});
  }
  return {{"engine", engine.name()},
          {"axes", axes},
          {"random_points", points.random() ? points.size() : 0},
          {"seed", points.random() ? points.seed() : 0},
          {"points", points.size()},
          {"metrics", o.metrics_},
          {"base",
           {{"model", b.model_},
            {"chip", b.chip_},
            {"tech", b.tech_},
            {"numerics", b.numerics_},
            {"scenario", b.scenario_},
            {"weight_bits", b.weight_bits_},
            {"kv_bits", b.kv_bits_},
            {"users", b.users_},
            {"prompt_tokens", b.prompt_tokens_},
            {"gen_tokens", b.gen_tokens_},
            {"sets", b.sets_}}}};
}

// Formats rows: swept values, metrics by column, error.
class RowFormatter {
 public:
  // `filtered`: the columns are a chosen subset, so other metrics are expected.
  RowFormatter(const PointSet& points, const std::vector<std::string>& metrics, bool filtered)
      : points_(points), n_metrics_(metrics.size()), filtered_(filtered) {
    for (size_t i = 0; i < metrics.size(); ++i) index_[metrics[i]] = i;
  }

  // Appends one CSV line (with newline) to `out`; the cells to `keep` when given.
  void row(uint64_t grid_index, const nlohmann::json* result, const std::string& error,
           std::string& out, std::vector<std::string>* keep) {
    cells_.resize(points_.axes().size() + n_metrics_ + 1);
    for (auto& c : cells_) c.clear();
    const std::vector<size_t> idx = points_.value_indices(grid_index);
    for (size_t a = 0; a < idx.size(); ++a) cells_[a].assign(points_.axes()[a].values_[idx[a]]);
    const size_t base = idx.size();
    if (result) {
      // Fast path: the leaves in the same order as the last result (std::map keys: a result of
      // the same engine has the same shape), checked leaf by leaf against the cached keys
      // without building names; any difference falls back to matching full names.
      size_t leaf = 0;
      if (!walk_cached(*result, base, leaf) || leaf != layout_.size()) {
        for (size_t i = base; i + 1 < cells_.size(); ++i) cells_[i].clear();
        relayout(*result, base);
      }
    }
    cells_.back() = one_line(error);
    append_csv_line(out, cells_);
    if (keep) *keep = cells_;
  }
  uint64_t unknown() const { return unknown_; }

 private:
  struct Leaf {
    std::string key_;  // last name segment, to check the shape
    long column_;      // metric index, -1 when not a column
  };

  bool walk_cached(const nlohmann::json& j, size_t base, size_t& leaf) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_object()) {
        if (!walk_cached(*it, base, leaf)) return false;
        continue;
      }
      if (it->is_array() || it->is_null()) continue;
      if (leaf >= layout_.size() || layout_[leaf].key_ != it.key()) return false;
      const long c = layout_[leaf++].column_;
      if (c >= 0) cell_into(*it, cells_[base + size_t(c)]);
    }
    return true;
  }

  void relayout(const nlohmann::json& result, size_t base) {
    layout_.clear();
    for (const auto& [name, v] : flatten_metrics(result)) {
      auto it = index_.find(name);
      const size_t dot = name.rfind('.');
      layout_.push_back({dot == std::string::npos ? name : name.substr(dot + 1),
                         it == index_.end() ? -1 : long(it->second)});
      if (it == index_.end()) {
        unknown_ += filtered_ ? 0 : 1;
        continue;
      }
      cell_into(v, cells_[base + it->second]);
    }
  }

  std::vector<Leaf> layout_;
  const PointSet& points_;
  size_t n_metrics_;
  bool filtered_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::string> cells_;
  uint64_t unknown_ = 0;
};

std::string human_count(double v) {
  char buf[32];
  if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e4)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string human_time(double s) {
  char buf[32];
  if (s < 90)
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 5400)
    std::snprintf(buf, sizeof buf, "%.0fm%02.0fs", std::floor(s / 60), std::fmod(s, 60));
  else
    std::snprintf(buf, sizeof buf, "%.0fh%02.0fm", std::floor(s / 3600), std::fmod(s / 60, 60));
  return buf;
}

class Progress {
 public:
  Progress(bool enabled, uint64_t total, uint64_t already)
      : enabled_(enabled),
        tty_(enabled && isatty(2)),
        total_(total),
        already_(already),
        start_(Clock::now()),
        last_(start_) {}

  void update(uint64_t done, uint64_t errors, bool final) {
    if (!enabled_) return;
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (!final && since < (tty_ ? 0.2 : 10.0)) return;
    last_ = now;
    const double el = std::chrono::duration<double>(now - start_).count();
    const double rate = el > 0 ? double(done) / el : 0;
    const uint64_t todo = total_ - already_;
    const double eta = rate > 0 ? double(todo - std::min(todo, done)) / rate : 0;
    const uint64_t have = already_ + done;
    const double pct = total_ ? 100.0 * double(have) / double(total_) : 100.0;
    char line[256];
    if (tty_) {
      constexpr int kWidth = 30;
      const int fill = int(pct / 100.0 * kWidth);
      std::string bar(size_t(fill), '#');
      bar.resize(kWidth, '.');
      std::snprintf(line, sizeof line,
                    "\r[%s] %5.1f%% %s/%s points  %s points/s  ETA %s  %s errors ", bar.c_str(),
                    pct, human_count(double(have)).c_str(), human_count(double(total_)).c_str(),
                    human_count(rate).c_str(), final ? "0s" : human_time(eta).c_str(),
                    human_count(double(errors)).c_str());
      std::fputs(line, stderr);
      if (final) std::fputs("\n", stderr);
    } else {
      std::snprintf(line, sizeof line,
                    "sweep: %llu/%llu points (%.1f%%), %.0f points/s, ETA %s, %llu errors\n",
                    (unsigned long long)have, (unsigned long long)total_, pct, rate,
                    final ? "0s" : human_time(eta).c_str(), (unsigned long long)errors);
      std::fputs(line, stderr);
    }
    std::fflush(stderr);
  }

 private:
  bool enabled_, tty_;
  uint64_t total_, already_;
  Clock::time_point start_, last_;
};

// Rank 0's view of the CSV before the workers start.
struct Setup {
  std::vector<std::string> metrics_;
  std::vector<uint64_t> pending_;  // ordinals still to evaluate
  uint64_t resumed_ = 0;
  std::string probe_block_;  // rows evaluated while learning the columns
  std::vector<std::vector<std::string>> probe_rows_;
  uint64_t probe_count_ = 0;
  uint64_t probe_errors_ = 0;
};

void check_header(const std::vector<std::string>& header, const PointSet& points,
                  const std::string& csv) {
  const auto& axes = points.axes();
  bool ok = header.size() >= axes.size() + 1 && header.back() == "error";
  for (size_t a = 0; ok && a < axes.size(); ++a) ok = header[a] == axes[a].name_;
  if (!ok) {
    throw make_error(
        csv, "already holds rows of a different sweep (its header is '" + csv_line(header) + "')",
        "use another --out, or delete the file to start over");
  }
}

// Reads the rows already in the CSV (dropping a partial last line), marks their points done.
void scan_existing(const std::string& csv, const PointSet& points, Setup& s) {
  std::string text;
  {
    std::ifstream in(csv, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const size_t last_nl = text.rfind('\n');
  const size_t keep = last_nl == std::string::npos ? 0 : last_nl + 1;
  if (keep < text.size()) {
    // A killed run can leave half a row: it is evaluated again.
    fs::resize_file(csv, keep);
    text.resize(keep);
  }
  Table t;
  {
    // The complete part, through the shared CSV record reader.
    size_t pos = 0;
    std::vector<std::string> fields;
    auto next = [&](std::vector<std::string>& f) { return parse_record(text, pos, f); };
    if (!next(t.columns_)) return;
    check_header(t.columns_, points, csv);
    s.metrics_.assign(t.columns_.begin() + long(points.axes().size()), t.columns_.end() - 1);
    const size_t n_axes = points.axes().size();
    std::unordered_set<uint64_t> done;
    size_t line = 1;
    while (next(fields)) {
      ++line;
      if (fields.size() != t.columns_.size()) {
        throw make_error(csv + ":" + std::to_string(line),
                         "has " + std::to_string(fields.size()) + " fields, the header has " +
                             std::to_string(t.columns_.size()),
                         "the file was edited or written by another program; use another --out");
      }
      fields.resize(n_axes);
      const auto g = points.grid_index_of(fields);
      if (!g) {
        throw make_error(csv + ":" + std::to_string(line),
                         "is not a point of this sweep (" + csv_line(fields) + ")",
                         "use another --out, or delete the file to start over");
      }
      if (!done.insert(*g).second) {
        throw make_error(csv + ":" + std::to_string(line), "repeats an earlier point",
                         "the file was edited or written by another program; use another --out");
      }
    }
    uint64_t matched = 0;
    for (uint64_t o = 0; o < points.size(); ++o) {
      if (done.count(points.grid_index(o))) {
        ++matched;
      } else {
        s.pending_.push_back(o);
      }
    }
    if (matched != done.size()) {
      throw make_error(csv,
                       std::to_string(done.size() - matched) +
                           " rows are not points of this sweep (different --random or --seed?)",
                       "use another --out, or delete the file to start over");
    }
    s.resumed_ = matched;
  }
}

// Evaluates the first points in order until one runs, to learn the engine's columns. The rows
// evaluated meanwhile are kept (not evaluated twice).
void probe_columns(const BaseDesign& base, const PointSet& points, const Engine& engine,
                   const SweepOptions& o, bool keep, Setup& s) {
  auto ctx = engine.make_context();
  std::vector<std::pair<uint64_t, nlohmann::json>> results;
  std::vector<std::pair<uint64_t, std::string>> errors;
  uint64_t o_next = 0;
  bool found = false;
  while (o_next < points.size() && o_next < kProbePoints && !found) {
    const uint64_t g = points.grid_index(o_next);
    try {
      nlohmann::json r = engine.evaluate(point_config(base, points, g), *ctx);
      for (const auto& kv : flatten_metrics(r)) s.metrics_.push_back(kv.first);
      results.emplace_back(o_next, std::move(r));
      found = true;
    } catch (const std::exception& e) {
      errors.emplace_back(o_next, e.what());
    }
    ++o_next;
  }
  if (!o.metrics_.empty()) {
    if (found) {
      for (const auto& m : o.metrics_) {
        if (std::find(s.metrics_.begin(), s.metrics_.end(), m) == s.metrics_.end()) {
          const std::string near = closest_match(m, s.metrics_);
          throw make_error("--metrics " + m, "is not a metric of the " + engine.name() + " engine",
                           near.empty() ? "run without --metrics to see them all"
                                        : "did you mean '" + near + "'?");
        }
      }
    }
    s.metrics_ = o.metrics_;
  }
  RowFormatter f(points, s.metrics_, !o.metrics_.empty());
  for (const auto& [ord, err] : errors) {
    std::vector<std::string> cells;
    f.row(points.grid_index(ord), nullptr, err, s.probe_block_, keep ? &cells : nullptr);
    if (keep) s.probe_rows_.push_back(std::move(cells));
    ++s.probe_errors_;
  }
  for (const auto& [ord, r] : results) {
    std::vector<std::string> cells;
    f.row(points.grid_index(ord), &r, "", s.probe_block_, keep ? &cells : nullptr);
    if (keep) s.probe_rows_.push_back(std::move(cells));
  }
  s.probe_count_ = o_next;
  for (uint64_t ord = o_next; ord < points.size(); ++ord) s.pending_.push_back(ord);
}

std::string first_difference(const nlohmann::json& a, const nlohmann::json& b) {
  for (auto it = a.begin(); it != a.end(); ++it) {
    if (!b.contains(it.key()) || b[it.key()] != *it) return it.key();
  }
  for (auto it = b.begin(); it != b.end(); ++it) {
    if (!a.contains(it.key())) return it.key();
  }
  return {};
}

}  // namespace

SweepResult run_sweep(const BaseDesign& base, const PointSet& points, const Engine& engine,
                      const SweepOptions& o) {
  const auto t0 = Clock::now();
  const bool use_mpi = mpi::active();
  const int rank = use_mpi ? mpi::rank() : 0;
  const int ranks = use_mpi ? mpi::size() : 1;
  const bool root = rank == 0;
  const bool to_file = !o.out_csv_.empty();
  const bool keep = root && (o.keep_rows_ || !to_file);

  SweepResult res;
  res.points_ = points.size();
  Setup s;
  std::FILE* out = nullptr;
  int lock_fd = -1;  // holds an exclusive flock on the CSV until the sweep ends
  std::string setup_error;
  if (root) {
    try {
      nlohmann::json desc = sweep_description(base, points, engine, o);
      if (to_file) {
        const fs::path csv(o.out_csv_);
        if (csv.has_parent_path()) fs::create_directories(csv.parent_path());
        // One writer per file: a second sweep into it would interleave and duplicate rows.
        lock_fd = ::open(o.out_csv_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock_fd < 0) {
          throw make_error("--out " + o.out_csv_, "cannot open for writing",
                           "check that the directory is writable");
        }
        if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
          throw make_error("--out " + o.out_csv_, "another sweep is writing this file",
                           "wait for it to finish, or use another --out");
        }
        res.config_path_ = config_path_for(o.out_csv_);
        if (fs::exists(csv) && fs::file_size(csv) > 0) {
          // Killed while writing the header: nothing to resume.
          std::ifstream in(o.out_csv_, std::ios::binary);
          std::string first;
          if (!std::getline(in, first) || in.eof()) fs::resize_file(csv, 0);
        }
        const bool resume = fs::exists(csv) && fs::file_size(csv) > 0;
        if (resume && fs::exists(res.config_path_)) {
          nlohmann::json old;
          try {
            std::ifstream in(res.config_path_);
            old = nlohmann::json::parse(in);
          } catch (const std::exception&) {
            throw make_error(res.config_path_, "is not valid JSON",
                             "delete it and the CSV to start over");
          }
          if (old.value("sweep", nlohmann::json()) != desc) {
            const std::string key =
                first_difference(old.value("sweep", nlohmann::json::object()), desc);
            throw make_error(o.out_csv_,
                             "holds a different sweep (it differs in '" + key + "', see " +
                                 res.config_path_ + ")",
                             "re-run the same command to resume, or use another --out");
          }
        }
        if (resume) {
          scan_existing(o.out_csv_, points, s);
        }
        if (!resume || !fs::exists(res.config_path_)) {
          nlohmann::json cfg = {{"sweep", desc}, {"command", o.command_}};
          try {
            PointConfig p;
            p.design_ = base;
            p.sets_ = base.sets_;
            cfg["resolved_base"] = engine.resolved_config(p);
          } catch (const std::exception& e) {
            cfg["resolved_base"] = {{"error", e.what()}};
          }
          std::ofstream cf(res.config_path_, std::ios::trunc);
          cf << cfg.dump(2) << "\n";
          if (!cf) throw make_error(res.config_path_, "cannot write file");
        }
        out = std::fopen(o.out_csv_.c_str(), "ab");
        if (!out) {
          throw make_error("--out " + o.out_csv_, "cannot open for writing",
                           "check that the directory is writable");
        }
        std::setvbuf(out, nullptr, _IOFBF, 1 << 20);
        if (!resume) {
          probe_columns(base, points, engine, o, keep, s);
          std::vector<std::string> header;
          for (const auto& a : points.axes()) header.push_back(a.name_);
          header.insert(header.end(), s.metrics_.begin(), s.metrics_.end());
          header.push_back("error");
          const std::string line = csv_line(header) + "\n" + s.probe_block_;
          std::fwrite(line.data(), 1, line.size(), out);
          std::fflush(out);
        }
      } else {
        probe_columns(base, points, engine, o, keep, s);
      }
    } catch (const std::exception& e) {
      setup_error = e.what();
      if (out) std::fclose(out);
      out = nullptr;
      if (lock_fd >= 0) ::close(lock_fd);
      lock_fd = -1;
    }
  }
  if (use_mpi) mpi::bcast(setup_error);
  if (!setup_error.empty()) throw Error(setup_error);
  if (use_mpi) {
    std::string joined;
    for (const auto& m : s.metrics_) joined += m + '\n';
    mpi::bcast(joined);
    s.metrics_.clear();
    size_t start = 0;
    while (start < joined.size()) {
      const size_t nl = joined.find('\n', start);
      s.metrics_.push_back(joined.substr(start, nl - start));
      start = nl + 1;
    }
    mpi::bcast(s.pending_);
  }

  res.columns_.clear();
  for (const auto& a : points.axes()) res.columns_.push_back(a.name_);
  res.columns_.insert(res.columns_.end(), s.metrics_.begin(), s.metrics_.end());
  res.columns_.push_back("error");
  res.resumed_ = s.resumed_;
  if (keep) res.rows_ = std::move(s.probe_rows_);

  // This rank's share, interleaved so ranks see the same mix of designs.
  std::vector<uint64_t> mine;
  for (size_t i = size_t(rank); i < s.pending_.size(); i += size_t(ranks)) {
    mine.push_back(s.pending_[i]);
  }
  unsigned threads = o.threads_ ? o.threads_ : std::max(1u, std::thread::hardware_concurrency());
  threads = unsigned(std::max<uint64_t>(1, std::min<uint64_t>(threads, mine.size())));
  const uint64_t chunk = std::max<uint64_t>(
      1, std::min<uint64_t>(engine.chunk_points(), mine.size() / (uint64_t(threads) * 8 + 1)));

  Progress progress(root && o.progress_, points.size(), s.resumed_ + s.probe_count_);
  if (root && o.progress_) {
    const std::string kind =
        points.random() ? "random of a grid of " + std::to_string(points.grid_size()) : "grid";
    const std::string resumed =
        s.resumed_ ? ", " + std::to_string(s.resumed_) + " already in " + o.out_csv_ : "";
    std::fprintf(stderr, "sweep: %llu points (%s)%s, %s engine, %u thread%s x %d rank%s\n",
                 (unsigned long long)points.size(), kind.c_str(), resumed.c_str(),
                 engine.name().c_str(), threads, threads > 1 ? "s" : "", ranks,
                 ranks > 1 ? "s" : "");
    std::fflush(stderr);
  }

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> outbox;  // non-root ranks: blocks waiting for MPI_Send
  std::deque<std::pair<uint64_t, uint64_t>> outbox_counts;
  std::atomic<uint64_t> next{0}, done_local{0}, errors_local{0}, unknown{0};
  std::atomic<unsigned> finished{0};
  std::string write_error;

  auto deliver = [&](std::string& block, std::vector<std::vector<std::string>>& kept, uint64_t n,
                     uint64_t nerr) {
    std::lock_guard<std::mutex> lock(mu);
    if (root) {
      if (out && write_error.empty()) {
        if (std::fwrite(block.data(), 1, block.size(), out) != block.size() ||
            std::fflush(out) != 0) {
          write_error = "cannot write " + o.out_csv_ + " (disk full?)";
        }
      }
      if (keep) {
        for (auto& r : kept) res.rows_.push_back(std::move(r));
      }
    } else {
      outbox.push_back(std::move(block));
      outbox_counts.emplace_back(n, nerr);
    }
    done_local += n;
    errors_local += nerr;
    cv.notify_all();
  };

  auto worker = [&]() {
    auto ctx = engine.make_context();
    RowFormatter f(points, s.metrics_, !o.metrics_.empty());
    std::string block;
    std::vector<std::vector<std::string>> kept;
    while (true) {
      const uint64_t start = next.fetch_add(chunk);
      if (start >= mine.size()) break;
      const uint64_t end = std::min<uint64_t>(mine.size(), start + chunk);
      block.clear();
      kept.clear();
      uint64_t nerr = 0;
      for (uint64_t i = start; i < end; ++i) {
        const uint64_t g = points.grid_index(mine[i]);
        std::vector<std::string> cells;
        try {
          const nlohmann::json r = engine.evaluate(point_config(base, points, g), *ctx);
          f.row(g, &r, "", block, keep ? &cells : nullptr);
        } catch (const std::exception& e) {
          f.row(g, nullptr, e.what(), block, keep ? &cells : nullptr);
          ++nerr;
        }
        if (keep) kept.push_back(std::move(cells));
      }
      deliver(block, kept, end - start, nerr);
    }
    unknown += f.unknown();
    ++finished;
    std::lock_guard<std::mutex> lock(mu);
    cv.notify_all();
  };

  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads && !mine.empty(); ++t) pool.emplace_back(worker);
  const unsigned started = unsigned(pool.size());

  uint64_t remote_done = 0, remote_errors = 0;
  int ranks_done = 1;  // this one, once its workers finish (root counts the others)
  bool sent_done = false;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::milliseconds(use_mpi ? 2 : 100));
    }
    const bool local_finished = finished.load() == started;
    if (use_mpi && root) {
      std::string block;
      uint64_t n = 0, nerr = 0;
      bool done_msg = false;
      while (mpi::poll(block, n, nerr, done_msg)) {
        if (done_msg) {
          ++ranks_done;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        if (out && write_error.empty()) {
          if (std::fwrite(block.data(), 1, block.size(), out) != block.size() ||
              std::fflush(out) != 0) {
            write_error = "cannot write " + o.out_csv_ + " (disk full?)";
          }
        }
        if (keep) {
          // Re-split the rank's lines into cells for the in-memory table.
          size_t pos = 0;
          std::vector<std::string> fields;
          while (parse_record(block, pos, fields)) res.rows_.push_back(fields);
        }
        remote_done += n;
        remote_errors += nerr;
      }
    } else if (use_mpi) {
      std::deque<std::string> blocks;
      std::deque<std::pair<uint64_t, uint64_t>> counts;
      {
        std::lock_guard<std::mutex> lock(mu);
        blocks.swap(outbox);
        counts.swap(outbox_counts);
      }
      for (size_t i = 0; i < blocks.size(); ++i) {
        mpi::send_rows(blocks[i], counts[i].first, counts[i].second);
      }
      if (local_finished && !sent_done) {
        std::lock_guard<std::mutex> lock(mu);
        if (outbox.empty()) {
          mpi::send_done();
          sent_done = true;
        }
      }
    }
    const uint64_t done_all = done_local.load() + remote_done;
    const uint64_t err_all = errors_local.load() + remote_errors + s.probe_errors_;
    const bool all = root ? (local_finished && ranks_done == ranks) : sent_done;
    progress.update(done_all, err_all, all);
    if (all) {
      res.evaluated_ = done_all + s.probe_count_;
      res.errors_ = err_all;
      break;
    }
  }
  for (auto& t : pool) t.join();
  if (out) std::fclose(out);
  if (lock_fd >= 0) ::close(lock_fd);
  if (!write_error.empty()) throw Error("sweep: " + write_error);
  if (root && unknown.load() > 0) {
    std::fprintf(
        stderr,
        "sweep: warning: %llu times the engine reported metrics that are not columns of the "
        "header (keys the first point did not have); they were left out\n",
        (unsigned long long)unknown.load());
  }
  res.wall_s_ = std::chrono::duration<double>(Clock::now() - t0).count();
  return res;
}

}  // namespace hw::sweep
