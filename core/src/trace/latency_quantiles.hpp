// The latency distribution of one record name in `sonde trace summary`, in
// bounded memory: events' latency samples are kept exactly up to
// max_exact_samples, then folded into logarithmic buckets whose quantiles are
// within 1% of the true value (each bucket spans a factor of 1.02);
// histograms contribute their buckets as they are.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

namespace sonde::core::trace {

class LatencyQuantiles {
public:
    static constexpr std::size_t max_exact_samples = 4096;
    static constexpr double bucket_growth = 1.02;

    void add_sample(double seconds) {
        if (!std::isfinite(seconds)) return;
        if (sketch_.empty() && samples_.size() < max_exact_samples) {
            samples_.push_back(seconds);
            return;
        }
        for (double s : samples_) add_to_sketch(s);
        samples_.clear();
        samples_.shrink_to_fit();
        add_to_sketch(seconds);
    }
    void add_bucket(double upper_bound_seconds, std::uint64_t count) { buckets_[upper_bound_seconds] += count; }

    bool empty() const { return samples_.empty() && sketch_.empty() && buckets_.empty(); }
    // True once samples were folded into buckets: quantiles are then within 1%.
    bool approximate() const { return !sketch_.empty(); }

    double quantile(double q) {
        if (!samples_.empty()) {
            std::sort(samples_.begin(), samples_.end());
            std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples_.size())));
            return samples_[std::min(samples_.size() - 1, rank ? rank - 1 : 0)];
        }
        if (!sketch_.empty()) return bucket_quantile(sketch_, q, [](std::int32_t index) { return value_of(index); });
        return bucket_quantile(buckets_, q, [](double bound) { return bound; });
    }

private:
    // Sample s >= 0 goes to bucket ceil(log(s) / log(growth)); values at or
    // below 1 ns share one bucket, and so do values above 1e6 s, so a file
    // cannot make the map larger than about 1,750 buckets.
    static constexpr double smallest = 1e-9, largest = 1e6;
    static std::int32_t index_of(double seconds) {
        seconds = std::clamp(seconds, smallest, largest);
        return static_cast<std::int32_t>(std::ceil(std::log(seconds) / std::log(bucket_growth)));
    }
    // The middle of bucket i (its values lie in (growth^(i-1), growth^i]).
    static double value_of(std::int32_t index) {
        return std::pow(bucket_growth, index) * 2 / (1 + bucket_growth);
    }
    void add_to_sketch(double seconds) { ++sketch_[index_of(seconds)]; }

    template <typename Key, typename Value>
    static double bucket_quantile(const std::map<Key, std::uint64_t> &buckets, double q, Value value) {
        std::uint64_t total = 0, seen = 0;
        for (const auto &[key, n] : buckets) total += n;
        for (const auto &[key, n] : buckets) {
            seen += n;
            if (static_cast<double>(seen) >= q * static_cast<double>(total) && n) return value(key);
        }
        return NAN;
    }

    std::vector<double> samples_;
    std::map<std::int32_t, std::uint64_t> sketch_;
    std::map<double, std::uint64_t> buckets_;  // histograms: upper bound -> count gained
};

}  // namespace sonde::core::trace
