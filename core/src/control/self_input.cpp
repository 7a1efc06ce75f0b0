// The `self` input (self_input.hpp, README-self.md), written against the
// public SDK only, as a third-party plugin would be.
#include "control/self_input.hpp"

#include <sonde/sdk.hpp>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

namespace sonde::core {

namespace {

std::mutex provider_mutex;
SelfMetricsProvider provider;  // under provider_mutex

bool ends_with(const std::string &s, const std::string &suffix) {
    return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// When this process started, in unix nanoseconds (field 22 of
// /proc/self/stat, in clock ticks after boot, plus /proc/stat's btime); 0
// when unknown, which makes the host use the instance's start instead.
std::int64_t process_start_ns() {
    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) return 0;
    std::istringstream after_name(line.substr(line.rfind(')') + 1));
    std::string field;
    for (int i = 3; i <= 22 && after_name >> field; ++i) {
    }
    std::ifstream system_stat("/proc/stat");
    std::string key;
    long long boot_seconds = -1;
    while (system_stat >> key)
        if (key == "btime" && system_stat >> boot_seconds) break;
    const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    char *end = nullptr;
    const unsigned long long ticks = std::strtoull(field.c_str(), &end, 10);
    if (boot_seconds < 0 || ticks_per_second <= 0 || field.empty() || *end) return 0;
    return boot_seconds * 1'000'000'000LL + static_cast<std::int64_t>(ticks) * (1'000'000'000LL / ticks_per_second);
}

sonde_metric_kind metric_kind(SelfMetricType type) {
    switch (type) {
        case SelfMetricType::counter: return SONDE_METRIC_COUNTER;
        case SelfMetricType::histogram: return SONDE_METRIC_HISTOGRAM;
        case SelfMetricType::gauge:
        case SelfMetricType::info: break;
    }
    return SONDE_METRIC_GAUGE;
}

// One family as declared at create: its record and its attribute keys, the
// family's label_keys, then any other key its samples had then, in order of
// appearance.
struct DeclaredFamily {
    MetricBuffer record;
    std::vector<std::string> keys;
};

// A histogram point's counts per bucket, kept until the record is emitted.
struct HistogramPoint {
    std::vector<std::uint64_t> bucket_counts;
    sonde_histogram histogram{};
};

class SelfInput final : public InputPlugin {
public:
    explicit SelfInput(Context &ctx) : InputPlugin(ctx) {
        // Declarations are allowed in create and start only, so the set of
        // families is the one the agent has now; a family that appears later
        // is reported once and left out (the ABI has no later declaration).
        for (const SelfFamily &family : current_self_families()) {
            if (declared_.count(family.name)) continue;
            std::vector<std::string> keys = family.label_keys;
            for (const SelfSample &sample : family.samples)
                for (const auto &[key, value] : sample.labels)
                    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
            const std::string name = self_record_name(family), unit = self_record_unit(family);
            std::vector<const char *> key_pointers;
            for (const std::string &key : keys) key_pointers.push_back(key.c_str());
            MetricBuffer record = ctx.declare(MetricSpec{name.c_str(), metric_kind(family.type), unit.c_str(),
                                                         family.help.c_str(), key_pointers});
            declared_.emplace(family.name, DeclaredFamily{std::move(record), std::move(keys)});
        }
    }

    void start() override {
        start_ns_ = process_start_ns();
        ctx_.every(ctx_.interval_ns(), [this] { collect(); });
    }

private:
    void collect() {
        const std::int64_t now = now_ns();
        for (const SelfFamily &family : current_self_families()) {
            auto found = declared_.find(family.name);
            if (found == declared_.end()) {
                if (reported_.insert(family.name).second)
                    ctx_.warn("self-metric " + family.name +
                              " appeared after this input was created; restart the input to include it");
                continue;
            }
            emit_family(family, found->second, now);
        }
    }

    void emit_family(const SelfFamily &family, DeclaredFamily &declared, std::int64_t now) {
        MetricBuffer &record = declared.record;
        if (family.type == SelfMetricType::counter || family.type == SelfMetricType::histogram)
            record.start_time_ns(start_ns_);
        std::vector<HistogramPoint> histograms;
        histograms.reserve(family.samples.size());  // points borrow them until emit: no reallocation
        std::vector<sonde_value> attributes(declared.keys.size());
        for (const SelfSample &sample : family.samples) {
            if (!fill_attributes(family, declared.keys, sample, attributes)) continue;
            if (family.type == SelfMetricType::histogram) {
                record.add_histogram(histogram_of(sample.histogram, histograms.emplace_back()), attributes.data(),
                                     attributes.size(), now);
            } else {
                const double value = family.type == SelfMetricType::info ? 1.0 : sample.value;
                record.add(double_value(value), attributes.data(), attributes.size(), now);
            }
        }
        record.emit(ctx_);
    }

    // The sample's label values in declared order ("" for a key it lacks);
    // false, reported once per family, when it has a label not declared.
    bool fill_attributes(const SelfFamily &family, const std::vector<std::string> &keys, const SelfSample &sample,
                         std::vector<sonde_value> &attributes) {
        for (std::size_t i = 0; i < keys.size(); ++i) attributes[i] = str("");
        for (const auto &[key, value] : sample.labels) {
            auto at = std::find(keys.begin(), keys.end(), key);
            if (at == keys.end()) {
                if (reported_.insert(family.name + "{" + key + "}").second)
                    ctx_.warn("self-metric " + family.name + " has a label " + key +
                              " its samples did not have when this input was created; such samples are left out");
                return false;
            }
            attributes[static_cast<std::size_t>(at - keys.begin())] = str(value);
        }
        return true;
    }

    // Cumulative counts per bound become each bucket's own count, plus the
    // bucket above the last bound.
    static const sonde_histogram &histogram_of(const SelfHistogramValue &value, HistogramPoint &point) {
        std::uint64_t below = 0;
        for (std::uint64_t cumulative : value.cumulative) {
            point.bucket_counts.push_back(cumulative >= below ? cumulative - below : 0);
            below = std::max(below, cumulative);
        }
        point.bucket_counts.push_back(value.count >= below ? value.count - below : 0);
        point.histogram.struct_size = sizeof point.histogram;
        point.histogram.bound_count = static_cast<std::uint32_t>(value.upper_bounds.size());
        point.histogram.upper_bounds = value.upper_bounds.data();
        point.histogram.bucket_counts = point.bucket_counts.data();
        point.histogram.count = value.count;
        point.histogram.sum = value.sum;
        return point.histogram;
    }

    std::map<std::string, DeclaredFamily> declared_;  // by family name
    std::set<std::string> reported_;                  // problems already logged
    std::int64_t start_ns_ = 0;
};

}  // namespace

void set_self_metrics_provider(SelfMetricsProvider next) {
    std::lock_guard lock(provider_mutex);
    provider = std::move(next);
}

std::vector<SelfFamily> current_self_families() {
    std::lock_guard lock(provider_mutex);
    return provider ? provider() : std::vector<SelfFamily>{};
}

std::string self_record_name(const SelfFamily &family) {
    std::string name = family.name;
    if (!family.unit.empty() && ends_with(name, "_" + family.unit)) name.resize(name.size() - family.unit.size() - 1);
    if (family.type == SelfMetricType::info) name += "_info";
    for (char &c : name)
        if (c == '_') c = '.';
    return name;
}

std::string self_record_unit(const SelfFamily &family) {
    if (family.unit == "seconds") return "s";
    if (family.unit == "bytes") return "By";
    return family.unit;
}

SONDE_BUILTIN_INPUT_PLUGIN(self_input_descriptor, SelfInput, "self", "0.1.0",
                           "The agent's own self-metrics (/metrics) as records")

}  // namespace sonde::core
