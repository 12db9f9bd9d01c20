// The offline HTML cost report; see report.h. Every chart is a gnuplot script over a CSV that is
// kept beside it, so a reader can check or redraw any figure.
#include "cost/report.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/error.h"

namespace hw {
namespace fs = std::filesystem;

namespace {

std::string fmt(double v, const char* f) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string usd(double v) {
  if (v >= 1e6) return "$" + fmt(v / 1e6, "%.2f") + "M";
  if (v >= 1e3) return "$" + fmt(v / 1e3, "%.1f") + "k";
  return "$" + fmt(v, "%.2f");
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::trunc);
  f << text;
  if (!f) throw make_error("--out " + p.parent_path().string(), "cannot write " + p.string());
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// CSV with a header; labels never hold commas or quotes (option ids, sizes).
struct Csv {
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::string text() const {
    std::string t;
    auto line = [&](const std::vector<std::string>& r) {
      for (size_t i = 0; i < r.size(); ++i) t += (i ? "," : "") + r[i];
      t += "\n";
    };
    line(header_);
    for (const auto& r : rows_) line(r);
    return t;
  }
};

std::string g(double v) { return fmt(v, "%.6g"); }

const char* kTerminal =
    "set terminal svg size 760,420 noenhanced font 'sans,11' background '#ffffff'\n"
    "set datafile separator ','\n"
    "set key outside right top\n"
    "set grid ytics lc rgb '#dddddd'\n"
    "set border 3\nset tics nomirror\n";

struct Chart {
  std::string name_;
  std::string title_;
  std::string caption_;
  Csv csv_;
  std::string script_;  // plot commands after the terminal; the CSV is 'data'
  std::vector<std::pair<std::string, Csv>> extra_csv_{};  // further files the script reads
};

void run_gnuplot(const std::string& exe, const fs::path& dir, const Chart& c) {
  const fs::path gp = dir / (c.name_ + ".gp");
  write_text(gp, std::string("# ") + c.title_ + ": gnuplot " + c.name_ + ".gp (data " + c.name_ +
                     ".csv)\n" + kTerminal + "set output '" + c.name_ + ".svg'\n" +
                     "data = '" + c.name_ + ".csv'\n" + c.script_);
  const std::string cmd = "cd '" + dir.string() + "' && '" + exe + "' '" + c.name_ +
                          ".gp' > '" + c.name_ + ".gnuplot.log' 2>&1";
  const int rc = std::system(cmd.c_str());
  if (rc != 0) {
    const std::string log = read_text(dir / (c.name_ + ".gnuplot.log"));
    if (rc == 127 * 256 || log.find("not found") != std::string::npos) {
      throw make_error("report", "gnuplot is not installed (" + exe + ")",
                       "apt-get install gnuplot-nox (scripts/install-deps.sh)");
    }
    throw make_error("report", "gnuplot failed on " + c.name_ + ".gp: " + log);
  }
  fs::remove(dir / (c.name_ + ".gnuplot.log"));
}

std::vector<Chart> make_charts(const ReportInput& in) {
  const CostResult& r = in.cost_;
  std::vector<Chart> charts;

  {  // $/M tokens per option.
    Chart c{"cost_per_mtok", "Cost per million tokens",
            "Dollars per million input and output tokens over the horizon, for each option "
            "(log scale). Owned and rented hardware split its cost between input and output "
            "tokens by the device time each takes.",
            {{"option", "usd_per_m_input", "usd_per_m_output"}, {}}, ""};
    for (const CostOption& o : r.options_) {
      c.csv_.rows_.push_back({o.id_, g(o.usd_per_m_input_), g(o.usd_per_m_output_)});
    }
    c.script_ =
        "set title 'Cost per million tokens (" + r.scenario_.name_ + ", " +
        std::to_string(r.scenario_.horizon_months_) + " months)'\n"
        "set ylabel 'USD per million tokens'\nset logscale y\n"
        "set style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset xtics rotate by -30\n"
        "plot data using 2:xtic(1) skip 1 title 'input' lc rgb '#4c72b0', "
        "'' using 3 skip 1 title 'output' lc rgb '#dd8452'\n";
    charts.push_back(c);
  }
  {  // Cumulative cost and break-even.
    Chart c{"cumulative_cost", "Cumulative cost and break-even",
            "Money spent by the end of each month. Owned hardware starts with its purchase "
            "(and buys again at end of life or, for the hardwired card, at each model change); "
            "it breaks even where its line crosses below the reference API's (" + r.reference_ +
                ").",
            {{"month"}, {}}, ""};
    for (const CostOption& o : r.options_) c.csv_.header_.push_back(o.id_);
    for (int64_t m = 0; m <= r.scenario_.horizon_months_; ++m) {
      std::vector<std::string> row{std::to_string(m)};
      for (const CostOption& o : r.options_) {
        row.push_back(g(o.cumulative_usd_[size_t(m)]));
      }
      c.csv_.rows_.push_back(row);
    }
    c.script_ = "set title 'Cumulative cost (" + r.scenario_.name_ + ")'\n"
                "set xlabel 'month'\nset ylabel 'USD spent'\nset yrange [0:*]\n"
                "set key autotitle columnhead\n"
                "plot for [i=2:" + std::to_string(r.options_.size() + 1) +
                "] data using 1:i with linespoints pt 7 ps 0.4 lw 2\n";
    charts.push_back(c);
  }
  {  // Tokens/s per user and per watt (hardware options).
    Chart u{"tokens_per_user", "Tokens per second per user",
            "Generation speed one user sees on each kind of hardware at the scenario's load "
            "(log scale).",
            {{"option", "tokens_per_s_per_user"}, {}}, ""};
    Chart w{"tokens_per_watt", "Tokens per second per watt",
            "Generated tokens per second per watt of device power while busy (log scale); the "
            "ASIC card includes its host server's share.",
            {{"option", "tokens_per_s_per_w", "tokens_per_s_total", "busy_power_w"}, {}}, ""};
    for (const CostOption& o : r.options_) {
      if (!o.has_hardware()) continue;
      u.csv_.rows_.push_back({o.id_, g(o.perf_.tokens_per_s_per_user_)});
      const double tpw =
          o.perf_.busy_power_w_ > 0 ? o.perf_.tokens_per_s_total_ / o.perf_.busy_power_w_ : 0;
      w.csv_.rows_.push_back(
          {o.id_, g(tpw), g(o.perf_.tokens_per_s_total_), g(o.perf_.busy_power_w_)});
    }
    const std::string bars =
        "set logscale y\nset style data histograms\nset style fill solid 0.85 border -1\n"
        "set boxwidth 0.7\nset key off\nset xtics rotate by -30\n";
    u.script_ = "set title 'Tokens/s per user'\nset ylabel 'tokens/s'\n" + bars +
                "plot data using 2:xtic(1) skip 1 lc rgb '#55a868'\n";
    w.script_ = "set title 'Tokens/s per watt'\nset ylabel 'tokens/s per W'\n" + bars +
                "plot data using 2:xtic(1) skip 1 lc rgb '#c44e52'\n";
    charts.push_back(u);
    charts.push_back(w);
  }
  if (!in.kv_.empty()) {  // KV capacity.
    Chart c{"kv_capacity", "KV capacity: users x context against KV SRAM size",
            "Users one " + in.chip_ + " chip can hold at each context length for several KV "
            "SRAM sizes (the estimator's admission rule; log-log). The chip's own size is "
            "drawn thicker.",
            {{"context_tokens"}, {}}, ""};
    for (const KvCapacityCurve& k : in.kv_) c.csv_.header_.push_back(k.label_);
    const auto& ctx = in.kv_.front().context_tokens_;
    for (size_t i = 0; i < ctx.size(); ++i) {
      bool any = false;
      for (const KvCapacityCurve& k : in.kv_) any = any || k.users_[i] > 0;
      if (!any) continue;  // longer than any size holds
      std::vector<std::string> row{std::to_string(ctx[i])};
      for (const KvCapacityCurve& k : in.kv_) {
        // 0 users cannot be drawn on a log axis: leave the cell empty (a gap in the line).
        row.push_back(k.users_[i] > 0 ? std::to_string(k.users_[i]) : "");
      }
      c.csv_.rows_.push_back(row);
    }
    std::string plot = "plot ";
    for (size_t i = 0; i < in.kv_.size(); ++i) {
      plot += std::string(i ? ", " : "") + "data using 1:" + std::to_string(i + 2) +
              " with linespoints pt 7 ps 0.5 lw " + (in.kv_[i].is_design_ ? "4" : "1.5");
    }
    c.script_ = "set title 'Users per chip vs context (" + in.chip_ + ")'\n"
                "set xlabel 'context per user (tokens)'\nset ylabel 'users held'\n"
                "set logscale xy 2\nset key autotitle columnhead title 'KV SRAM'\n"
                "set datafile missing ''\n" + plot + "\n";
    charts.push_back(c);
  }
  if (in.pareto_.available_) {  // Pareto front of the default sweep.
    const ParetoData& p = in.pareto_;
    Chart c{"pareto", "Pareto front of the default sweep",
            "Every design point of the default sweep (" + p.note_ + ") and, joined, those no "
            "other point beats on " + p.x_key_ + ", " + p.y_key_ + " and area together.",
            {{"point", p.x_key_, p.y_key_, "on_front"}, {}}, ""};
    std::vector<size_t> order(p.x_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p.x_[a] < p.x_[b]; });
    Csv front{{"point", p.x_key_, p.y_key_}, {}};
    for (size_t i : order) {
      c.csv_.rows_.push_back({p.labels_[i], g(p.x_[i]), g(p.y_[i]), p.on_front_[i] ? "1" : "0"});
      if (p.on_front_[i]) front.rows_.push_back({p.labels_[i], g(p.x_[i]), g(p.y_[i])});
    }
    c.extra_csv_.push_back({"pareto_front.csv", front});
    c.script_ = "set title 'Design points and Pareto front'\n"
                "set xlabel '" + p.x_key_ + " (card power, W)'\nset ylabel '" + p.y_key_ + "'\n"
                "plot data using 2:3 skip 1 with points pt 7 ps 0.6 lc rgb '#999999' "
                "title 'design points', "
                "'pareto_front.csv' using 2:3 skip 1 with linespoints pt 7 ps 1 lw 2 "
                "lc rgb '#c44e52' title 'Pareto front'\n";
    charts.push_back(c);
  }
  return charts;
}

std::string option_table_html(const CostResult& r) {
  std::string h =
      "<table><thead><tr><th>option</th><th>units</th><th>tokens/s per user</th>"
      "<th>$/M input</th><th>$/M output</th><th>total over " +
      std::to_string(r.scenario_.horizon_months_) + " months</th><th>break-even vs " +
      html_escape(r.reference_) + "</th><th>dominated by</th></tr></thead><tbody>\n";
  for (const CostOption& o : r.options_) {
    const std::string be = o.id_ == r.reference_ ? "reference"
                           : o.break_even_month_ < 0 ? "not within horizon"
                                                     : "month " + std::to_string(o.break_even_month_);
    h += "<tr><td>" + html_escape(o.label_) + "</td><td>" +
         (o.has_hardware() ? std::to_string(o.units_) : "") + "</td><td>" +
         (o.has_hardware() ? fmt(o.perf_.tokens_per_s_per_user_, "%.0f") : "") + "</td><td>" +
         fmt(o.usd_per_m_input_, "%.4f") + "</td><td>" + fmt(o.usd_per_m_output_, "%.4f") +
         "</td><td>" + usd(o.total_.total()) + "</td><td>" + be + "</td><td>" +
         o.total_.dominant() + "</td></tr>\n";
  }
  return h + "</tbody></table>\n";
}

std::string option_table_md(const CostResult& r) {
  std::string m = "| option | units | tokens/s per user | $/M input | $/M output | total | "
                  "break-even vs " + r.reference_ + " | dominated by |\n|---|---|---|---|---|---|---|---|\n";
  for (const CostOption& o : r.options_) {
    const std::string be = o.id_ == r.reference_ ? "reference"
                           : o.break_even_month_ < 0 ? "not within horizon"
                                                     : "month " + std::to_string(o.break_even_month_);
    m += "| " + o.label_ + " | " + (o.has_hardware() ? std::to_string(o.units_) : "") + " | " +
         (o.has_hardware() ? fmt(o.perf_.tokens_per_s_per_user_, "%.0f") : "") + " | " +
         fmt(o.usd_per_m_input_, "%.4f") + " | " + fmt(o.usd_per_m_output_, "%.4f") + " | " +
         usd(o.total_.total()) + " | " + be + " | " + o.total_.dominant() + " |\n";
  }
  return m;
}

// Owned and rented hardware: units, unit price, busy/idle power, busy share, energy, running cost;
// then the hardwired card's die and price build-up.
std::string hardware_html(const CostResult& r) {
  std::string h =
      "<h2>Hardware</h2><table><thead><tr><th>option</th><th>units</th><th>unit price</th>"
      "<th>busy W</th><th>idle W</th><th>busy share</th><th>kWh/month</th>"
      "<th>running cost/month</th></tr></thead><tbody>\n";
  for (const CostOption& o : r.options_) {
    if (!o.has_hardware()) continue;
    h += "<tr><td>" + html_escape(o.label_) + "</td><td>" + std::to_string(o.units_) + "</td><td>" +
         (o.owned() ? usd(o.unit_price_usd_) : "") + "</td><td>" +
         fmt(o.perf_.busy_power_w_, "%.0f") + "</td><td>" + fmt(o.perf_.idle_power_w_, "%.0f") +
         "</td><td>" + fmt(100.0 * o.busy_fraction_, "%.1f") + "%</td><td>" +
         (o.owned() ? fmt(o.energy_kwh_per_month_, "%.1f") : "") + "</td><td>" +
         usd(o.monthly_usd_) + "</td></tr>\n";
  }
  h += "</tbody></table>\n";
  for (const CostOption& o : r.options_) {
    if (o.kind_ != "asic") continue;
    const nlohmann::json& d = o.details_;
    h += "<p>Hardwired card: " + fmt(d["die"]["die_area_mm2"].get<double>(), "%.0f") +
         " mm2 die, " + fmt(d["die"]["dies_per_wafer"].get<double>(), "%.0f") +
         " candidates per wafer, yield " + fmt(100.0 * d["die"]["yield"].get<double>(), "%.1f") +
         "%, " + usd(d["die"]["die_usd"].get<double>()) + " per good die; card price " +
         usd(d["card_price_usd"].get<double>()) + ", host server share " +
         usd(d["server_share_usd"].get<double>()) + ", masks and NRE " +
         usd(d["nre_per_card_usd"].get<double>()) + " per card; new cards every " +
         std::to_string(d["replaced_every_months"].get<int64_t>()) +
         " months; a new model reaches silicon in " +
         fmt(d["new_model_turnaround_months"].get<double>(), "%.3g") + " months.</p>\n";
  }
  return h;
}

// The resolved inputs as rows: key, value, unit, source file.
std::string inputs_table_html(const nlohmann::json& tree, const nlohmann::json& units,
                              const std::string& root) {
  std::string h;
  std::function<void(const nlohmann::json&, const std::string&)> walk =
      [&](const nlohmann::json& j, const std::string& prefix) {
        for (const auto& [k, v] : j.items()) {
          const std::string key = prefix.empty() ? k : prefix + "." + k;
          if (v.is_object()) {
            walk(v, key);
            continue;
          }
          std::string unit;
          if (units.contains(key) && units[key].is_string()) unit = units[key].get<std::string>();
          h += "<tr><td>" + html_escape(root + "." + key) + "</td><td>" +
               html_escape(v.is_string() ? v.get<std::string>() : v.dump()) + "</td><td>" +
               html_escape(unit) + "</td></tr>\n";
        }
      };
  walk(tree, "");
  return h;
}

const char* kCss =
    "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
    "th,td{border:1px solid #ccc;padding:0.3em 0.6em;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    "figure{margin:2em 0}figcaption{font-size:0.9em;color:#444;max-width:760px}"
    "code{background:#f4f4f4;padding:0 0.2em}";

}  // namespace

std::string inline_svg(const std::string& svg, const std::string& prefix) {
  std::string s = svg;
  s = std::regex_replace(s, std::regex(R"(<\?xml[^>]*\?>\s*)"), "");
  s = std::regex_replace(s, std::regex(R"(<!DOCTYPE[^>]*>\s*)"), "");
  s = std::regex_replace(s, std::regex(R"(\s+xmlns(:\w+)?\s*=\s*("[^"]*"|'[^']*'))"), "");
  s = std::regex_replace(s, std::regex(R"(\bid=(["']))"), "id=$1" + prefix);
  s = std::regex_replace(s, std::regex(R"(href=(["'])#)"), "href=$1#" + prefix);
  s = std::regex_replace(s, std::regex(R"(url\(#)"), "url(#" + prefix);
  return s;
}

ReportFiles write_report(const ReportInput& in, const std::string& out_dir,
                         const std::string& gnuplot_exe) {
  const fs::path dir(out_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw make_error("--out " + out_dir, "cannot create the directory: " + ec.message());
  const CostResult& r = in.cost_;
  const std::vector<Chart> charts = make_charts(in);
  ReportFiles files;
  for (const Chart& c : charts) {
    write_text(dir / (c.name_ + ".csv"), c.csv_.text());
    for (const auto& [file, csv] : c.extra_csv_) write_text(dir / file, csv.text());
    run_gnuplot(gnuplot_exe, dir, c);
    files.charts_.push_back(c.name_);
  }
  nlohmann::json j = r.to_json();
  j["chip"] = in.chip_;
  j["tech"] = in.tech_;
  write_text(dir / "cost.json", j.dump(2) + "\n");

  const CostScenario& s = r.scenario_;
  const std::string summary =
      r.model_ + " under scenario '" + s.name_ + "' (" + s.description_ + "): " +
      fmt(s.monthly_input_tokens_ / 1e6, "%.0f") + "M input and " +
      fmt(s.monthly_output_tokens_ / 1e6, "%.0f") + "M output tokens a month, " +
      fmt(s.hours_per_day_, "%.3g") + " h a day, " + std::to_string(s.concurrency_) +
      " requests in flight, electricity " + fmt(s.electricity_usd_per_kwh_, "%.3f") +
      " USD/kWh, over " + std::to_string(s.horizon_months_) + " months. Hardwired chip: " +
      in.chip_ + " in " + in.tech_ + ".";

  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<title>hardwire cost report</title><style>" + std::string(kCss) +
                     "</style></head><body>\n<h1>Local ASIC vs GPU vs cloud: cost report</h1>\n"
                     "<p>" + html_escape(summary) + "</p>\n" + option_table_html(r) +
                     hardware_html(r);
  std::string md = "# Local ASIC vs GPU vs cloud: cost report\n\n" + summary + "\n\n" +
                   option_table_md(r) + "\n";
  for (const std::string& n : r.notes_) {
    html += "<p><b>Note:</b> " + html_escape(n) + "</p>\n";
    md += "**Note:** " + n + "\n\n";
  }
  if (in.kv_.empty() && !in.kv_note_.empty()) {
    html += "<p><b>KV capacity:</b> " + html_escape(in.kv_note_) + "</p>\n";
    md += "**KV capacity:** " + in.kv_note_ + "\n\n";
  }
  if (!in.pareto_.available_) {
    html += "<p><b>Pareto front:</b> " + html_escape(in.pareto_.note_) + "</p>\n";
    md += "**Pareto front:** " + in.pareto_.note_ + "\n\n";
  }
  for (const Chart& c : charts) {
    const std::string svg = read_text(dir / (c.name_ + ".svg"));
    html += "<figure class=\"chart\" id=\"chart-" + c.name_ + "\"><h2>" + html_escape(c.title_) +
            "</h2>\n" + inline_svg(svg, c.name_ + "-") + "\n<figcaption>" +
            html_escape(c.caption_) + " Data: <code>" + c.name_ + ".csv</code>.</figcaption>"
            "</figure>\n";
    md += "## " + c.title_ + "\n\n![" + c.title_ + "](" + c.name_ + ".svg)\n\n" + c.caption_ +
          " Data: [" + c.name_ + ".csv](" + c.name_ + ".csv).\n\n";
  }
  const nlohmann::json resolved = r.to_json()["resolved"];
  html += "<h2>Inputs</h2><p>Every figure is cited in its config file (" +
          html_escape(r.inputs_.source_) + ", " + html_escape(s.source_) +
          ") and in docs/cost.md.</p><table><thead><tr><th>key</th><th>value</th><th>unit</th>"
          "</tr></thead><tbody>\n" +
          inputs_table_html(resolved["scenario"], resolved["scenario_units"], "scenario") +
          inputs_table_html(resolved["cost"], resolved["cost_units"], "cost") +
          "</tbody></table>\n</body></html>\n";
  md += "## Inputs\n\nThe resolved scenario and cost inputs are in cost.json (`resolved`); every "
        "figure is cited in " + r.inputs_.source_ + ", " + s.source_ + " and docs/cost.md.\n";
  files.html_ = (dir / "report.html").string();
  files.markdown_ = (dir / "report.md").string();
  write_text(files.html_, html);
  write_text(files.markdown_, md);
  return files;
}

}  // namespace hw
