// sonde::MetricSpec declares a metric; sonde::MetricBuffer collects its points
// during a collection cycle and emits them in one host call.
#pragma once

#include <sonde/sdk/values.hpp>

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace sonde {

// A metric's declaration, as the plugin writes it once, e.g. in a static
// table: name (OpenTelemetry conventions), kind, UCUM unit, one-line
// description, attribute keys in the order values are given.
struct MetricSpec {
    const char *name;
    sonde_metric_kind kind;
    const char *unit;
    const char *description;
    std::vector<const char *> attribute_keys;
};

class Context;

// The points of one declared metric (from Context::declare(MetricSpec)),
// collected and then emitted in one host call. Reuses its buffers: no
// allocation once warm. Not thread-safe: one buffer per collecting thread.
class MetricBuffer {
public:
    MetricBuffer() = default;
    MetricBuffer(std::uint32_t record_id, std::uint32_t attribute_count)
        : record_id_(record_id), attribute_count_(attribute_count) {}

    // One point of any arithmetic type but bool: signed integers become INT,
    // unsigned ones UINT, floating point DOUBLE (sonde::number_value).
    // `attributes` holds one value per declared key, in order (strings are
    // borrowed until emit()); `time_ns` 0 means "now" to the host. Throws
    // std::logic_error when the number of attributes differs from the
    // declaration.
    template <typename Number>
        requires(std::is_arithmetic_v<Number> && !std::is_same_v<Number, bool>)
    void add(Number value, std::initializer_list<sonde_value> attributes = {}, std::int64_t time_ns = 0) {
        add(number_value(value), attributes.begin(), attributes.size(), time_ns);
    }
    template <typename Number>
        requires(std::is_arithmetic_v<Number> && !std::is_same_v<Number, bool>)
    void add(Number value, const sonde_value *attributes, std::size_t count, std::int64_t time_ns = 0) {
        add(number_value(value), attributes, count, time_ns);
    }
    // A metric value is a number: bool is refused at compile time.
    void add(bool, std::initializer_list<sonde_value> = {}, std::int64_t = 0) = delete;
    // One point of an already typed value (INT, UINT or DOUBLE).
    void add(sonde_value value, std::initializer_list<sonde_value> attributes, std::int64_t time_ns = 0) {
        add(value, attributes.begin(), attributes.size(), time_ns);
    }
    void add(sonde_value value, const sonde_value *attributes, std::size_t count, std::int64_t time_ns = 0) {
        if (count != attribute_count_) throw std::logic_error("attribute count differs from declaration");
        sonde_metric_point p{};
        p.struct_size = sizeof p;
        p.attribute_count = attribute_count_;
        p.time_ns = time_ns;
        p.start_time_ns = start_time_ns_;
        p.value = value;
        points_.push_back(p);
        attributes_.insert(attributes_.end(), attributes, attributes + count);
    }
    // A histogram point: `histogram` is borrowed until emit().
    void add_histogram(const sonde_histogram &histogram, std::initializer_list<sonde_value> attributes,
                       std::int64_t time_ns = 0) {
        add_histogram(histogram, attributes.begin(), attributes.size(), time_ns);
    }
    void add_histogram(const sonde_histogram &histogram, const sonde_value *attributes, std::size_t count,
                       std::int64_t time_ns = 0) {
        add(sonde_value{}, attributes, count, time_ns);
        points_.back().histogram = &histogram;
    }

    // Counters and histograms: when accumulation began (unix ns) for the
    // points added from now on; 0 (the default) means the instance's start.
    void start_time_ns(std::int64_t start_ns) noexcept { start_time_ns_ = start_ns; }

    // Points added since the last emit().
    std::size_t size() const noexcept { return points_.size(); }
    bool empty() const noexcept { return points_.empty(); }
    std::uint32_t record_id() const noexcept { return record_id_; }

    // Sends the points to the host and clears the buffer, whatever the host
    // answers; returns its status (Context::emit). Nothing to send is SONDE_OK.
    // Defined in sonde/sdk/context.hpp.
    inline sonde_status emit(Context &ctx);

private:
    std::uint32_t record_id_ = 0;
    std::uint32_t attribute_count_ = 0;
    std::int64_t start_time_ns_ = 0;
    std::vector<sonde_metric_point> points_;
    std::vector<sonde_value> attributes_;
};

}  // namespace sonde
