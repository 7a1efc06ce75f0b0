#include "control/reload_plan.hpp"

namespace sonde::core {

const char *to_string(PlannedState state) {
    switch (state) {
        case PlannedState::run: return "run";
        case PlannedState::disabled: return "disabled";
        case PlannedState::waiting: return "waiting";
    }
    return "?";
}

ReloadPlan plan_reload(const AgentConfig &next, const std::map<std::string, RunningInstance> &running,
                       const HostLabels &labels, const std::set<std::string> &forced) {
    ReloadPlan plan;
    std::set<std::string> wanted;
    for (const auto *list : {&next.sinks, &next.inputs}) {
        for (const InstanceConfig &config : *list) {
            const std::string name = config.qualified_name();
            PlannedInstance planned{&config};
            std::string why;
            if (!config.enabled) {
                planned.state = PlannedState::disabled;
                planned.reason = "enabled = false";
            } else if (!forced.count(name) && !when_matches(config.when, labels, why)) {
                planned.state = PlannedState::waiting;
                planned.reason = "when: " + why;
            }
            plan.instances.push_back(planned);
            if (planned.state != PlannedState::run) continue;
            wanted.insert(name);
            auto it = running.find(name);
            if (it == running.end()) {
                plan.add.push_back(&config);
            } else if (it->second.failed || it->second.config.identity() != config.identity()) {
                plan.change.push_back(&config);
            } else if (it->second.config.subscription_identity() != config.subscription_identity()) {
                plan.resubscribe.emplace_back(name, config.subscription);
            } else {
                plan.untouched.push_back(name);
            }
        }
    }
    for (const auto &[name, instance] : running)
        if (!wanted.count(name)) plan.remove.push_back(name);
    return plan;
}

}  // namespace sonde::core
