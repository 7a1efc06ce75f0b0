#include "http_server.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace sonde::prometheus {

namespace http = boost::beast::http;

namespace {

constexpr std::size_t max_request_bytes = 16 * 1024;

const char *reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 503: return "Service Unavailable";
        default: return "Error";
    }
}

// "127.0.0.1:9464" or "[::1]:9464" -> socket address.
bool parse_listen(const std::string &listen, sockaddr_storage &addr, socklen_t &length) {
    std::size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return false;
    std::string host = listen.substr(0, colon), port_text = listen.substr(colon + 1);
    char *end = nullptr;
    long port = std::strtol(port_text.c_str(), &end, 10);
    if (port_text.empty() || *end || port < 0 || port > 65535) return false;
    addr = {};
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        auto *a6 = reinterpret_cast<sockaddr_in6 *>(&addr);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(static_cast<std::uint16_t>(port));
        length = sizeof *a6;
        return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6->sin6_addr) == 1;
    }
    auto *a4 = reinterpret_cast<sockaddr_in *>(&addr);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<std::uint16_t>(port));
    length = sizeof *a4;
    return inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1;
}

}  // namespace

struct HttpServer::Connection {
    int fd = -1;
    std::uint64_t watch = 0;
    std::string in;
    std::optional<http::request_parser<http::string_body>> parser;
    std::string out;
    std::size_t written = 0;
    bool keep_alive = true;

    void reset_parser() {
        parser.emplace();
        parser->body_limit(max_request_bytes);
        parser->header_limit(max_request_bytes);
    }
};

HttpServer::HttpServer(Context &ctx, const std::string &listen, std::size_t max_connections, Handler handler)
    : ctx_(ctx), max_connections_(max_connections), handler_(std::move(handler)) {
    sockaddr_storage addr{};
    socklen_t length = 0;
    if (!parse_listen(listen, addr, length))
        throw ConfigError("listen", "expected \"host:port\" with a numeric IPv4 or [IPv6] host, got \"" + listen + "\"");
    listen_fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw Unavailable(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr *>(&addr), length) != 0 || ::listen(listen_fd_, 64) != 0) {
        int err = errno;
        ::close(listen_fd_);
        listen_fd_ = -1;
        throw Unavailable("cannot listen on " + listen + ": " + std::strerror(err));
    }
    sockaddr_storage bound{};
    socklen_t bound_length = sizeof bound;
    getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&bound), &bound_length);
    port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
    arm_accept();
}

HttpServer::~HttpServer() {
    while (!connections_.empty()) close(connections_.begin()->first);
    if (listen_fd_ >= 0) {
        ctx_.cancel_once(accept_watch_);
        ::close(listen_fd_);
    }
}

void HttpServer::arm_accept() {
    accept_watch_ = ctx_.when_ready_once(listen_fd_, SONDE_FD_READABLE, [this](std::uint32_t) { accept_ready(); });
}

void HttpServer::accept_ready() {
    for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;  // EAGAIN: all accepted; other errors: the next readiness retries
        if (connections_.size() >= max_connections_) {
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            (void)!::write(fd, busy, sizeof busy - 1);
            ::close(fd);
            continue;
        }
        auto c = std::make_shared<Connection>();
        c->fd = fd;
        c->reset_parser();
        connections_[fd] = c;
        c->watch = ctx_.when_ready_once(fd, SONDE_FD_READABLE, [this, c](std::uint32_t) { read_ready(c); });
    }
    arm_accept();
}

void HttpServer::read_ready(const std::shared_ptr<Connection> &c) {
    char buffer[4096];
    for (;;) {
        ssize_t n = ::read(c->fd, buffer, sizeof buffer);
        if (n > 0) {
            c->in.append(buffer, static_cast<std::size_t>(n));
            if (c->in.size() > max_request_bytes) break;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        close(c->fd);  // closed by the peer, or an error
        return;
    }
    boost::beast::error_code ec;
    // put() takes one piece at a time (header, then body).
    while (!c->in.empty() && !c->parser->is_done()) {
        std::size_t used = c->parser->put(boost::asio::buffer(c->in), ec);
        c->in.erase(0, used);
        if (ec || used == 0) break;
    }
    if (!ec && !c->parser->is_done()) ec = http::error::need_more;
    if (ec == http::error::need_more && c->in.size() <= max_request_bytes) {
        c->watch = ctx_.when_ready_once(c->fd, SONDE_FD_READABLE, [this, c](std::uint32_t) { read_ready(c); });
        return;
    }
    HttpRequest request;
    if (ec || !c->parser->is_done()) {
        c->keep_alive = false;
        request.method = "";  // answered with 400
    } else {
        const auto &m = c->parser->get();
        request.method = std::string(m.method_string());
        request.target = std::string(m.target());
        request.accept = std::string(m[http::field::accept]);
        request.accept_encoding = std::string(m[http::field::accept_encoding]);
        c->keep_alive = m.keep_alive();
    }
    respond(c, request);
}

void HttpServer::respond(const std::shared_ptr<Connection> &c, const HttpRequest &request) {
    HttpResponse response;
    if (request.method.empty()) {
        response.status = 400;
        response.body = "malformed request\n";
    } else {
        handler_(request, response);
    }
    c->out = "HTTP/1.1 " + std::to_string(response.status) + " " + reason(response.status) + "\r\n";
    c->out += "Content-Type: " + response.content_type + "\r\n";
    if (!response.content_encoding.empty()) c->out += "Content-Encoding: " + response.content_encoding + "\r\n";
    c->out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    c->out += c->keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    c->out += response.body;
    c->written = 0;
    write_ready(c);
}

void HttpServer::write_ready(const std::shared_ptr<Connection> &c) {
    while (c->written < c->out.size()) {
        ssize_t n = ::send(c->fd, c->out.data() + c->written, c->out.size() - c->written, MSG_NOSIGNAL);
        if (n > 0) {
            c->written += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->watch = ctx_.when_ready_once(c->fd, SONDE_FD_WRITABLE, [this, c](std::uint32_t) { write_ready(c); });
            return;
        }
        close(c->fd);
        return;
    }
    if (!c->keep_alive) {
        close(c->fd);
        return;
    }
    c->out.clear();
    c->reset_parser();
    if (!c->in.empty()) {  // a pipelined request is already here
        read_ready(c);
        return;
    }
    c->watch = ctx_.when_ready_once(c->fd, SONDE_FD_READABLE, [this, c](std::uint32_t) { read_ready(c); });
}

void HttpServer::close(int fd) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    ctx_.cancel_once(it->second->watch);
    ::close(fd);
    connections_.erase(it);
}

}  // namespace sonde::prometheus
