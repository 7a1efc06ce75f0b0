// The agent's admin listener: HTTP/1.1 on the core's io_context, over a TCP
// address (loopback unless allowed otherwise) and a Unix socket (the `sonde`
// CLI's way in). Each connection is a sonde::http::HttpConnection, the
// protocol the Prometheus sink's endpoint speaks too; this file owns the
// sockets, the limits and the request policy, the routes belong to the
// handler.
//
// Policy, enforced before the handler runs: GET and HEAD are allowed on both
// listeners; every other method changes something and is allowed
// - over the Unix socket only from a peer whose SO_PEERCRED uid is 0 or the
//   agent's own effective uid (else 403),
// - over TCP only with "Authorization: Bearer <token>" equal to the
//   configured token (no token configured: 403; missing or wrong: 401).
//
// Defences, as the Prometheus endpoint's: a connection cap (at the cap the
// longest-idle connection is closed, and a new one refused with 503 only when
// every connection is busy), idle, request, write and answer timeouts,
// bounded buffers. Every refusal is counted, and logged (warning, at most one
// line per 10 s, with the peer).
//
// Threads: every socket operation and every call of the handler runs on one
// strand of the io_context, so any number of threads may run it. The server
// must be destroyed before the io_context; it may be destroyed from any
// thread except from inside its own handler.
#pragma once

#include "http/http_connection.hpp"

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace sonde::core {

struct AdminServerOptions {
    std::string listen = "127.0.0.1:19090";  // "" = no TCP listener; port 0 = any free port
    bool allow_non_loopback = false;         // else a non-loopback `listen` is refused
    std::string socket_path;                 // "" = no Unix socket; parent made 0755 if missing, socket 0600
    std::string token;                       // bearer token for changes over TCP; "" = TCP changes nothing
    std::size_t max_connections = 32;        // both listeners together
    std::uint64_t idle_timeout_ns = 60'000'000'000;     // no request on a kept-alive connection
    std::uint64_t request_timeout_ns = 10'000'000'000;  // from a request's first byte to its last (then 408)
    std::uint64_t write_timeout_ns = 10'000'000'000;    // an answer not taken by the client
    std::uint64_t answer_timeout_ns = 60'000'000'000;   // a deferred answer not given: 504
    http::HttpLimits limits = default_limits();         // keep_body is always on

    static http::HttpLimits default_limits() {
        http::HttpLimits limits;
        limits.max_body_bytes = 64 * 1024;
        limits.max_input_bytes = 96 * 1024;
        limits.output_high_water = 1024 * 1024;
        return limits;
    }
};

// One request that passed the policy. `respond` gives its answer: call it
// exactly once (later calls are ignored), now or later, from any thread (it
// posts onto the server's strand). An answer given after the server, the
// connection or answer_timeout is gone is dropped.
struct AdminRequest {
    std::string method;        // "GET", "POST", ...
    std::string target;        // path and query: "/v1/enable?name=syscall"
    std::string body;          // up to limits.max_body_bytes
    std::string content_type;  // "" if not sent
    std::string accept;        // "" if not sent
    std::string listener;      // "unix" or "tcp"
    std::string peer;          // "127.0.0.1:53412", "[::1]:53412" or "uid 0 pid 4242"
    std::function<void(http::HttpResponse)> respond;
};

// Called on the server's strand for every request the policy allows. It must
// not block (answer later through `respond` instead) and must not destroy the
// server. An exception it throws becomes a 500 and closes the connection.
using AdminHandler = std::function<void(AdminRequest)>;

// Totals since start; each connection or request the server refuses or cuts
// counts once, under the first reason that applied.
struct AdminServerCounters {
    std::uint64_t accepted = 0;
    std::uint64_t refused = 0;           // at max_connections with every connection busy: 503
    std::uint64_t evicted = 0;           // closed at max_connections to admit a new one
    std::uint64_t idle_timeouts = 0;
    std::uint64_t request_timeouts = 0;  // 408
    std::uint64_t write_timeouts = 0;
    std::uint64_t answer_timeouts = 0;   // 504: the handler did not respond in time
    std::uint64_t rejected = 0;          // malformed or oversized requests (4xx/5xx, then closed)
    std::uint64_t forbidden = 0;         // 403: a change from another uid, or over TCP without a token
    std::uint64_t unauthorized = 0;      // 401: a change over TCP with a missing or wrong token
    std::uint64_t accept_errors = 0;     // accept() failed, e.g. out of file descriptors
};

// Options the server cannot run with (a malformed or non-loopback `listen`,
// a socket path too long for sun_path). The message names the option.
class AdminOptionsError : public std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

class AdminServer {
public:
    // Throws AdminOptionsError for options no start could use. Meant for
    // `sonde check-config` too: it touches neither network nor file system.
    static void check(const AdminServerOptions &options);

    // Checks the options (throws AdminOptionsError), then starts each
    // configured listener. A listener that cannot start (port in use,
    // directory not writable, another agent on the socket) is left out and
    // its reason, naming the address or path and the errno text, is in
    // startup_errors(); the other one runs.
    AdminServer(boost::asio::io_context &io, AdminServerOptions options, AdminHandler handler,
                std::shared_ptr<spdlog::logger> logger = nullptr);
    // Closes both listeners and every connection; removes the socket file if
    // it is still the one this server created.
    ~AdminServer();
    AdminServer(const AdminServer &) = delete;
    AdminServer &operator=(const AdminServer &) = delete;

    const std::vector<std::string> &startup_errors() const { return startup_errors_; }
    // The bound TCP port (the chosen one when `listen` asked for port 0), or
    // 0 without a TCP listener.
    std::uint16_t tcp_port() const { return tcp_port_; }
    // The Unix socket's path, or "" without one.
    const std::string &socket_path() const { return socket_path_; }
    AdminServerCounters counters() const;

    struct State;  // shared with the asynchronous operations in flight

private:
    std::shared_ptr<State> state_;
    std::vector<std::string> startup_errors_;
    std::uint16_t tcp_port_ = 0;
    std::string socket_path_;
};

}  // namespace sonde::core
