// The Prometheus side of the sink: the latest value of every series, kept
// from the batches the sink consumes, and its rendering in the text
// exposition format 0.0.4 or OpenMetrics 1.0, with names translated by the
// OpenTelemetry-to-Prometheus rules. No I/O here.
#pragma once

#include <sonde/plugin_api.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::prometheus {

// "system.cpu.time" + "s" + counter -> "system_cpu_time_seconds" (the family
// name; text-format counter samples add "_total").
// Gauges also go through gauge_without_reserved_suffix.
std::string metric_name(std::string_view otel_name, std::string_view unit, std::uint32_t metric_kind);
// Prometheus reserves _count, _sum and _bucket for histogram and summary
// samples, and _total for counters (promtool check metrics refuses them on a
// gauge; a gauge "x_count" could also collide with histogram x's samples).
// An OpenTelemetry up-down count such as system.process.count in
// "{process}" becomes the plural of what it counts, the Prometheus way:
// system_processes; bpf.map.count in "{map}" -> bpf_maps; x.count in "{item}"
// -> x_items. Any other gauge ending in a reserved suffix gets "_value".
std::string gauge_without_reserved_suffix(std::string name, std::string_view unit);
// "cgroup.id" -> "cgroup_id"; invalid characters become '_'.
std::string label_name(std::string_view key);
// The Prometheus unit word for a UCUM unit ("s" -> "seconds"), "" for none.
std::string unit_word(std::string_view unit, std::uint32_t metric_kind);

enum class Format { text_0_0_4, openmetrics_1_0 };

class MetricStore {
public:
    explicit MetricStore(bool count_events) : count_events_(count_events) {}

    // Takes the latest value of every point in the batch; now_ns stamps them.
    void update(const sonde_batch &batch, std::int64_t now_ns);
    // Forgets every series an input emitted.
    void drop_input(std::string_view input);
    // Forgets series not updated since `oldest_ns`; returns how many.
    std::size_t expire(std::int64_t oldest_ns);

    // Appends the whole exposition to out.
    void render(std::string &out, Format format) const;
    std::size_t series_count() const;
    // Changes whenever what render() would produce may have changed.
    std::uint64_t generation() const { return generation_; }

private:
    struct Series {
        std::string input;
        std::string labels;  // rendered: a="b",c="d" (no braces), input label last
        std::int64_t updated_ns = 0;
        double value = 0;
        std::vector<double> bounds;              // histograms
        std::vector<std::uint64_t> cumulative;   // histograms: per bound, then +Inf
        double sum = 0;
        std::uint64_t count = 0;
    };
    struct Family {
        std::uint32_t kind = SONDE_METRIC_GAUGE;
        std::string help;
        std::string unit;  // Prometheus unit word, for OpenMetrics' UNIT line
        std::map<std::string, Series> series;  // by labels
    };

    Family &family_for(const sonde_record_info &info, std::string &name_out);

    bool count_events_;
    std::uint64_t generation_ = 0;
    std::map<std::string, Family> families_;  // by family name
};

}  // namespace sonde::prometheus
