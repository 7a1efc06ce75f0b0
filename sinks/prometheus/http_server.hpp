// The exposition endpoint's HTTP/1.1 server, driven entirely by the host's
// one-shot fd watches and one periodic timer (no thread, no io_context of
// its own). HttpConnection (sonde::http, common/http) does the protocol;
// this file moves bytes between it and non-blocking sockets and defends the
// endpoint against its clients:
//
// - each readiness callback answers at most answers_per_wakeup requests and
//   then yields to the io loop (a pipelining client cannot hog it or, as
//   before, recurse until the stack overflows);
// - timeouts: a connection idle between requests for idle_timeout, one whose
//   request has not arrived whole within request_timeout of its first byte,
//   and one that has not taken an answer within write_timeout are closed;
// - at max_connections, a new connection closes the longest-idle one (else
//   the slowest partial request); it is refused with 503 only when every
//   connection is busy with an answer. Idle clients cannot starve scrapers.
// Connections cut or refused are counted and logged, rate-limited, with the
// peer address.
#pragma once

#include "http/http_connection.hpp"
#include "http/listen_address.hpp"

#include <sonde/sdk.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace sonde::prometheus {

using http::HttpConnection;
using http::HttpHandler;
using http::HttpLimits;
using http::HttpRequest;
using http::HttpResponse;
using http::ListenAddress;

struct HttpServerOptions {
    std::size_t max_connections = 64;
    std::uint64_t idle_timeout_ns = 120'000'000'000;
    std::uint64_t request_timeout_ns = 10'000'000'000;
    std::uint64_t write_timeout_ns = 10'000'000'000;
    HttpLimits limits;
};

// Totals since start; each connection closed by the server, not by its
// client, counts once, under the first reason that applied.
struct HttpServerCounters {
    std::uint64_t accepted = 0;
    std::uint64_t refused = 0;           // at the cap with every connection busy: 503
    std::uint64_t evicted = 0;           // closed at the cap to admit a new one
    std::uint64_t idle_timeouts = 0;     // no request for idle_timeout
    std::uint64_t request_timeouts = 0;  // a request not whole within request_timeout
    std::uint64_t write_timeouts = 0;    // an answer not taken within write_timeout
    std::uint64_t rejected = 0;          // malformed or oversized requests (4xx/5xx, then closed)
    std::uint64_t accept_errors = 0;     // accept() failed, e.g. out of file descriptors
};

class HttpServer {
public:
    // Binds the address and starts accepting; throws Unavailable when it
    // cannot (port in use, address not on this host).
    HttpServer(Context &ctx, const ListenAddress &listen, const HttpServerOptions &options, HttpHandler handler);
    ~HttpServer();
    HttpServer(const HttpServer &) = delete;
    HttpServer &operator=(const HttpServer &) = delete;

    std::uint16_t port() const { return port_; }
    const HttpServerCounters &counters() const { return counters_; }

    static constexpr std::size_t answers_per_wakeup = 32;

private:
    struct Connection;
    enum class Cut { refused, evicted, idle, request, write, rejected };

    void arm_accept();
    void accept_ready();
    void admit(int fd, const std::string &peer);
    bool make_room(const char *why);
    void service(const std::shared_ptr<Connection> &c);
    bool read_available(Connection &c);
    bool flush(Connection &c);
    void arm(const std::shared_ptr<Connection> &c, bool more_to_answer);
    void sweep();
    void cut(const std::shared_ptr<Connection> &c, Cut why, const std::string &detail);
    void close(int fd);
    void report(Cut why, const std::string &peer, const std::string &detail);
    std::string totals() const;

    Context &ctx_;
    HttpServerOptions options_;
    HttpHandler handler_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::uint64_t accept_watch_ = 0;
    bool accept_paused_ = false;  // out of descriptors: retried at the next sweep
    std::uint64_t sweep_timer_ = 0;
    std::map<int, std::shared_ptr<Connection>> connections_;
    HttpServerCounters counters_;
    std::int64_t last_report_ns_ = 0;
    std::uint64_t unreported_ = 0;  // cuts since the last log line
};

}  // namespace sonde::prometheus
