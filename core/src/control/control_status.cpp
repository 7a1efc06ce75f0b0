// What the control plane reports: `sonde status` (/status), readiness
// (/ready) and liveness (/healthz).
#include "control/control_plane.hpp"

#include "runtime/agent.hpp"

#include <unistd.h>

#include <ctime>

namespace sonde::core {

std::string format_time(std::chrono::system_clock::time_point t) {
    std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return out;
}

namespace {

nlohmann::json drops_json(InstanceCounters &c) {
    nlohmann::json out = nlohmann::json::object();
    for (std::size_t r = 0; r < c.dropped.size(); ++r)
        if (auto n = c.dropped[r].load()) out[to_string(static_cast<DropReason>(r))] = n;
    std::lock_guard lock(c.plugin_drops_mutex);
    for (const auto &[reason, n] : c.plugin_drops) out[reason] = n;
    return out;
}

nlohmann::json counters_json(Instance &instance) {
    InstanceCounters &c = instance.counters();
    if (auto *sink = dynamic_cast<SinkInstance *>(&instance)) {
        SinkAccount a = sink->account();
        return {{"routed", a.routed},   {"delivered", a.delivered},      {"dropped", a.dropped},
                {"queued", a.queued},   {"retried", c.retried.load()},  {"errors", c.errors.load()},
                {"dropped_by_reason", drops_json(c)}};
    }
    return {{"emitted", c.emitted.load()},
            {"emitted_events", c.emitted_events.load()},
            {"dropped", c.dropped_total()},
            {"errors", c.errors.load()},
            {"skipped_ticks", c.skipped_ticks.load()},
            {"dropped_by_reason", drops_json(c)}};
}

}  // namespace

nlohmann::json ControlPlane::status_of(const std::string &qualified_name) {
    std::shared_ptr<const AppliedConfig> applied;
    std::optional<RuntimeChange> runtime;
    std::optional<CreateFailure> create_failure;
    {
        std::lock_guard lock(state_mutex_);
        applied = applied_;
        if (auto *c = overlay_.find(qualified_name)) runtime = *c;
        if (auto it = create_failures_.find(qualified_name); it != create_failures_.end()) create_failure = it->second;
    }
    nlohmann::json out{{"name", qualified_name}};
    const PlannedInstance *planned = nullptr;
    if (applied)
        for (const auto &p : applied->plan.instances)
            if (p.config->qualified_name() == qualified_name) planned = &p;
    if (planned) {
        out["plugin"] = planned->config->plugin;
        out["role"] = planned->config->role == InstanceRole::input ? "input" : "sink";
        out["state"] = to_string(planned->state) == std::string("run") ? "stopped" : to_string(planned->state);
        if (!planned->reason.empty()) out["reason"] = planned->reason;
        if (!planned->config->when.empty()) out["when"] = planned->config->when;
    }
    if (auto instance = agent_.find(qualified_name)) {
        out["plugin"] = instance->config().plugin;
        out["role"] = instance->config().role == InstanceRole::input ? "input" : "sink";
        out["state"] = instance->state_name();
        if (std::string why = instance->failure(); !why.empty()) out["reason"] = why;
        out["facts"] = instance->facts();
        out["counters"] = counters_json(*instance);
    } else if (create_failure) {
        out["state"] = "failed";
        out["reason"] = create_failure->error;
    }
    if (runtime) {
        nlohmann::json r{{"enable", runtime->enable}};
        if (runtime->expires) r["expires"] = format_time(*runtime->expires);
        if (!runtime->plugin.empty()) r["plugin"] = runtime->plugin;
        for (const auto &s : runtime->settings) r["settings"].push_back(s.key + "=" + s.value);
        out["runtime"] = r;
        if (!runtime->enable) out["reason"] = "disabled at run time (sonde disable)";
    }
    return out;
}

nlohmann::json ControlPlane::status() {
    std::shared_ptr<const AppliedConfig> applied;
    nlohmann::json reload;
    {
        std::lock_guard lock(state_mutex_);
        applied = applied_;
        reload = {{"successful", last_reload_ok_},
                  {"reloads_ok", reloads_ok_},
                  {"reloads_failed", reloads_failed_},
                  {"errors", last_reload_errors_}};
        if (!last_reload_time_.empty()) reload["time"] = last_reload_time_;
    }
    auto now = std::chrono::system_clock::now();
    nlohmann::json out{{"version", options_.version},
                       {"pid", ::getpid()},
                       {"started", format_time(started_)},
                       {"uptime_seconds", std::chrono::duration<double>(now - started_).count()},
                       {"config_dir", describe(options_.config_dirs)},
                       {"config_hash", applied ? applied->hash : ""},
                       {"reload", reload},
                       {"instances", nlohmann::json::array()}};
    if (applied) out["labels"] = merge_labels(options_.facts, applied->load.config.labels);
    nlohmann::json checks;
    out["ready"] = ready(checks) == 200;
    if (applied)
        for (const auto &p : applied->plan.instances) out["instances"].push_back(status_of(p.config->qualified_name()));
    return out;
}

void ControlPlane::sample_delivery() {
    auto now = std::chrono::steady_clock::now();
    std::map<std::string, DeliveryProgress> next;
    for (const auto &instance : agent_.instances()) {
        auto *sink = dynamic_cast<SinkInstance *>(instance.get());
        if (!sink || !sink->running()) continue;
        SinkAccount a = sink->account();
        const std::string name = sink->config().qualified_name();
        std::lock_guard lock(state_mutex_);
        auto it = delivery_.find(name);
        DeliveryProgress p{a.delivered, now};
        // No progress: the delivered count has not moved while records wait.
        if (it != delivery_.end() && it->second.delivered == a.delivered && a.queued > 0) p.since = it->second.since;
        next[name] = p;
    }
    std::lock_guard lock(state_mutex_);
    delivery_ = std::move(next);
}

int ControlPlane::ready(nlohmann::json &report) {
    report = {{"ready", true}, {"failing", nlohmann::json::array()}};
    auto fail = [&](std::string check, std::string why) {
        report["ready"] = false;
        report["failing"].push_back({{"check", std::move(check)}, {"reason", std::move(why)}});
    };
    std::shared_ptr<const AppliedConfig> applied;
    bool started;
    std::map<std::string, DeliveryProgress> delivery;
    std::uint64_t max_undelivered_ns;
    {
        std::lock_guard lock(state_mutex_);
        applied = applied_;
        started = started_up_;
        delivery = delivery_;
        max_undelivered_ns = admin_.ready_max_undelivered_ns;
    }
    if (!started || !applied) {
        fail("config", "the configuration is not applied yet");
        return 503;
    }
    for (const auto &instance : agent_.instances()) {
        std::string state = instance->state_name();
        if (state == "created" || state == "starting")
            fail("instances", instance->config().qualified_name() + " is " + state);
    }
    auto now = std::chrono::steady_clock::now();
    for (const auto &[name, progress] : delivery) {
        auto stalled = std::chrono::duration_cast<std::chrono::nanoseconds>(now - progress.since).count();
        if (stalled > static_cast<std::int64_t>(max_undelivered_ns))
            fail("sinks", name + " has delivered nothing for " + std::to_string(stalled / 1'000'000'000) +
                              " s with records waiting");
    }
    return report["ready"] ? 200 : 503;
}

int ControlPlane::live(nlohmann::json &report) {
    std::int64_t stalled_ns = steady_ns() - last_turn_ns_.load(std::memory_order_relaxed);
    std::uint64_t bound;
    {
        std::lock_guard lock(state_mutex_);
        bound = admin_.liveness_timeout_ns;
    }
    bool alive = stalled_ns <= static_cast<std::int64_t>(bound);
    report = {{"live", alive}, {"loop_last_turn_seconds_ago", static_cast<double>(stalled_ns) / 1e9}};
    if (!alive) report["reason"] = "the io loop has not turned within admin.liveness_timeout";
    return alive ? 200 : 503;
}

}  // namespace sonde::core
