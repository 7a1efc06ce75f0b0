// The agent's self-metrics (control/self_metrics.hpp) from its live
// counters: cheap reads of atomics, taken when /metrics is scraped or the
// self input collects. The accounting identity holds per sink:
// routed = delivered + dropped (all reasons) + queued.
#include <sonde/plugin_api.h>

#include <deque>
#include <iterator>
#include <set>

#include "control/control_plane.hpp"
#include "control/process_metrics.hpp"
#include "runtime/agent.hpp"

namespace sonde::core {

namespace {

// A deque: the references add() returns stay valid as families are added.
struct Families {
    std::deque<SelfFamily> list;
    SelfFamily &add(std::string name, SelfMetricType type, std::string unit, std::string help,
                    std::vector<std::string> label_keys = {}) {
        list.push_back({std::move(name), type, std::move(unit), std::move(help), {}, std::move(label_keys)});
        return list.back();
    }
};

}  // namespace

std::vector<SelfFamily> ControlPlane::self_metrics() {
    Families f;
    auto &build = f.add("sonde_build", SelfMetricType::info, "", "sonde's version and plugin ABI", {"version", "abi"});
    build.samples.push_back({{{"version", options_.version},
                              {"abi", std::to_string(SONDE_ABI_MAJOR) + "." + std::to_string(SONDE_ABI_MINOR)}},
                             1,
                             {}});

    auto &emitted = f.add("sonde_input_records_emitted", SelfMetricType::counter, "",
                          "Records an input emitted, by kind (events of a BPF tracer came through its ring buffer)",
                          {"name", "plugin", "kind"});
    auto &input_dropped =
        f.add("sonde_input_records_dropped", SelfMetricType::counter, "",
              "Records an input lost itself, by reason (e.g. BPF ring buffer overflow)", {"name", "plugin", "reason"});
    auto &input_errors = f.add("sonde_input_errors", SelfMetricType::counter, "",
                               "Failed calls and rejected emits of an input", {"name", "plugin"});
    auto &routed = f.add("sonde_sink_records_routed", SelfMetricType::counter, "",
                         "Records the routing table sent to a sink", {"name", "plugin"});
    auto &delivered = f.add("sonde_sink_records_delivered", SelfMetricType::counter, "",
                            "Records a sink delivered to its destination", {"name", "plugin"});
    auto &sink_dropped = f.add("sonde_sink_records_dropped", SelfMetricType::counter, "",
                               "Records a sink dropped, by reason", {"name", "plugin", "reason"});
    auto &queued = f.add("sonde_sink_records_queued", SelfMetricType::gauge, "",
                         "Records routed to a sink and not yet delivered or dropped", {"name", "plugin"});
    auto &capacity = f.add("sonde_sink_queue_capacity_records", SelfMetricType::gauge, "",
                           "Capacity of a sink's queue, in records", {"name", "plugin"});
    auto &retried = f.add("sonde_sink_records_retried", SelfMetricType::counter, "",
                          "Records a sink handed back to be retried (each time)", {"name", "plugin"});
    auto &sink_errors = f.add("sonde_sink_errors", SelfMetricType::counter, "",
                              "Failed deliveries and flushes of a sink", {"name", "plugin"});
    auto &requests = f.add("sonde_sink_export_requests", SelfMetricType::counter, "", "Export requests a sink finished",
                           {"name", "plugin"});
    auto &export_errors = f.add("sonde_sink_export_errors", SelfMetricType::counter, "",
                                "Export requests the destination did not accept", {"name", "plugin"});
    auto &duration = f.add("sonde_sink_export_duration_seconds", SelfMetricType::histogram, "seconds",
                           "Duration of export requests", {"name", "plugin"});
    auto &batch = f.add("sonde_sink_export_batch_size_records", SelfMetricType::histogram, "",
                        "Records carried by export requests", {"name", "plugin"});
    auto &programs = f.add("sonde_bpf_programs_loaded", SelfMetricType::gauge, "", "BPF programs a tracer loaded",
                           {"name", "plugin"});
    auto &up = f.add("sonde_instance_up", SelfMetricType::gauge, "",
                     "1 when an instance runs, 0 when it failed to start", {"name", "plugin", "role"});

    RetiredCounters retired;
    {
        std::lock_guard lock(state_mutex_);
        retired = retired_;
    }
    // One instance's counts (live ones plus what their predecessors counted).
    auto add_counts = [&](const SelfLabels &labels, InstanceRole role, const CounterTotals &t, double queued_now) {
        auto add_drops = [&](SelfFamily &family) {
            for (const auto &[reason, n] : t.dropped) {
                SelfLabels l = labels;
                l.emplace_back("reason", reason);
                family.samples.push_back({l, static_cast<double>(n), {}});
            }
        };
        if (role == InstanceRole::input) {
            SelfLabels as_metric = labels, as_event = labels;
            as_metric.emplace_back("kind", "metric");
            as_event.emplace_back("kind", "event");
            emitted.samples.push_back(
                {as_metric, static_cast<double>(t.emitted - std::min(t.emitted, t.emitted_events)), {}});
            emitted.samples.push_back({as_event, static_cast<double>(t.emitted_events), {}});
            add_drops(input_dropped);
            input_errors.samples.push_back({labels, static_cast<double>(t.errors), {}});
            return;
        }
        routed.samples.push_back({labels, static_cast<double>(t.routed), {}});
        delivered.samples.push_back({labels, static_cast<double>(t.delivered), {}});
        add_drops(sink_dropped);
        queued.samples.push_back({labels, queued_now, {}});
        retried.samples.push_back({labels, static_cast<double>(t.retried), {}});
        sink_errors.samples.push_back({labels, static_cast<double>(t.errors), {}});
    };

    std::set<std::pair<std::string, std::string>> live;
    for (const auto &instance : agent_.instances()) {
        const InstanceConfig &config = instance->config();
        live.insert({config.qualified_name(), config.plugin});
        SelfLabels labels{{"name", config.name}, {"plugin", config.plugin}};
        std::string state = instance->state_name();
        if (state == "running" || state == "failed") {
            SelfLabels l = labels;
            l.emplace_back("role", config.role == InstanceRole::input ? "input" : "sink");
            up.samples.push_back({l, state == "running" ? 1.0 : 0.0, {}});
        }
        auto facts = instance->facts();
        if (auto it = facts.find("bpf_programs"); it != facts.end())
            programs.samples.push_back({labels, std::strtod(it->second.c_str(), nullptr), {}});
        CounterTotals now = totals_of(*instance);
        double queued_now = 0;
        if (config.role == InstanceRole::sink) {
            // routed, delivered and queued from one account, so they add up.
            SinkAccount a = static_cast<SinkInstance *>(instance.get())->account();
            now.routed = a.routed;
            now.delivered = a.delivered;
            queued_now = static_cast<double>(a.queued);
            capacity.samples.push_back({labels, static_cast<double>(config.queue_capacity), {}});
        }
        if (const CounterTotals *before = retired.find(config.qualified_name(), config.plugin)) now += *before;
        add_counts(labels, config.role, now, queued_now);
        const ExportStats &exports = instance->export_stats();
        if (exports.requests.load(std::memory_order_relaxed) == 0) continue;
        requests.samples.push_back({labels, static_cast<double>(exports.requests.load()), {}});
        export_errors.samples.push_back({labels, static_cast<double>(exports.errors.load()), {}});
        duration.samples.push_back({labels, 0, exports.duration_seconds.snapshot()});
        batch.samples.push_back({labels, 0, exports.batch_records.snapshot()});
    }
    // Instances a reload or sonde disable stopped: what they counted stays.
    for (const auto &[key, totals] : retired.all()) {
        if (live.count(key)) continue;
        const auto &[qualified, plugin] = key;
        InstanceRole role = qualified.rfind("inputs.", 0) == 0 ? InstanceRole::input : InstanceRole::sink;
        add_counts({{"name", qualified.substr(qualified.find('.') + 1)}, {"plugin", plugin}}, role, totals, 0);
    }

    std::lock_guard lock(state_mutex_);
    // Instances whose plugin refused their table (or is missing) are down too.
    for (const auto &[name, failure] : create_failures_)
        up.samples.push_back({{{"name", name.substr(name.find('.') + 1)},
                               {"plugin", failure.plugin},
                               {"role", failure.role == InstanceRole::input ? "input" : "sink"}},
                              0.0,
                              {}});
    f.add("sonde_plugin_load_refusals", SelfMetricType::counter, "",
          "Plugin objects refused at load (ABI, trust, duplicates)")
        .samples.push_back({{}, static_cast<double>(plugin_refusals_), {}});
    auto &reloads =
        f.add("sonde_config_reloads", SelfMetricType::counter, "", "Configuration reloads, by result", {"result"});
    reloads.samples.push_back({{{"result", "success"}}, static_cast<double>(reloads_ok_), {}});
    reloads.samples.push_back({{{"result", "failure"}}, static_cast<double>(reloads_failed_), {}});
    f.add("sonde_config_last_reload_successful", SelfMetricType::gauge, "",
          "1 when the last reload applied, 0 when it was refused")
        .samples.push_back({{}, last_reload_ok_ ? 1.0 : 0.0, {}});
    f.add("sonde_config_last_reload_success_timestamp_seconds", SelfMetricType::gauge, "seconds",
          "When the configuration was last applied, in seconds since the epoch")
        .samples.push_back({{}, last_reload_success_time_, {}});
    for (auto &family : process_families()) f.list.push_back(std::move(family));
    return {std::make_move_iterator(f.list.begin()), std::make_move_iterator(f.list.end())};
}

}  // namespace sonde::core
