#include "trace_reader.hpp"

#include "files/checked_file.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace sonde::core::trace {

namespace {

// "2026-11-21T23:10:16.637407839Z" -> unix nanoseconds; nullopt when it is
// not such a time or lies outside what int64 nanoseconds hold (1677-2262).
std::optional<std::int64_t> parse_time_ns(const std::string &t) {
    std::tm tm{};
    char fraction[16] = {};
    // Field widths keep sscanf's numbers in range (a crafted year overflowed).
    if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%15[0-9]Z", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, fraction) < 6)
        return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const std::size_t digits = std::strlen(fraction);  // 9 as written; fewer are padded, more cut
    std::int64_t nanos = 0;
    for (std::size_t i = 0; i < 9; ++i) nanos = nanos * 10 + (i < digits ? fraction[i] - '0' : 0);
    std::int64_t ns = 0;
    if (__builtin_mul_overflow(static_cast<std::int64_t>(timegm(&tm)), std::int64_t{1'000'000'000}, &ns) ||
        __builtin_add_overflow(ns, nanos, &ns))
        return std::nullopt;
    return ns;
}

// A bucket count as written (a non-negative integer); anything else throws.
std::uint64_t bucket_count(const nlohmann::json &count) {
    if (count.is_number_unsigned()) return count.get<std::uint64_t>();
    throw std::invalid_argument("a bucket count is not a non-negative integer");
}

RecordView view_of(const nlohmann::json &r) {
    RecordView v;
    // at(), not []: a key missing from a const object is undefined behaviour
    // with [] (an assertion in nlohmann/json), an exception with at().
    v.name = r.at("name").get_ref<const std::string &>();
    v.time_ns = parse_time_ns(r.at("time").get<std::string>()).value_or(0);
    const auto &a = r.value("attributes", nlohmann::json::object());
    if (r.value("record", "") == "event" && a.contains("latency_ns") && a["latency_ns"].is_number())
        v.latency_ns = a["latency_ns"].get<double>();
    if (r.contains("histogram")) {
        v.histogram = true;
        v.series = r.value("input", "") + a.dump();
        v.bounds = r.at("histogram").at("bounds").get<std::vector<double>>();
        for (const auto &count : r.at("histogram").at("counts").get_ref<const nlohmann::json::array_t &>())
            v.counts.push_back(bucket_count(count));
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
        for (std::uint32_t i = 0; i < n; ++i) {
            if (std::string_view(info.attribute_keys[i]) != "latency_ns") continue;
            const sonde_value &value = values[i];
            if (value.type == SONDE_VALUE_INT) v.latency_ns = static_cast<double>(value.as.i);
            else if (value.type == SONDE_VALUE_UINT) v.latency_ns = static_cast<double>(value.as.u);
            else if (value.type == SONDE_VALUE_DOUBLE && std::isfinite(value.as.d)) v.latency_ns = value.as.d;
        }
    if (point && point->histogram) {
        nlohmann::json attributes = nlohmann::json::object();  // sorted keys, as in the JSON path
        for (std::uint32_t i = 0; i < n; ++i) attributes[info.attribute_keys[i]] = json_of(values[i]);
        v.histogram = true;
        // A crafted binary file can hold strings that are not UTF-8: replace
        // them (U+FFFD) rather than let dump() throw.
        v.series = std::string(info.input_name) +
                   attributes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        const sonde_histogram &h = *point->histogram;
        v.bounds.assign(h.upper_bounds, h.upper_bounds + h.bound_count);
        v.counts.assign(h.bucket_counts, h.bucket_counts + h.bound_count + 1);
    }
    return v;
}

// A record's fields of the types the summary reads, or nothing.
bool is_record(const nlohmann::json &r) {
    return !r.is_discarded() && r.is_object() && r.contains("name") && r["name"].is_string() && r.contains("time") &&
           r["time"].is_string();
}

}  // namespace

std::string format_time(std::int64_t ns) {
    std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[48];
    std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(text + n, sizeof text - n, ".%09lldZ", static_cast<long long>(ns % 1'000'000'000));
    return text;
}

TraceReader::TraceReader(std::string file, std::ostream &err, const RecordSink &sink)
    : file_(std::move(file)), err_(err), sink_(sink) {}

TraceReader::~TraceReader() = default;

bool TraceReader::feed(std::string_view bytes) {
    if (damaged_) return false;
    if (format_ == Format::unknown) return decide_format(bytes);
    return format_ == Format::binary ? feed_binary(bytes) : feed_json(bytes);
}

// The format is known once the first bytes can or cannot be the binary
// magic number; until then they wait in pending_.
bool TraceReader::decide_format(std::string_view bytes) {
    const std::string_view magic = binary_format::magic;
    const std::size_t wanted = std::min(bytes.size(), magic.size() - pending_.size());
    pending_.append(bytes.substr(0, wanted));
    bytes.remove_prefix(wanted);
    if (pending_.size() < magic.size() && magic.substr(0, pending_.size()) == pending_) return true;
    std::string start = std::move(pending_);
    pending_.clear();
    if (start == magic) {
        format_ = Format::binary;
        binary_ = std::make_unique<RecordBinaryReader>();
    } else {
        format_ = Format::json_lines;
    }
    return feed(start) && feed(bytes);
}

bool TraceReader::feed_json(std::string_view bytes) {
    auto too_long = [&] {
        err_ << file_ << ":" << line_ + 1 << ": line longer than " << format_byte_size(max_line_bytes)
             << " at byte " << offset_ << "; " << records_ << " records read before it\n";
        damaged_ = true;
        return false;
    };
    std::size_t start = 0;
    if (!pending_.empty()) {  // the line begun in an earlier piece
        const std::size_t newline = bytes.find('\n');
        const std::size_t piece = newline == std::string_view::npos ? bytes.size() : newline + 1;
        if (pending_.size() + piece > max_line_bytes + 1) return too_long();
        pending_.append(bytes.substr(0, piece));
        if (newline == std::string_view::npos) return true;
        if (!json_line(pending_)) return false;
        pending_.clear();
        start = piece;
    }
    for (;;) {
        const std::size_t newline = bytes.find('\n', start);
        if (newline == std::string_view::npos) break;
        if (newline - start > max_line_bytes) return too_long();
        if (!json_line(bytes.substr(start, newline + 1 - start))) return false;
        start = newline + 1;
    }
    if (bytes.size() - start > max_line_bytes) return too_long();
    pending_.assign(bytes.substr(start));
    return true;
}

bool TraceReader::json_line(std::string_view line) {
    ++line_;
    auto record = nlohmann::json::parse(line.substr(0, line.size() - 1), nullptr, false);
    std::optional<RecordView> view;
    std::string why;
    if (is_record(record) && sink_.view) {
        try {  // fields of the wrong type ("histogram": 1, "record": 2) make the record corrupt, not the reader crash
            view = view_of(record);
        } catch (const std::exception &e) {  // nlohmann::json::exception or a bad bucket count
            why = " (" + std::string(e.what()) + ")";
        }
    }
    if (!is_record(record) || (sink_.view && !view)) {
        err_ << file_ << ":" << line_ << ": corrupt record" << why << " at byte " << offset_ << "; " << records_
             << " records read before it\n";
        damaged_ = true;
        return false;
    }
    if (sink_.line) sink_.line(line);
    if (sink_.view) sink_.view(*view);
    ++records_;
    offset_ += line.size();
    return true;
}

bool TraceReader::feed_binary(std::string_view bytes) {
    return report_binary(binary_->feed(bytes, [&](const sonde_record_info &info, const sonde_metric_point *point,
                                                  const sonde_event *event) {
        if (sink_.line) {
            line_text_.clear();
            if (point) writer_.append_metric(line_text_, info, *point);
            else writer_.append_event(line_text_, info, *event);
            sink_.line(line_text_);
        }
        if (sink_.view) sink_.view(view_of(info, point, event));
        ++records_;
    }));
}

bool TraceReader::report_binary(const std::optional<RecordBinaryReader::Damage> &damage) {
    if (!damage) return true;
    err_ << file_ << ": " << damage->what << " at byte " << damage->offset << "; " << records_
         << " records read before it\n";
    damaged_ = true;
    return false;
}

bool TraceReader::finish() {
    if (damaged_) return false;
    if (format_ == Format::unknown) {  // shorter than the magic number and a prefix of it: JSON lines
        format_ = Format::json_lines;
        std::string start = std::move(pending_);
        pending_.clear();
        if (!feed_json(start)) return false;
    }
    if (format_ == Format::binary) return report_binary(binary_->finish());
    if (pending_.empty()) return true;
    err_ << file_ << ":" << line_ + 1 << ": torn record at byte " << offset_ << " (no final newline); " << records_
         << " records read before it\n";
    damaged_ = true;
    return false;
}

std::string TraceReader::origin() const {
    if (!binary_ || !binary_->header().version) return "";
    const auto &h = binary_->header();
    return "binary format " + std::to_string(h.version) + ", host " + h.host + ", " + h.writer + ", created " +
           format_time(h.created_ns);
}

bool read_trace_file(const std::string &file, std::ostream &err, const RecordSink &sink, std::string *origin) {
    std::string error;
    CheckedFile in = CheckedFile::open(file, {}, error);
    if (!in) {
        err << error << '\n';
        return false;
    }
    TraceReader reader(file, err, sink);
    std::vector<char> buffer(1u << 20);
    bool ok = true;
    for (;;) {
        auto n = in.read_some(buffer.data(), buffer.size(), error);
        if (!n) {
            err << error << '\n';
            ok = false;
            break;
        }
        if (*n == 0) {
            ok = reader.finish();
            break;
        }
        if (!reader.feed(std::string_view(buffer.data(), *n))) {
            ok = false;
            break;
        }
    }
    if (origin) *origin = reader.origin();
    return ok;
}

}  // namespace sonde::core::trace
