#include "folio/obs/metrics.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "detail/utf8.hpp"

namespace folio::obs {

static_assert(std::atomic<double>::is_always_lock_free, "metric updates must be lock-free");
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "metric updates must be lock-free");

namespace {

constexpr std::string_view kNamePrefix = "folio_";
constexpr std::array<std::string_view, 3> kHistogramSuffixes = {"_bucket", "_sum", "_count"};
// Per-organization labels: one series per organization (about a million) would overwhelm
// Prometheus. Compared case-insensitively.
constexpr std::array<std::string_view, 3> kForbiddenLabels = {"org_id", "org", "organization_id"};
// Name words `promtool check metrics` (promlint, Prometheus 2.42) flags, refused here so that
// /metrics stays lint-clean: abbreviated units, non-base units (use seconds, bytes, meters...)
// and metric type names.
constexpr std::string_view kLintedNameWords[] = {
    "s",           "ms",          "us",          "ns",           "sec",          "b",
    "kb",          "mb",          "gb",          "tb",           "pb",           "m",
    "h",           "d",           "nanoseconds", "microseconds", "milliseconds", "minutes",
    "hours",       "days",        "weeks",       "bits",         "kilobits",     "kilobytes",
    "megabytes",   "gigabytes",   "terabytes",   "petabytes",    "kibibytes",    "kilograms",
    "centimeters", "millimeters", "kilometers",  "fahrenheit",   "counter",      "gauge",
    "histogram",   "summary"};
// Reserved by the exposition format for histograms and summaries.
constexpr std::array<std::string_view, 2> kReservedLabels = {"le", "quantile"};

[[noreturn]] void fail(std::string_view what, std::string_view subject) {
  throw std::invalid_argument(std::string(what) + ": '" + std::string(subject) + "'");
}

bool is_snake_case(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool equals_ci(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

using detail::is_valid_utf8;

void validate_name(std::string_view name, bool is_counter) {
  if (!is_snake_case(name)) fail("metric name is not snake_case [a-z_][a-z0-9_]*", name);
  if (!name.starts_with(kNamePrefix) || name.size() == kNamePrefix.size()) {
    fail("metric name must start with folio_", name);
  }
  for (std::size_t begin = 0; begin < name.size();) {
    const std::size_t end = std::min(name.find('_', begin), name.size());
    const std::string_view word = name.substr(begin, end - begin);
    if (std::find(std::begin(kLintedNameWords), std::end(kLintedNameWords), word) !=
        std::end(kLintedNameWords)) {
      fail("metric name has an abbreviated or non-base unit or a type name as a word", name);
    }
    begin = end + 1;
  }
  if (is_counter != name.ends_with("_total")) {
    fail(
        is_counter ? "counter name must end with _total" : "only counter names may end with _total",
        name);
  }
}

void validate_help(std::string_view help) {
  if (help.empty()) fail("metric help text is empty", help);
  if (!is_valid_utf8(help)) fail("metric help text is not valid UTF-8", help);
}

// Validates labels and returns them sorted by name, the canonical key of a series.
Labels canonical_labels(const Labels& labels) {
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const auto& [name, value] = sorted[i];
    if (!is_snake_case(name)) fail("label name is not snake_case [a-z_][a-z0-9_]*", name);
    if (name.starts_with("__")) fail("label names starting with __ are reserved", name);
    for (auto reserved : kReservedLabels) {
      if (name == reserved) fail("label name is reserved by the exposition format", name);
    }
    for (auto forbidden : kForbiddenLabels) {
      if (equals_ci(name, forbidden)) {
        fail("per-organization labels are refused (series cardinality)", name);
      }
    }
    if (i > 0 && sorted[i - 1].first == name) fail("duplicate label name", name);
    if (!is_valid_utf8(value)) fail("label value is not valid UTF-8", value);
  }
  return sorted;
}

std::vector<double> normalize_bounds(std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) {
    bounds.pop_back();
  }
  if (bounds.empty()) throw std::invalid_argument("histogram needs at least one finite bucket");
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      throw std::invalid_argument("histogram bucket bounds must be finite");
    }
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      throw std::invalid_argument("histogram bucket bounds must be strictly increasing");
    }
  }
  return bounds;
}

// Go's strconv.FormatFloat(v, 'g', -1, 64), which Prometheus client libraries use for `le`, so
// bucket labels read the same as in every other exporter ("0.0005", "1e-05", "2.5").
std::string go_format_float(double v) {
  std::array<char, 64> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v,
                                 std::chars_format::scientific);  // shortest round-trip
  std::string_view s(buf.data(), static_cast<std::size_t>(res.ptr - buf.data()));
  std::string out;
  if (s.front() == '-') {
    out.push_back('-');
    s.remove_prefix(1);
  }
  const auto e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  std::string_view exp_text = s.substr(e + 1);
  const bool exp_negative = exp_text.front() == '-';
  exp_text.remove_prefix(1);  // to_chars always writes the exponent's sign
  int exp = 0;
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  if (exp_negative) exp = -exp;

  const int nd = static_cast<int>(digits.size());
  if (exp < -4 || exp >= 6) {  // %e form: d[.ddd]e±XX
    out.push_back(digits[0]);
    if (nd > 1) out.append(".").append(digits, 1);
    out.push_back('e');
    out.push_back(exp < 0 ? '-' : '+');
    const int abs_exp = exp < 0 ? -exp : exp;
    if (abs_exp < 10) out.push_back('0');
    out.append(std::to_string(abs_exp));
    return out;
  }
  const int dp = exp + 1;  // digits before the decimal point
  auto digit = [&](int i) { return (i >= 0 && i < nd) ? digits[i] : '0'; };
  if (dp > 0) {
    for (int i = 0; i < dp; ++i) out.push_back(digit(i));
  } else {
    out.push_back('0');
  }
  if (nd > dp) {
    out.push_back('.');
    for (int i = dp; i < nd; ++i) out.push_back(digit(i));
  }
  return out;
}

// Sample values: integers (the common case for counters and gauges) print exactly as integers,
// everything else as go_format_float.
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {  // 2^53: exact as int64
    return std::to_string(static_cast<std::int64_t>(v));
  }
  return go_format_float(v);
}

void append_escaped(std::string& out, std::string_view s, bool escape_quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
}

// `{a="x",b="y"}` with an optional trailing `le`, or nothing for a label-less series.
void append_labels(std::string& out, const Labels& labels, const std::string* le = nullptr) {
  if (labels.empty() && le == nullptr) return;
  out.push_back('{');
  bool first = true;
  auto pair = [&](std::string_view name, std::string_view value) {
    if (!first) out.push_back(',');
    first = false;
    out.append(name).append("=\"");
    append_escaped(out, value, /*escape_quote=*/true);
    out.push_back('"');
  };
  for (const auto& [name, value] : labels) pair(name, value);
  if (le != nullptr) pair("le", *le);
  out.push_back('}');
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const Labels& labels, const std::string& value,
                   const std::string* le = nullptr) {
  out.append(name).append(suffix);
  append_labels(out, labels, le);
  out.push_back(' ');
  out.append(value).push_back('\n');
}

}  // namespace

void Counter::inc(double delta) {
  if (!(delta >= 0.0)) return;  // also rejects NaN
  value_.fetch_add(delta, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(normalize_bounds(std::move(upper_bounds))),
      bucket_counts_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds_.size() + 1)) {}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;
  const auto it = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
  bucket_counts_[static_cast<std::size_t>(it - upper_bounds_.begin())].fetch_add(
      1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot snap;
  snap.upper_bounds = upper_bounds_;
  snap.cumulative_counts.resize(upper_bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += bucket_counts_[i].load(std::memory_order_relaxed);
    snap.cumulative_counts[i] = running;
  }
  snap.count = running;
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

std::uint64_t Histogram::count() const {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    total += bucket_counts_[i].load(std::memory_order_relaxed);
  }
  return total;
}

double ScopedTimer::stop() {
  if (histogram_ == nullptr) return 0.0;
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
  histogram_->observe(elapsed.count());
  histogram_ = nullptr;
  return elapsed.count();
}

std::vector<double> default_latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

struct Registry::Family {
  Type type;
  std::string help;
  std::vector<std::string> label_names;  // sorted; identical for every series
  std::vector<double> upper_bounds;      // histograms only
  std::map<Labels, std::unique_ptr<Counter>> counters;
  std::map<Labels, std::unique_ptr<Gauge>> gauges;
  std::map<Labels, std::unique_ptr<Histogram>> histograms;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry& Registry::global() {
  static auto* const registry = new Registry();  // leaked on purpose: see header
  return *registry;
}

Registry::Family& Registry::family_locked(std::string_view name, std::string_view help, Type type,
                                          const std::vector<double>& upper_bounds,
                                          const Labels& sorted_labels) {
  lookups_.fetch_add(1, std::memory_order_relaxed);
  std::vector<std::string> label_names;
  label_names.reserve(sorted_labels.size());
  for (const auto& label : sorted_labels) label_names.push_back(label.first);

  if (const auto it = families_.find(name); it != families_.end()) {
    Family& family = *it->second;
    if (family.type != type) fail("metric family already registered with another type", name);
    if (family.help != help) fail("metric family already registered with other help", name);
    if (family.label_names != label_names) {
      fail("metric family already registered with other label names", name);
    }
    if (family.upper_bounds != upper_bounds) {
      fail("histogram already registered with other buckets", name);
    }
    return family;
  }

  // A histogram `x` also exposes x_bucket, x_sum and x_count; no other family may use them.
  for (auto suffix : kHistogramSuffixes) {
    if (name.ends_with(suffix)) {
      const auto base = families_.find(name.substr(0, name.size() - suffix.size()));
      if (base != families_.end() && base->second->type == Type::kHistogram) {
        fail("metric name collides with a histogram's series", name);
      }
    }
    if (type == Type::kHistogram && families_.contains(std::string(name) + std::string(suffix))) {
      fail("histogram series would collide with an existing metric", name);
    }
  }
  auto family = std::make_unique<Family>();
  family->type = type;
  family->help = std::string(help);
  family->label_names = std::move(label_names);
  family->upper_bounds = upper_bounds;
  return *families_.emplace(std::string(name), std::move(family)).first->second;
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
  validate_name(name, /*is_counter=*/true);
  validate_help(help);
  const Labels sorted = canonical_labels(labels);
  std::lock_guard lock(mu_);
  auto& slot = family_locked(name, help, Type::kCounter, {}, sorted).counters[sorted];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  validate_name(name, /*is_counter=*/false);
  validate_help(help);
  const Labels sorted = canonical_labels(labels);
  std::lock_guard lock(mu_);
  auto& slot = family_locked(name, help, Type::kGauge, {}, sorted).gauges[sorted];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> upper_bounds, const Labels& labels) {
  validate_name(name, /*is_counter=*/false);
  validate_help(help);
  const Labels sorted = canonical_labels(labels);
  const std::vector<double> bounds = normalize_bounds(std::move(upper_bounds));
  std::lock_guard lock(mu_);
  auto& slot = family_locked(name, help, Type::kHistogram, bounds, sorted).histograms[sorted];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

void Registry::add_collector(std::function<void(Registry&)> collector) {
  std::lock_guard lock(collectors_mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::expose() {
  std::lock_guard expose_lock(expose_mu_);
  std::vector<std::function<void(Registry&)>> collectors;
  {
    std::lock_guard lock(collectors_mu_);
    collectors = collectors_;
  }
  for (const auto& collect : collectors) collect(*this);  // may register series: mu_ not held

  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) {
    out.append("# HELP ").append(name).push_back(' ');
    append_escaped(out, family->help, /*escape_quote=*/false);
    out.append("\n# TYPE ").append(name).push_back(' ');
    switch (family->type) {
      case Type::kCounter:
        out.append("counter\n");
        for (const auto& [labels, c] : family->counters) {
          append_sample(out, name, "", labels, format_value(c->value()));
        }
        break;
      case Type::kGauge:
        out.append("gauge\n");
        for (const auto& [labels, g] : family->gauges) {
          append_sample(out, name, "", labels, format_value(g->value()));
        }
        break;
      case Type::kHistogram:
        out.append("histogram\n");
        for (const auto& [labels, h] : family->histograms) {
          const HistogramSnapshot snap = h->snapshot();
          for (std::size_t i = 0; i < snap.cumulative_counts.size(); ++i) {
            const std::string le =
                i < snap.upper_bounds.size() ? go_format_float(snap.upper_bounds[i]) : "+Inf";
            append_sample(out, name, "_bucket", labels, std::to_string(snap.cumulative_counts[i]),
                          &le);
          }
          append_sample(out, name, "_sum", labels, format_value(snap.sum));
          append_sample(out, name, "_count", labels, std::to_string(snap.count));
        }
        break;
    }
  }
  return out;
}

}  // namespace folio::obs
