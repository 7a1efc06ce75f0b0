#include "config/config.hpp"
#include "config/config_dirs.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

using namespace sonde::core;

namespace {

ConfigLoad load(std::vector<std::pair<std::string, std::string>> documents) {
    return load_config_texts(documents);
}

std::string only_error(const ConfigLoad &l) {
    REQUIRE(l.errors.size() == 1);
    return l.errors[0].format();
}

const InstanceConfig *find(const std::vector<InstanceConfig> &list, const std::string &name) {
    for (const auto &i : list)
        if (i.name == name) return &i;
    return nullptr;
}

}  // namespace

TEST_CASE("agent settings parse with durations") {
    auto l = load({{"a.toml", "[agent]\nthreads = 2\ninterval = \"250ms\"\nshutdown_timeout = \"10s\"\n"}});
    REQUIRE(l.ok());
    CHECK(l.config.threads == 2);
    CHECK(l.config.interval_ns == 250'000'000);
    CHECK(l.config.shutdown_timeout_ns == 10'000'000'000);
}

TEST_CASE("a TOML syntax error names file, line and column") {
    auto l = load({{"conf.d/10-bad.toml", "[agent]\nthreads = = 2\n"}});
    std::string e = only_error(l);
    CHECK(e.rfind("conf.d/10-bad.toml:2:", 0) == 0);
}

TEST_CASE("a wrong type names the key and both types") {
    auto l = load({{"a.toml", "[agent]\n\nthreads = \"two\"\n"}});
    CHECK(only_error(l) == "a.toml:3:11: agent.threads: expected an integer, got a string");
}

TEST_CASE("an unknown key is an error, not ignored") {
    auto l = load({{"a.toml", "[agent]\nthreds = 2\n"}});
    CHECK(only_error(l) == "a.toml:2:1: agent.threds: unknown key");
}

TEST_CASE("an unknown top-level table is an error") {
    auto l = load({{"a.toml", "[agnet]\nthreads = 2\n"}});
    CHECK(only_error(l) == "a.toml:1:1: agnet: unknown table (expected agent, admin, inputs or sinks)");
}

TEST_CASE("a malformed duration says what a duration looks like") {
    auto l = load({{"a.toml", "[inputs.procfs]\ninterval = \"10 seconds\"\n"}});
    CHECK(only_error(l) ==
          "a.toml:2:12: inputs.procfs.interval: expected a duration such as \"250ms\" or \"10s\", got "
          "\"10 seconds\"");
}

TEST_CASE("durations and counts outside their range are refused where they are written") {
    // 3'000'000h fits in a uint64 but overflows the int64 nanoseconds the
    // timers and the shutdown deadline compute with.
    auto l = load({{"a.toml",
                    "[agent]\ninterval = \"0s\"\nshutdown_timeout = \"3000000h\"\n"
                    "[inputs.procfs]\ninterval = \"25h\"\n"
                    "[inputs.net]\ninterval = \"999999999999999999999999s\"\n"
                    "[sinks.out]\nqueue_capacity = -1\n"}});
    REQUIRE(l.errors.size() == 5);
    std::vector<std::string> got;
    for (const auto &e : l.errors) got.push_back(e.format());
    std::sort(got.begin(), got.end());
    CHECK(got[0] == "a.toml:2:12: agent.interval: \"0s\" is out of range [1ms, 1d]");
    CHECK(got[1] == "a.toml:3:20: agent.shutdown_timeout: \"3000000h\" is out of range [1ms, 1h]");
    CHECK(got[2] == "a.toml:5:12: inputs.procfs.interval: \"25h\" is out of range [1ms, 1d]");
    CHECK(got[3] == "a.toml:7:12: inputs.net.interval: \"999999999999999999999999s\" is out of range [1ms, 1d]");
    CHECK(got[4] == "a.toml:9:18: sinks.out.queue_capacity: -1 is out of range [1, 100000000]");
}

TEST_CASE("the bounds themselves are accepted") {
    auto l = load({{"a.toml", "[agent]\ninterval = \"1ms\"\nshutdown_timeout = \"1h\"\nthreads = 256\n"
                              "[inputs.procfs]\ninterval = \"24h\"\n[sinks.out]\nqueue_capacity = 100000000\n"}});
    REQUIRE(l.ok());
    CHECK(l.config.interval_ns == 1'000'000);
    CHECK(l.config.shutdown_timeout_ns == 3'600'000'000'000);
    CHECK(l.config.inputs.at(0).interval_ns == 86'400'000'000'000);
    CHECK(l.config.sinks.at(0).queue_capacity == 100'000'000u);
}

TEST_CASE("out-of-range and bad enum values are errors") {
    auto l = load({{"a.toml", "[agent]\nthreads = 0\n[sinks.s]\noverflow = \"explode\"\nkinds = [\"metric\", 3]\n"}});
    REQUIRE(l.errors.size() == 3);
    CHECK(l.errors[0].format() == "a.toml:2:11: agent.threads: 0 is out of range [1, 256]");
    CHECK(l.errors[1].format() == "a.toml:5:20: sinks.s.kinds: expected an array of strings");
    CHECK(l.errors[2].format() ==
          "a.toml:4:12: sinks.s.overflow: unknown policy \"explode\" (drop_oldest, drop_newest, block)");
}

TEST_CASE("every error of every file is reported") {
    auto l = load({{"a.toml", "[agent]\nthreads = \"x\"\n"}, {"b.toml", "[agent]\nlog_level = \"loud\"\n"}});
    REQUIRE(l.errors.size() == 2);
}

TEST_CASE("later files override keys and tables merge") {
    auto l = load({{"10-base.toml", "[agent]\nthreads = 1\ninterval = \"5s\"\n[inputs.procfs]\ndisks = true\n"},
                   {"20-override.toml", "[agent]\nthreads = 3\n[inputs.procfs]\ndisks = false\ncpu = true\n"}});
    REQUIRE(l.ok());
    CHECK(l.config.threads == 3);
    CHECK(l.config.interval_ns == 5'000'000'000);  // kept from the first file
    const InstanceConfig *p = find(l.config.inputs, "procfs");
    REQUIRE(p);
    CHECK(p->plugin_config["disks"] == false);
    CHECK(p->plugin_config["cpu"] == true);
    CHECK(p->interval_ns == 5'000'000'000);  // inputs inherit agent.interval
    // The overriding key points at the file that set it.
    CHECK(p->locate("disks").file == "20-override.toml");
    CHECK(p->locate("disks").line == 4);
}

TEST_CASE("one plugin runs as several instances; enabled = false keeps a table") {
    auto l = load({{"a.toml", "[inputs.net_fast]\nplugin = \"net\"\ninterval = \"100ms\"\n"
                              "[inputs.net_slow]\nplugin = \"net\"\n"
                              "[inputs.procfs]\nenabled = false\n"}});
    REQUIRE(l.ok());
    REQUIRE(l.config.inputs.size() == 3);
    const InstanceConfig *fast = find(l.config.inputs, "net_fast");
    const InstanceConfig *slow = find(l.config.inputs, "net_slow");
    REQUIRE(fast);
    REQUIRE(slow);
    CHECK(fast->plugin == "net");
    CHECK(slow->plugin == "net");
    CHECK(fast->interval_ns == 100'000'000);
    CHECK(slow->interval_ns == 1'000'000'000);
    CHECK_FALSE(find(l.config.inputs, "procfs")->enabled);
}

TEST_CASE("sink subscriptions and queues are host keys; the rest goes to the plugin") {
    auto l = load({{"a.toml", "[sinks.out]\nplugin = \"stdout\"\nkinds = [\"metric\"]\ninputs = [\"net*\"]\n"
                              "match = [\"system.*\"]\nexclude = [\"system.cpu.*\"]\nqueue_capacity = 10\n"
                              "overflow = \"drop_newest\"\npretty = true\n[sinks.out.nested]\nx = 1\n"}});
    REQUIRE(l.ok());
    const InstanceConfig &s = l.config.sinks.at(0);
    CHECK(s.subscription.metrics);
    CHECK_FALSE(s.subscription.events);
    CHECK(s.subscription.inputs == std::vector<std::string>{"net*"});
    CHECK(s.subscription.match == std::vector<std::string>{"system.*"});
    CHECK(s.subscription.exclude == std::vector<std::string>{"system.cpu.*"});
    CHECK(s.queue_capacity == 10);
    CHECK(s.overflow == OverflowPolicy::drop_newest);
    CHECK(s.plugin_config == nlohmann::json{{"pretty", true}, {"nested", {{"x", 1}}}});
    CHECK(s.locate("nested.x").line == 11);
}

TEST_CASE("input-only keys are not host keys on a sink") {
    auto l = load({{"a.toml", "[sinks.out]\ninterval = \"1s\"\n"}});
    REQUIRE(l.ok());  // passed on to the plugin, which rejects it if unknown
    CHECK(l.config.sinks.at(0).plugin_config.contains("interval"));
}

TEST_CASE("directories: lexical order, missing directory, no files") {
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("sonde-config-test-" + std::to_string(getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "20-b.toml") << "[agent]\nthreads = 4\n";
    std::ofstream(dir / "10-a.toml") << "[agent]\nthreads = 2\n";
    std::ofstream(dir / "README") << "not toml";
    auto l = load_config_dirs({{dir}});
    REQUIRE(l.ok());
    CHECK(l.config.threads == 4);
    CHECK(l.files.size() == 2);

    CHECK_FALSE(load_config_dirs({{dir / "missing"}}).ok());
    fs::create_directories(dir / "empty");
    auto empty = load_config_dirs({{dir / "empty"}});
    REQUIRE(empty.errors.size() == 1);
    CHECK(empty.errors[0].message == "no *.toml files in config directory");
    fs::remove_all(dir);
}
