#include "accounting.hpp"
#include "runtime/agent.hpp"
#include "loading/plugin_library.hpp"

#include "instance_config.hpp"

#include <doctest/doctest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <future>
#include <thread>

using namespace sonde::core;
using sonde_test::check_sink_identity;
using sonde_test::counter;
using sonde_test::parse_summary;
using sonde_test::Summary;

namespace {

const std::string dir = ABI_PLUGIN_DIR;

std::string refusal_of(const PluginRegistry &r, const std::string &file) {
    for (const auto &c : r.candidates())
        if (c.path.filename() == file) return c.library ? "loaded" : c.refusal;
    return "not found";
}

std::shared_ptr<spdlog::logger> quiet_logger() {
    return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

InstanceConfig instance(InstanceRole role, const std::string &name, const std::string &plugin) {
    return test_instance(role, name, plugin);
}

}  // namespace

TEST_CASE("each bad plugin is refused with its one-line reason, good ones load beside them") {
    PluginRegistry r;
    r.scan({dir});
    CHECK(refusal_of(r, "wrong_major.so") == "built for plugin ABI 2.0, this sonde speaks 1.4");
    CHECK(refusal_of(r, "wrong_major_entry_v1.so") == "built for plugin ABI 2.0, this sonde speaks 1.4");
    CHECK(refusal_of(r, "newer_minor.so") == "needs plugin ABI 1.99, newer than this sonde's 1.4");
    CHECK(refusal_of(r, "no_entry.so") == "no entry symbol sonde_plugin_entry_v1 (not a sonde plugin of ABI 1)");
    // counting.so sorts first, so the second copy of the name is the refused one.
    CHECK(refusal_of(r, "counting.so") == "loaded");
    CHECK(refusal_of(r, "counting_again.so") ==
          "duplicate plugin name 'counting' (already loaded from " + dir + "/counting.so)");
    CHECK(refusal_of(r, "raw_ok.so") == "loaded");
    CHECK(refusal_of(r, "create_throws.so") == "loaded");  // refused only when an instance is created
    CHECK(r.find("counting")->descriptor().version == std::string("1.2.3"));
}

TEST_CASE("the agent loads only the plugins its configuration names, and all of them when a name is not a file name") {
    PluginRegistry only;
    only.scan_for({dir}, {"counting", "discard"});
    // The refused and unused objects were never opened (the built-ins have no file).
    CHECK(only.candidates().size() == 2 + builtin_plugins().size());
    CHECK(only.find("counting"));
    CHECK(only.find("discard"));

    PluginRegistry renamed, all;  // no file is named after "wrong_major_v1": every object is opened to look for it
    renamed.scan_for({dir}, {"counting", "wrong_major_v1"});
    all.scan({dir});
    CHECK(renamed.candidates().size() == all.candidates().size());
    CHECK(refusal_of(renamed, "wrong_major_entry_v1.so") == "built for plugin ABI 2.0, this sonde speaks 1.4");
}

TEST_CASE("a file that is not a shared object is refused, not fatal") {
    namespace fs = std::filesystem;
    fs::path tmp = fs::temp_directory_path() / ("sonde-abi-" + std::to_string(getpid()));
    fs::create_directories(tmp);
    std::ofstream(tmp / "garbage.so") << "not an ELF file";
    PluginRegistry r;
    r.scan({tmp});
    CHECK(refusal_of(r, "garbage.so").rfind("cannot load: ", 0) == 0);
    fs::remove_all(tmp);
}

TEST_CASE("create that throws is refused with its message; the good input runs beside it") {
    PluginRegistry r;
    r.scan({dir});
    Agent agent(AgentConfig{}, r, quiet_logger());
    std::string error;
    CHECK_FALSE(agent.add(instance(InstanceRole::input, "bad", "create_throws"), error));
    CHECK(error == "test.toml:1:1: inputs.bad: create failed: cannot initialise the frobnicator");
    CHECK_FALSE(agent.add(instance(InstanceRole::input, "ghost", "no_such_plugin"), error));
    CHECK(error.find("inputs.ghost: no plugin named 'no_such_plugin' (available: ") != std::string::npos);
    CHECK_FALSE(agent.add(instance(InstanceRole::sink, "wrong", "counting"), error));
    CHECK(error == "test.toml:1:1: sinks.wrong: plugin 'counting' is an input, not a sink");

    REQUIRE(agent.add(instance(InstanceRole::sink, "discard", "discard"), error));
    REQUIRE(agent.add(instance(InstanceRole::input, "counting", "counting"), error));
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        agent.request_shutdown();
    });
    CHECK(agent.run() == 0);
    stopper.join();
    std::string summary = agent.summary();
    INFO(summary);
    // ~15 ticks of one metric point and one event each, all delivered.
    Summary counts = parse_summary("shutdown summary: " + summary);
    CHECK(counter(counts, "inputs.counting", "emitted") > 0);
    CHECK(counter(counts, "sinks.discard", "delivered") == counter(counts, "inputs.counting", "emitted"));
    CHECK(counter(counts, "sinks.discard", "dropped") == 0);
    check_sink_identity(counts, "sinks.discard");
}

TEST_CASE("a plugin's config error points at the key's location") {
    PluginRegistry r;
    r.scan({dir});
    Agent agent(AgentConfig{}, r, quiet_logger());
    InstanceConfig c = instance(InstanceRole::input, "counting", "counting");
    c.plugin_config = {{"colour", "blue"}};
    c.key_locations["colour"] = {"conf.d/30-test.toml", 7, 1};
    std::string error;
    CHECK_FALSE(agent.add(c, error));
    CHECK(error == "conf.d/30-test.toml:7:1: inputs.counting.colour: unknown key");
}

TEST_CASE("instances start and stop while the agent runs") {
    PluginRegistry r;
    r.scan({dir});
    Agent agent(AgentConfig{}, r, quiet_logger());
    std::string error;
    REQUIRE(agent.add(instance(InstanceRole::sink, "discard", "discard"), error));
    std::thread control([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        REQUIRE(agent.add(instance(InstanceRole::input, "late", "counting"), error));
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        std::promise<void> removed;
        agent.remove("late", [&] { removed.set_value(); });
        removed.get_future().wait();
        agent.request_shutdown();
    });
    CHECK(agent.run() == 0);
    control.join();
    CHECK(agent.summary().find("inputs.late") == std::string::npos);  // gone
    CHECK(agent.summary().find("sinks.discard delivered=0") == std::string::npos);
}

TEST_CASE("fd watches and several io threads: every tick's event arrives through the fd path") {
    PluginRegistry r;
    r.scan({dir});
    AgentConfig config;
    config.threads = 2;
    Agent agent(config, r, quiet_logger());
    std::string error;
    InstanceConfig input = instance(InstanceRole::input, "counting", "counting");
    input.plugin_config = {{"through_fd", true}};
    REQUIRE(agent.add(instance(InstanceRole::sink, "discard", "discard"), error));
    REQUIRE(agent.add(input, error));
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        agent.request_shutdown();
    });
    CHECK(agent.run() == 0);
    stopper.join();
    std::string summary = agent.summary();
    INFO(summary);
    // Records are emitted only from the fd watch: ~20 ticks of a point and an event.
    auto number_after = [&](const std::string &key) { return std::stoull(summary.substr(summary.find(key) + key.size())); };
    std::uint64_t emitted = number_after("inputs.counting emitted=");
    CHECK(emitted >= 10);
    CHECK(number_after("sinks.discard routed=" + std::to_string(emitted) + " delivered=") == emitted);
}

namespace {
// Runs the counting input into one sink for `ms` and returns the summary.
std::string run_into(const PluginRegistry &r, InstanceConfig sink, int ms) {
    Agent agent(AgentConfig{}, r, quiet_logger());
    std::string error;
    REQUIRE(agent.add(sink, error));
    REQUIRE(agent.add(instance(InstanceRole::input, "counting", "counting"), error));
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        agent.request_shutdown();
    });
    agent.run();
    stopper.join();
    return agent.summary();
}
std::uint64_t number_after(const std::string &text, const std::string &key) {
    auto at = text.find(key);
    REQUIRE(at != std::string::npos);
    return std::stoull(text.substr(at + key.size()));
}
}  // namespace

TEST_CASE("a sink that fails drops each batch, counted with its reason; the input keeps running") {
    PluginRegistry r;
    r.scan({dir});
    InstanceConfig sink = instance(InstanceRole::sink, "flaky", "flaky");
    sink.plugin_config = {{"fail", true}};
    std::string summary = run_into(r, sink, 300);
    INFO(summary);
    std::uint64_t emitted = number_after(summary, "inputs.counting emitted=");
    CHECK(emitted >= 10);
    CHECK(number_after(summary, "sinks.flaky routed=" + std::to_string(emitted) + " delivered=0 dropped=") == emitted);
    CHECK(number_after(summary, "sink_error=") == emitted);
}

TEST_CASE("a sink that asks for retries gets every record once it recovers") {
    PluginRegistry r;
    r.scan({dir});
    InstanceConfig sink = instance(InstanceRole::sink, "flaky", "flaky");
    sink.plugin_config = {{"retries", 2}};  // backoff 100 ms then 200 ms
    std::string summary = run_into(r, sink, 600);
    INFO(summary);
    std::uint64_t emitted = number_after(summary, "inputs.counting emitted=");
    CHECK(emitted >= 10);
    const std::string all = std::to_string(emitted);
    CHECK(summary.find("sinks.flaky routed=" + all + " delivered=" + all + " dropped=0 queued=0 errors=0") !=
          std::string::npos);
}
