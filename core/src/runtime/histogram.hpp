// A fixed-bucket histogram for the agent's own measurements (export latency,
// batch sizes): lock-free to observe from any thread, read as the
// SelfHistogramValue the self-metrics render.
#pragma once

#include "control/self_metrics.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

namespace sonde::core {

class FixedHistogram {
public:
    // `upper_bounds`: inclusive upper bounds, strictly increasing, finite.
    // A value above the last bound counts only in the +Inf bucket (count).
    FixedHistogram(std::initializer_list<double> upper_bounds)
        : bounds_(upper_bounds), buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

    // Any thread; relaxed atomics: a snapshot taken meanwhile may see the
    // count and sum of an observation a moment apart.
    void observe(double value) {
        std::size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
        buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
        double sum = sum_.load(std::memory_order_relaxed);
        while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
        }
    }

    // Cumulative counts per bound, total count and sum. `count` is at least
    // the last cumulative count, as the formats require.
    SelfHistogramValue snapshot() const {
        SelfHistogramValue out;
        out.upper_bounds = bounds_;
        out.cumulative.reserve(bounds_.size());
        std::uint64_t running = 0;
        for (std::size_t i = 0; i < bounds_.size(); ++i) {
            running += buckets_[i].load(std::memory_order_relaxed);
            out.cumulative.push_back(running);
        }
        out.count = running + buckets_[bounds_.size()].load(std::memory_order_relaxed);
        out.sum = sum_.load(std::memory_order_relaxed);
        return out;
    }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1, the last above every bound
    std::atomic<double> sum_{0};
};

// What a sink's export requests did (ABI 1.3 record_export).
struct ExportStats {
    std::atomic<std::uint64_t> requests{0};  // every finished request, success or not
    std::atomic<std::uint64_t> errors{0};    // requests the destination did not accept
    FixedHistogram duration_seconds{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
    FixedHistogram batch_records{1, 10, 100, 1000, 10000, 100000};

    void record(std::uint64_t records, std::uint64_t duration_ns, bool ok) {
        requests.fetch_add(1, std::memory_order_relaxed);
        if (!ok) errors.fetch_add(1, std::memory_order_relaxed);
        duration_seconds.observe(static_cast<double>(duration_ns) / 1e9);
        batch_records.observe(static_cast<double>(records));
    }
};

}  // namespace sonde::core
