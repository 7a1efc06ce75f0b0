// The final counts of instances a reload (or sonde disable) stopped, kept so
// the self-metrics stay monotonic and keep every drop: a sink's records
// dropped as it stopped are still on /metrics after it is gone, and a
// changed instance's counters continue from its predecessor's instead of
// resetting.
#pragma once

#include "runtime/instance.hpp"

#include <map>
#include <string>
#include <utility>

namespace sonde::core {

struct CounterTotals {
    std::uint64_t emitted = 0, emitted_events = 0, errors = 0;  // inputs (errors: both)
    std::uint64_t routed = 0, delivered = 0, retried = 0;      // sinks
    std::map<std::string, std::uint64_t> dropped;              // by reason

    CounterTotals &operator+=(const CounterTotals &other);
};

// The counters of an instance now.
CounterTotals totals_of(Instance &instance);

class RetiredCounters {
public:
    // Adds a stopped instance's final counts under its name and plugin.
    void add(Instance &instance);
    // What instances of this name and plugin counted before the current one.
    const CounterTotals *find(const std::string &qualified_name, const std::string &plugin) const;
    // (qualified name, plugin) -> totals, for names no instance runs under now.
    const std::map<std::pair<std::string, std::string>, CounterTotals> &all() const { return totals_; }

private:
    std::map<std::pair<std::string, std::string>, CounterTotals> totals_;
};

}  // namespace sonde::core
