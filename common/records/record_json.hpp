// The JSON-lines encoding of records (schema: docs/json-schema.md), for sinks.
// Appends to a caller-owned std::string, so a sink that reuses its buffer
// encodes without allocating once the buffer has grown.
#pragma once

#include <sonde/plugin_api.h>
#include <sonde/utf8.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace sonde {

class RecordJsonWriter {
public:
    // pretty: one field per line, indented, for humans; otherwise one line per record.
    explicit RecordJsonWriter(bool pretty = false) : pretty_(pretty) {}

    void append(std::string &out, const sonde_batch &batch) {
        for (std::size_t g = 0; g < batch.group_count; ++g) {
            const sonde_record_group &group = batch.groups[g];
            for (std::size_t i = 0; i < group.count; ++i) {
                if (group.info->record_kind == SONDE_RECORD_METRIC) append_metric(out, *group.info, group.points[i]);
                else append_event(out, *group.info, group.events[i]);
            }
        }
    }

    void append_metric(std::string &out, const sonde_record_info &info, const sonde_metric_point &p) {
        begin(out, "metric", p.time_ns, info);
        field(out, "kind");
        string(out, kind_name(info.metric_kind));
        field(out, "unit");
        string(out, info.unit);
        attributes(out, info, p.attributes, p.attribute_count);
        if (info.metric_kind != SONDE_METRIC_GAUGE) {
            field(out, "start_time");
            timestamp(out, p.start_time_ns);
        }
        if (info.metric_kind == SONDE_METRIC_HISTOGRAM && p.histogram) {
            const sonde_histogram &h = *p.histogram;
            field(out, "histogram");
            out += "{\"count\":";
            number(out, h.count);
            out += ",\"sum\":";
            number(out, h.sum);
            out += ",\"bounds\":[";
            for (std::uint32_t b = 0; b < h.bound_count; ++b) {
                if (b) out += ',';
                number(out, h.upper_bounds[b]);
            }
            out += "],\"counts\":[";
            for (std::uint32_t b = 0; b <= h.bound_count; ++b) {
                if (b) out += ',';
                number(out, h.bucket_counts[b]);
            }
            out += "]}";
        } else {
            field(out, "value");
            value(out, p.value);
        }
        end(out);
    }

    void append_event(std::string &out, const sonde_record_info &info, const sonde_event &e) {
        begin(out, "event", e.time_ns, info);
        attributes(out, info, e.attributes, e.attribute_count);
        end(out);
    }

    static const char *kind_name(std::uint32_t kind) {
        switch (kind) {
            case SONDE_METRIC_GAUGE: return "gauge";
            case SONDE_METRIC_COUNTER: return "counter";
            case SONDE_METRIC_HISTOGRAM: return "histogram";
            default: return "unknown";
        }
    }

private:
    void begin(std::string &out, std::string_view record, std::int64_t time_ns, const sonde_record_info &info) {
        out += '{';
        first_ = true;
        field(out, "record");
        string(out, record);
        field(out, "time");
        timestamp(out, time_ns);
        field(out, "input");
        string(out, info.input_name);
        field(out, "name");
        string(out, info.name);
    }
    void end(std::string &out) { out += pretty_ ? "\n}\n" : "}\n"; }

    void field(std::string &out, std::string_view name) {
        if (!first_) out += ',';
        first_ = false;
        if (pretty_) out += "\n  ";
        out += '"';
        out += name;
        out += pretty_ ? "\": " : "\":";
    }

    void attributes(std::string &out, const sonde_record_info &info, const sonde_value *values, std::uint32_t count) {
        field(out, "attributes");
        out += '{';
        for (std::uint32_t i = 0; i < count && i < info.attribute_count; ++i) {
            if (i) out += pretty_ ? ", " : ",";
            string(out, info.attribute_keys[i]);
            out += pretty_ ? ": " : ":";
            value(out, values[i]);
        }
        out += '}';
    }

    void value(std::string &out, const sonde_value &v) {
        switch (v.type) {
            case SONDE_VALUE_INT: number(out, v.as.i); break;
            case SONDE_VALUE_UINT: number(out, v.as.u); break;
            case SONDE_VALUE_DOUBLE: number(out, v.as.d); break;
            case SONDE_VALUE_BOOL: out += v.as.b ? "true" : "false"; break;
            case SONDE_VALUE_STRING: string(out, std::string_view(v.as.s.data, v.as.s.size)); break;
            default: out += "null";
        }
    }

    template <typename T>
    static void number(std::string &out, T v) {
        if constexpr (std::is_floating_point_v<T>) {
            if (!std::isfinite(v)) {
                out += "null";
                return;
            }
        }
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        out.append(buf, end);
    }

    // A JSON string of s: control characters, quote and backslash escaped;
    // invalid UTF-8 replaced by U+FFFD (sonde/utf8.hpp), so that even bytes
    // that did not come through the host (a crafted binary file read by
    // `sonde trace dump`) give valid JSON.
    static void string(std::string &out, std::string_view s) {
        static constexpr char hex[] = "0123456789abcdef";
        out += '"';
        std::size_t plain = 0;
        for (std::size_t i = 0; i < s.size(); ++i) {
            unsigned char c = static_cast<unsigned char>(s[i]);
            if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') continue;
            if (c >= 0x80) {
                const utf8::Sequence seq = utf8::sequence_at(s, i);
                if (!seq.valid) {
                    out.append(s.data() + plain, i - plain);
                    out += utf8::replacement;
                    plain = i + seq.length;
                }
                i += seq.length - 1;
                continue;
            }
            out.append(s.data() + plain, i - plain);
            plain = i + 1;
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\t': out += "\\t"; break;
                case '\r': out += "\\r"; break;
                default:
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
            }
        }
        out.append(s.data() + plain, s.size() - plain);
        out += '"';
    }

    // RFC 3339 UTC with nanoseconds. The date part is cached per second in
    // two slots, since a counter line carries two nearby timestamps.
    void timestamp(std::string &out, std::int64_t ns) {
        std::int64_t seconds = ns / 1'000'000'000;
        std::int64_t fraction = ns % 1'000'000'000;
        if (fraction < 0) {
            fraction += 1'000'000'000;
            --seconds;
        }
        DateCache *found = dates_[0].second == seconds ? &dates_[0] : dates_[1].second == seconds ? &dates_[1] : nullptr;
        if (!found) {
            found = &dates_[victim_];
            victim_ ^= 1;
            std::time_t t = static_cast<std::time_t>(seconds);
            std::tm tm{};
            gmtime_r(&t, &tm);
            found->length = std::strftime(found->text, sizeof found->text, "%Y-%m-%dT%H:%M:%S", &tm);
            found->second = seconds;
        }
        out += '"';
        out.append(found->text, found->length);
        char digits[11] = {'.'};
        for (int i = 9; i >= 1; --i) {
            digits[i] = static_cast<char>('0' + fraction % 10);
            fraction /= 10;
        }
        out.append(digits, 10);
        out += "Z\"";
    }

    struct DateCache {
        std::int64_t second = INT64_MIN;
        char text[32] = {};
        std::size_t length = 0;
    };

    bool pretty_;
    bool first_ = true;
    DateCache dates_[2];
    int victim_ = 0;  // the slot to replace next
};

}  // namespace sonde
