// TLS for the OTLP client over a non-blocking socket the host watches:
// OpenSSL's handshake, read and write, each reporting whether it needs the
// socket readable or writable before it can go on.
#pragma once

#include <sonde/sdk.hpp>

#include <cstdint>
#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace sonde::otlp {

// The `tls` table of the sink's configuration.
struct TlsOptions {
    std::string ca_file;      // trusted CAs (PEM); empty: the system's store
    std::string cert_file;    // client certificate chain (PEM), for mutual TLS
    std::string key_file;     // its private key (PEM)
    std::string server_name;  // name to verify and send as SNI; empty: the endpoint's host
    bool insecure_skip_verify = false;
};

// The largest files accepted (larger ones are refused, naming the file):
// a CA bundle (Debian's ca-certificates.crt is about 200 KiB), and a client
// certificate chain or key.
inline constexpr std::uint64_t max_ca_file_bytes = 4u << 20;
inline constexpr std::uint64_t max_pem_file_bytes = 1u << 20;

// Reads the `tls` table (all keys optional).
TlsOptions tls_options(Config &config);

// The outcome of one transfer on a socket, plain or TLS: progress, or a wait
// for the socket, or the end.
struct IoStep {
    enum Kind { done, want_read, want_write, closed, failed } kind;
    std::size_t bytes = 0;  // done: bytes moved
    std::string error;      // failed: why, e.g. "certificate verify failed: self-signed certificate"
};

// Shared by every connection of one sink: CAs and client certificate, loaded
// once at start-up; a file that cannot be used (not a regular file, too
// large, not PEM) is a ConfigError naming its key and path.
class TlsContext {
public:
    TlsContext(const TlsOptions &options, const std::string &endpoint_host);
    ~TlsContext();
    TlsContext(const TlsContext &) = delete;
    TlsContext &operator=(const TlsContext &) = delete;

    SSL_CTX *native() const { return ctx_; }
    const std::string &server_name() const { return server_name_; }
    bool verify() const { return verify_; }

private:
    SSL_CTX *ctx_ = nullptr;
    std::string server_name_;
    bool verify_;
};

// One TLS session over a connected socket (which the caller owns).
class TlsConnection {
public:
    TlsConnection(const TlsContext &context, int fd);
    ~TlsConnection();
    TlsConnection(const TlsConnection &) = delete;
    TlsConnection &operator=(const TlsConnection &) = delete;

    IoStep handshake();
    IoStep write(const char *data, std::size_t size);
    IoStep read(char *data, std::size_t size);

private:
    IoStep outcome(int result, const char *what);
    SSL *ssl_ = nullptr;
};

}  // namespace sonde::otlp
