#include "runtime/input_instance.hpp"

#include "runtime/agent.hpp"

#include <sonde/sdk.hpp>

namespace sonde::core {

InputInstance::InputInstance(Agent &agent, InstanceConfig config, std::shared_ptr<PluginLibrary> library,
                             std::uint32_t slot)
    : Instance(agent, std::move(config), std::move(library)),
      slot_(slot),
      declarations_(std::make_shared<DeclarationTable>(config_.name)) {}

sonde_status InputInstance::declare(const sonde_record_decl &decl, std::uint32_t &out_id) {
    State s = state_.load();
    if (s != State::created && s != State::starting) return SONDE_ERR_ARGUMENT;
    std::string error;
    sonde_status status = declarations_->declare(decl, out_id, error);
    if (status != SONDE_OK) log(SONDE_LOG_ERROR, "declaration refused: " + error);
    return status;
}

void InputInstance::count_emitted(std::size_t count, bool metric) {
    counters_.emitted.fetch_add(count, std::memory_order_relaxed);
    if (!metric) counters_.emitted_events.fetch_add(count, std::memory_order_relaxed);
}

template <typename Copy>
sonde_status InputInstance::emit(std::uint32_t id, std::size_t count, bool metric, Copy &&copy) {
    if (count == 0) return SONDE_OK;
    const RecordDeclaration *declaration = declarations_->find(id);
    if (!declaration || declaration->is_metric() != metric) {
        counters_.errors.fetch_add(1, std::memory_order_relaxed);
        warn_limited("emit with unknown record id " + std::to_string(id));
        return SONDE_ERR_ARGUMENT;
    }
    std::shared_ptr<const Routing> routing = agent_.routing();
    const auto &targets = routing->map.sinks_for(slot_, id);
    // Emitted = routed: a record counts once the routing table has taken it,
    // to every subscribed sink or, when none subscribes, to nobody.
    if (targets.empty()) {
        count_emitted(count, metric);
        return SONDE_OK;  // nothing to copy
    }
    BatchRef batch = agent_.pool().acquire();
    sonde_status status = copy(*batch, *declaration);
    if (status != SONDE_OK) {
        counters_.errors.fetch_add(1, std::memory_order_relaxed);
        warn_limited("emit of " + declaration->name + " rejected: records do not match the declaration");
        return status;
    }
    count_emitted(count, metric);
    for (std::uint16_t sink : targets) routing->sinks[sink]->enqueue(batch);
    return SONDE_OK;
}

sonde_status InputInstance::emit_metrics(std::uint32_t id, const sonde_metric_point *points, std::size_t count) {
    if (count && !points) return SONDE_ERR_ARGUMENT;
    return emit(id, count, true, [&](Batch &batch, const RecordDeclaration &d) {
        return batch.copy_metrics(declarations_, d, points, count, now_ns(), start_time_ns_);
    });
}

sonde_status InputInstance::emit_events(std::uint32_t id, const sonde_event *events, std::size_t count) {
    if (count && !events) return SONDE_ERR_ARGUMENT;
    return emit(id, count, false, [&](Batch &batch, const RecordDeclaration &d) {
        return batch.copy_events(declarations_, d, events, count, now_ns());
    });
}

bool InputInstance::throttled() {
    std::shared_ptr<const Routing> routing = agent_.routing();
    for (std::uint16_t s : routing->map.sinks_of_input(slot_)) {
        SinkQueue &q = routing->sinks[s]->queue();
        if (q.policy() == OverflowPolicy::block && q.saturated()) return true;
    }
    return false;
}

}  // namespace sonde::core
