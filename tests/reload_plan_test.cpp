// The reload diff (control/reload_plan.hpp) and the runtime overlay
// (control/runtime_overlay.hpp), on configurations loaded by the real loader.
#include "control/reload_plan.hpp"
#include "control/runtime_overlay.hpp"

#include <doctest/doctest.h>

using namespace sonde::core;

namespace {

ConfigLoad load(const std::string &text) {
    ConfigLoad l = load_config_texts({{"a.toml", text}});
    REQUIRE_MESSAGE(l.ok(), (l.errors.empty() ? "" : l.errors[0].format()));
    return l;
}

std::map<std::string, RunningInstance> running_from(const ConfigLoad &l) {
    std::map<std::string, RunningInstance> out;
    for (const auto *list : {&l.config.inputs, &l.config.sinks})
        for (const auto &c : *list) out[c.qualified_name()] = {c, false};
    return out;
}

std::vector<std::string> names(const std::vector<const InstanceConfig *> &list) {
    std::vector<std::string> out;
    for (const auto *c : list) out.push_back(c->qualified_name());
    return out;
}

const HostLabels labels{{"host.name", "db-eu-1"}, {"role", "db"}};

}  // namespace

TEST_CASE("the diff by value: added, removed, changed, resubscribed, untouched") {
    ConfigLoad before = load("[inputs.procfs]\n[inputs.net]\n[inputs.old]\nplugin = \"procfs\"\n"
                             "[sinks.stdout]\n[sinks.file]\nmatch = [\"system.*\"]\n");
    // Written differently (other file, key order, comments): net is the same instance.
    ConfigLoad after = load("# moved around\n[sinks.file]\nmatch = [\"bpf.*\"]\n[inputs.net]\n"
                            "[inputs.procfs]\ninterval = \"5s\"\n[inputs.new]\nplugin = \"net\"\n[sinks.stdout]\n");
    ReloadPlan plan = plan_reload(after.config, running_from(before), labels, {});
    CHECK(names(plan.add) == std::vector<std::string>{"inputs.new"});
    CHECK(names(plan.change) == std::vector<std::string>{"inputs.procfs"});
    CHECK(plan.remove == std::vector<std::string>{"inputs.old"});
    REQUIRE(plan.resubscribe.size() == 1);
    CHECK(plan.resubscribe[0].first == "sinks.file");
    CHECK(plan.resubscribe[0].second.match == std::vector<std::string>{"bpf.*"});
    CHECK(plan.untouched == std::vector<std::string>{"sinks.stdout", "inputs.net"});
}

TEST_CASE("the same configuration again touches nothing; a failed instance is retried") {
    ConfigLoad l = load("[inputs.procfs]\n[sinks.stdout]\n");
    auto running = running_from(l);
    ReloadPlan same = plan_reload(l.config, running, labels, {});
    CHECK(same.add.empty());
    CHECK(same.change.empty());
    CHECK(same.remove.empty());
    CHECK(same.untouched.size() == 2);
    running["inputs.procfs"].failed = true;
    ReloadPlan retry = plan_reload(l.config, running, labels, {});
    CHECK(names(retry.change) == std::vector<std::string>{"inputs.procfs"});
}

TEST_CASE("disabled and waiting instances do not run, and a running one stops") {
    ConfigLoad before = load("[inputs.procfs]\n[inputs.net]\n[inputs.syscall]\n");
    ConfigLoad after = load("[inputs.procfs]\nenabled = false\n[inputs.net]\nwhen = { role = \"web\" }\n"
                            "[inputs.syscall]\nwhen = { \"host.name\" = \"db-eu-*\", role = \"d?\" }\n");
    ReloadPlan plan = plan_reload(after.config, running_from(before), labels, {});
    CHECK(plan.remove == std::vector<std::string>{"inputs.net", "inputs.procfs"});
    CHECK(plan.untouched == std::vector<std::string>{"inputs.syscall"});
    REQUIRE(plan.instances.size() == 3);
    for (const auto &p : plan.instances) {
        std::string name = p.config->qualified_name();
        if (name == "inputs.procfs") CHECK((p.state == PlannedState::disabled && p.reason == "enabled = false"));
        if (name == "inputs.net") {
            CHECK(p.state == PlannedState::waiting);
            CHECK(p.reason == "when: role = \"db\" does not match \"web\"");
        }
    }
    // Enabled at run time, a waiting instance runs whatever its `when` says.
    ReloadPlan forced = plan_reload(after.config, {}, labels, {"inputs.net"});
    CHECK(names(forced.add) == std::vector<std::string>{"inputs.net", "inputs.syscall"});
    // A label the host does not have.
    std::string why;
    CHECK_FALSE(when_matches({{"zone", "eu"}}, labels, why));
    CHECK(why == "zone is not set on this host");
}

TEST_CASE("[agent.labels] may not set a built-in fact") {
    ConfigLoad l = load_config_texts({{"a.toml", "[agent.labels]\nrole = \"db\"\n\"host.name\" = \"x\"\n"}});
    REQUIRE(l.errors.size() == 1);
    CHECK(l.errors[0].format() == "a.toml:3:1: agent.labels.host.name: a built-in fact of the host; it cannot be set");
}

TEST_CASE("the runtime overlay is a TOML document conf.d's rules validate") {
    RuntimeOverlay overlay;
    Setting threshold, name, list, injected;
    std::string error;
    REQUIRE(parse_setting("threshold=5ms", threshold, error));
    REQUIRE(parse_setting("comm=nginx \"worker\"", name, error));
    REQUIRE(parse_setting("devices.include=[\"sda\", \"nvme0n1\"]", list, error));
    REQUIRE(parse_setting("pid=1\nenabled = false", injected, error));
    CHECK_FALSE(parse_setting("no-equals", threshold, error));
    CHECK(error == "--set no-equals: expected key=value");
    Setting bad;
    CHECK_FALSE(parse_setting("a..b=1", bad, error));

    overlay.set({InstanceRole::input, "syscall", true, "", {threshold, name, list, injected}, std::nullopt});
    overlay.set({InstanceRole::sink, "debug", true, "stdout", {}, std::chrono::system_clock::now()});
    auto document = overlay.document();
    REQUIRE(document);
    ConfigLoad l = load_config_texts({*document});
    REQUIRE_MESSAGE(l.ok(), (l.errors.empty() ? "" : l.errors[0].format()));
    REQUIRE(l.config.inputs.size() == 1);
    const InstanceConfig &syscall = l.config.inputs[0];
    CHECK(syscall.enabled);
    CHECK(syscall.plugin_config["threshold"] == "5ms");             // not TOML: a string
    CHECK(syscall.plugin_config["comm"] == "nginx \"worker\"");     // quoted, not broken
    CHECK(syscall.plugin_config["devices"]["include"].size() == 2); // TOML: an array under a dotted key
    CHECK(syscall.plugin_config["pid"] == "1\nenabled = false");    // a newline cannot add keys
    REQUIRE(l.config.sinks.size() == 1);
    CHECK(l.config.sinks[0].plugin == "stdout");
    CHECK(overlay.forced() == std::set<std::string>{"inputs.syscall", "sinks.debug"});

    CHECK(overlay.expire(std::chrono::system_clock::now()) == std::vector<std::string>{"sinks.debug"});
    CHECK(overlay.erase("inputs.syscall"));
    CHECK_FALSE(overlay.document());
}
