// A small HTTP/1.1 server for the exposition endpoint, driven entirely by
// the host's one-shot fd watches (no thread, no io_context of its own):
// non-blocking sockets, Beast's request parser, keep-alive, a cap on
// connections and on request size.
#pragma once

#include <sonde/sdk.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace sonde::prometheus {

struct HttpRequest {
    std::string method;
    std::string target;
    std::string accept;
    std::string accept_encoding;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string content_encoding;  // "gzip" or ""
    std::string body;
};

class HttpServer {
public:
    using Handler = std::function<void(const HttpRequest &, HttpResponse &)>;

    // Binds "host:port" (IPv4 or [IPv6]) and starts accepting; throws
    // ConfigError for a malformed address, Unavailable when it cannot bind.
    HttpServer(Context &ctx, const std::string &listen, std::size_t max_connections, Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer &) = delete;
    HttpServer &operator=(const HttpServer &) = delete;

    std::uint16_t port() const { return port_; }

private:
    struct Connection;
    void accept_ready();
    void arm_accept();
    void read_ready(const std::shared_ptr<Connection> &c);
    void write_ready(const std::shared_ptr<Connection> &c);
    void respond(const std::shared_ptr<Connection> &c, const HttpRequest &request);
    void close(int fd);

    Context &ctx_;
    std::size_t max_connections_;
    Handler handler_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::uint64_t accept_watch_ = 0;
    std::map<int, std::shared_ptr<Connection>> connections_;
};

}  // namespace sonde::prometheus
