// Metrics for folio: counters, gauges and histograms in a registry that renders the Prometheus
// text exposition format 0.0.4 for the /metrics endpoint.
//
// Owners register a series once (at start-up or when a component is built), keep the returned
// reference and update it on the hot path. Registration takes a mutex and validates; updates are
// lock-free atomics.
//
// Naming rules enforced at registration (each violation throws std::invalid_argument, because a
// bad name is a programmer error that must fail loudly in tests, not on a production scrape):
//   - metric names are snake_case `[a-z_][a-z0-9_]*` (a lint-clean subset of the Prometheus
//     regex: no colons, which are reserved for recording rules, no camelCase) and start with
//     `folio_`;
//   - counters end with `_total`; gauges and histograms do not;
//   - no word (between underscores) that `promtool check metrics` flags: abbreviated units
//     (`ms`, `s`, `kb`...), non-base units (`milliseconds`, `kilobytes`...: use seconds and
//     bytes) or type names (`gauge`, `counter`...);
//   - label names are snake_case `[a-z_][a-z0-9_]*`, do not start with `__`, are not `le` or
//     `quantile`, and are not unique per organization (`org_id`, `org`, `organization_id`, in
//     any case): with a million organizations such a label would explode the series count;
//   - label values and help text are valid UTF-8;
//   - all series of one family use the same label names.
//
// Thread-safety: Counter, Gauge and Histogram are safe to update and read from any thread
// (lock-free). Registry is safe for concurrent registration and exposition; references it hands
// out stay valid for the Registry's lifetime.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace folio::obs {

// Label name/value pairs; order does not matter (the registry sorts them by name).
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing value, e.g. requests served.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // REQUIRES: delta >= 0 (a counter never goes down); negative or NaN deltas are ignored.
  void inc(double delta = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down, e.g. connections in use.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void inc(double delta = 1.0) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void dec(double delta = 1.0) { value_.fetch_sub(delta, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A point-in-time copy of a histogram. Counts are cumulative, Prometheus style:
// cumulative_counts[i] is the number of observations <= upper_bounds[i]; the last element
// (index upper_bounds.size()) is the +Inf bucket and equals count.
struct HistogramSnapshot {
  std::vector<double> upper_bounds;
  std::vector<std::uint64_t> cumulative_counts;
  double sum = 0.0;
  std::uint64_t count = 0;
};

// Distribution of observed values (latencies in seconds, sizes in bytes) over fixed buckets.
class Histogram {
 public:
  // Throws std::invalid_argument unless upper_bounds is non-empty, finite and strictly
  // increasing. A trailing +Inf is accepted and dropped (the +Inf bucket is always present).
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Records one observation; a value equal to a bound falls into that bound's bucket.
  // NaN observations are ignored (they would poison the sum forever).
  void observe(double value);

  // Consistent enough for exposition: count is derived from the bucket counts, so the +Inf
  // bucket always equals count even while other threads observe; sum may lag by in-flight
  // observations.
  HistogramSnapshot snapshot() const;
  std::uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

 private:
  std::vector<double> upper_bounds_;
  // One non-cumulative counter per bound plus one for +Inf.
  std::unique_ptr<std::atomic<std::uint64_t>[]> bucket_counts_;
  std::atomic<double> sum_{0.0};
};

// Observes the seconds elapsed (steady_clock) between construction and stop() or destruction
// into a histogram. Not shared between threads.
class ScopedTimer {
 public:
  explicit ScopedTimer(Histogram& histogram)
      : histogram_(&histogram), start_(std::chrono::steady_clock::now()) {}
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;
  ~ScopedTimer() { stop(); }

  // Observes now and returns the elapsed seconds; later calls (and the destructor) do nothing
  // and return 0.
  double stop();

 private:
  Histogram* histogram_;  // null once stopped
  std::chrono::steady_clock::time_point start_;
};

// Latency buckets in seconds from 0.5 ms to 10 s, for request and query durations.
std::vector<double> default_latency_buckets();

// Owns metric families and renders them. Registry::global() is what /metrics serves; tests
// build their own instances.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry (never destroyed, so references survive static destruction).
  static Registry& global();

  // Return the series for name+labels, creating it (and its family) on first use; the same
  // name+labels always return the same object. Throws std::invalid_argument when a naming rule
  // above is broken, when the family already exists with another type, help text, label names
  // or (histograms) buckets, or when a histogram's derived names (`_bucket`, `_sum`, `_count`)
  // collide with another family.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help,
                       std::vector<double> upper_bounds, const Labels& labels = {});

  // How many times counter(), gauge() and histogram() were called: each takes the registry's
  // mutex. Tests read it around a hot path to show it looks no series up.
  std::uint64_t lookups() const noexcept { return lookups_.load(std::memory_order_relaxed); }

  // Registers a callback run at the start of every expose(), so owners can refresh gauges
  // (e.g. a pool's size). Collectors run one exposition at a time, in registration order, on
  // the thread calling expose(); they may register and update series.
  // REQUIRES: a collector does not call expose() or add_collector() on this registry.
  void add_collector(std::function<void(Registry&)> collector);

  // Runs the collectors, then renders every family in the text format 0.0.4: families sorted by
  // name, series sorted by labels, HELP and TYPE once per family. Non-const because collectors
  // update the registry. An exception from a collector propagates (the scrape fails loudly
  // rather than serving stale gauges).
  std::string expose();

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family;

  // Finds or creates the family, checking it against an existing one. REQUIRES: mu_ held.
  Family& family_locked(std::string_view name, std::string_view help, Type type,
                        const std::vector<double>& upper_bounds, const Labels& sorted_labels);

  std::atomic<std::uint64_t> lookups_{0};
  std::mutex expose_mu_;  // serializes collector runs, so collectors need not be reentrant
  std::mutex collectors_mu_;
  std::vector<std::function<void(Registry&)>> collectors_;  // GUARDED_BY(collectors_mu_)
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;  // GUARDED_BY(mu_)
};

}  // namespace folio::obs
