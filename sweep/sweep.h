// Design-space sweeps: axes over any dotted key of the chip, tech, numerics and workload trees
// (and over lists of models, chips, tech files, numerics profiles and scenarios), grid or seeded
// random points, evaluation by an engine through the same strict `--set` validation as the CLI,
// rows appended to a CSV as they finish (resumable after a kill), all cores, optional MPI
// ranks, and the Pareto front of a results table.
//
// Shapes: an Axis is one swept key with its values as text (units kept, e.g. "0.6GHz"); a
// PointSet numbers the points (grid: mixed radix, the last axis fastest; random: the first N
// of a seeded permutation of the grid, so points are distinct and each is computable from its
// number alone, which is what lets resume and MPI ranks agree without talking). A point is
// evaluated into one CSV row: the swept values in the order given, then every metric the
// engine reports (column names from the engine's own JSON result, flattened with '.', units in
// the names), then `error` (empty when the point ran). An invalid point is a row with its
// error, never fatal.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hw::sweep {

// Keys that pick a config file rather than set a value in one (no dot): model, chip, tech,
// numerics, scenario.
bool is_selection_key(const std::string& key);

// One swept key. For a `--set` axis `keys_` holds the declared dotted keys it sets (a glob such
// as "chip.*.input_lanes" expands to every matching declared key, all set to the same value); for a
// selection axis ("model", "chip", ...) `keys_` is {name_}.
struct Axis {
  std::string name_;  // as written: "chip.clock", "chip.*.input_lanes", "model"
  std::vector<std::string> keys_;
  std::vector<std::string> values_;  // text handed to --set validation unchanged
  bool selection_ = false;
};

// Parses "key=v1,v2,..." (commas inside [...] belong to one value), "key=lo:hi:step" (linear,
// inclusive of hi; units allowed on each part, e.g. "chip.clock=0.5GHz:2GHz:0.1GHz") or
// "key=lo:hi:*factor" (geometric, e.g. "chip.attention.kv_sram.capacity=64MiB:1GiB:*2").
// Range values are written in lo's unit. A glob key is expanded against the declared schemas.
// Errors (unknown key with suggestion, empty or duplicate values, bad range) name `where`.
Axis parse_axis(const std::string& spec, const std::string& where = "--set");

// Expands a dotted key pattern with '*' (one or more whole segments) against the declared keys
// of the chip, tech, numerics and workload schemas; a key without '*' is returned as is.
std::vector<std::string> expand_key_pattern(const std::string& pattern, const std::string& where);

// The numbered points of a sweep.
class PointSet {
 public:
  // random_points == 0: the full grid. Otherwise the first random_points of a permutation of
  // the grid seeded by `seed` (at most the grid size: an error otherwise).
  PointSet(std::vector<Axis> axes, uint64_t random_points = 0, uint64_t seed = 0);

  const std::vector<Axis>& axes() const { return axes_; }
  uint64_t size() const { return size_; }
  uint64_t grid_size() const { return grid_size_; }
  bool random() const { return random_; }
  uint64_t seed() const { return seed_; }
  // Grid index of point `ordinal` (0 <= ordinal < size()).
  uint64_t grid_index(uint64_t ordinal) const;
  // Value index per axis of a grid index.
  std::vector<size_t> value_indices(uint64_t grid_index) const;
  // The grid index of a row's swept values (as written in the CSV), nullopt when the row is not
  // on the grid.
  std::optional<uint64_t> grid_index_of(const std::vector<std::string>& values) const;

 private:
  std::vector<Axis> axes_;
  uint64_t grid_size_ = 1;
  uint64_t size_ = 1;
  bool random_ = false;
  uint64_t seed_ = 0;
  std::vector<std::vector<std::pair<std::string, size_t>>> lookup_;  // sorted value -> index
};

// The base design every point starts from: the same options as `hardwire estimate`.
struct BaseDesign {
  std::string model_ = "llama-3.1-8b";
  std::string chip_ = "hc1-like";
  std::string tech_ = "n6";
  std::string numerics_;    // "" = the CLI default profile (hc1-mix) unless both widths given
  std::string scenario_;    // "" = workload defaults and overrides only
  double weight_bits_ = 0;  // > 0 overrides the profile's mean weight bits
  int kv_bits_ = 0;         // > 0 overrides the profile's KV bits
  int64_t users_ = 0;       // --users / --prompt / --gen shorthands (0 = not given)
  int64_t prompt_tokens_ = 0;
  int64_t gen_tokens_ = 0;
  std::vector<std::string> sets_;  // fixed "root.key=value" overrides applied to every point
};

// One point's configuration: the base with the axes' values applied.
struct PointConfig {
  BaseDesign design_;              // model/chip/tech/numerics/scenario as chosen by selection axes
  std::vector<std::string> sets_;  // base sets, then each --set axis's "key=value"
};
PointConfig point_config(const BaseDesign& base, const PointSet& points, uint64_t grid_index);

// An evaluator of points. evaluate() is called from several threads at once; each thread gets
// its own context from make_context() (caches of parsed configs and mapped designs). It returns
// the engine's result as JSON (nested objects allowed, arrays skipped) or throws hw::Error.
class Engine {
 public:
  struct Context {
    virtual ~Context() = default;
  };
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  virtual std::unique_ptr<Context> make_context() const = 0;
  virtual nlohmann::json evaluate(const PointConfig& point, Context& context) const = 0;
  // Points handed to one worker at a time (big for fast engines, 1 for slow ones).
  virtual uint64_t chunk_points() const { return 256; }
  // The resolved config of a point as written to resolved_config.json by the CLI.
  virtual nlohmann::json resolved_config(const PointConfig& point) const;
};

// The analytic estimator (power/estimator.h): the metrics of `hardwire estimate --json`.
// Designs (everything but the workload) are mapped once per thread and cached.
std::unique_ptr<Engine> make_estimate_engine();
// The SystemC model, one `hardwire simulate --json --power` child process per point (SystemC
// elaborates once per process). `hardwire_exe`: path of the hardwire binary.
std::unique_ptr<Engine> make_simulate_engine(const std::string& hardwire_exe);

// Flattens a JSON result into (name, value) columns: nested object keys joined with '.',
// arrays and nulls skipped, in the object's key order.
std::vector<std::pair<std::string, nlohmann::json>> flatten_metrics(const nlohmann::json& result);

struct SweepOptions {
  std::string out_csv_;     // "" = in memory only (SweepResult::rows_)
  unsigned threads_ = 0;    // 0 = all cores
  bool progress_ = true;    // on stderr: a bar with rate and ETA on a TTY, lines otherwise
  bool keep_rows_ = false;  // also return the rows in SweepResult (always when no CSV)
  // Metric columns to keep (names as in the CSV header); empty = every metric of the engine.
  std::vector<std::string> metrics_;
  // Free text stored in the config file beside the CSV (the command line) and compared on
  // resume together with the axes, base design, engine and random settings.
  std::string command_;
};

struct SweepResult {
  std::vector<std::string> columns_;            // swept keys, metrics, "error"
  std::vector<std::vector<std::string>> rows_;  // when kept; in completion order
  uint64_t points_ = 0;                         // in the sweep
  uint64_t resumed_ = 0;                        // already in the CSV before this run
  uint64_t evaluated_ = 0;                      // by this run (all ranks)
  uint64_t errors_ = 0;                         // rows of this run with an error
  double wall_s_ = 0;
  std::string config_path_;  // the resolved base config beside the CSV
};

// Runs a sweep. With a CSV: writes `<stem>.config.json` beside it (sweep description + the
// resolved base config), resumes from rows already there (a partial last line is dropped; a
// different sweep in the same file is an error naming the difference), appends and flushes rows
// as they finish. Inside `mpirun` (when built with MPI) the points are split across ranks and
// rank 0 writes the one file; other ranks return with rows_ empty.
SweepResult run_sweep(const BaseDesign& base, const PointSet& points, const Engine& engine,
                      const SweepOptions& options);

// MPI for the lifetime of the object, when the process was started by mpirun / srun (an Open
// MPI, PMI or PMIx rank in the environment) and hardwire was built with MPI; otherwise a
// single process (rank 0 of 1). run_sweep splits points across ranks while one is alive.
// Leaving with an exception aborts every rank (MPI_Abort) instead of hanging the others.
class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool active() const { return active_; }
  // True when this build can use MPI.
  static bool built_with_mpi();

 private:
  bool active_ = false;
  int rank_ = 0;
  int size_ = 1;
};

// A CSV table (header + rows), as written by run_sweep or any CSV with a header.
struct Table {
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
  // Index of a column; throws hw::Error listing the columns (and the closest) when absent.
  size_t column(const std::string& name) const;
};
Table read_csv(const std::string& path);
void write_csv(const std::string& path, const Table& table);
// One CSV line (quoted where needed), without the newline.
// Parses one CSV record of `text` starting at `pos` (advanced past it) into `fields`; returns
// false at the end of the text. Quoted fields may hold commas, quotes and newlines.
bool parse_record(const std::string& text, size_t& pos, std::vector<std::string>& fields);
std::string csv_line(const std::vector<std::string>& fields);
// The same with its newline, appended to `out`.
void append_csv_line(std::string& out, const std::vector<std::string>& fields);

struct Objective {
  std::string column_;
  bool maximize_ = false;
};
// Indices of the non-dominated rows (in row order). Rows with a non-empty `error` column or a
// non-numeric objective value are skipped. A row dominates another when it is at least as good
// in every objective and strictly better in one; rows with equal objectives are all kept.
std::vector<size_t> pareto_front(const Table& table, const std::vector<Objective>& objectives);

}  // namespace hw::sweep
