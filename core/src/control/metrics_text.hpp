// The agent's self-metrics (self_metrics.hpp) as the text a scraper reads
// from the admin listener's /metrics: the Prometheus text exposition format
// 0.0.4 or OpenMetrics 1.0, chosen from the request's Accept header.
//
// Contract on the input: family names, label names and units are the
// agent's own (trusted); they must match the Prometheus name grammar
// (asserted). Help texts and label values may be anything: they are escaped
// for the chosen format and invalid UTF-8 in them becomes U+FFFD.
#pragma once

#include "control/self_metrics.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace sonde::core {

enum class ExpositionFormat { prometheus_text_0_0_4, openmetrics_1_0 };

// The format to answer a request with, from its Accept header (RFC 9110
// media ranges with q-values; the highest q wins, the earlier range on a
// tie). OpenMetrics when an `application/openmetrics-text` range (version
// 1.0.0, 0.0.1 or none) wins; the text format otherwise, also for an empty
// or unparsable header, since every Prometheus scraper reads it.
ExpositionFormat negotiate_exposition_format(std::string_view accept_header);

// "text/plain; version=0.0.4; charset=utf-8" or
// "application/openmetrics-text; version=1.0.0; charset=utf-8".
std::string_view exposition_content_type(ExpositionFormat format);

// Appends the families in the given format, in the order given. Text 0.0.4:
// HELP and TYPE lines, counters and their samples named `<name>_total`, info
// families as a gauge `<name>_info` of value 1. OpenMetrics: TYPE, UNIT
// (when the family has one) and HELP lines, counter families named without
// `_total` and samples with it, info families of type info, `# EOF` last.
// Histograms in both: cumulative `_bucket{le=...}` lines ending with +Inf,
// then `_sum` and `_count`.
void append_exposition(std::string &out, const std::vector<SelfFamily> &families, ExpositionFormat format);

struct Exposition {
    std::string body;
    std::string_view content_type;  // static storage
};

// The whole answer to a scrape with this Accept header.
Exposition render_exposition(std::string_view accept_header, const std::vector<SelfFamily> &families);

// Number formatting, exposed for tests. A sample value: integers up to 2^53
// in plain digits ("1234567168"), other finite values in the shortest text
// that reads back exactly ("0.25", "1e-07"), "+Inf", "-Inf", "NaN".
void append_sample_value(std::string &out, double value);
// An `le` bound: OpenMetrics' canonical numbers (Go's %g, with ".0" when
// neither a point nor an exponent shows: "1.0", "0.005", "100000.0",
// "1e+06"), used in both formats so the series keep their identity when a
// scraper switches format.
void append_canonical_bound(std::string &out, double bound);

}  // namespace sonde::core
