// Turns the kernel's log-linear latency buckets (latency_buckets.h) into
// histogram metric points (cumulative, bounds in seconds) and per-interval
// p50/p95/p99/max for humans.
#pragma once

#include "ebpf/latency_buckets.h"
#include <sonde/sdk.hpp>

#include <array>
#include <cstdint>
#include <vector>

namespace sonde {

class LatencyHistogram {
public:
    LatencyHistogram() {
        for (unsigned i = 0; i + 1 < SONDE_LATENCY_BUCKETS; ++i)
            bounds_s_[i] = static_cast<double>(sonde_latency_bucket_upper_ns(i)) / 1e9;
    }

    // Replaces the cumulative state with the sum of per-CPU histograms.
    void set_cumulative(const sonde_latency_histogram *per_cpu, std::size_t cpus) {
        previous_ = cumulative_;
        previous_count_ = count_;
        cumulative_.fill(0);
        count_ = 0;
        sum_ns_ = 0;
        for (std::size_t c = 0; c < cpus; ++c) {
            for (unsigned i = 0; i < SONDE_LATENCY_BUCKETS; ++i) cumulative_[i] += per_cpu[c].buckets[i];
            count_ += per_cpu[c].count;
            sum_ns_ += per_cpu[c].sum_ns;
        }
    }

    // The cumulative histogram; valid until the next set_cumulative.
    const sonde_histogram &point() {
        histogram_ = sonde_histogram{sizeof(sonde_histogram), SONDE_LATENCY_BUCKETS - 1, bounds_s_.data(),
                                     cumulative_.data(), count_, static_cast<double>(sum_ns_) / 1e9};
        return histogram_;
    }

    std::uint64_t interval_count() const { return count_ - previous_count_; }

    // Upper bound (seconds) of the bucket holding quantile q of this
    // interval's samples; q = 1 gives the highest non-empty bucket.
    double interval_quantile_s(double q) const {
        std::uint64_t total = interval_count();
        if (total == 0) return 0;
        std::uint64_t rank = static_cast<std::uint64_t>(q * static_cast<double>(total) + 0.999999);
        if (rank == 0) rank = 1;
        std::uint64_t seen = 0;
        for (unsigned i = 0; i < SONDE_LATENCY_BUCKETS; ++i) {
            seen += cumulative_[i] - previous_[i];
            if (seen >= rank)
                return i + 1 < SONDE_LATENCY_BUCKETS ? bounds_s_[i] : bounds_s_[SONDE_LATENCY_BUCKETS - 2];
        }
        return bounds_s_[SONDE_LATENCY_BUCKETS - 2];
    }

private:
    std::array<double, SONDE_LATENCY_BUCKETS - 1> bounds_s_{};
    std::array<std::uint64_t, SONDE_LATENCY_BUCKETS> cumulative_{}, previous_{};
    std::uint64_t count_ = 0, previous_count_ = 0, sum_ns_ = 0;
    sonde_histogram histogram_{};
};

}  // namespace sonde
