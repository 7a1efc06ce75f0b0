// What a new configuration means for the running agent: which instances it
// runs on this host, and the diff against what runs now (added, removed,
// changed, untouched), compared by value (InstanceConfig::identity), never
// by where the tables were written.
#pragma once

#include "config/config.hpp"
#include "config/host_labels.hpp"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sonde::core {

enum class PlannedState { run, disabled, waiting };  // waiting: its `when` does not match this host
const char *to_string(PlannedState state);

struct PlannedInstance {
    const InstanceConfig *config;  // into the AgentConfig planned
    PlannedState state = PlannedState::run;
    std::string reason;  // disabled or waiting: why
};

// What runs now, by qualified name.
struct RunningInstance {
    InstanceConfig config;
    bool failed = false;  // its start failed: a reload tries it again
};

struct ReloadPlan {
    std::vector<PlannedInstance> instances;  // every instance the configuration names, sinks first
    std::vector<const InstanceConfig *> add;     // to create and start
    std::vector<const InstanceConfig *> change;  // to replace: stop the running one, start this
    std::vector<std::string> remove;             // to stop (qualified names)
    std::vector<std::pair<std::string, Subscription>> resubscribe;  // running sinks: new subscription only
    std::vector<std::string> untouched;
};

// `forced`: qualified names enabled at run time, which run whatever their
// `when` says. Failed instances count as changed, so a reload retries them.
ReloadPlan plan_reload(const AgentConfig &next, const std::map<std::string, RunningInstance> &running,
                       const HostLabels &labels, const std::set<std::string> &forced);

}  // namespace sonde::core
