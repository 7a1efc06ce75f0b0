// The agent's own telemetry as metric families: what /metrics renders (as
// Prometheus text 0.0.4 or OpenMetrics 1.0) and what the `self` input emits
// as records. Names follow Prometheus conventions: prefix `sonde_`,
// `_total` on counters, base units in the name (`_seconds`, `_bytes`), and
// the process metrics exactly as the Prometheus client libraries define them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sonde::core {

using SelfLabels = std::vector<std::pair<std::string, std::string>>;

enum class SelfMetricType { counter, gauge, histogram, info };

// One histogram: cumulative counts per upper bound (the +Inf bucket is
// `count`), the sum of observations.
struct SelfHistogramValue {
    std::vector<double> upper_bounds;        // strictly increasing, finite
    std::vector<std::uint64_t> cumulative;   // same size as upper_bounds
    std::uint64_t count = 0;
    double sum = 0;
};

struct SelfSample {
    SelfLabels labels;
    double value = 0;              // counters, gauges; 1 for info
    SelfHistogramValue histogram;  // histograms only
};

// One metric family. `name` is the Prometheus name without the `_total`
// suffix of a counter or the `_info` suffix of an info metric (renderers add
// them as each format wants); `unit` is the OpenMetrics unit ("seconds",
// "bytes", or "" for none) and already ends `name` when not empty.
struct SelfFamily {
    std::string name;
    SelfMetricType type = SelfMetricType::gauge;
    std::string unit;
    std::string help;
    std::vector<SelfSample> samples;
    // Every label key the family's samples may carry, in order. Optional for
    // /metrics; the `self` input declares its records with them (a record's
    // attribute keys are fixed when it is declared), and without them only
    // the keys of the samples present when it is created.
    std::vector<std::string> label_keys;
};

}  // namespace sonde::core
