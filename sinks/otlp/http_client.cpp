#include "http_client.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <netdb.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sonde::otlp {

namespace http = boost::beast::http;

struct HttpClient::Exchange {
    http::response_parser<http::string_body> parser;
    Exchange() { parser.body_limit(1 << 20); }
};

void resolve_endpoint(const std::string &endpoint, sockaddr_storage &address, socklen_t &length,
                      std::string &host_header) {
    if (endpoint.rfind("https://", 0) == 0)
        throw ConfigError("endpoint", "https needs TLS, which this version of the otlp sink does not have; use http://");
    if (endpoint.rfind("http://", 0) != 0) throw ConfigError("endpoint", "expected http://host:port");
    std::string rest = endpoint.substr(7);
    if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
    std::size_t colon = rest.rfind(':');
    std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
    std::string port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *found = nullptr;
    if (host.empty() || getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || !found)
        throw ConfigError("endpoint", "cannot resolve \"" + rest + "\"");
    std::memcpy(&address, found->ai_addr, found->ai_addrlen);
    length = found->ai_addrlen;
    freeaddrinfo(found);
    host_header = rest;
}

HttpClient::HttpClient(Context &ctx, sockaddr_storage address, socklen_t length, std::string host_header,
                       std::uint64_t timeout_ns)
    : ctx_(ctx), address_(address), length_(length), host_header_(std::move(host_header)), timeout_ns_(timeout_ns) {}

HttpClient::~HttpClient() { close_socket(); }

void HttpClient::post(const std::string &path, const std::vector<std::pair<std::string, std::string>> &headers,
                      const std::string &body, std::function<void(HttpResult)> done) {
    done_ = std::move(done);
    exchange_ = std::make_shared<Exchange>();
    out_ = "POST " + path + " HTTP/1.1\r\nHost: " + host_header_ + "\r\n";
    for (const auto &[name, value] : headers) out_ += name + ": " + value + "\r\n";
    out_ += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: keep-alive\r\n\r\n";
    out_ += body;
    written_ = 0;
    in_.clear();
    deadline_ns_ = now_ns() + static_cast<std::int64_t>(timeout_ns_);
    if (fd_ >= 0 && connected_) write_some();
    else connect_now();
}

void HttpClient::tick() {
    if (done_ && now_ns() > deadline_ns_) finish({0, "timed out", "", ""}, false);
}

void HttpClient::watch(std::uint32_t events, void (HttpClient::*next)()) {
    watch_ = ctx_.when_ready_once(fd_, events, [this, next](std::uint32_t) { (this->*next)(); });
}

void HttpClient::connect_now() {
    close_socket();
    fd_ = ::socket(address_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return finish({0, std::string("socket: ") + std::strerror(errno), "", ""}, false);
    if (::connect(fd_, reinterpret_cast<sockaddr *>(&address_), length_) == 0) return connected();
    if (errno != EINPROGRESS) return finish({0, std::string("connect: ") + std::strerror(errno), "", ""}, false);
    watch(SONDE_FD_WRITABLE, &HttpClient::connected);
}

void HttpClient::connected() {
    int error = 0;
    socklen_t size = sizeof error;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error) return finish({0, std::string("connect: ") + std::strerror(error), "", ""}, false);
    connected_ = true;
    write_some();
}

void HttpClient::write_some() {
    while (written_ < out_.size()) {
        ssize_t n = ::send(fd_, out_.data() + written_, out_.size() - written_, MSG_NOSIGNAL);
        if (n > 0) {
            written_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return watch(SONDE_FD_WRITABLE, &HttpClient::write_some);
        return finish({0, std::string("send: ") + std::strerror(errno), "", ""}, false);
    }
    watch(SONDE_FD_READABLE, &HttpClient::read_some);
}

void HttpClient::read_some() {
    char buffer[16384];
    for (;;) {
        ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n > 0) {
            in_.append(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n == 0) {  // closed: complete only if the parser can finish on EOF
            boost::beast::error_code ec;
            while (!in_.empty() && !ec && !exchange_->parser.is_done()) {
                std::size_t used = exchange_->parser.put(boost::asio::buffer(in_), ec);
                in_.erase(0, used);
                if (used == 0) break;
            }
            if (!exchange_->parser.is_done()) exchange_->parser.put_eof(ec);
            if (exchange_->parser.is_done()) break;
            return finish({0, "connection closed before the answer", "", ""}, false);
        }
        return finish({0, std::string("recv: ") + std::strerror(errno), "", ""}, false);
    }
    boost::beast::error_code ec;
    // put() takes one piece at a time (header, chunk header, chunk...).
    while (!in_.empty() && !exchange_->parser.is_done()) {
        std::size_t used = exchange_->parser.put(boost::asio::buffer(in_), ec);
        in_.erase(0, used);
        if (ec || used == 0) break;
    }
    if (ec == http::error::need_more || (!ec && !exchange_->parser.is_done()))
        return watch(SONDE_FD_READABLE, &HttpClient::read_some);
    if (ec) return finish({0, "malformed answer: " + ec.message(), "", ""}, false);
    const auto &m = exchange_->parser.get();
    HttpResult result{static_cast<int>(m.result_int()), "", m.body(), std::string(m[http::field::retry_after])};
    finish(std::move(result), m.keep_alive());
}

void HttpClient::finish(HttpResult result, bool keep_connection) {
    if (!keep_connection) close_socket();
    auto done = std::move(done_);
    done_ = nullptr;
    exchange_.reset();
    if (done) done(std::move(result));
}

void HttpClient::close_socket() {
    if (fd_ < 0) return;
    ctx_.cancel_once(watch_);
    ::close(fd_);
    fd_ = -1;
    connected_ = false;
}

}  // namespace sonde::otlp
