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

void RetiredCounters::add(Instance &instance) {
    CounterTotals now = totals_of(instance);
    CounterTotals &sum = totals_[{instance.config().qualified_name(), instance.config().plugin}];
    sum.emitted += now.emitted;
    sum.emitted_events += now.emitted_events;
    sum.errors += now.errors;
    sum.routed += now.routed;
    sum.delivered += now.delivered;
    sum.retried += now.retried;
    for (const auto &[reason, n] : now.dropped) sum.dropped[reason] += n;
}

const CounterTotals *RetiredCounters::find(const std::string &qualified_name, const std::string &plugin) const {
    auto it = totals_.find({qualified_name, plugin});
    return it == totals_.end() ? nullptr : &it->second;
}

}  // namespace sonde::core
