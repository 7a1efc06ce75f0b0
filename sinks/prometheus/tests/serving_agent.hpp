// The real agent started for the prometheus sink's tests: returns once the
// endpoint says it is serving (the test fails if it never does).
#pragma once

#include "agent_process.hpp"

namespace sonde_test {

inline Process start_serving_agent(const TempDir &conf) {
    Process agent(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR, "--plugin-dir", ABI_PLUGIN_DIR}));
    agent.read_until([&](const std::string &) { return agent.stderr_text.find("sinks.prometheus: serving") != std::string::npos; },
                     std::chrono::seconds(10));
    REQUIRE_MESSAGE(agent.stderr_text.find("sinks.prometheus: serving") != std::string::npos, agent.stderr_text);
    return agent;
}

}  // namespace sonde_test
