// One HTTP/1.1 request at a time to an OTLP/HTTP receiver, driven by the
// host's one-shot fd watches: non-blocking connect, TLS handshake for https,
// write, read of the answer (Beast's response parser). Connections are kept
// alive when the server allows. Deadlines are checked by tick().
#pragma once

#include "http_response.hpp"
#include "tls.hpp"

#include <sonde/sdk.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sonde::otlp {

// Where requests go, from resolve_endpoint().
struct Endpoint {
    sockaddr_storage address{};
    socklen_t length = 0;
    std::string host;         // without port or brackets, for TLS verification
    std::string host_header;  // host[:port] as written
    bool tls = false;         // https
};

// "http://host[:port]" or "https://host[:port]" -> Endpoint; throws ConfigError("endpoint", ...).
Endpoint resolve_endpoint(const std::string &endpoint);

class HttpClient {
public:
    // tls: required for an https endpoint, shared, outlives the client.
    HttpClient(Context &ctx, Endpoint endpoint, const TlsContext *tls, std::uint64_t timeout_ns);
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
    void connect_now();
    void connected();
    void handshake();
    void write_some();
    void read_some();
    void finish(HttpResult result, bool keep_connection);
    void close_socket();
    void watch(std::uint32_t events, void (HttpClient::*next)());
    // Waits as the step asks and returns true, or returns false on progress.
    bool wait_for(const IoStep &step, void (HttpClient::*next)());
    IoStep send_some(const char *data, std::size_t size);
    IoStep receive_some(char *data, std::size_t size);

    Context &ctx_;
    Endpoint endpoint_;
    const TlsContext *tls_context_;
    std::unique_ptr<TlsConnection> tls_;  // the session of the open connection
    std::uint64_t timeout_ns_;
    int fd_ = -1;
    bool connected_ = false;
    std::uint64_t watch_ = 0;
    std::string out_;
    std::size_t written_ = 0;
    std::int64_t deadline_ns_ = 0;
    std::function<void(HttpResult)> done_;
    std::unique_ptr<ResponseReader> response_;  // the answer to the request in flight
};

}  // namespace sonde::otlp
