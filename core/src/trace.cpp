#include "trace.hpp"

#include <sonde/record_binary.hpp>
#include <sonde/record_json.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace sonde::core {

namespace {

using LineFn = std::function<void(std::string_view line)>;

// JSON lines: each complete, valid line is a record.
bool read_json_lines(const std::string &file, const std::string &text, std::ostream &err, const LineFn &fn) {
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
        if (record.is_discarded() || !record.is_object() || !record.contains("name") || !record.contains("time")) {
            err << file << ":" << line << ": corrupt record at byte " << start << "; " << records
                << " records read before it\n";
            return false;
        }
        fn(std::string_view(text.data() + start, end + 1 - start));
        ++records;
        start = end + 1;
    }
    return true;
}

// The binary format: records decoded and written as the JSON-lines sink would.
bool read_binary(const std::string &file, const std::string &text, std::ostream &err, const LineFn &fn,
                 std::string *origin) {
    RecordBinaryReader reader;
    RecordJsonWriter writer;
    std::string line;
    std::size_t records = 0;
    auto damage = reader.read(text, [&](const sonde_record_info &info, const sonde_metric_point *point, const sonde_event *event) {
        line.clear();
        if (point) writer.append_metric(line, info, *point);
        else writer.append_event(line, info, *event);
        fn(line);
        ++records;
    });
    if (origin && reader.header().version) {
        const auto &h = reader.header();
        std::time_t seconds = static_cast<std::time_t>(h.created_ns / 1'000'000'000);
        std::tm tm{};
        gmtime_r(&seconds, &tm);
        char created[32];
        std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
        *origin = "binary format " + std::to_string(h.version) + ", host " + h.host + ", " + h.writer + ", created " + created;
    }
    if (damage) {
        err << file << ": " << damage->what << " at byte " << damage->offset << "; " << records << " records read before it\n";
        return false;
    }
    return true;
}

// Calls fn with the JSON line of every readable record of a file of either
// format; reports the first damage and stops there. A binary file's header
// is described in *origin.
bool read_records(const std::string &file, std::ostream &err, const LineFn &fn, std::string *origin = nullptr) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        err << file << ": cannot open\n";
        return false;
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return RecordBinaryReader::is_binary(text) ? read_binary(file, text, err, fn, origin) : read_json_lines(file, text, err, fn);
}

// "2026-11-21T23:10:16.637407839Z" -> seconds since the epoch.
double parse_time(const std::string &t) {
    std::tm tm{};
    int nanos = 0;
    if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                    &tm.tm_sec, &nanos) < 6)
        return NAN;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<double>(timegm(&tm)) + nanos / 1e9;
}

// Latency distribution of one record name, from events or histograms.
struct Latencies {
    std::vector<double> samples_s;              // events' latency_ns
    std::map<double, std::uint64_t> buckets_s;  // histograms: upper bound -> count gained
    double max_s = 0;

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
    double first = INFINITY, last = -INFINITY;
    Latencies latency;
    struct Series {
        nlohmann::json first, last;  // histogram objects
        std::size_t points = 0;
    };
    std::map<std::string, Series> histogram_series;  // by input and attributes
};

}  // namespace

int trace_dump(const std::vector<std::string> &files, std::ostream &out, std::ostream &err) {
    int status = 0;
    for (const auto &file : files)
        if (!read_records(file, err, [&](std::string_view line) { out << line; })) status = 1;
    return status;
}

int trace_summary(const std::vector<std::string> &files, std::ostream &out, std::ostream &err) {
    int status = 0;
    std::map<std::string, NameSummary> names;
    double first = INFINITY, last = -INFINITY;
    std::string first_text = "-", last_text = "-";
    std::uint64_t total = 0;
    for (const auto &file : files) {
        std::string origin;
        bool ok = read_records(file, err, [&](std::string_view line) {
            const auto r = nlohmann::json::parse(line);
            double t = parse_time(r["time"].get<std::string>());
            NameSummary &s = names[r["name"].get<std::string>()];
            ++s.count;
            ++total;
            s.first = std::min(s.first, t);
            s.last = std::max(s.last, t);
            if (t < first) first = t, first_text = r["time"].get<std::string>();
            if (t > last) last = t, last_text = r["time"].get<std::string>();
            const auto &a = r.value("attributes", nlohmann::json::object());
            if (r.value("record", "") == "event" && a.contains("latency_ns") && a["latency_ns"].is_number())
                s.latency.samples_s.push_back(a["latency_ns"].get<double>() / 1e9);
            if (r.contains("histogram")) {
                auto &series = s.histogram_series[r.value("input", "") + a.dump()];
                if (series.points++ == 0) series.first = r["histogram"];
                series.last = r["histogram"];
            }
        }, &origin);
        if (!ok) status = 1;
        if (!origin.empty()) out << file << ": " << origin << '\n';
    }
    // Histograms are cumulative: a series contributes what it gained between
    // its first and last point in the files (or all of it, with one point).
    for (auto &[name, s] : names)
        for (const auto &[key, series] : s.histogram_series) {
            const auto &bounds = series.last["bounds"];
            const auto &counts = series.last["counts"];
            const auto &base = series.first["counts"];
            for (std::size_t i = 0; i < counts.size(); ++i) {
                double bound = i < bounds.size() ? bounds[i].get<double>() : INFINITY;
                std::uint64_t before = series.points > 1 && i < base.size() ? base[i].get<std::uint64_t>() : 0;
                s.latency.buckets_s[bound] += counts[i].get<std::uint64_t>() - before;
            }
        }
    char line[256];
    double span = last - first;
    std::snprintf(line, sizeof line, "%llu records from %s to %s (%.3f s)\n", static_cast<unsigned long long>(total),
                  first_text.c_str(), last_text.c_str(), span > 0 ? span : 0.0);
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
