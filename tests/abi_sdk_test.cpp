// The host and SDK-built plugins across minors: a plugin pinned to ABI 1.0
// loads here and on a 1.0 host, where a plugin of this minor is refused;
// describe without a configuration; exceptions thrown in callbacks logged
// under the instance's name.
#include "loading/plugin_library.hpp"
#include "runtime/agent.hpp"

#include "instance_config.hpp"

#include <doctest/doctest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <thread>

using namespace sonde::core;

namespace {

const std::filesystem::path dir = ABI_PLUGIN_DIR;

InstanceConfig input(const std::string &name, const std::string &plugin) {
    return test_instance(InstanceRole::input, name, plugin);
}

InstanceConfig sink(const std::string &name, const std::string &plugin) {
    return test_instance(InstanceRole::sink, name, plugin);
}

// A logger whose lines the test reads.
struct CapturedLog {
    std::ostringstream lines;
    std::shared_ptr<spdlog::logger> logger = std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
    CapturedLog() { logger->set_pattern("%l %v"); }
};

std::shared_ptr<spdlog::logger> quiet_logger() {
    return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

// Runs the agent's io loop for `ms`, then shuts it down; returns the summary.
std::string run_for(Agent &agent, int ms) {
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        agent.request_shutdown();
    });
    CHECK(agent.run() == 0);
    stopper.join();
    return agent.summary();
}

}  // namespace

TEST_CASE("a plugin pinned to ABI 1.0 declares 1.0 and loads on a 1.0 host, where this minor's plugins do not") {
    PluginCandidate pinned = load_plugin(dir / "pinned_1_0.so");
    REQUIRE(pinned.library);
    CHECK(pinned.library->descriptor().abi_minor == 0);
    CHECK(pinned.library->ops().struct_size == SONDE_PLUGIN_OPS_SIZE_1_0);
    const bool has_describe = pinned.library->describe_function() != nullptr;
    CHECK_FALSE(has_describe);

    // A host that speaks 1.0 refuses newer minors, and accepts the pinned plugin.
    CHECK(load_plugin(dir / "pinned_1_0.so", {}, 0).refusal == "");
    CHECK(load_plugin(dir / "counting.so", {}, 0).refusal ==
          "needs plugin ABI 1." + std::to_string(SONDE_ABI_MINOR) + ", newer than this sonde's 1.0");
    CHECK(abi_refusal(1, 1, 0) == "needs plugin ABI 1.1, newer than this sonde's 1.0");
    CHECK(abi_refusal(1, 0, 0) == "");
}

TEST_CASE("the pinned plugin runs on this host") {
    PluginRegistry registry;
    registry.scan({dir});
    Agent agent(AgentConfig{}, registry, quiet_logger());
    std::string error;
    REQUIRE(agent.add(sink("discard", "discard"), error));
    REQUIRE(agent.add(input("pinned", "pinned_1_0"), error));
    std::string summary = run_for(agent, 300);
    INFO(summary);
    const std::string emitted = "inputs.pinned emitted=";
    REQUIRE(summary.find(emitted) != std::string::npos);
    CHECK(std::stoull(summary.substr(summary.find(emitted) + emitted.size())) >= 5);
}

TEST_CASE("describe needs no configuration; create refuses the same empty table, naming the key") {
    PluginRegistry registry;
    registry.scan({dir});
    Agent agent(AgentConfig{}, registry, quiet_logger());
    std::string error;
    auto described = std::dynamic_pointer_cast<InputInstance>(agent.describe(input("required_key", "required_key"), error));
    REQUIRE_MESSAGE(described, error);
    std::vector<std::string> names;
    for (const RecordDeclaration *d : described->declarations()) names.push_back(d->name);
    CHECK(names == std::vector<std::string>{"test.file.reads", "test.file.changed"});

    CHECK_FALSE(agent.create(input("required_key", "required_key"), error));
    CHECK(error == "test.toml:1:1: inputs.required_key.path: required key is missing");
    InstanceConfig misspelt = input("required_key", "required_key");
    misspelt.plugin_config = {{"pth", "/x"}};
    CHECK_FALSE(agent.create(misspelt, error));
    CHECK(error == "test.toml:1:1: inputs.required_key.pth: unknown key; also path: required key is missing");

    // An older plugin (raw C, ABI 1.0) is described by creating an instance.
    CHECK(agent.describe(input("raw_ok", "raw_ok"), error));
}

TEST_CASE("an exception thrown in a timer or fd callback is logged at error under the instance's name") {
    PluginRegistry registry;
    registry.scan({dir});
    CapturedLog log;
    Agent agent(AgentConfig{}, registry, log.logger);
    std::string error;
    REQUIRE(agent.add(sink("discard", "discard"), error));
    REQUIRE(agent.add(input("thrower", "timer_throws"), error));
    run_for(agent, 300);  // about 15 ticks: one line per callback, the rest held back
    const std::string text = log.lines.str();
    INFO(text);
    auto count = [&](const std::string &line) {
        std::size_t n = 0;
        for (std::size_t at = 0; (at = text.find(line, at)) != std::string::npos; ++at) ++n;
        return n;
    };
    CHECK(count("error inputs.thrower: timer callback failed: the timer's frobnicator jammed\n") == 1);
    CHECK(count("error inputs.thrower: fd watch callback failed: the fd callback's disk is full\n") == 1);
}
