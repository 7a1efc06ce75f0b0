// One HTTP/1.1 request at a time to an OTLP/HTTP receiver, driven by the
// host's one-shot fd watches: non-blocking connect, write, read of the
// answer (Beast's response parser). Connections are kept alive when the
// server allows. Deadlines are checked by tick().
#pragma once

#include <sonde/sdk.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sonde::otlp {

struct HttpResult {
    int status = 0;           // 0: no answer (error says why)
    std::string error;        // transport failure
    std::string body;
    std::string retry_after;  // Retry-After header, if any
};

class HttpClient {
public:
    // `address` from resolve(); host_header for the Host header.
    HttpClient(Context &ctx, sockaddr_storage address, socklen_t length, std::string host_header,
               std::uint64_t timeout_ns);
    ~HttpClient();
    HttpClient(const HttpClient &) = delete;
    HttpClient &operator=(const HttpClient &) = delete;

    bool busy() const { return static_cast<bool>(done_); }
    // Starts a POST; done runs once, from a later callback.
    void post(const std::string &path, const std::vector<std::pair<std::string, std::string>> &headers,
              const std::string &body, std::function<void(HttpResult)> done);
    // Fails the request in flight when its deadline passed.
    void tick();

private:
    struct Exchange;
    void connect_now();
    void connected();
    void write_some();
    void read_some();
    void finish(HttpResult result, bool keep_connection);
    void close_socket();
    void watch(std::uint32_t events, void (HttpClient::*next)());

    Context &ctx_;
    sockaddr_storage address_;
    socklen_t length_;
    std::string host_header_;
    std::uint64_t timeout_ns_;
    int fd_ = -1;
    bool connected_ = false;
    std::uint64_t watch_ = 0;
    std::string out_;
    std::size_t written_ = 0;
    std::string in_;
    std::int64_t deadline_ns_ = 0;
    std::function<void(HttpResult)> done_;
    std::shared_ptr<Exchange> exchange_;  // the response parser of the request in flight
};

// "http://host:port" -> address; throws ConfigError("endpoint", ...).
void resolve_endpoint(const std::string &endpoint, sockaddr_storage &address, socklen_t &length,
                      std::string &host_header);

}  // namespace sonde::otlp
