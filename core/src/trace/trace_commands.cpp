#include "trace.hpp"

#include <sonde/record_binary_reader.hpp>
#include <sonde/record_json.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <optional>

namespace sonde::core {

namespace {

// What the summary needs of one record, from either format.
struct RecordView {
    std::string_view name;
    std::int64_t time_ns = 0;
    std::optional<double> latency_ns;  // events with a numeric latency_ns attribute
    // Histograms: the series (input and attributes, canonical JSON), bounds and bucket counts.
    std::string series;
    std::vector<double> bounds;
    std::vector<std::uint64_t> counts;
    bool histogram = false;
};

// What a reader hands each record to: its JSON line (dump), its view (summary), or both.
struct RecordSink {
    std::function<void(std::string_view line)> line;
    std::function<void(const RecordView &)> view;
};

// "2026-11-21T23:10:16.637407839Z" -> unix nanoseconds.
std::optional<std::int64_t> parse_time_ns(const std::string &t) {
    std::tm tm{};
    char fraction[16] = {};
    if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d.%15[0-9]Z", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, fraction) < 6)
        return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const std::size_t digits = std::strlen(fraction);  // 9 as written; fewer are padded, more cut
    std::int64_t nanos = 0;
    for (std::size_t i = 0; i < 9; ++i) nanos = nanos * 10 + (i < digits ? fraction[i] - '0' : 0);
    return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000 + nanos;
}

// Unix nanoseconds -> "2026-11-21T23:10:16.637407839Z", as the JSON lines write it.
std::string format_time(std::int64_t ns) {
    std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[48];
    std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(text + n, sizeof text - n, ".%09lldZ", static_cast<long long>(ns % 1'000'000'000));
    return text;
}

RecordView view_of(const nlohmann::json &r) {
    RecordView v;
    v.name = r["name"].get_ref<const std::string &>();
    v.time_ns = parse_time_ns(r["time"].get<std::string>()).value_or(0);
    const auto &a = r.value("attributes", nlohmann::json::object());
    if (r.value("record", "") == "event" && a.contains("latency_ns") && a["latency_ns"].is_number())
        v.latency_ns = a["latency_ns"].get<double>();
    if (r.contains("histogram")) {
        v.histogram = true;
        v.series = r.value("input", "") + a.dump();
        v.bounds = r["histogram"]["bounds"].get<std::vector<double>>();
        v.counts = r["histogram"]["counts"].get<std::vector<std::uint64_t>>();
    }
    return v;
}

nlohmann::json json_of(const sonde_value &v) {
    switch (v.type) {
        case SONDE_VALUE_INT: return v.as.i;
        case SONDE_VALUE_UINT: return v.as.u;
        case SONDE_VALUE_DOUBLE: return std::isfinite(v.as.d) ? nlohmann::json(v.as.d) : nlohmann::json();
        case SONDE_VALUE_BOOL: return v.as.b != 0;
        case SONDE_VALUE_STRING: return std::string(v.as.s.data, v.as.s.size);
        default: return nullptr;
    }
}

RecordView view_of(const sonde_record_info &info, const sonde_metric_point *point, const sonde_event *event) {
    RecordView v;
    v.name = info.name;
    v.time_ns = point ? point->time_ns : event->time_ns;
    const sonde_value *values = point ? point->attributes : event->attributes;
    const std::uint32_t n = std::min(point ? point->attribute_count : event->attribute_count, info.attribute_count);
    if (event)
        for (std::uint32_t i = 0; i < n; ++i)
            if (std::string_view(info.attribute_keys[i]) == "latency_ns" && values[i].type != SONDE_VALUE_STRING &&
                values[i].type != SONDE_VALUE_BOOL)
                v.latency_ns = json_of(values[i]).get<double>();
    if (point && point->histogram) {
        nlohmann::json attributes = nlohmann::json::object();  // sorted keys, as in the JSON path
        for (std::uint32_t i = 0; i < n; ++i) attributes[info.attribute_keys[i]] = json_of(values[i]);
        v.histogram = true;
        v.series = std::string(info.input_name) + attributes.dump();
        const sonde_histogram &h = *point->histogram;
        v.bounds.assign(h.upper_bounds, h.upper_bounds + h.bound_count);
        v.counts.assign(h.bucket_counts, h.bucket_counts + h.bound_count + 1);
    }
    return v;
}

// JSON lines: each complete, valid line is a record.
bool read_json_lines(const std::string &file, const std::string &text, std::ostream &err, const RecordSink &sink) {
    std::size_t start = 0, line = 0, records = 0;
    while (start < text.size()) {
        ++line;
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            err << file << ":" << line << ": torn record at byte " << start << " (no final newline); " << records
                << " records read before it\n";
            return false;
        }
        std::string_view record_text(text.data() + start, end - start);
        auto record = nlohmann::json::parse(record_text, nullptr, false);
        if (record.is_discarded() || !record.is_object() || !record.contains("name") || !record["name"].is_string() ||
            !record.contains("time") || !record["time"].is_string()) {
            err << file << ":" << line << ": corrupt record at byte " << start << "; " << records
                << " records read before it\n";
            return false;
        }
        if (sink.line) sink.line(std::string_view(text.data() + start, end + 1 - start));
        if (sink.view) sink.view(view_of(record));
        ++records;
        start = end + 1;
    }
    return true;
}

// The binary format: lines as the JSON-lines sink would write them; views
// straight from the decoded records.
bool read_binary(const std::string &file, const std::string &text, std::ostream &err, const RecordSink &sink,
                 std::string *origin) {
    RecordBinaryReader reader;
    RecordJsonWriter writer;
    std::string line;
    std::size_t records = 0;
    auto damage = reader.read(text, [&](const sonde_record_info &info, const sonde_metric_point *point, const sonde_event *event) {
        if (sink.line) {
            line.clear();
            if (point) writer.append_metric(line, info, *point);
            else writer.append_event(line, info, *event);
            sink.line(line);
        }
        if (sink.view) sink.view(view_of(info, point, event));
        ++records;
    });
    if (origin && reader.header().version) {
        const auto &h = reader.header();
        *origin = "binary format " + std::to_string(h.version) + ", host " + h.host + ", " + h.writer + ", created " +
                  format_time(h.created_ns);
    }
    if (damage) {
        err << file << ": " << damage->what << " at byte " << damage->offset << "; " << records << " records read before it\n";
        return false;
    }
    return true;
}

// Reads every record of a file of either format into the sink; reports the
// first damage and stops there. A binary file's header is described in *origin.
bool read_records(const std::string &file, std::ostream &err, const RecordSink &sink, std::string *origin = nullptr) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        err << file << ": cannot open\n";
        return false;
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return RecordBinaryReader::is_binary(text) ? read_binary(file, text, err, sink, origin)
                                               : read_json_lines(file, text, err, sink);
}

// Latency distribution of one record name, from events or histograms.
struct Latencies {
    std::vector<double> samples_s;              // events' latency_ns
    std::map<double, std::uint64_t> buckets_s;  // histograms: upper bound -> count gained

    bool empty() const { return samples_s.empty() && buckets_s.empty(); }
    double quantile(double q) {
        if (!samples_s.empty()) {
            std::sort(samples_s.begin(), samples_s.end());
            std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples_s.size())));
            return samples_s[std::min(samples_s.size() - 1, rank ? rank - 1 : 0)];
        }
        std::uint64_t total = 0, seen = 0;
        for (const auto &[bound, n] : buckets_s) total += n;
        for (const auto &[bound, n] : buckets_s) {
            seen += n;
            if (seen >= q * static_cast<double>(total) && n) return bound;
        }
        return NAN;
    }
};

struct NameSummary {
    std::uint64_t count = 0;
    Latencies latency;
    struct Series {
        std::vector<std::uint64_t> first_counts, last_counts;
        std::vector<double> last_bounds;
        std::size_t points = 0;
    };
    std::map<std::string, Series> histogram_series;  // by input and attributes
};

}  // namespace

int trace_dump(const std::vector<std::string> &files, std::ostream &out, std::ostream &err) {
    int status = 0;
    RecordSink sink{[&](std::string_view line) { out << line; }, nullptr};
    for (const auto &file : files)
        if (!read_records(file, err, sink)) status = 1;
    return status;
}

int trace_summary(const std::vector<std::string> &files, std::ostream &out, std::ostream &err) {
    int status = 0;
    std::map<std::string, NameSummary, std::less<>> names;
    std::int64_t first = INT64_MAX, last = INT64_MIN;
    std::uint64_t total = 0;
    RecordSink sink{nullptr, [&](const RecordView &r) {
                        auto it = names.find(r.name);
                        if (it == names.end()) it = names.emplace(std::string(r.name), NameSummary{}).first;
                        NameSummary &s = it->second;
                        ++s.count;
                        ++total;
                        first = std::min(first, r.time_ns);
                        last = std::max(last, r.time_ns);
                        if (r.latency_ns) s.latency.samples_s.push_back(*r.latency_ns / 1e9);
                        if (r.histogram) {
                            auto &series = s.histogram_series[r.series];
                            if (series.points++ == 0) series.first_counts = r.counts;
                            series.last_counts = r.counts;
                            series.last_bounds = r.bounds;
                        }
                    }};
    for (const auto &file : files) {
        std::string origin;
        if (!read_records(file, err, sink, &origin)) status = 1;
        if (!origin.empty()) out << file << ": " << origin << '\n';
    }
    // Histograms are cumulative: a series contributes what it gained between
    // its first and last point in the files (or all of it, with one point).
    for (auto &[name, s] : names)
        for (const auto &[key, series] : s.histogram_series)
            for (std::size_t i = 0; i < series.last_counts.size(); ++i) {
                double bound = i < series.last_bounds.size() ? series.last_bounds[i] : INFINITY;
                std::uint64_t before =
                    series.points > 1 && i < series.first_counts.size() ? series.first_counts[i] : 0;
                s.latency.buckets_s[bound] += series.last_counts[i] - before;
            }
    char line[256];
    const double span = total ? static_cast<double>(last - first) / 1e9 : 0;
    std::snprintf(line, sizeof line, "%llu records from %s to %s (%.3f s)\n", static_cast<unsigned long long>(total),
                  total ? format_time(first).c_str() : "-", total ? format_time(last).c_str() : "-", span);
    out << line;
    out << "name                                              count     per s        p50        p95        p99        max\n";
    for (auto &[name, s] : names) {
        double rate = span > 0 ? static_cast<double>(s.count) / span : 0;
        std::snprintf(line, sizeof line, "%-46s %9llu %9.2f", name.c_str(), static_cast<unsigned long long>(s.count), rate);
        out << line;
        if (!s.latency.empty()) {
            std::snprintf(line, sizeof line, " %10.6f %10.6f %10.6f %10.6f", s.latency.quantile(0.5), s.latency.quantile(0.95),
                          s.latency.quantile(0.99), s.latency.quantile(1.0));
            out << line;
        }
        out << '\n';
    }
    return status;
}

}  // namespace sonde::core
