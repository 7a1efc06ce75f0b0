#include "control/retired_counters.hpp"

#include "runtime/router.hpp"

namespace sonde::core {

CounterTotals totals_of(Instance &instance) {
    InstanceCounters &c = instance.counters();
    CounterTotals t;
    t.emitted = c.emitted.load(std::memory_order_relaxed);
    t.emitted_events = c.emitted_events.load(std::memory_order_relaxed);
    t.errors = c.errors.load(std::memory_order_relaxed);
    t.routed = c.routed.load(std::memory_order_relaxed);
    t.delivered = c.delivered.load(std::memory_order_relaxed);
    t.retried = c.retried.load(std::memory_order_relaxed);
    for (std::size_t r = 0; r < c.dropped.size(); ++r)
        if (auto n = c.dropped[r].load(std::memory_order_relaxed)) t.dropped[to_string(static_cast<DropReason>(r))] += n;
    std::lock_guard lock(c.plugin_drops_mutex);
    for (const auto &[reason, n] : c.plugin_drops) t.dropped[reason] += n;
    return t;
}

CounterTotals &CounterTotals::operator+=(const CounterTotals &other) {
    emitted += other.emitted;
    emitted_events += other.emitted_events;
    errors += other.errors;
    routed += other.routed;
    delivered += other.delivered;
    retried += other.retried;
    for (const auto &[reason, n] : other.dropped) dropped[reason] += n;
    return *this;
}

void RetiredCounters::add(Instance &instance) {
    totals_[{instance.config().qualified_name(), instance.config().plugin}] += totals_of(instance);
}

const CounterTotals *RetiredCounters::find(const std::string &qualified_name, const std::string &plugin) const {
    auto it = totals_.find({qualified_name, plugin});
    return it == totals_.end() ? nullptr : &it->second;
}

}  // namespace sonde::core
