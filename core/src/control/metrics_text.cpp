#include "control/metrics_text.hpp"

#include "text/text.hpp"
#include <sonde/utf8.hpp>

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace sonde::core {

namespace {

constexpr std::string_view text_content_type = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view openmetrics_content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";

[[maybe_unused]] bool is_metric_name(std::string_view name) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

[[maybe_unused]] bool is_label_name(std::string_view name) {
    return is_metric_name(name) && name.find(':') == std::string_view::npos && !name.starts_with("__");
}

[[maybe_unused]] bool family_is_well_formed(const SelfFamily &f) {
    if (!is_metric_name(f.name)) return false;
    if (!f.unit.empty() && !f.name.ends_with("_" + f.unit)) return false;
    for (const SelfSample &s : f.samples) {
        for (const auto &[name, value] : s.labels)
            if (!is_label_name(name) || (f.type == SelfMetricType::histogram && name == "le")) return false;
        const SelfHistogramValue &h = s.histogram;
        if (f.type == SelfMetricType::histogram && h.cumulative.size() != h.upper_bounds.size()) return false;
    }
    return true;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string_view unquoted(std::string_view v) {
    v = text::trim(v);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
}

// One media range of an Accept header: what it would give us, and its weight.
struct Offer {
    bool acceptable = false;
    ExpositionFormat format = ExpositionFormat::prometheus_text_0_0_4;
    double q = 1;
};

Offer offer_of(std::string_view range) {
    Offer offer;
    std::size_t semicolon = range.find(';');
    const std::string_view type = text::trim(range.substr(0, semicolon));
    std::string_view version;
    while (semicolon != std::string_view::npos) {
        range.remove_prefix(semicolon + 1);
        semicolon = range.find(';');
        const std::string_view parameter = range.substr(0, semicolon);
        const std::size_t equals = parameter.find('=');
        if (equals == std::string_view::npos) continue;
        const std::string_view key = text::trim(parameter.substr(0, equals));
        const std::string_view value = unquoted(parameter.substr(equals + 1));
        if (equals_ignoring_case(key, "version")) {
            version = value;
        } else if (equals_ignoring_case(key, "q")) {
            const auto q = text::decimal(value);
            if (!q || *q < 0 || *q > 1) return {};  // a malformed range: ignored
            offer.q = *q;
        }
    }
    if (equals_ignoring_case(type, "application/openmetrics-text")) {
        offer.acceptable = version.empty() || version == "1.0.0" || version == "0.0.1";
        offer.format = ExpositionFormat::openmetrics_1_0;
    } else if (equals_ignoring_case(type, "text/plain")) {
        offer.acceptable = version.empty() || version == "0.0.4";
    } else {
        offer.acceptable = type == "*/*" || equals_ignoring_case(type, "text/*");
    }
    offer.acceptable = offer.acceptable && offer.q > 0;
    return offer;
}

void append_integer(std::string &out, std::int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
}

bool append_non_finite(std::string &out, double v) {
    if (std::isnan(v)) out += "NaN";
    else if (std::isinf(v)) out += v > 0 ? "+Inf" : "-Inf";
    else return false;
    return true;
}

// Escapes backslash, newline and (when asked) the double quote; invalid
// UTF-8 becomes U+FFFD.
void append_escaped(std::string &out, std::string_view s, bool escape_quote) {
    utf8::for_each_repaired(s, [&](std::string_view piece) {
        std::size_t plain = 0;
        for (std::size_t i = 0; i < piece.size(); ++i) {
            const char c = piece[i];
            if (c != '\\' && c != '\n' && !(c == '"' && escape_quote)) continue;
            out.append(piece.data() + plain, i - plain);
            out += c == '\n' ? "\\n" : c == '"' ? "\\\"" : "\\\\";
            plain = i + 1;
        }
        out.append(piece.data() + plain, piece.size() - plain);
    });
}

// `{a="x",b="y"}`, the `le` label last when given; nothing without labels.
void append_labels(std::string &out, const SelfLabels &labels, std::string_view le = {}) {
    if (labels.empty() && le.empty()) return;
    out += '{';
    bool first = true;
    for (const auto &[name, value] : labels) {
        if (!first) out += ',';
        first = false;
        out += name;
        out += "=\"";
        append_escaped(out, value, true);
        out += '"';
    }
    if (!le.empty()) {
        if (!first) out += ',';
        out += "le=\"";
        out += le;
        out += '"';
    }
    out += '}';
}

void append_sample(std::string &out, std::string_view name, std::string_view suffix, const SelfLabels &labels,
                   double value, std::string_view le = {}) {
    out += name;
    out += suffix;
    append_labels(out, labels, le);
    out += ' ';
    append_sample_value(out, value);
    out += '\n';
}

void append_histogram(std::string &out, std::string_view name, const SelfSample &s) {
    const SelfHistogramValue &h = s.histogram;
    std::string le;
    for (std::size_t b = 0; b < h.upper_bounds.size() && b < h.cumulative.size(); ++b) {
        le.clear();
        append_canonical_bound(le, h.upper_bounds[b]);
        append_sample(out, name, "_bucket", s.labels, static_cast<double>(h.cumulative[b]), le);
    }
    append_sample(out, name, "_bucket", s.labels, static_cast<double>(h.count), "+Inf");
    append_sample(out, name, "_sum", s.labels, h.sum);
    append_sample(out, name, "_count", s.labels, static_cast<double>(h.count));
}

const char *type_word(SelfMetricType type, bool openmetrics) {
    switch (type) {
        case SelfMetricType::counter: return "counter";
        case SelfMetricType::histogram: return "histogram";
        case SelfMetricType::info: return openmetrics ? "info" : "gauge";
        case SelfMetricType::gauge: break;
    }
    return "gauge";
}

void append_metadata(std::string &out, std::string_view keyword, std::string_view family, std::string_view value) {
    out += "# ";
    out += keyword;
    out += ' ';
    out += family;
    out += ' ';
    out += value;
    out += '\n';
}

void append_family(std::string &out, const SelfFamily &f, bool openmetrics) {
    assert(family_is_well_formed(f));
    // The name the samples share (before _bucket, _sum, _count).
    std::string sample_name = f.name;
    if (f.type == SelfMetricType::info) sample_name += "_info";
    // Text 0.0.4 names a family after its samples; OpenMetrics after the metric.
    const bool counter = f.type == SelfMetricType::counter;
    const std::string family = openmetrics ? f.name : counter ? f.name + "_total" : sample_name;
    std::string help;
    append_escaped(help, f.help, openmetrics);
    if (openmetrics) {
        append_metadata(out, "TYPE", family, type_word(f.type, true));
        if (!f.unit.empty()) append_metadata(out, "UNIT", family, f.unit);
        if (!help.empty()) append_metadata(out, "HELP", family, help);
    } else {
        if (!help.empty()) append_metadata(out, "HELP", family, help);
        append_metadata(out, "TYPE", family, type_word(f.type, false));
    }
    for (const SelfSample &s : f.samples) {
        switch (f.type) {
            case SelfMetricType::histogram: append_histogram(out, f.name, s); break;
            case SelfMetricType::counter: append_sample(out, f.name, "_total", s.labels, s.value); break;
            case SelfMetricType::info: append_sample(out, sample_name, "", s.labels, 1); break;
            case SelfMetricType::gauge: append_sample(out, f.name, "", s.labels, s.value); break;
        }
    }
}

}  // namespace

ExpositionFormat negotiate_exposition_format(std::string_view accept_header) {
    Offer best;
    while (!accept_header.empty()) {
        const std::size_t comma = accept_header.find(',');
        const Offer offer = offer_of(accept_header.substr(0, comma));
        if (offer.acceptable && (!best.acceptable || offer.q > best.q)) best = offer;
        accept_header = comma == std::string_view::npos ? std::string_view{} : accept_header.substr(comma + 1);
    }
    return best.acceptable ? best.format : ExpositionFormat::prometheus_text_0_0_4;
}

std::string_view exposition_content_type(ExpositionFormat format) {
    return format == ExpositionFormat::openmetrics_1_0 ? openmetrics_content_type : text_content_type;
}

void append_exposition(std::string &out, const std::vector<SelfFamily> &families, ExpositionFormat format) {
    const bool openmetrics = format == ExpositionFormat::openmetrics_1_0;
    for (const SelfFamily &f : families) append_family(out, f, openmetrics);
    if (openmetrics) out += "# EOF\n";
}

Exposition render_exposition(std::string_view accept_header, const std::vector<SelfFamily> &families) {
    const ExpositionFormat format = negotiate_exposition_format(accept_header);
    Exposition exposition;
    exposition.content_type = exposition_content_type(format);
    append_exposition(exposition.body, families, format);
    return exposition;
}

void append_sample_value(std::string &out, double value) {
    if (append_non_finite(out, value)) return;
    constexpr double exact_integers = 9007199254740992.0;  // 2^53
    if (std::trunc(value) == value && std::fabs(value) <= exact_integers) {
        append_integer(out, static_cast<std::int64_t>(value));
        return;
    }
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, end);
}

void append_canonical_bound(std::string &out, double bound) {
    if (append_non_finite(out, bound)) return;
    // Go's %g with the shortest precision: scientific when the decimal
    // exponent is below -4 or at least 6, fixed otherwise.
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, bound, std::chars_format::scientific);
    const std::string_view scientific(buf, static_cast<std::size_t>(end - buf));
    int exponent = 0;
    const char *exponent_text = buf + scientific.find('e') + 1;
    if (*exponent_text == '+') ++exponent_text;  // from_chars takes no '+'
    std::from_chars(exponent_text, end, exponent);
    if (exponent < -4 || exponent >= 6) {
        out += scientific;
        return;
    }
    auto [fixed_end, fixed_ec] = std::to_chars(buf, buf + sizeof buf, bound, std::chars_format::fixed);
    const std::string_view fixed(buf, static_cast<std::size_t>(fixed_end - buf));
    out += fixed;
    if (fixed.find('.') == std::string_view::npos) out += ".0";
}

}  // namespace sonde::core
