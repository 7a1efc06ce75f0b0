#include "http_server.hpp"

#include "http/listen_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace sonde::prometheus {

namespace {

constexpr std::int64_t report_every_ns = 10'000'000'000;  // at most one log line per 10 s
constexpr int accepts_per_wakeup = 64;

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Best effort, never blocks: the socket is about to be closed anyway.
void send_last_words(int fd, std::string_view text) { (void)!::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT); }

}  // namespace

struct HttpServer::Connection {
    Connection(int fd, std::string peer, const HttpLimits &limits) : fd(fd), peer(std::move(peer)), http(limits) {}

    // What the connection waits for, and since when (steady clock): the
    // timeout that applies follows from it.
    enum class Phase { idle, receiving, writing };
    void update_phase(std::int64_t now) {
        Phase next = !http.unwritten().empty() ? Phase::writing : http.mid_request() ? Phase::receiving : Phase::idle;
        if (next != phase) {
            phase = next;
            phase_since = now;
        }
    }

    int fd;
    std::string peer;
    HttpConnection http;
    std::uint64_t watch = 0;  // 0: none armed
    Phase phase = Phase::idle;
    std::int64_t phase_since = steady_ns();
};

HttpServer::HttpServer(Context &ctx, const ListenAddress &listen, const HttpServerOptions &options, HttpHandler handler)
    : ctx_(ctx), options_(options), handler_(std::move(handler)) {
    listen_fd_ = ::socket(listen.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw Unavailable(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr *>(&listen.address), listen.length) != 0 ||
        ::listen(listen_fd_, 128) != 0) {
        int err = errno;
        ::close(listen_fd_);
        throw Unavailable("cannot listen on " + listen.numeric + ": " + std::strerror(err));
    }
    sockaddr_storage bound{};
    socklen_t bound_length = sizeof bound;
    getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&bound), &bound_length);
    port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
    std::uint64_t shortest = std::min({options_.idle_timeout_ns, options_.request_timeout_ns, options_.write_timeout_ns});
    std::uint64_t sweep_ns = std::clamp<std::uint64_t>(shortest / 4, 10'000'000, 1'000'000'000);
    try {
        arm_accept();
        sweep_timer_ = ctx_.every(sweep_ns, [this] { sweep(); });
    } catch (...) {
        if (accept_watch_) ctx_.cancel_once(accept_watch_);
        ::close(listen_fd_);
        throw;
    }
}

HttpServer::~HttpServer() {
    while (!connections_.empty()) close(connections_.begin()->first);
    ctx_.cancel(sweep_timer_);
    if (accept_watch_) ctx_.cancel_once(accept_watch_);
    ::close(listen_fd_);
}

void HttpServer::arm_accept() {
    accept_watch_ = ctx_.when_ready_once(listen_fd_, SONDE_FD_READABLE, [this](std::uint32_t) {
        accept_watch_ = 0;
        accept_ready();
    });
}

void HttpServer::accept_ready() {
    for (int i = 0; i < accepts_per_wakeup; ++i) {
        sockaddr_storage peer{};
        socklen_t length = sizeof peer;
        int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr *>(&peer), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            admit(fd, http::numeric_text(peer));
            continue;
        }
        int err = errno;
        if (err == EINTR || err == ECONNABORTED) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) break;
        // Out of descriptors: an idle connection gives its own up, as at
        // max_connections. Else the pending connection stays in the backlog
        // and the listening socket readable, so waiting on it again would
        // spin: accepting pauses until the next sweep.
        ++counters_.accept_errors;
        if ((err == EMFILE || err == ENFILE) && make_room("out of file descriptors")) continue;
        report(Cut::refused, "-", std::string("accept failed: ") + std::strerror(err) + "; accepting again in a moment");
        accept_paused_ = true;
        return;
    }
    arm_accept();
}

void HttpServer::admit(int fd, const std::string &peer) {
    if (connections_.size() >= options_.max_connections && !make_room("at max_connections")) {
        send_last_words(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        ::close(fd);
        ++counters_.refused;
        report(Cut::refused, peer, "refused: " + std::to_string(connections_.size()) +
                                       " connections (max_connections), all busy with answers");
        return;
    }
    ++counters_.accepted;
    auto c = std::make_shared<Connection>(fd, peer, options_.limits);
    connections_[fd] = c;
    service(c);  // a client usually sends its request with the connection: answer it now
}

// At the cap (`why`): closes the longest-idle connection, else the one that has
// waited longest for the rest of a request. Connections busy with an answer
// are left alone (write_timeout bounds them).
bool HttpServer::make_room(const char *why) {
    std::shared_ptr<Connection> victim;
    for (const auto &[fd, c] : connections_) {
        if (c->phase == Connection::Phase::writing) continue;
        if (!victim || (c->phase == Connection::Phase::idle && victim->phase != Connection::Phase::idle) ||
            (c->phase == victim->phase && c->phase_since < victim->phase_since))
            victim = c;
    }
    if (!victim) return false;
    cut(victim, Cut::evicted,
        std::string("closed to admit a new connection, ") + why + " (" +
            (victim->phase == Connection::Phase::idle ? "idle" : "request incomplete") + " for " +
            std::to_string((steady_ns() - victim->phase_since) / 1'000'000) + " ms)");
    return true;
}

void HttpServer::service(const std::shared_ptr<Connection> &c) {
    c->watch = 0;
    bool had_rejection = !c->http.rejection().empty();
    std::size_t answered = 0;
    try {
        if (!flush(*c) || !read_available(*c)) return close(c->fd);  // the peer is gone
        answered = c->http.answer(answers_per_wakeup, handler_);
        if (!flush(*c)) return close(c->fd);
    } catch (const std::exception &e) {  // out of memory: this connection only
        return cut(c, Cut::rejected, std::string("internal error: ") + e.what());
    }
    if (!had_rejection && !c->http.rejection().empty()) {
        ++counters_.rejected;
        report(Cut::rejected, c->peer, c->http.rejection());
    }
    if (c->http.finished()) return close(c->fd);
    c->update_phase(steady_ns());
    arm(c, answered == answers_per_wakeup);
}

bool HttpServer::read_available(Connection &c) {
    char buffer[16384];
    for (std::size_t room; (room = c.http.input_room()) > 0;) {
        ssize_t n = ::recv(c.fd, buffer, std::min(room, sizeof buffer), 0);
        if (n > 0) {
            c.http.receive(std::string_view(buffer, static_cast<std::size_t>(n)));
            continue;
        }
        if (n == 0) {
            c.http.end_of_input();
            return true;
        }
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    return true;
}

bool HttpServer::flush(Connection &c) {
    for (std::string_view out; !(out = c.http.unwritten()).empty();) {
        ssize_t n = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (n > 0) {
            c.http.mark_written(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    return true;
}

// Waits for what the connection needs next. With answers still to give
// (the per-wakeup budget ran out) it waits for writability, which is
// immediate: the connection yields to the io loop and carries on.
void HttpServer::arm(const std::shared_ptr<Connection> &c, bool more_to_answer) {
    std::uint32_t events = 0;
    if (!c->http.unwritten().empty() || more_to_answer) events |= SONDE_FD_WRITABLE;
    if (c->http.input_room() > 0) events |= SONDE_FD_READABLE;
    if (events == 0) return close(c->fd);  // nothing can make progress
    c->watch = ctx_.when_ready_once(c->fd, events, [this, c](std::uint32_t) { service(c); });
}

void HttpServer::sweep() {
    const std::int64_t now = steady_ns();
    std::vector<std::pair<std::shared_ptr<Connection>, Cut>> expired;
    for (const auto &[fd, c] : connections_) {
        std::int64_t waited = now - c->phase_since;
        switch (c->phase) {
            case Connection::Phase::idle:
                if (waited > static_cast<std::int64_t>(options_.idle_timeout_ns)) expired.emplace_back(c, Cut::idle);
                break;
            case Connection::Phase::receiving:
                if (waited > static_cast<std::int64_t>(options_.request_timeout_ns)) expired.emplace_back(c, Cut::request);
                break;
            case Connection::Phase::writing:
                if (waited > static_cast<std::int64_t>(options_.write_timeout_ns)) expired.emplace_back(c, Cut::write);
                break;
        }
    }
    for (auto &[c, why] : expired) {
        if (why == Cut::request) send_last_words(c->fd, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        cut(c, why, why == Cut::idle      ? "idle past idle_timeout"
                    : why == Cut::request ? "request not complete within request_timeout"
                                          : "answer not taken within write_timeout");
    }
    if (unreported_ > 0 && now - last_report_ns_ >= report_every_ns) {
        ctx_.warn(std::to_string(unreported_) + " more connections cut or refused since the last report (" + totals() + ")");
        last_report_ns_ = now;
        unreported_ = 0;
    }
    if (accept_paused_) {
        accept_paused_ = false;
        arm_accept();
    }
}

void HttpServer::cut(const std::shared_ptr<Connection> &c, Cut why, const std::string &detail) {
    switch (why) {
        case Cut::evicted: ++counters_.evicted; break;
        case Cut::idle: ++counters_.idle_timeouts; break;
        case Cut::request: ++counters_.request_timeouts; break;
        case Cut::write: ++counters_.write_timeouts; break;
        case Cut::rejected: ++counters_.rejected; break;
        case Cut::refused: ++counters_.refused; break;
    }
    std::string peer = c->peer;
    close(c->fd);
    report(why, peer, detail);
}

void HttpServer::close(int fd) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    if (it->second->watch) ctx_.cancel_once(it->second->watch);
    ::close(fd);
    connections_.erase(it);
}

// One log line per report_every_ns at most; the cuts in between are summed
// into the next line. Closing an idle keep-alive connection is routine:
// counted, logged at debug level only.
void HttpServer::report(Cut why, const std::string &peer, const std::string &detail) {
    if (why == Cut::idle) {
        ctx_.log(SONDE_LOG_DEBUG, "connection from " + peer + " " + detail);
        return;
    }
    const std::int64_t now = steady_ns();
    if (last_report_ns_ != 0 && now - last_report_ns_ < report_every_ns) {
        ++unreported_;
        return;
    }
    std::string suppressed =
        unreported_ ? "; " + std::to_string(unreported_) + " more since the last report" : std::string();
    ctx_.warn("connection from " + peer + ": " + detail + suppressed + " (" + totals() + ")");
    last_report_ns_ = now;
    unreported_ = 0;
}

std::string HttpServer::totals() const {
    const HttpServerCounters &t = counters_;
    return "totals: refused " + std::to_string(t.refused) + ", evicted " + std::to_string(t.evicted) +
           ", idle timeouts " + std::to_string(t.idle_timeouts) + ", request timeouts " +
           std::to_string(t.request_timeouts) + ", write timeouts " + std::to_string(t.write_timeouts) +
           ", rejected requests " + std::to_string(t.rejected) + ", accept errors " + std::to_string(t.accept_errors);
}

}  // namespace sonde::prometheus
