#include "http_client.hpp"

#include <netdb.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sonde::otlp {

Endpoint resolve_endpoint(const std::string &url) {
    Endpoint e;
    std::string rest;
    if (url.rfind("https://", 0) == 0) {
        e.tls = true;
        rest = url.substr(8);
    } else if (url.rfind("http://", 0) == 0) {
        rest = url.substr(7);
    } else {
        throw ConfigError("endpoint", "expected http://host:port or https://host:port");
    }
    if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
    std::size_t colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find(']', colon) != std::string::npos) colon = std::string::npos;  // [v6]
    e.host = colon == std::string::npos ? rest : rest.substr(0, colon);
    std::string port = colon == std::string::npos ? (e.tls ? "443" : "80") : rest.substr(colon + 1);
    if (e.host.size() > 2 && e.host.front() == '[') e.host = e.host.substr(1, e.host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *found = nullptr;
    if (e.host.empty() || getaddrinfo(e.host.c_str(), port.c_str(), &hints, &found) != 0 || !found)
        throw ConfigError("endpoint", "cannot resolve \"" + rest + "\"");
    std::memcpy(&e.address, found->ai_addr, found->ai_addrlen);
    e.length = found->ai_addrlen;
    freeaddrinfo(found);
    e.host_header = rest;
    return e;
}

HttpClient::HttpClient(Context &ctx, Endpoint endpoint, const TlsContext *tls, std::uint64_t timeout_ns)
    : ctx_(ctx), endpoint_(std::move(endpoint)), tls_context_(tls), timeout_ns_(timeout_ns) {}

HttpClient::~HttpClient() { close_socket(); }

void HttpClient::post(const std::string &path, const std::vector<std::pair<std::string, std::string>> &headers,
                      const std::string &body, std::function<void(HttpResult)> done) {
    done_ = std::move(done);
    response_ = std::make_unique<ResponseReader>();
    out_ = "POST " + path + " HTTP/1.1\r\nHost: " + endpoint_.host_header + "\r\n";
    for (const auto &[name, value] : headers) out_ += name + ": " + value + "\r\n";
    out_ += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: keep-alive\r\n\r\n";
    out_ += body;
    written_ = 0;
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
    fd_ = ::socket(endpoint_.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return finish({0, std::string("socket: ") + std::strerror(errno), "", ""}, false);
    // A request leaves in a few writes; without this its last segment waits
    // for the receiver's delayed ACK (40 ms a request on Linux).
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<sockaddr *>(&endpoint_.address), endpoint_.length) == 0) return connected();
    if (errno != EINPROGRESS) return finish({0, std::string("connect: ") + std::strerror(errno), "", ""}, false);
    watch(SONDE_FD_WRITABLE, &HttpClient::connected);
}

void HttpClient::connected() {
    int error = 0;
    socklen_t size = sizeof error;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error) return finish({0, std::string("connect: ") + std::strerror(error), "", ""}, false);
    if (tls_context_) {
        tls_ = std::make_unique<TlsConnection>(*tls_context_, fd_);
        return handshake();
    }
    connected_ = true;
    write_some();
}

void HttpClient::handshake() {
    IoStep step = tls_->handshake();
    if (wait_for(step, &HttpClient::handshake)) return;
    if (step.kind == IoStep::closed) return finish({0, "connection closed during the TLS handshake", "", ""}, false);
    if (step.kind == IoStep::failed) return finish({0, step.error, "", ""}, false);
    connected_ = true;
    write_some();
}

bool HttpClient::wait_for(const IoStep &step, void (HttpClient::*next)()) {
    if (step.kind == IoStep::want_read) watch(SONDE_FD_READABLE, next);
    else if (step.kind == IoStep::want_write) watch(SONDE_FD_WRITABLE, next);
    else return false;
    return true;
}

IoStep HttpClient::send_some(const char *data, std::size_t size) {
    if (tls_) return tls_->write(data, size);
    for (;;) {
        ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
        if (n >= 0) return {IoStep::done, static_cast<std::size_t>(n), {}};
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStep::want_write, 0, {}};
        return {IoStep::failed, 0, std::string("send: ") + std::strerror(errno)};
    }
}

IoStep HttpClient::receive_some(char *data, std::size_t size) {
    if (tls_) return tls_->read(data, size);
    for (;;) {
        ssize_t n = ::recv(fd_, data, size, 0);
        if (n > 0) return {IoStep::done, static_cast<std::size_t>(n), {}};
        if (n == 0) return {IoStep::closed, 0, {}};
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStep::want_read, 0, {}};
        return {IoStep::failed, 0, std::string("recv: ") + std::strerror(errno)};
    }
}

void HttpClient::write_some() {
    while (written_ < out_.size()) {
        IoStep step = send_some(out_.data() + written_, out_.size() - written_);
        if (wait_for(step, &HttpClient::write_some)) return;
        if (step.kind != IoStep::done) return finish({0, step.error.empty() ? "connection closed" : step.error, "", ""}, false);
        written_ += step.bytes;
    }
    watch(SONDE_FD_READABLE, &HttpClient::read_some);
}

void HttpClient::read_some() {
    char buffer[16384];
    ResponseReader::State state = ResponseReader::State::need_more;
    bool closed = false;
    while (state == ResponseReader::State::need_more) {
        IoStep step = receive_some(buffer, sizeof buffer);
        if (step.kind == IoStep::done) state = response_->feed({buffer, step.bytes});
        else if (step.kind == IoStep::want_read) return watch(SONDE_FD_READABLE, &HttpClient::read_some);
        else if (step.kind == IoStep::want_write) return watch(SONDE_FD_WRITABLE, &HttpClient::read_some);
        else if (step.kind == IoStep::closed) state = response_->finish_at_eof(), closed = true;
        else return finish({0, step.error, "", ""}, false);
    }
    if (state == ResponseReader::State::failed) return finish({0, response_->error(), "", ""}, false);
    finish(response_->result(), !closed && response_->keep_alive());
}

void HttpClient::finish(HttpResult result, bool keep_connection) {
    if (!keep_connection) close_socket();
    auto done = std::move(done_);
    done_ = nullptr;
    response_.reset();
    if (done) done(std::move(result));
}

void HttpClient::close_socket() {
    if (fd_ < 0) return;
    ctx_.cancel_once(watch_);
    tls_.reset();
    ::close(fd_);
    fd_ = -1;
    connected_ = false;
}

}  // namespace sonde::otlp
