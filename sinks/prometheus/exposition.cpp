#include "exposition.hpp"

#include <charconv>
#include <cmath>

namespace sonde::prometheus {

namespace {

bool name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

// Invalid characters become '_', runs of '_' collapse, a leading digit gets '_'.
std::string sanitize(std::string_view s, bool allow_colon) {
    std::string out;
    for (char c : s) {
        bool ok = name_char(c, false) && (allow_colon || c != ':');
        char put = ok ? c : '_';
        if (put == '_' && !out.empty() && out.back() == '_') continue;
        out += put;
    }
    if (!out.empty() && out[0] >= '0' && out[0] <= '9') out.insert(out.begin(), '_');
    return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view single_unit(std::string_view u) {
    static const std::pair<std::string_view, std::string_view> units[] = {
        {"s", "seconds"},      {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"},
        {"min", "minutes"},    {"h", "hours"},         {"d", "days"},          {"By", "bytes"},
        {"KiBy", "kibibytes"}, {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"},  {"TiBy", "tebibytes"},
        {"KBy", "kilobytes"},  {"MBy", "megabytes"},   {"GBy", "gigabytes"},   {"TBy", "terabytes"},
        {"bit", "bits"},       {"Hz", "hertz"},        {"Cel", "celsius"},     {"%", "percent"},
        {"m", "meters"},       {"V", "volts"},         {"A", "amperes"},       {"J", "joules"},
        {"W", "watts"},        {"g", "grams"}};
    for (auto [ucum, word] : units)
        if (u == ucum) return word;
    return {};
}

void append_number(std::string &out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
}

void append_number(std::string &out, std::uint64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
}

void append_escaped(std::string &out, std::string_view s, bool quote) {
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '"' && quote) out += "\\\"";
        else out += c;
    }
}

double as_double(const sonde_value &v) {
    switch (v.type) {
        case SONDE_VALUE_INT: return static_cast<double>(v.as.i);
        case SONDE_VALUE_UINT: return static_cast<double>(v.as.u);
        case SONDE_VALUE_DOUBLE: return v.as.d;
        case SONDE_VALUE_BOOL: return v.as.b ? 1 : 0;
        default: return NAN;
    }
}

void append_label_value(std::string &out, const sonde_value &v) {
    switch (v.type) {
        case SONDE_VALUE_STRING: append_escaped(out, std::string_view(v.as.s.data, v.as.s.size), true); break;
        case SONDE_VALUE_BOOL: out += v.as.b ? "true" : "false"; break;
        case SONDE_VALUE_INT: {
            char buf[24];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.as.i);
            out.append(buf, end);
            break;
        }
        case SONDE_VALUE_UINT: append_number(out, v.as.u); break;
        default: append_number(out, v.as.d);
    }
}

// a="b",c="d",input="x"
std::string render_labels(const sonde_record_info &info, const sonde_value *values, std::uint32_t count) {
    std::string out;
    for (std::uint32_t i = 0; i < count && i < info.attribute_count; ++i) {
        out += label_name(info.attribute_keys[i]);
        out += "=\"";
        append_label_value(out, values[i]);
        out += "\",";
    }
    out += "input=\"";
    append_escaped(out, info.input_name, true);
    out += '"';
    return out;
}

void sample(std::string &out, std::string_view name, std::string_view suffix, std::string_view labels,
            std::string_view extra_label = {}) {
    out += name;
    out += suffix;
    out += '{';
    if (!extra_label.empty()) {
        out += extra_label;
        if (!labels.empty()) out += ',';
    }
    out += labels;
    out += "} ";
}

const char *type_name(std::uint32_t kind) {
    return kind == SONDE_METRIC_COUNTER ? "counter" : kind == SONDE_METRIC_HISTOGRAM ? "histogram" : "gauge";
}

// "{process}" -> "process"; "" unless the unit is one annotation naming
// what is counted.
std::string counted_thing(std::string_view unit) {
    if (unit.size() < 3 || unit.front() != '{' || unit.back() != '}') return {};
    std::string_view inside = unit.substr(1, unit.size() - 2);
    if (inside.find_first_of("{}") != std::string_view::npos) return {};
    std::string thing = sanitize(inside, false);
    while (!thing.empty() && thing.back() == '_') thing.pop_back();
    while (!thing.empty() && thing.front() == '_') thing.erase(thing.begin());
    return thing;
}

// English plural of a snake_case noun: process -> processes, entry -> entries, map -> maps.
std::string plural_of(std::string_view noun) {
    std::string out(noun);
    auto vowel = [](char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; };
    if (ends_with(noun, "s") || ends_with(noun, "x") || ends_with(noun, "z") || ends_with(noun, "ch") ||
        ends_with(noun, "sh"))
        return out + "es";
    if (noun.size() > 1 && noun.back() == 'y' && !vowel(noun[noun.size() - 2])) return out.substr(0, out.size() - 1) + "ies";
    return out + "s";
}

}  // namespace

std::string unit_word(std::string_view unit, std::uint32_t metric_kind) {
    // Drop {annotations}: "{operation}" has no unit, "By/{packet}" -> "By/".
    std::string u;
    for (std::size_t i = 0; i < unit.size(); ++i) {
        if (unit[i] == '{') {
            std::size_t close = unit.find('}', i);
            if (close == std::string_view::npos) break;
            i = close;
            continue;
        }
        u += unit[i];
    }
    if (u == "1") return metric_kind == SONDE_METRIC_GAUGE ? "ratio" : "";
    std::size_t slash = u.find('/');
    if (slash != std::string::npos) {
        std::string_view per = std::string_view(u).substr(slash + 1);
        static const std::pair<std::string_view, std::string_view> per_units[] = {
            {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"}};
        std::string_view per_word;
        for (auto [ucum, word] : per_units)
            if (per == ucum) per_word = word;
        std::string_view first = single_unit(std::string_view(u).substr(0, slash));
        if (first.empty() || per_word.empty()) return "";
        return std::string(first) + "_per_" + std::string(per_word);
    }
    return std::string(single_unit(u));
}

std::string metric_name(std::string_view otel_name, std::string_view unit, std::uint32_t metric_kind) {
    std::string name = sanitize(otel_name, true);
    std::string word = unit_word(unit, metric_kind);
    if (!word.empty() && !ends_with(name, "_" + word)) name += "_" + word;
    if (metric_kind == SONDE_METRIC_COUNTER && ends_with(name, "_total")) name.resize(name.size() - 6);
    if (metric_kind == SONDE_METRIC_GAUGE) name = gauge_without_reserved_suffix(std::move(name), unit);
    return name;
}

std::string gauge_without_reserved_suffix(std::string name, std::string_view unit) {
    const std::string thing = counted_thing(unit);
    if (ends_with(name, "_count") && !thing.empty() && name.size() > 6) {
        name.resize(name.size() - 6);
        const std::string plural = plural_of(thing);
        if (ends_with(name, "_" + thing)) name.resize(name.size() - thing.size());
        else name += '_';
        return name + plural;
    }
    for (std::string_view reserved : {"_count", "_sum", "_bucket", "_total"})
        if (ends_with(name, reserved)) return name + "_value";
    return name;
}

std::string label_name(std::string_view key) {
    std::string out = sanitize(key, false);  // collapsing '_' runs also keeps out of the reserved "__"
    return out.empty() ? "key" : out;
}

MetricStore::Family &MetricStore::family_for(const sonde_record_info &info, std::string &name_out) {
    const bool event = info.record_kind == SONDE_RECORD_EVENT;
    name_out = event ? sanitize(info.name, true) + "_events" : metric_name(info.name, info.unit, info.metric_kind);
    auto [it, fresh] = families_.try_emplace(name_out);
    if (fresh) {
        it->second.kind = event ? static_cast<std::uint32_t>(SONDE_METRIC_COUNTER) : info.metric_kind;
        it->second.help = event ? "Events of " + std::string(info.name) : std::string(info.description);
        it->second.unit = event ? "" : unit_word(info.unit, info.metric_kind);
    }
    return it->second;
}

void MetricStore::update(const sonde_batch &batch, std::int64_t now_ns) {
    ++generation_;
    std::string name;
    for (std::size_t g = 0; g < batch.group_count; ++g) {
        const sonde_record_group &group = batch.groups[g];
        const sonde_record_info &info = *group.info;
        if (info.record_kind == SONDE_RECORD_EVENT) {
            if (!count_events_ || group.count == 0) continue;
            Family &f = family_for(info, name);
            Series &s = f.series[render_labels(info, nullptr, 0)];
            s.input = info.input_name;
            s.value += static_cast<double>(group.count);
            s.updated_ns = now_ns;
            continue;
        }
        Family &f = family_for(info, name);
        if (f.kind != info.metric_kind) continue;  // same name, another kind: the first declaration wins
        for (std::size_t i = 0; i < group.count; ++i) {
            const sonde_metric_point &p = group.points[i];
            Series &s = f.series[render_labels(info, p.attributes, p.attribute_count)];
            s.input = info.input_name;
            s.updated_ns = now_ns;
            if (info.metric_kind != SONDE_METRIC_HISTOGRAM) {
                s.value = as_double(p.value);
                continue;
            }
            const sonde_histogram &h = *p.histogram;
            s.bounds.assign(h.upper_bounds, h.upper_bounds + h.bound_count);
            s.cumulative.resize(h.bound_count + 1);
            std::uint64_t running = 0;
            for (std::uint32_t b = 0; b <= h.bound_count; ++b) s.cumulative[b] = running += h.bucket_counts[b];
            s.sum = h.sum;
            s.count = h.count;
        }
    }
}

void MetricStore::drop_input(std::string_view input) {
    ++generation_;
    for (auto f = families_.begin(); f != families_.end();) {
        auto &series = f->second.series;
        for (auto s = series.begin(); s != series.end();) s = s->second.input == input ? series.erase(s) : std::next(s);
        f = series.empty() ? families_.erase(f) : std::next(f);
    }
}

std::size_t MetricStore::expire(std::int64_t oldest_ns) {
    std::size_t dropped = 0;
    for (auto f = families_.begin(); f != families_.end();) {
        auto &series = f->second.series;
        for (auto s = series.begin(); s != series.end();) {
            if (s->second.updated_ns < oldest_ns) {
                s = series.erase(s);
                ++dropped;
            } else {
                ++s;
            }
        }
        f = series.empty() ? families_.erase(f) : std::next(f);
    }
    if (dropped) ++generation_;
    return dropped;
}

std::size_t MetricStore::series_count() const {
    std::size_t n = 0;
    for (const auto &[name, f] : families_) n += f.series.size();
    return n;
}

void MetricStore::render(std::string &out, Format format) const {
    const bool om = format == Format::openmetrics_1_0;
    for (const auto &[name, f] : families_) {
        const bool counter = f.kind == SONDE_METRIC_COUNTER;
        // Text 0.0.4 names a counter family after its samples (..._total).
        const std::string family = counter && !om ? name + "_total" : name;
        out += "# HELP ";
        out += family;
        out += ' ';
        append_escaped(out, f.help, false);
        out += "\n# TYPE ";
        out += family;
        out += ' ';
        out += type_name(f.kind);
        out += '\n';
        if (om && !f.unit.empty()) {
            out += "# UNIT " + family + " " + f.unit + "\n";
        }
        for (const auto &[labels, s] : f.series) {
            if (f.kind == SONDE_METRIC_HISTOGRAM) {
                for (std::size_t b = 0; b <= s.bounds.size(); ++b) {
                    std::string le = "le=\"";
                    if (b < s.bounds.size()) append_number(le, s.bounds[b]);
                    else le += "+Inf";
                    le += '"';
                    sample(out, name, "_bucket", labels, le);
                    append_number(out, s.cumulative[b]);
                    out += '\n';
                }
                sample(out, name, "_sum", labels);
                append_number(out, s.sum);
                out += '\n';
                sample(out, name, "_count", labels);
                append_number(out, s.count);
                out += '\n';
                continue;
            }
            sample(out, name, counter ? "_total" : "", labels);
            append_number(out, s.value);
            out += '\n';
        }
    }
    if (om) out += "# EOF\n";
}

}  // namespace sonde::prometheus
