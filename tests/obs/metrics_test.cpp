#include "folio/obs/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace folio::obs {
namespace {

TEST(CounterTest, IncrementsAndIgnoresNegativeDeltas) {
  Counter c;
  EXPECT_EQ(c.value(), 0.0);
  c.inc();
  c.inc(2.5);
  c.inc(-10);  // a counter never goes down
  c.inc(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(c.value(), 3.5);
}

TEST(GaugeTest, SetIncDec) {
  Gauge g;
  g.set(10);
  g.inc();
  g.inc(4);
  g.dec(2.5);
  g.dec();
  EXPECT_EQ(g.value(), 11.5);
  g.set(-3);
  EXPECT_EQ(g.value(), -3.0);
}

TEST(HistogramTest, BucketsAreCumulativeAndBoundsInclusive) {
  Histogram h({1, 2, 5});
  for (double v : {0.5, 1.0, 1.5, 2.0, 4.0, 7.0, 100.0}) h.observe(v);
  h.observe(std::numeric_limits<double>::quiet_NaN());  // ignored
  const HistogramSnapshot snap = h.snapshot();
  EXPECT_EQ(snap.upper_bounds, (std::vector<double>{1, 2, 5}));
  EXPECT_EQ(snap.cumulative_counts, (std::vector<std::uint64_t>{2, 4, 5, 7}));
  EXPECT_EQ(snap.count, 7u);
  EXPECT_EQ(h.count(), 7u);
  EXPECT_EQ(snap.sum, 116.0);
  EXPECT_EQ(h.sum(), 116.0);
}

TEST(HistogramTest, RejectsBadBuckets) {
  EXPECT_THROW(Histogram({}), std::invalid_argument);
  EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({1, std::numeric_limits<double>::quiet_NaN()}), std::invalid_argument);
  // A trailing +Inf is the implicit bucket and is dropped.
  Histogram h({1, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(h.upper_bounds(), (std::vector<double>{1}));
}

TEST(HistogramTest, ScopedTimerObservesOnce) {
  Histogram h(default_latency_buckets());
  {
    ScopedTimer timer(h);
    const double elapsed = timer.stop();
    EXPECT_GE(elapsed, 0.0);
    EXPECT_LT(elapsed, 5.0);
    EXPECT_EQ(timer.stop(), 0.0);
  }
  { ScopedTimer timer(h); }
  EXPECT_EQ(h.count(), 2u);
}

TEST(DefaultLatencyBucketsTest, SpanHalfAMillisecondToTenSeconds) {
  const auto b = default_latency_buckets();
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b.front(), 0.0005);
  EXPECT_EQ(b.back(), 10.0);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
}

TEST(RegistryTest, SameNameAndLabelsReturnSameObject) {
  Registry r;
  Counter& a = r.counter("folio_requests_total", "Requests.", {{"route", "/a"}, {"method", "GET"}});
  Counter& b = r.counter("folio_requests_total", "Requests.", {{"method", "GET"}, {"route", "/a"}});
  Counter& other =
      r.counter("folio_requests_total", "Requests.", {{"method", "GET"}, {"route", "/b"}});
  EXPECT_EQ(&a, &b);  // label order does not matter
  EXPECT_NE(&a, &other);
  EXPECT_EQ(&r.gauge("folio_pool_size", "Size."), &r.gauge("folio_pool_size", "Size."));
  EXPECT_EQ(&r.histogram("folio_q_seconds", "Q.", {1, 2}),
            &r.histogram("folio_q_seconds", "Q.", {1, 2}));
}

TEST(RegistryTest, FamilyConflictsThrow) {
  Registry r;
  r.counter("folio_jobs_total", "Jobs.", {{"kind", "a"}});
  r.gauge("folio_depth", "Depth.");
  r.histogram("folio_wait_seconds", "Wait.", {1, 2});
  // Another type under the same name.
  EXPECT_THROW(r.gauge("folio_jobs_total", "Jobs."), std::invalid_argument);
  EXPECT_THROW(r.histogram("folio_depth", "Depth.", {1}), std::invalid_argument);
  // Another help text or label names.
  EXPECT_THROW(r.counter("folio_jobs_total", "Other.", {{"kind", "a"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("folio_jobs_total", "Jobs.", {{"queue", "a"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("folio_jobs_total", "Jobs."), std::invalid_argument);
  // Other buckets.
  EXPECT_THROW(r.histogram("folio_wait_seconds", "Wait.", {1, 3}), std::invalid_argument);
  // Names a histogram's series already use, and the reverse.
  EXPECT_THROW(r.gauge("folio_wait_seconds_count", "C."), std::invalid_argument);
  EXPECT_THROW(r.gauge("folio_wait_seconds_bucket", "C."), std::invalid_argument);
  r.gauge("folio_lag_sum", "Sum.");
  EXPECT_THROW(r.histogram("folio_lag", "Lag.", {1}), std::invalid_argument);
}

TEST(RegistryTest, RefusesPerOrganizationLabels) {
  Registry r;
  for (const char* label : {"org_id", "org", "organization_id", "Org_Id"}) {
    SCOPED_TRACE(label);
    EXPECT_THROW(r.counter("folio_requests_total", "Requests.", {{label, "42"}}),
                 std::invalid_argument);
    EXPECT_THROW(r.gauge("folio_queue_depth", "Depth.", {{label, "42"}}), std::invalid_argument);
    EXPECT_THROW(r.histogram("folio_x_seconds", "X.", {1}, {{"route", "/"}, {label, "42"}}),
                 std::invalid_argument);
  }
  // Nothing was registered by the refused calls.
  EXPECT_EQ(r.expose(), "");
}

TEST(RegistryTest, RefusesBadNames) {
  Registry r;
  for (const char* name :
       {"", "folio_", "requests_total", "folio-requests_total", "folio_Requests_total",
        "folio:requests_total", "9folio_x_total", "folio_requests total", "folio_requests_count"}) {
    SCOPED_TRACE(name);
    EXPECT_THROW(r.counter(name, "Help."), std::invalid_argument);
  }
  EXPECT_THROW(r.gauge("folio_connections_total", "Help."), std::invalid_argument);
  EXPECT_THROW(r.histogram("folio_latency_total", "Help.", {1}), std::invalid_argument);
  // Words promtool's linter flags: abbreviated or non-base units, type names.
  for (const char* name : {"folio_query_ms", "folio_query_duration_milliseconds", "folio_cache_kb",
                           "folio_pool_gauge", "folio_s", "folio_wait_hours"}) {
    SCOPED_TRACE(name);
    EXPECT_THROW(r.gauge(name, "Help."), std::invalid_argument);
  }
  EXPECT_THROW(r.counter("folio_requests_counter_total", "Help."), std::invalid_argument);
  EXPECT_THROW(r.gauge("folio_depth", ""), std::invalid_argument);
  EXPECT_THROW(r.gauge("folio_depth", "bad \xff utf-8"), std::invalid_argument);
  EXPECT_NO_THROW(r.counter("folio_ok_total", "Help."));
  EXPECT_NO_THROW(r.gauge("folio_ok2", "Help."));
}

TEST(RegistryTest, RefusesBadLabels) {
  Registry r;
  const Labels bad[] = {
      {{"", "x"}},         {{"1route", "x"}},        {{"Route", "x"}},
      {{"rou-te", "x"}},   {{"__name__", "x"}},      {{"le", "1"}},
      {{"quantile", "1"}}, {{"a", "1"}, {"a", "2"}}, {{"route", "bad \xc3 utf-8"}},
  };
  for (const Labels& labels : bad) {
    EXPECT_THROW(r.gauge("folio_depth", "Depth.", labels), std::invalid_argument);
  }
  EXPECT_NO_THROW(r.gauge("folio_depth", "Depth.", {{"_route", "é \" \\ \n"}}));
}

TEST(RegistryTest, ExpositionMatchesGolden) {
  Registry r;
  r.counter("folio_requests_total", "Requests served.", {{"route", "/b"}, {"method", "GET"}})
      .inc(2);
  r.counter("folio_requests_total", "Requests served.", {{"method", "GET"}, {"route", "/a"}}).inc();
  r.gauge("folio_pool_connections", "Open connections.\nSecond line \\ \"quoted\".").set(-1.5);
  Histogram& h = r.histogram("folio_query_duration_seconds", "Query latency.", {0.1, 1, 10},
                             {{"query", "say \"hi\"\\\nbye"}});
  for (double v : {0.0625, 0.5, 1.0, 20.0}) h.observe(v);

  const std::string expected =
      "# HELP folio_pool_connections Open connections.\\nSecond line \\\\ \"quoted\".\n"
      "# TYPE folio_pool_connections gauge\n"
      "folio_pool_connections -1.5\n"
      "# HELP folio_query_duration_seconds Query latency.\n"
      "# TYPE folio_query_duration_seconds histogram\n"
      "folio_query_duration_seconds_bucket{query=\"say \\\"hi\\\"\\\\\\nbye\",le=\"0.1\"} 1\n"
      "folio_query_duration_seconds_bucket{query=\"say \\\"hi\\\"\\\\\\nbye\",le=\"1\"} 3\n"
      "folio_query_duration_seconds_bucket{query=\"say \\\"hi\\\"\\\\\\nbye\",le=\"10\"} 3\n"
      "folio_query_duration_seconds_bucket{query=\"say \\\"hi\\\"\\\\\\nbye\",le=\"+Inf\"} 4\n"
      "folio_query_duration_seconds_sum{query=\"say \\\"hi\\\"\\\\\\nbye\"} 21.5625\n"
      "folio_query_duration_seconds_count{query=\"say \\\"hi\\\"\\\\\\nbye\"} 4\n"
      "# HELP folio_requests_total Requests served.\n"
      "# TYPE folio_requests_total counter\n"
      "folio_requests_total{method=\"GET\",route=\"/a\"} 1\n"
      "folio_requests_total{method=\"GET\",route=\"/b\"} 2\n";
  EXPECT_EQ(r.expose(), expected);
}

TEST(RegistryTest, FormatsValuesAndBucketBoundsLikeGoClients) {
  Registry r;
  r.histogram("folio_size_bytes", "Sizes.", {1e-05, 0.0005, 2.5, 123456.5, 1e6});
  auto set = [&](const char* series, double v) {
    r.gauge("folio_value", "Values.", {{"series", series}}).set(v);
  };
  set("a_int", 1234567);
  set("b_frac", 0.1);
  set("c_huge", 1e20);
  set("d_tiny", 1.5e-7);
  set("e_nan", std::numeric_limits<double>::quiet_NaN());
  set("f_inf", std::numeric_limits<double>::infinity());
  set("g_ninf", -std::numeric_limits<double>::infinity());
  set("h_neg", -42);

  const std::string expected =
      "# HELP folio_size_bytes Sizes.\n"
      "# TYPE folio_size_bytes histogram\n"
      "folio_size_bytes_bucket{le=\"1e-05\"} 0\n"
      "folio_size_bytes_bucket{le=\"0.0005\"} 0\n"
      "folio_size_bytes_bucket{le=\"2.5\"} 0\n"
      "folio_size_bytes_bucket{le=\"123456.5\"} 0\n"
      "folio_size_bytes_bucket{le=\"1e+06\"} 0\n"
      "folio_size_bytes_bucket{le=\"+Inf\"} 0\n"
      "folio_size_bytes_sum 0\n"
      "folio_size_bytes_count 0\n"
      "# HELP folio_value Values.\n"
      "# TYPE folio_value gauge\n"
      "folio_value{series=\"a_int\"} 1234567\n"
      "folio_value{series=\"b_frac\"} 0.1\n"
      "folio_value{series=\"c_huge\"} 1e+20\n"
      "folio_value{series=\"d_tiny\"} 1.5e-07\n"
      "folio_value{series=\"e_nan\"} NaN\n"
      "folio_value{series=\"f_inf\"} +Inf\n"
      "folio_value{series=\"g_ninf\"} -Inf\n"
      "folio_value{series=\"h_neg\"} -42\n";
  EXPECT_EQ(r.expose(), expected);
}

TEST(RegistryTest, DefaultLatencyBucketLabels) {
  Registry r;
  r.histogram("folio_request_duration_seconds", "Latency.", default_latency_buckets());
  const std::string text = r.expose();
  for (const char* le : {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                         "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    EXPECT_NE(text.find(std::string("{le=\"") + le + "\"}"), std::string::npos) << le;
  }
}

TEST(RegistryTest, CollectorsRunOnEveryExpose) {
  Registry r;
  int runs = 0;
  r.add_collector([&runs](Registry& reg) {
    ++runs;
    reg.gauge("folio_collector_runs", "Runs.").set(runs);
    // A collector may register series on the fly; they appear in this same exposition.
    if (runs == 2) reg.gauge("folio_late", "Late.").set(7);
  });
  EXPECT_EQ(r.expose(),
            "# HELP folio_collector_runs Runs.\n# TYPE folio_collector_runs gauge\n"
            "folio_collector_runs 1\n");
  EXPECT_EQ(r.expose(),
            "# HELP folio_collector_runs Runs.\n# TYPE folio_collector_runs gauge\n"
            "folio_collector_runs 2\n"
            "# HELP folio_late Late.\n# TYPE folio_late gauge\nfolio_late 7\n");
  EXPECT_EQ(runs, 2);
}

TEST(RegistryTest, GlobalIsOneInstance) { EXPECT_EQ(&Registry::global(), &Registry::global()); }

TEST(RegistryTest, ConcurrentUpdatesAreExact) {
  constexpr int kThreads = 8;
  constexpr int kIterations = 20000;
  Registry r;
  Counter& counter = r.counter("folio_ops_total", "Ops.");
  Gauge& gauge = r.gauge("folio_inflight", "In flight.");
  Histogram& hist = r.histogram("folio_op_seconds", "Op latency.", {0.5, 1.5});

  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        counter.inc();
        gauge.inc(2);
        gauge.dec();
        hist.observe(i % 2);  // alternately 0 and 1, exact in binary
        if (i % 1000 == 0) {
          // Registration and exposition race with the hot path.
          EXPECT_EQ(&r.counter("folio_ops_total", "Ops."), &counter);
          r.counter("folio_per_thread_total", "Per thread.", {{"thread", std::to_string(t)}}).inc();
          if (t == 0) (void)r.expose();
        }
      }
    });
  }
  for (auto& th : threads) th.join();

  constexpr double kTotal = double{kThreads} * kIterations;
  EXPECT_EQ(counter.value(), kTotal);
  EXPECT_EQ(gauge.value(), kTotal);
  const HistogramSnapshot snap = hist.snapshot();
  EXPECT_EQ(snap.count, static_cast<std::uint64_t>(kTotal));
  EXPECT_EQ(snap.cumulative_counts[0], static_cast<std::uint64_t>(kTotal / 2));
  EXPECT_EQ(snap.sum, kTotal / 2);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(
        r.counter("folio_per_thread_total", "Per thread.", {{"thread", std::to_string(t)}}).value(),
        kIterations / 1000);
  }
}

}  // namespace
}  // namespace folio::obs
