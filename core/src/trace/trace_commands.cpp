// `sonde trace dump` and `sonde trace summary` over the streaming reader.
#include "trace/trace.hpp"

#include "trace/latency_quantiles.hpp"
#include "trace/trace_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace sonde::core {

using trace::RecordSink;
using trace::RecordView;

namespace {

struct NameSummary {
    std::uint64_t count = 0;
    trace::LatencyQuantiles latency;
    struct Series {
        std::vector<std::uint64_t> first_counts, last_counts;
        std::vector<double> last_bounds;
        std::size_t points = 0;
    };
    std::map<std::string, Series> histogram_series;  // by input and attributes
};

// The summary's state is bounded by these caps, whatever the files hold; what
// falls outside is counted and said in the output.
constexpr std::size_t max_summary_names = 10'000;
constexpr std::size_t max_summary_series = 10'000;  // histogram series, all names together

}  // namespace

int trace_dump(const std::vector<std::string> &files, std::ostream &out, std::ostream &err) {
    int status = 0;
    RecordSink sink{[&](std::string_view line) { out << line; }, nullptr};
    for (const auto &file : files)
        if (!trace::read_trace_file(file, err, sink)) status = 1;
    return status;
}

int trace_summary(const std::vector<std::string> &files, std::ostream &out, std::ostream &err) {
    int status = 0;
    std::map<std::string, NameSummary, std::less<>> names;
    std::int64_t first = INT64_MAX, last = INT64_MIN;
    std::uint64_t total = 0, other_names_records = 0, series_left_out = 0;
    std::size_t series_count = 0;
    RecordSink sink{nullptr, [&](const RecordView &r) {
                        ++total;
                        first = std::min(first, r.time_ns);
                        last = std::max(last, r.time_ns);
                        auto it = names.find(r.name);
                        if (it == names.end()) {
                            if (names.size() >= max_summary_names) {
                                ++other_names_records;
                                return;
                            }
                            it = names.emplace(std::string(r.name), NameSummary{}).first;
                        }
                        NameSummary &s = it->second;
                        ++s.count;
                        if (r.latency_ns) s.latency.add_sample(*r.latency_ns / 1e9);
                        if (r.histogram) {
                            auto series = s.histogram_series.find(r.series);
                            if (series == s.histogram_series.end()) {
                                if (series_count >= max_summary_series) {
                                    ++series_left_out;
                                    return;
                                }
                                ++series_count;
                                series = s.histogram_series.emplace(r.series, NameSummary::Series{}).first;
                            }
                            if (series->second.points++ == 0) series->second.first_counts = r.counts;
                            series->second.last_counts = r.counts;
                            series->second.last_bounds = r.bounds;
                        }
                    }};
    for (const auto &file : files) {
        std::string origin;
        if (!trace::read_trace_file(file, err, sink, &origin)) status = 1;
        if (!origin.empty()) out << file << ": " << origin << '\n';
    }
    // Histograms are cumulative: a series contributes what it gained between
    // its first and last point in the files (or all of it, with one point).
    for (auto &[name, s] : names)
        for (const auto &[key, series] : s.histogram_series)
            for (std::size_t i = 0; i < series.last_counts.size(); ++i) {
                double bound = i < series.last_bounds.size() ? series.last_bounds[i] : INFINITY;
                if (std::isnan(bound)) continue;  // a crafted file's: NaN keys break the map's order
                std::uint64_t before =
                    series.points > 1 && i < series.first_counts.size() ? series.first_counts[i] : 0;
                s.latency.add_bucket(bound, series.last_counts[i] - before);
            }
    char line[256];
    // In double: a crafted file's times may lie further apart than int64 holds.
    const double span = total ? (static_cast<double>(last) - static_cast<double>(first)) / 1e9 : 0;
    std::snprintf(line, sizeof line, "%llu records from %s to %s (%.3f s)\n", static_cast<unsigned long long>(total),
                  total ? trace::format_time(first).c_str() : "-", total ? trace::format_time(last).c_str() : "-", span);
    out << line;
    out << "name                                              count     per s        p50        p95        p99        max\n";
    bool approximate = false;
    for (auto &[name, s] : names) {
        double rate = span > 0 ? static_cast<double>(s.count) / span : 0;
        std::snprintf(line, sizeof line, "%-46s %9llu %9.2f", name.c_str(), static_cast<unsigned long long>(s.count), rate);
        out << line;
        if (!s.latency.empty()) {
            std::snprintf(line, sizeof line, " %10.6f %10.6f %10.6f %10.6f%s", s.latency.quantile(0.5),
                          s.latency.quantile(0.95), s.latency.quantile(0.99), s.latency.quantile(1.0),
                          s.latency.approximate() ? " ~" : "");
            out << line;
            approximate = approximate || s.latency.approximate();
        }
        out << '\n';
    }
    if (approximate)
        out << "~: more than " << trace::LatencyQuantiles::max_exact_samples
            << " latency samples; quantiles from logarithmic buckets, within 1%\n";
    if (other_names_records)
        out << other_names_records << " records of names beyond the first " << max_summary_names
            << " distinct names are counted in the total only\n";
    if (series_left_out)
        out << series_left_out << " histogram points of series beyond the first " << max_summary_series
            << " are left out of the quantiles\n";
    return status;
}

}  // namespace sonde::core
