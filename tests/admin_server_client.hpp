// For the admin server's tests: a real AdminServer on an io_context run by
// its own thread, and a blocking HTTP client over TCP or a Unix socket.
#pragma once

#include "control/admin_server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace admin_test {

// An AdminServer serving on an io_context thread; stopped in the order the
// server's contract asks: the server first, then the loop.
struct RunningServer {
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
    std::thread loop{[this] { io.run(); }};
    std::unique_ptr<sonde::core::AdminServer> server;

    RunningServer(const sonde::core::AdminServerOptions &options, sonde::core::AdminHandler handler) {
        try {
            server = std::make_unique<sonde::core::AdminServer>(io, options, std::move(handler));
        } catch (...) {
            stop();
            throw;
        }
    }
    ~RunningServer() { stop(); }
    void stop() {
        server.reset();
        work.reset();
        io.stop();
        if (loop.joinable()) loop.join();
    }
};

inline int connect_tcp(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
        ::close(fd);
        throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
    }
    return fd;
}

inline int connect_unix(const std::string &path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
        ::close(fd);
        throw std::runtime_error("connect to " + path + ": " + std::strerror(errno));
    }
    return fd;
}

inline void send_all(int fd, const std::string &bytes) {
    for (std::size_t sent = 0; sent < bytes.size();) {
        ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
        sent += static_cast<std::size_t>(n);
    }
}

// Whether bytes (or the end of the stream) arrive within `timeout_ms`.
inline bool readable_within(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
}

struct Reply {
    int status = 0;  // 0: the connection ended (or 5 s passed) before a whole answer
    std::string headers;
    std::string body;
};

// Reads one answer (status line, headers, Content-Length bytes of body).
// `pending` holds bytes read past it, for the next call.
inline Reply read_reply(int fd, std::string &pending) {
    Reply reply;
    for (;;) {
        std::size_t end = pending.find("\r\n\r\n");
        if (end != std::string::npos) {
            std::string head = pending.substr(0, end + 2);
            std::size_t at = head.find("Content-Length: ");
            std::size_t length = at == std::string::npos ? 0 : std::stoul(head.substr(at + 16));
            if (pending.size() >= end + 4 + length) {
                reply.status = std::stoi(head.substr(9, 3));
                reply.headers = head;
                reply.body = pending.substr(end + 4, length);
                pending.erase(0, end + 4 + length);
                return reply;
            }
        }
        if (!readable_within(fd, 5000)) return reply;
        char buffer[4096];
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) return reply;
        pending.append(buffer, static_cast<std::size_t>(n));
    }
}

// The connection was closed by the server within `timeout_ms` (reading
// whatever it still sent).
inline bool closed_within(int fd, int timeout_ms) {
    char buffer[4096];
    while (readable_within(fd, timeout_ms)) {
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) return true;
    }
    return false;
}

// One request on a new connection, its answer, the connection closed.
inline Reply exchange(int fd, const std::string &request) {
    send_all(fd, request);
    std::string pending;
    Reply reply = read_reply(fd, pending);
    ::close(fd);
    return reply;
}

inline std::string post(const std::string &target, const std::string &body, const std::string &extra_headers = "") {
    return "POST " + target + " HTTP/1.1\r\nHost: sonde\r\nContent-Type: application/json\r\n" + extra_headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

inline std::string get(const std::string &target) { return "GET " + target + " HTTP/1.1\r\nHost: sonde\r\n\r\n"; }

}  // namespace admin_test
