// `hardwire report`: the files it writes, and the page rendered in headless Chromium (Debian's
// /usr/bin/chromium): every chart drew (an SVG with data marks in each gnuplot plot group) and
// no request left the page (Chromium's net log holds no request made for the file:// page; a
// control page with one external image shows the check sees requests).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <system_error>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "../cli/cli_test_util.h"
#include "cost/report.h"

namespace hw {
namespace {
namespace fs = std::filesystem;

const char* kChromium = "/usr/bin/chromium";
const std::vector<std::string> kCharts = {"cost_per_mtok",   "cumulative_cost", "tokens_per_user",
                                          "tokens_per_watt", "kv_capacity",     "pareto"};

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// One report per test process, removed when the process ends.
struct ReportDir {
  fs::path path_ = fs::temp_directory_path() / ("hw_report_test_" + std::to_string(::getpid()));
  ReportDir() {
    fs::remove_all(path_);
    const auto r = test::run_hardwire("report --out '" + path_.string() + "'", true);
    EXPECT_EQ(r.exit_code_, 0) << r.output_;
  }
  ~ReportDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
};

fs::path report_dir() {
  static const ReportDir dir;
  return dir.path_;
}

struct Render {
  std::string dom_;
  int page_requests_ = -1;  // requests whose network isolation key is the file:// page
};

Render render(const fs::path& html) {
  Render out;
  const fs::path log = html.parent_path() / (html.stem().string() + ".netlog.json");
  const fs::path dom = html.parent_path() / (html.stem().string() + ".dom.html");
  const std::string cmd =
      std::string("timeout 120 ") + kChromium +
      " --headless --no-sandbox --disable-gpu --disable-background-networking"
      " --disable-component-update --disable-sync --no-first-run --disable-extensions"
      " --user-data-dir='" + (html.parent_path() / "chromium-profile").string() + "'"
      " --log-net-log='" + log.string() + "' --dump-dom 'file://" + html.string() + "' > '" +
      dom.string() + "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) return out;
  out.dom_ = slurp(dom);
  const auto j = nlohmann::json::parse(slurp(log), nullptr, false);
  if (j.is_discarded()) return out;
  int start_job = -1;
  for (const auto& [name, id] : j["constants"]["logEventTypes"].items()) {
    if (name == "URL_REQUEST_START_JOB") start_job = id.get<int>();
  }
  out.page_requests_ = 0;
  for (const auto& e : j["events"]) {
    if (e.value("type", -2) != start_job || !e.contains("params")) continue;
    const auto& p = e["params"];
    const std::string nik = p.value("network_isolation_key", "");
    const std::string url = p.value("url", "");
    if (nik.find("file://") != std::string::npos && url.rfind("file:", 0) != 0) {
      ++out.page_requests_;
    }
  }
  return out;
}

TEST(Report, WritesPageMarkdownAndTheDataOfEveryChart) {
  const fs::path d = report_dir();
  ASSERT_TRUE(fs::exists(d / "report.html"));
  ASSERT_TRUE(fs::exists(d / "report.md"));
  ASSERT_TRUE(fs::exists(d / "cost.json"));
  ASSERT_TRUE(fs::exists(d / "resolved_config.json"));
  const std::string html = slurp(d / "report.html");
  for (const std::string& c : kCharts) {
    EXPECT_TRUE(fs::exists(d / (c + ".csv"))) << c;
    EXPECT_TRUE(fs::exists(d / (c + ".svg"))) << c;
    EXPECT_NE(html.find("id=\"chart-" + c + "\""), std::string::npos) << c;
    EXPECT_GT(slurp(d / (c + ".csv")).size(), 20u) << c;
  }
  // Self-contained: no URL, no external script, stylesheet or image.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_NE(slurp(d / "report.md").find("](cost_per_mtok.csv)"), std::string::npos);
}

TEST(Report, InlineSvgDropsNamespacesAndPrefixesIds) {
  const std::string svg =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\"\n"
      " \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink='http://www.w3.org/1999/xlink'>"
      "<defs><circle id='gpPt' r='1'/></defs><g id=\"gnuplot_plot_1\"><use xlink:href='#gpPt'/>"
      "</g></svg>";
  const std::string s = inline_svg(svg, "c1-");
  EXPECT_EQ(s.find("http"), std::string::npos) << s;
  EXPECT_NE(s.find("id='c1-gpPt'"), std::string::npos) << s;
  EXPECT_NE(s.find("href='#c1-gpPt'"), std::string::npos) << s;
  EXPECT_NE(s.find("id=\"c1-gnuplot_plot_1\""), std::string::npos) << s;
}

TEST(Report, EveryChartDrawsInChromiumAndNoRequestLeavesThePage) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << "no " << kChromium << " (apt-get install chromium)";
  const fs::path d = report_dir();
  const Render r = render(d / "report.html");
  ASSERT_FALSE(r.dom_.empty()) << "chromium rendered nothing";
  EXPECT_EQ(r.page_requests_, 0);
  for (const std::string& c : kCharts) {
    const std::string open = "<figure class=\"chart\" id=\"chart-" + c + "\"";
    const size_t at = r.dom_.find(open);
    ASSERT_NE(at, std::string::npos) << c;
    const std::string fig = r.dom_.substr(at, r.dom_.find("</figure>", at) - at);
    ASSERT_NE(fig.find("<svg"), std::string::npos) << c;
    // Data marks: every gnuplot plot group (one per plotted series) holds more drawn elements
    // than its legend sample (a swatch and its outline) and the border drawn after the last
    // group: bars, lines or points.
    const std::regex group(c + "-gnuplot_plot_\\d+\"");
    const std::regex mark(R"(<(polygon[^>]* points="[0-9]|path[^>]* d="M[0-9]|use|circle))");
    std::vector<size_t> starts;
    for (auto it = std::sregex_iterator(fig.begin(), fig.end(), group); it != std::sregex_iterator();
         ++it) {
      starts.push_back(size_t(it->position()));
    }
    ASSERT_FALSE(starts.empty()) << c << ": no plot group";
    for (size_t i = 0; i < starts.size(); ++i) {
      const size_t end = i + 1 < starts.size() ? starts[i + 1] : fig.size();
      const std::string seg = fig.substr(starts[i], end - starts[i]);
      const auto marks = std::distance(std::sregex_iterator(seg.begin(), seg.end(), mark),
                                       std::sregex_iterator());
      EXPECT_GE(marks, 4) << c << " plot group " << i + 1 << " has no data marks";
    }
  }
}

TEST(Report, TheRequestCheckSeesAnExternalRequest) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << "no " << kChromium << " (apt-get install chromium)";
  const fs::path d = report_dir();
  const fs::path bad = d / "control.html";
  std::ofstream(bad) << "<!DOCTYPE html><html><body><img src=\"http://127.0.0.1:9/x.png\">"
                        "</body></html>\n";
  EXPECT_GE(render(bad).page_requests_, 1);
}

}  // namespace
}  // namespace hw
