// The admin endpoint of a running agent: the AdminServer on a thread of its
// own, answering from the control plane. /healthz, /ready, /metrics and
// /status read; /v1/reload, /v1/enable, /v1/disable and /v1/log-level change
// (POST, JSON bodies; over the Unix socket, or TCP with the bearer token).
//
// Why a thread of its own and not the agent's io loop: liveness is "the io
// loop still turns", and an endpoint served by that loop could not say it
// does not; a stuck loop would look like a network timeout instead of a 503
// with a reason. Changes are still applied on the agent's loop (the control
// plane posts them there); only their answers come back here.
#pragma once

#include "config/config.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace spdlog {
class logger;
}

namespace sonde::core {

class AdminServer;
class ControlPlane;

class AdminService {
public:
    // Starts what can start and logs what cannot (a port in use, a socket
    // directory not writable, a token file unreadable): the agent runs on
    // without that listener.
    AdminService(ControlPlane &control, const AdminConfig &config, std::shared_ptr<spdlog::logger> logger);
    ~AdminService();
    AdminService(const AdminService &) = delete;
    AdminService &operator=(const AdminService &) = delete;

    std::uint16_t tcp_port() const;
    std::string socket_path() const;

private:
    ControlPlane &control_;
    std::shared_ptr<spdlog::logger> logger_;
    boost::asio::io_context io_;
    std::unique_ptr<AdminServer> server_;
    std::thread thread_;
};

// Reads the bearer token: the file's first line, trimmed. Errors name the
// file. An empty token is an error (it would match an empty header).
bool read_token_file(const std::string &path, std::string &token, std::string &error);

}  // namespace sonde::core
