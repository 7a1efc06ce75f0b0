// The admin server's connections: accepting, moving bytes between sockets
// and HttpConnection, the request policy, deferred answers, timeouts and the
// connection cap. Every function of State here runs with `mutex` held, on
// the strand (or in the constructor and destructor of AdminServer).
#include "control/admin_server_state.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace sonde::core {

namespace {

constexpr std::int64_t report_every_ns = 10'000'000'000;  // at most one warning per 10 s
constexpr std::size_t answers_per_wakeup = 16;

// Best effort, never blocks: the socket is about to be closed anyway.
void send_last_words(asio::generic::stream_protocol::socket &socket, std::string_view text) {
    (void)!::send(socket.native_handle(), text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

std::string json_error(const std::string &message) {
    std::string out = "{\"error\":\"";
    for (char ch : message) {
        if (ch == '"' || ch == '\\') out += '\\';
        if (static_cast<unsigned char>(ch) >= 0x20) out += ch;
    }
    return out + "\"}\n";
}

// Equal without an early exit: the time taken depends on the length of
// `presented`, never on how much of `expected` it matches.
bool same_token(std::string_view expected, std::string_view presented) {
    unsigned char difference = expected.size() == presented.size() ? 0 : 1;
    for (std::size_t i = 0; i < presented.size(); ++i)
        difference |= static_cast<unsigned char>(expected[i % expected.size()] ^ presented[i]);
    return difference == 0 && !expected.empty();
}

std::string tcp_peer_text(const asio::ip::tcp::endpoint &endpoint) {
    const auto address = endpoint.address();
    std::string host = address.to_string();
    if (address.is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(endpoint.port());
}

}  // namespace

std::int64_t admin_steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

AdminConnection::AdminConnection(std::uint64_t id, asio::generic::stream_protocol::socket socket,
                                 AdminListener listener, std::string peer, std::optional<uid_t> peer_uid,
                                 const http::HttpLimits &limits)
    : id(id), socket(std::move(socket)), listener(listener), peer(std::move(peer)), peer_uid(peer_uid),
      http(limits), phase_since(admin_steady_ns()) {}

void AdminConnection::update_phase(std::int64_t now) {
    Phase next = writing || !http.unwritten().empty() ? Phase::writing
                 : http.awaiting_answer()              ? Phase::answering
                 : http.mid_request()                  ? Phase::receiving
                                                       : Phase::idle;
    if (next != phase) {
        phase = next;
        phase_since = now;
    }
}

AdminServer::State::State(asio::io_context &io, AdminServerOptions options, AdminHandler handler,
                          std::shared_ptr<spdlog::logger> logger)
    : io(io), strand(asio::make_strand(io)), options(std::move(options)), handler(std::move(handler)),
      logger(std::move(logger)), own_uid(::geteuid()), sweep_timer(strand) {
    std::uint64_t shortest = std::min({this->options.idle_timeout_ns, this->options.request_timeout_ns,
                                       this->options.write_timeout_ns, this->options.answer_timeout_ns});
    sweep_interval_ns = std::clamp<std::uint64_t>(shortest / 4, 10'000'000, 1'000'000'000);
}

void AdminServer::State::start() {
    if (tcp_acceptor) accept_next(*tcp_acceptor, AdminListener::tcp);
    if (unix_acceptor) accept_next(*unix_acceptor, AdminListener::unix_socket);
    arm_sweep();
}

void AdminServer::State::stop() {
    stopped = true;
    boost::system::error_code ignored;
    if (tcp_acceptor) tcp_acceptor->close(ignored);
    if (unix_acceptor) unix_acceptor->close(ignored);
    remove_socket_file();
    sweep_timer.cancel();
    while (!connections.empty()) close(connections.begin()->second);
}

template <class Acceptor>
void AdminServer::State::accept_next(Acceptor &acceptor, AdminListener listener) {
    acceptor.async_accept(asio::any_io_executor(strand), [self = shared_from_this(), &acceptor, listener](
                                                             boost::system::error_code ec, auto socket) {
        std::lock_guard lock(self->mutex);
        if (self->stopped) return;
        if (ec) {
            // Out of descriptors, or another error that would recur at once:
            // accepting pauses until the next sweep, so that it cannot spin.
            ++self->counters.accept_errors;
            if ((ec == boost::system::errc::too_many_files_open || ec == boost::system::errc::too_many_files_open_in_system) &&
                self->make_room())
                return self->accept_next(acceptor, listener);
            self->report(Cut::accept, "-", "accept failed: " + ec.message() + "; accepting again in a moment");
            self->accept_paused = true;
            return;
        }
        std::string peer;
        std::optional<uid_t> peer_uid;
        if constexpr (std::is_same_v<Acceptor, asio::ip::tcp::acceptor>) {
            boost::system::error_code peer_ec;
            auto endpoint = socket.remote_endpoint(peer_ec);
            peer = peer_ec ? std::string("tcp peer gone") : tcp_peer_text(endpoint);
        } else {
            ucred credentials{};
            socklen_t length = sizeof credentials;
            if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0) {
                peer = "uid " + std::to_string(credentials.uid) + " pid " + std::to_string(credentials.pid);
                peer_uid = credentials.uid;
            } else {
                peer = "unix peer of unknown uid";  // no uid: every change is refused
            }
        }
        self->admit(asio::generic::stream_protocol::socket(std::move(socket)), listener, std::move(peer), peer_uid);
        self->accept_next(acceptor, listener);
    });
}

void AdminServer::State::admit(asio::generic::stream_protocol::socket socket, AdminListener listener,
                               std::string peer, std::optional<uid_t> peer_uid) {
    if (connections.size() >= options.max_connections && !make_room()) {
        send_last_words(socket, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        ++counters.refused;
        report(Cut::refused, peer, "refused: " + std::to_string(connections.size()) +
                                       " connections (max_connections), all busy");
        return;  // the socket closes as it goes out of scope
    }
    ++counters.accepted;
    auto c = std::make_shared<AdminConnection>(next_connection_id++, std::move(socket), listener, std::move(peer),
                                               peer_uid, options.limits);
    connections[c->id] = c;
    service(c);
}

// At the cap: closes the longest-idle connection, else the one that has
// waited longest for the rest of a request. Connections busy with an answer
// (being written or still being computed) are left alone; their timeouts
// bound them.
bool AdminServer::State::make_room() {
    std::shared_ptr<AdminConnection> victim;
    for (const auto &[id, c] : connections) {
        if (c->phase != AdminConnection::Phase::idle && c->phase != AdminConnection::Phase::receiving) continue;
        if (!victim || (c->phase == AdminConnection::Phase::idle && victim->phase != AdminConnection::Phase::idle) ||
            (c->phase == victim->phase && c->phase_since < victim->phase_since))
            victim = c;
    }
    if (!victim) return false;
    cut(victim, Cut::evicted,
        std::string("closed to admit a new connection at max_connections (") +
            (victim->phase == AdminConnection::Phase::idle ? "idle" : "request incomplete") + " for " +
            std::to_string((admin_steady_ns() - victim->phase_since) / 1'000'000) + " ms)");
    return true;
}

void AdminServer::State::service(const std::shared_ptr<AdminConnection> &c) {
    if (c->closed) return;
    bool had_rejection = !c->http.rejection().empty();
    std::size_t answered = c->http.answer(
        answers_per_wakeup, [this, &c](const http::HttpRequest &request, http::HttpResponse &response) {
            handle(c, request, response);
        });
    if (!had_rejection && !c->http.rejection().empty()) {
        ++counters.rejected;
        report(Cut::rejected, c->peer, c->http.rejection());
    }
    if (!c->writing && !c->http.unwritten().empty()) start_write(c);
    if (c->http.finished() && !c->writing) return close(c);
    if (!c->reading && c->http.input_room() > 0) start_read(c);
    const bool more_to_answer = answered == answers_per_wakeup;
    if (more_to_answer)  // yield to the io loop, then carry on
        asio::post(strand, [self = shared_from_this(), c] {
            std::lock_guard lock(self->mutex);
            if (!self->stopped) self->service(c);
        });
    c->update_phase(admin_steady_ns());
    if (!c->reading && !c->writing && !more_to_answer && !c->http.awaiting_answer()) close(c);  // stuck
}

void AdminServer::State::start_read(const std::shared_ptr<AdminConnection> &c) {
    c->reading = true;
    std::size_t room = std::min(c->http.input_room(), c->read_buffer.size());
    c->socket.async_read_some(asio::buffer(c->read_buffer.data(), room),
                              [self = shared_from_this(), c](boost::system::error_code ec, std::size_t n) {
                                  std::lock_guard lock(self->mutex);
                                  c->reading = false;
                                  if (self->stopped || c->closed) return;
                                  if (ec == asio::error::eof) {
                                      c->http.end_of_input();
                                  } else if (ec) {
                                      return self->close(c);  // reset by the peer
                                  } else {
                                      c->http.receive(std::string_view(c->read_buffer.data(), n));
                                  }
                                  self->service(c);
                              });
}

void AdminServer::State::start_write(const std::shared_ptr<AdminConnection> &c) {
    c->writing = true;
    c->sending.assign(c->http.unwritten());  // the connection's output may move while this is written
    asio::async_write(c->socket, asio::buffer(c->sending),
                      [self = shared_from_this(), c](boost::system::error_code ec, std::size_t n) {
                          std::lock_guard lock(self->mutex);
                          c->writing = false;
                          if (self->stopped || c->closed) return;
                          if (ec) return self->close(c);  // the peer is gone
                          c->http.mark_written(n);
                          c->sending.clear();
                          self->service(c);
                      });
}

void AdminServer::State::handle(const std::shared_ptr<AdminConnection> &c, const http::HttpRequest &request,
                                http::HttpResponse &response) {
    if (refused_by_policy(*c, request, response)) return;
    AdminRequest admin;
    admin.method = request.method;
    admin.target = request.target;
    admin.body = request.body;
    admin.content_type = request.content_type;
    admin.accept = request.accept;
    admin.listener = c->listener == AdminListener::tcp ? "tcp" : "unix";
    admin.peer = c->peer;
    const std::uint64_t seq = ++c->request_seq;
    admin.respond = [weak = weak_from_this(), id = c->id, seq](http::HttpResponse answer) {
        if (auto self = weak.lock())
            asio::post(self->strand, [self, id, seq, answer = std::move(answer)] {
                std::lock_guard lock(self->mutex);
                if (!self->stopped) self->complete(id, seq, answer);
            });
    };
    response.deferred = true;  // even an answer given at once goes through respond
    handler(std::move(admin));
}

bool AdminServer::State::refused_by_policy(AdminConnection &c, const http::HttpRequest &request,
                                           http::HttpResponse &response) {
    if (request.method == "GET" || request.method == "HEAD") return false;
    response.content_type = "application/json";
    if (c.listener == AdminListener::unix_socket) {
        if (c.peer_uid && (*c.peer_uid == 0 || *c.peer_uid == own_uid)) return false;
        response.status = 403;
        std::string who = c.peer_uid ? "uid " + std::to_string(*c.peer_uid) : std::string("a peer of unknown uid");
        response.body = json_error(who + " may not change the agent: only root and uid " + std::to_string(own_uid) +
                                   " (the agent's own) may");
        ++counters.forbidden;
        report(Cut::forbidden, c.peer, request.method + " " + request.target + " refused: not root or the agent's uid");
        return true;
    }
    if (options.token.empty()) {
        response.status = 403;
        response.body = json_error("changes over TCP need [admin] token_file; use the Unix socket (the sonde CLI)");
        ++counters.forbidden;
        report(Cut::forbidden, c.peer, request.method + " " + request.target + " refused: no token configured for TCP");
        return true;
    }
    constexpr std::string_view scheme = "bearer ";
    std::string_view presented = request.authorization;
    bool is_bearer = presented.size() > scheme.size() &&
                     std::equal(scheme.begin(), scheme.end(), presented.begin(), [](char lower, char sent) {
                         return lower == static_cast<char>(std::tolower(static_cast<unsigned char>(sent)));
                     });
    if (is_bearer && same_token(options.token, presented.substr(scheme.size()))) return false;
    response.status = 401;
    response.www_authenticate = "Bearer realm=\"sonde\"";
    response.body = json_error(is_bearer ? "wrong bearer token" : "changes over TCP need Authorization: Bearer <token>");
    ++counters.unauthorized;
    report(Cut::unauthorized, c.peer,
           request.method + " " + request.target + (is_bearer ? " refused: wrong token" : " refused: no bearer token"));
    return true;
}

void AdminServer::State::complete(std::uint64_t connection_id, std::uint64_t request_seq,
                                  const http::HttpResponse &response) {
    auto it = connections.find(connection_id);
    if (it == connections.end()) return;  // closed meanwhile
    auto c = it->second;
    if (c->request_seq != request_seq || !c->http.complete(response)) return;  // answered already (504)
    service(c);
}

void AdminServer::State::arm_sweep() {
    sweep_timer.expires_after(std::chrono::nanoseconds(sweep_interval_ns));
    sweep_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        std::lock_guard lock(self->mutex);
        if (ec || self->stopped) return;
        self->sweep();
        self->arm_sweep();
    });
}

void AdminServer::State::sweep() {
    const std::int64_t now = admin_steady_ns();
    std::vector<std::pair<std::shared_ptr<AdminConnection>, Cut>> expired;
    for (const auto &[id, c] : connections) {
        const auto waited = static_cast<std::uint64_t>(now - c->phase_since);
        switch (c->phase) {
            case AdminConnection::Phase::idle:
                if (waited > options.idle_timeout_ns) expired.emplace_back(c, Cut::idle);
                break;
            case AdminConnection::Phase::receiving:
                if (waited > options.request_timeout_ns) expired.emplace_back(c, Cut::request);
                break;
            case AdminConnection::Phase::answering:
                if (waited > options.answer_timeout_ns) expired.emplace_back(c, Cut::answer);
                break;
            case AdminConnection::Phase::writing:
                if (waited > options.write_timeout_ns) expired.emplace_back(c, Cut::write);
                break;
        }
    }
    for (auto &[c, why] : expired) {
        if (why == Cut::answer) {  // the client gets an answer; the connection goes on
            ++counters.answer_timeouts;
            report(why, c->peer, "no answer from the agent within answer_timeout: 504");
            http::HttpResponse timeout;
            timeout.status = 504;
            timeout.content_type = "application/json";
            timeout.body = json_error("the agent did not answer within answer_timeout");
            c->http.complete(timeout);
            service(c);
            continue;
        }
        if (why == Cut::request)
            send_last_words(c->socket, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        cut(c, why, why == Cut::idle      ? "idle past idle_timeout"
                    : why == Cut::request ? "request not complete within request_timeout"
                                          : "answer not taken within write_timeout");
    }
    if (unreported > 0 && now - last_report_ns >= report_every_ns) {
        logger->warn("admin: {} more connections or requests refused or cut since the last report ({})", unreported,
                     totals());
        last_report_ns = now;
        unreported = 0;
    }
    if (accept_paused) {
        accept_paused = false;
        if (tcp_acceptor) accept_next(*tcp_acceptor, AdminListener::tcp);
        if (unix_acceptor) accept_next(*unix_acceptor, AdminListener::unix_socket);
    }
}

void AdminServer::State::close(const std::shared_ptr<AdminConnection> &c) {
    if (c->closed) return;
    c->closed = true;
    boost::system::error_code ignored;
    c->socket.shutdown(asio::socket_base::shutdown_both, ignored);
    c->socket.close(ignored);
    connections.erase(c->id);
}

void AdminServer::State::cut(const std::shared_ptr<AdminConnection> &c, Cut why, const std::string &detail) {
    switch (why) {
        case Cut::evicted: ++counters.evicted; break;
        case Cut::idle: ++counters.idle_timeouts; break;
        case Cut::request: ++counters.request_timeouts; break;
        case Cut::write: ++counters.write_timeouts; break;
        default: break;
    }
    std::string peer = c->peer;
    close(c);
    report(why, peer, detail);
}

// One warning per report_every_ns at most; the refusals in between are
// summed into the next line. Closing an idle connection is routine: debug.
void AdminServer::State::report(Cut why, const std::string &peer, const std::string &detail) {
    if (why == Cut::idle) {
        logger->debug("admin: connection from {} {}", peer, detail);
        return;
    }
    const std::int64_t now = admin_steady_ns();
    if (last_report_ns != 0 && now - last_report_ns < report_every_ns) {
        ++unreported;
        return;
    }
    std::string suppressed = unreported ? "; " + std::to_string(unreported) + " more since the last report" : "";
    logger->warn("admin: {}: {}{} ({})", peer, detail, suppressed, totals());
    last_report_ns = now;
    unreported = 0;
}

std::string AdminServer::State::totals() const {
    const AdminServerCounters &t = counters;
    return "totals: refused " + std::to_string(t.refused) + ", evicted " + std::to_string(t.evicted) +
           ", forbidden " + std::to_string(t.forbidden) + ", unauthorized " + std::to_string(t.unauthorized) +
           ", idle timeouts " + std::to_string(t.idle_timeouts) + ", request timeouts " +
           std::to_string(t.request_timeouts) + ", write timeouts " + std::to_string(t.write_timeouts) +
           ", answer timeouts " + std::to_string(t.answer_timeouts) + ", rejected requests " +
           std::to_string(t.rejected) + ", accept errors " + std::to_string(t.accept_errors);
}

}  // namespace sonde::core
