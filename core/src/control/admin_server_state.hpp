// Internal to the admin server (admin_server*.cpp): the state its
// asynchronous operations share. Everything here is touched on the server's
// strand with `mutex` held; the destructor of AdminServer takes the same
// mutex, so it may run on any thread while operations are in flight.
#pragma once

#include "control/admin_server.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <sys/types.h>

#include <array>
#include <map>
#include <mutex>
#include <optional>

namespace sonde::core {

namespace asio = boost::asio;

enum class AdminListener { unix_socket, tcp };

struct AdminConnection {
    AdminConnection(std::uint64_t id, asio::generic::stream_protocol::socket socket, AdminListener listener,
                    std::string peer, std::optional<uid_t> peer_uid, const http::HttpLimits &limits);

    // What the connection waits for, and since when (steady clock, ns): the
    // timeout that applies follows from it.
    enum class Phase { idle, receiving, answering, writing };
    void update_phase(std::int64_t now);

    std::uint64_t id;
    asio::generic::stream_protocol::socket socket;
    AdminListener listener;
    std::string peer;
    std::optional<uid_t> peer_uid;  // the Unix socket's SO_PEERCRED uid
    http::HttpConnection http;
    std::array<char, 16384> read_buffer{};
    std::string sending;  // the bytes async_write holds; marked written when it completes
    bool reading = false;
    bool writing = false;
    bool closed = false;
    std::uint64_t request_seq = 0;  // the deferred request a respond() must match
    Phase phase = Phase::idle;
    std::int64_t phase_since = 0;
};

struct AdminServer::State : std::enable_shared_from_this<AdminServer::State> {
    State(asio::io_context &io, AdminServerOptions options, AdminHandler handler,
          std::shared_ptr<spdlog::logger> logger);

    enum class Cut { refused, evicted, idle, request, write, answer, rejected, forbidden, unauthorized, accept };

    // Listening (admin_server_listeners.cpp). Each returns "" or why not.
    std::string listen_tcp(std::uint16_t &bound_port);
    std::string listen_unix(std::string &created_path);
    void remove_socket_file();

    // Connections (admin_server.cpp).
    void start();
    void stop();
    template <class Acceptor>
    void accept_next(Acceptor &acceptor, AdminListener listener);
    void admit(asio::generic::stream_protocol::socket socket, AdminListener listener, std::string peer,
               std::optional<uid_t> peer_uid);
    bool make_room();
    void service(const std::shared_ptr<AdminConnection> &c);
    void start_read(const std::shared_ptr<AdminConnection> &c);
    void start_write(const std::shared_ptr<AdminConnection> &c);
    void handle(const std::shared_ptr<AdminConnection> &c, const http::HttpRequest &request,
                http::HttpResponse &response);
    bool refused_by_policy(AdminConnection &c, const http::HttpRequest &request, http::HttpResponse &response);
    void complete(std::uint64_t connection_id, std::uint64_t request_seq, const http::HttpResponse &response);
    void arm_sweep();
    void sweep();
    void close(const std::shared_ptr<AdminConnection> &c);
    void cut(const std::shared_ptr<AdminConnection> &c, Cut why, const std::string &detail);
    void report(Cut why, const std::string &peer, const std::string &detail);
    std::string totals() const;

    asio::io_context &io;
    asio::strand<asio::io_context::executor_type> strand;
    AdminServerOptions options;
    AdminHandler handler;
    std::shared_ptr<spdlog::logger> logger;
    uid_t own_uid;

    std::mutex mutex;
    bool stopped = false;
    std::optional<asio::ip::tcp::acceptor> tcp_acceptor;
    std::optional<asio::local::stream_protocol::acceptor> unix_acceptor;
    std::optional<std::pair<dev_t, ino_t>> socket_file;  // the socket file this server made
    bool accept_paused = false;  // out of descriptors: accepting resumes at the next sweep
    asio::steady_timer sweep_timer;
    std::uint64_t sweep_interval_ns = 0;
    std::map<std::uint64_t, std::shared_ptr<AdminConnection>> connections;
    std::uint64_t next_connection_id = 1;
    AdminServerCounters counters;
    std::int64_t last_report_ns = 0;
    std::uint64_t unreported = 0;
};

std::int64_t admin_steady_ns();

}  // namespace sonde::core
