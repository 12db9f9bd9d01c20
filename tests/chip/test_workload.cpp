// Tests of the workload: schema strictness, shared-prefix checks, deterministic seeded
// generation, the shapes of the distributions, Poisson arrivals, and trace parsing errors that
// name the file and line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "chip/workload.h"
#include "chip_test_util.h"

namespace hw {
namespace {

using ::testing::HasSubstr;
using test::error_of;

WorkloadConfig from(const std::vector<std::string>& overrides) {
  return load_workload("", overrides);
}

TEST(Workload, DefaultsAreOneUserAtOneKOneK) {
  const WorkloadConfig w = from({});
  EXPECT_EQ(w.users_, 1);
  EXPECT_EQ(w.prompt_.kind_, LengthDist::kFixed);
  EXPECT_EQ(w.prompt_.tokens_, 1024);
  EXPECT_EQ(w.output_.tokens_, 1024);
  EXPECT_EQ(w.arrival_, ArrivalKind::kAllAtOnce);
  const auto r = generate_requests(w);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].prompt_tokens_, 1024);
  EXPECT_DOUBLE_EQ(r[0].arrival_s_, 0.0);
}

TEST(Workload, UnknownKeysAndBadValuesAreNamed) {
  EXPECT_THAT(error_of([] { from({"workload.user=3"}); }),
              HasSubstr("did you mean 'workload.users'"));
  EXPECT_THAT(error_of([] {
                workload_from_yaml(YAML::Load("workload:\n  prompt:\n    dsit: fixed\n"), "s",
                                   "s.yaml", {});
              }),
              HasSubstr("s.yaml: workload.prompt.dsit (line 3): unknown key"));
  EXPECT_THAT(error_of([] { workload_from_yaml(YAML::Load("wrkload: {}\n"), "s", "s.yaml", {}); }),
              HasSubstr("unknown top-level key 'wrkload'"));
  EXPECT_THAT(error_of([] { from({"workload.prompt.dist=uniform", "workload.prompt.min=10"}); }),
              HasSubstr("workload.prompt.max: 0 is below workload.prompt.min (10)"));
  EXPECT_THAT(error_of([] { from({"workload.output.dist=normal"}); }),
              HasSubstr("workload.output.mean: must be positive"));
  EXPECT_THAT(error_of([] { from({"workload.output.dist=uniform"}); }),
              HasSubstr("workload.output.max: 0 is below workload.output.min (1)"));
  EXPECT_THAT(error_of([] { from({"workload.arrival.kind=poisson"}); }),
              HasSubstr("workload.arrival.rate: must be positive for poisson"));
  EXPECT_THAT(error_of([] { from({"workload.arrival.kind=trace"}); }),
              HasSubstr("workload.arrival.trace: no trace file given"));
}

TEST(Workload, SharedPrefixMustBeShorterThanEveryPrompt) {
  EXPECT_THAT(error_of([] { from({"workload.shared_prefix_tokens=1024"}); }),
              HasSubstr("is not below the shortest prompt (workload.prompt.tokens = 1024)"));
  EXPECT_THAT(error_of([] {
                from({"workload.shared_prefix_tokens=100", "workload.prompt.dist=uniform",
                      "workload.prompt.min=50", "workload.prompt.max=500"});
              }),
              HasSubstr("workload.prompt.min = 50"));
  const auto r = generate_requests(from({"workload.users=3", "workload.shared_prefix_tokens=1000"}));
  for (const auto& q : r) EXPECT_EQ(q.shared_prefix_tokens_, 1000);
}

TEST(Workload, GenerationIsDeterministicAndSeeded) {
  const std::vector<std::string> ov = {"workload.users=50", "workload.prompt.dist=uniform",
                                       "workload.prompt.min=10", "workload.prompt.max=2000",
                                       "workload.arrival.kind=poisson", "workload.arrival.rate=10"};
  const auto a = generate_requests(from(ov));
  const auto b = generate_requests(from(ov));
  ASSERT_EQ(a.size(), 50u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt_tokens_, b[i].prompt_tokens_);
    EXPECT_DOUBLE_EQ(a[i].arrival_s_, b[i].arrival_s_);
    EXPECT_EQ(a[i].id_, int64_t(i));
  }
  auto ov2 = ov;
  ov2.push_back("workload.seed=2");
  const auto c = generate_requests(from(ov2));
  int same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i].prompt_tokens_ == c[i].prompt_tokens_;
  EXPECT_LT(same, 5);
}

TEST(Workload, StreamsAreIndependent) {
  // Changing the output distribution leaves the prompt draws and arrivals unchanged.
  const std::vector<std::string> base = {"workload.users=20", "workload.prompt.dist=uniform",
                                         "workload.prompt.min=1", "workload.prompt.max=100000",
                                         "workload.arrival.kind=poisson",
                                         "workload.arrival.rate=5"};
  auto other = base;
  other.insert(other.end(), {"workload.output.dist=uniform", "workload.output.min=1",
                             "workload.output.max=9999"});
  const auto a = generate_requests(from(base));
  const auto b = generate_requests(from(other));
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt_tokens_, b[i].prompt_tokens_);
    EXPECT_DOUBLE_EQ(a[i].arrival_s_, b[i].arrival_s_);
  }
}

TEST(Workload, UniformStaysInBoundsWithTheRightMean) {
  const auto r = generate_requests(from({"workload.users=20000", "workload.prompt.dist=uniform",
                                         "workload.prompt.min=100", "workload.prompt.max=300"}));
  double sum = 0;
  int64_t lo = INT64_MAX, hi = 0;
  for (const auto& q : r) {
    sum += double(q.prompt_tokens_);
    lo = std::min(lo, q.prompt_tokens_);
    hi = std::max(hi, q.prompt_tokens_);
  }
  EXPECT_EQ(lo, 100);
  EXPECT_EQ(hi, 300);
  EXPECT_NEAR(sum / double(r.size()), 200.0, 2.0);
}

TEST(Workload, NormalHasItsMomentsAndIsClamped) {
  const auto r = generate_requests(
      from({"workload.users=20000", "workload.output.dist=normal", "workload.output.mean=500",
            "workload.output.stddev=100", "workload.output.min=1", "workload.output.max=100000"}));
  double sum = 0, sq = 0;
  for (const auto& q : r) {
    sum += double(q.output_tokens_);
    sq += double(q.output_tokens_) * double(q.output_tokens_);
  }
  const double n = double(r.size()), mean = sum / n;
  EXPECT_NEAR(mean, 500.0, 3.0);
  EXPECT_NEAR(std::sqrt(sq / n - mean * mean), 100.0, 3.0);
  const auto c = generate_requests(
      from({"workload.users=2000", "workload.output.dist=normal", "workload.output.mean=500",
            "workload.output.stddev=100", "workload.output.min=450", "workload.output.max=520"}));
  int at_min = 0;
  for (const auto& q : c) {
    EXPECT_GE(q.output_tokens_, 450);
    EXPECT_LE(q.output_tokens_, 520);
    at_min += q.output_tokens_ == 450;
  }
  EXPECT_GT(at_min, 500);  // P(x < 450) = 31%
}

TEST(Workload, PoissonArrivalsAreSortedWithTheRightRate) {
  const auto r = generate_requests(
      from({"workload.users=20000", "workload.arrival.kind=poisson", "workload.arrival.rate=50 Hz"}));
  for (size_t i = 1; i < r.size(); ++i) EXPECT_LE(r[i - 1].arrival_s_, r[i].arrival_s_);
  EXPECT_NEAR(r.back().arrival_s_ / double(r.size()), 1.0 / 50, 0.02 / 50);
}

TEST(Workload, TraceParseErrorsNameFileAndLine) {
  EXPECT_THAT(error_of([] { parse_trace("arrival,prompt,output\n0,1,1\n", "t.csv"); }),
              HasSubstr("t.csv:1: expected the header 'arrival_s,prompt_tokens,output_tokens'"));
  EXPECT_THAT(error_of([] {
                parse_trace("# c\narrival_s,prompt_tokens,output_tokens\n0,5,5\n0.1,5\n", "t.csv");
              }),
              HasSubstr("t.csv:4: expected 3 comma-separated fields, got 2"));
  EXPECT_THAT(error_of([] {
                parse_trace("arrival_s,prompt_tokens,output_tokens\n0,5,5\n\n1,x,5\n", "t.csv");
              }),
              HasSubstr("t.csv:4: prompt_tokens 'x' is not a whole number"));
  EXPECT_THAT(error_of([] { parse_trace("arrival_s,prompt_tokens,output_tokens\n-1,5,5\n", "t.csv"); }),
              HasSubstr("t.csv:2: arrival_s '-1' is not a non-negative number"));
  EXPECT_THAT(error_of([] { parse_trace("arrival_s,prompt_tokens,output_tokens\n0,5,0\n", "t.csv"); }),
              HasSubstr("t.csv:2: output_tokens '0'"));
  EXPECT_THAT(error_of([] { parse_trace("", "t.csv"); }), HasSubstr("t.csv: empty trace"));
  const auto rows =
      parse_trace("arrival_s, prompt_tokens ,output_tokens\r\n0.5,10,20\r\n0.25,30,40\r\n", "t.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[1].arrival_s_, 0.25);
  EXPECT_EQ(rows[1].output_tokens_, 40);
}

TEST(Workload, TraceScenarioReplaysRowsSortedByArrival) {
  const WorkloadConfig w = load_workload("trace-example", {});
  EXPECT_EQ(w.users_, 8);
  const auto r = generate_requests(w);
  ASSERT_EQ(r.size(), 8u);
  EXPECT_EQ(r[0].prompt_tokens_, 512);
  EXPECT_EQ(r[3].prompt_tokens_, 2048);
  EXPECT_DOUBLE_EQ(r[7].arrival_s_, 0.05);
  EXPECT_EQ(generate_requests(load_workload("trace-example", {"workload.users=3"})).size(), 3u);
  EXPECT_THAT(error_of([] { load_workload("trace-example", {"workload.users=9"}); }),
              HasSubstr("9 users but the trace has 8 rows"));
  EXPECT_THAT(error_of([] { load_workload("trace-example", {"workload.shared_prefix_tokens=100"}); }),
              HasSubstr("row 8: prompt_tokens 64 is not longer than"));
  EXPECT_THAT(error_of([] { load_workload("trace-exampel", {}); }),
              HasSubstr("did you mean 'trace-example'"));
}

TEST(Workload, ShippedScenariosLoad) {
  const auto names = scenario_names();
  for (const char* expected : {"chat-1k-1k", "agents-shared-prefix"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  for (const auto& n : names) {
    SCOPED_TRACE(n);
    const auto r = generate_requests(load_workload(n, {}));
    EXPECT_FALSE(r.empty());
  }
  const WorkloadConfig chat = load_workload("chat-1k-1k", {});
  EXPECT_EQ(chat.users_, 64);
  const WorkloadConfig agents = load_workload("agents-shared-prefix", {});
  EXPECT_EQ(agents.shared_prefix_tokens_, 1536);
  for (const auto& q : generate_requests(agents)) EXPECT_GT(q.prompt_tokens_, 1536);
  EXPECT_EQ(chat.to_json()["workload"]["users"], 64);
}

}  // namespace
}  // namespace hw

namespace hw {
namespace {

TEST(Workload, ServingKeysDefaultToDecodeFirstWholePrompts) {
  const WorkloadConfig w = from({});
  EXPECT_EQ(w.serving_.policy_, ServingPolicy::kDecodeFirst);
  EXPECT_EQ(w.serving_.prefill_chunk_tokens_, 0);
  EXPECT_EQ(w.shared_prefix_groups_, 1);
  const WorkloadConfig p = from({"workload.serving.policy=prefill_first",
                                 "workload.serving.prefill_chunk_tokens=256"});
  EXPECT_EQ(p.serving_.policy_, ServingPolicy::kPrefillFirst);
  EXPECT_EQ(p.serving_.prefill_chunk_tokens_, 256);
  EXPECT_EQ(from({"workload.serving.policy=interleaved"}).serving_.policy_,
            ServingPolicy::kInterleaved);
  EXPECT_STREQ(serving_policy_name(ServingPolicy::kInterleaved), "interleaved");
  EXPECT_THAT(error_of([] { from({"workload.serving.policy=decode_frist"}); }),
              HasSubstr("did you mean 'decode_first'"));
  EXPECT_THAT(error_of([] { from({"workload.serving.prefill_chunk_tokens=-1"}); }),
              HasSubstr("workload.serving.prefill_chunk_tokens"));
  // The resolved config carries them.
  EXPECT_EQ(p.to_json()["workload"]["serving"]["policy"], "prefill_first");
}

TEST(Workload, PrefixGroupsAreDrawnWithoutChangingOtherDraws) {
  const std::vector<std::string> base = {"workload.users=400", "workload.prompt.dist=uniform",
                                         "workload.prompt.min=200", "workload.prompt.max=900",
                                         "workload.shared_prefix_tokens=100"};
  auto grouped = base;
  grouped.push_back("workload.shared_prefix_groups=4");
  const auto a = generate_requests(from(base));
  const auto b = generate_requests(from(grouped));
  std::vector<int64_t> count(4, 0);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prefix_group_, 0);
    EXPECT_EQ(a[i].prompt_tokens_, b[i].prompt_tokens_);
    ASSERT_GE(b[i].prefix_group_, 0);
    ASSERT_LT(b[i].prefix_group_, 4);
    ++count[size_t(b[i].prefix_group_)];
  }
  for (int64_t c : count) EXPECT_NEAR(double(c), 100.0, 40.0);
  EXPECT_EQ(generate_requests(from(grouped))[7].prefix_group_, b[7].prefix_group_);
  EXPECT_THAT(error_of([] { from({"workload.shared_prefix_groups=3"}); }),
              HasSubstr("workload.shared_prefix_groups: 3 prefix groups but "
                        "workload.shared_prefix_tokens is 0"));
}

}  // namespace
}  // namespace hw
