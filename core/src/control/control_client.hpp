// The `sonde` command line's side of the control socket: one HTTP/1.1
// request over the agent's Unix socket, answered with JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace sonde::core {

struct ControlReply {
    int status = 0;          // HTTP status; 0 when no answer came
    std::string error;       // why there was no answer: "cannot connect to /run/sonde/sonde.sock: ..."
    nlohmann::json body;     // the JSON answer (null when it was not JSON)
    std::string text;        // the raw body
};

// `method` "GET" or "POST"; `body` sent as application/json when not null.
ControlReply control_request(const std::string &socket_path, const std::string &method, const std::string &target,
                             const nlohmann::json &body = nullptr,
                             std::chrono::seconds timeout = std::chrono::seconds(60));

}  // namespace sonde::core
