#include "tls.hpp"

#include <arpa/inet.h>
#include "files/checked_file.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace sonde::otlp {

namespace {

// The newest OpenSSL error queue entry as text, the queue emptied.
std::string openssl_error() {
    unsigned long code = 0, last = 0;
    while ((code = ERR_get_error()) != 0) last = code;
    if (!last) return "unknown TLS error";
    char text[256];
    ERR_error_string_n(last, text, sizeof text);
    const char *reason = ERR_reason_error_string(last);
    return reason ? reason : text;
}

struct BioFree {
    void operator()(BIO *bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

Bio memory_bio(const std::string &pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

// Every certificate of a PEM text into the context's trust store; false when
// there is none or one does not parse.
bool load_ca_certificates(SSL_CTX *ctx, const std::string &pem) {
    Bio bio = memory_bio(pem);
    STACK_OF(X509_INFO) *infos = bio ? PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (!infos) return false;
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int added = 0;
    bool ok = true;
    for (int i = 0; i < sk_X509_INFO_num(infos); ++i) {
        X509_INFO *info = sk_X509_INFO_value(infos, i);
        if (info->x509) ok = ok && X509_STORE_add_cert(store, info->x509) == 1 && ++added;
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    return ok && added > 0;
}

// The first certificate of a PEM text as the client certificate, the rest as
// its chain (what SSL_CTX_use_certificate_chain_file does with a path).
bool use_certificate_chain(SSL_CTX *ctx, const std::string &pem) {
    Bio bio = memory_bio(pem);
    if (!bio) return false;
    X509 *leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr);
    if (!leaf) return false;
    const bool used = SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    if (!used || SSL_CTX_clear_chain_certs(ctx) != 1) return false;
    while (X509 *next = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        if (SSL_CTX_add0_chain_cert(ctx, next) != 1) {
            X509_free(next);
            return false;
        }
    }
    // The loop ends on "no start line" at the end of the text: not an error.
    const unsigned long last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) ERR_clear_error();
    return ERR_peek_error() == 0;
}

bool use_private_key(SSL_CTX *ctx, const std::string &pem) {
    Bio bio = memory_bio(pem);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (!key) return false;
    const bool used = SSL_CTX_use_PrivateKey(ctx, key) == 1;
    EVP_PKEY_free(key);
    return used;
}

bool is_ip_address(const std::string &host) {
    unsigned char buffer[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

}  // namespace

TlsOptions tls_options(Config &config) {
    TlsOptions o;
    Config tls = config.get_table("tls");
    o.ca_file = tls.get_string("ca_file", "");
    o.cert_file = tls.get_string("cert_file", "");
    o.key_file = tls.get_string("key_file", "");
    o.server_name = tls.get_string("server_name", "");
    o.insecure_skip_verify = tls.get_bool("insecure_skip_verify", false);
    tls.finish();
    if (o.cert_file.empty() != o.key_file.empty())
        throw ConfigError(o.cert_file.empty() ? "tls.cert_file" : "tls.key_file",
                          "a client certificate needs both cert_file and key_file");
    return o;
}

TlsContext::TlsContext(const TlsOptions &options, const std::string &endpoint_host)
    : server_name_(options.server_name.empty() ? endpoint_host : options.server_name),
      verify_(!options.insecure_skip_verify) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) throw ConfigError("tls", "cannot create a TLS context: " + openssl_error());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    auto fail = [this](const char *key, const std::string &what) {
        std::string message = what + ": " + openssl_error();
        SSL_CTX_free(ctx_);
        ctx_ = nullptr;
        throw ConfigError(key, message);
    };
    // The configured files are read through the checked-file helper (a FIFO,
    // a device or a huge file is refused, naming it) and handed to OpenSSL
    // as memory, so OpenSSL never opens a path itself.
    auto read_pem = [this](const char *key, const std::string &path, const FileLimits &limits) {
        std::string error;
        auto text = read_checked_file(path, limits, error);
        if (!text) {
            SSL_CTX_free(ctx_);
            ctx_ = nullptr;
            throw ConfigError(key, "cannot load " + error);  // "cannot load /x/ca.pem: is a FIFO, not a regular file"
        }
        return std::move(*text);
    };
    if (options.ca_file.empty()) {
        if (SSL_CTX_set_default_verify_paths(ctx_) != 1) fail("tls.ca_file", "cannot load the system's CA store");
    } else if (!load_ca_certificates(ctx_, read_pem("tls.ca_file", options.ca_file, {max_ca_file_bytes, "a CA file"}))) {
        fail("tls.ca_file", "cannot load " + options.ca_file);
    }
    if (!options.cert_file.empty()) {
        if (!use_certificate_chain(ctx_, read_pem("tls.cert_file", options.cert_file, {max_pem_file_bytes, "a TLS certificate"})))
            fail("tls.cert_file", "cannot load " + options.cert_file);
        if (!use_private_key(ctx_, read_pem("tls.key_file", options.key_file, {max_pem_file_bytes, "a TLS private key"})))
            fail("tls.key_file", "cannot load " + options.key_file);
        if (SSL_CTX_check_private_key(ctx_) != 1)
            fail("tls.key_file", options.key_file + " does not match " + options.cert_file);
    }
    SSL_CTX_set_verify(ctx_, verify_ ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsConnection::TlsConnection(const TlsContext &context, int fd) : ssl_(SSL_new(context.native())) {
    if (!ssl_) return;
    SSL_set_fd(ssl_, fd);
    const std::string &name = context.server_name();
    if (!is_ip_address(name)) SSL_set_tlsext_host_name(ssl_, name.c_str());
    if (context.verify()) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl_);
        if (is_ip_address(name)) X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
        else X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
    }
    SSL_set_connect_state(ssl_);
}

TlsConnection::~TlsConnection() { SSL_free(ssl_); }

IoStep TlsConnection::handshake() {
    if (!ssl_) return {IoStep::failed, 0, "cannot create a TLS session"};
    errno = 0;
    return outcome(SSL_do_handshake(ssl_), "TLS handshake");
}

IoStep TlsConnection::write(const char *data, std::size_t size) {
    std::size_t written = 0;
    errno = 0;
    int result = SSL_write_ex(ssl_, data, size, &written);
    return result == 1 ? IoStep{IoStep::done, written, {}} : outcome(result, "TLS write");
}

IoStep TlsConnection::read(char *data, std::size_t size) {
    std::size_t read = 0;
    errno = 0;
    int result = SSL_read_ex(ssl_, data, size, &read);
    return result == 1 ? IoStep{IoStep::done, read, {}} : outcome(result, "TLS read");
}

IoStep TlsConnection::outcome(int result, const char *what) {
    switch (SSL_get_error(ssl_, result)) {
        case SSL_ERROR_NONE: return {IoStep::done, 0, {}};
        case SSL_ERROR_WANT_READ: return {IoStep::want_read, 0, {}};
        case SSL_ERROR_WANT_WRITE: return {IoStep::want_write, 0, {}};
        case SSL_ERROR_ZERO_RETURN: return {IoStep::closed, 0, {}};
        case SSL_ERROR_SYSCALL:
            ERR_clear_error();
            if (errno == 0) return {IoStep::closed, 0, {}};
            return {IoStep::failed, 0, std::string(what) + ": " + std::strerror(errno)};
        default: {
            long verify = SSL_get_verify_result(ssl_);
            std::string reason = openssl_error();
            if (verify != X509_V_OK) reason += ": " + std::string(X509_verify_cert_error_string(verify));
            return {IoStep::failed, 0, std::string(what) + ": " + reason};
        }
    }
}

}  // namespace sonde::otlp
