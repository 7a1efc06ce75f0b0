// The otlp sink's TLS files (ca_file, cert_file, key_file) are read through
// the checked-file helper: a FIFO, a directory, a device or a huge file is a
// ConfigError naming the key and the path, never a hang; real PEM files from
// make_test_certs.sh still load, chain and key included.
#include "temp_dir.hpp"
#include "tls.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using sonde::otlp::TlsContext;
using sonde::otlp::TlsOptions;

using sonde_test::TempDir;

namespace {


// The ConfigError's key and message for these options, or "" when they load.
std::string refusal(const TlsOptions &options) {
    try {
        TlsContext context(options, "localhost");
        return "";
    } catch (const sonde::ConfigError &e) {
        return e.key() + ": " + e.what();
    }
}

TempDir make_certificates() {
    TempDir pki;
    const std::string command = std::string("sh ") + OTLP_MAKE_TEST_CERTS + " " + pki.path.string() + " >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
    return pki;
}

}  // namespace

TEST_CASE("TLS files that are a FIFO, a directory or a device are refused by key and path, at once") {
    TempDir dir;
    const fs::path fifo = dir.path / "ca.pem";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    TlsOptions options;
    options.ca_file = fifo;
    auto started = std::chrono::steady_clock::now();
    CHECK(refusal(options) == "tls.ca_file: cannot load " + fifo.string() + ": is a FIFO, not a regular file");
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
    options.ca_file = dir.path;
    CHECK(refusal(options) == "tls.ca_file: cannot load " + dir.path.string() + ": is a directory, not a regular file");
    options.ca_file = "";
    options.cert_file = "/dev/zero";
    options.key_file = "/dev/null";
    CHECK(refusal(options) == "tls.cert_file: cannot load /dev/zero: is a character device, not a regular file");
}

TEST_CASE("a huge TLS certificate is refused by its size, before it is read") {
    TempDir dir;
    const fs::path huge = dir.path / "client.crt";
    std::ofstream(huge) << "";
    fs::resize_file(huge, 3435973837ull);  // 3.2 GiB, sparse
    TlsOptions options;
    options.cert_file = huge;
    options.key_file = huge;
    CHECK(refusal(options) == "tls.cert_file: cannot load " + huge.string() + ": is 3.2 GiB; the limit for a TLS certificate is 1 MiB");
}

TEST_CASE("real PEM files load from memory: CA, client certificate and key; a wrong key or CA file is named") {
    TempDir pki = make_certificates();
    TlsOptions options;
    options.ca_file = pki.path / "ca.crt";
    options.cert_file = pki.path / "client.crt";
    options.key_file = pki.path / "client.key";
    CHECK(refusal(options) == "");
    // The system's bundle (hundreds of certificates) loads as a ca_file too.
    options.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    CHECK(refusal(options) == "");
    options.key_file = pki.path / "server.key";  // OpenSSL refuses a key not matching the certificate as it is set
    CHECK(refusal(options).rfind("tls.key_file: cannot load " + options.key_file + ": ", 0) == 0);
    options.key_file = pki.path / "client.crt";  // not a key
    CHECK(refusal(options).rfind("tls.key_file: cannot load " + options.key_file, 0) == 0);
    options.key_file = pki.path / "client.key";
    options.ca_file = pki.path / "client.key";  // no certificate in it
    CHECK(refusal(options).rfind("tls.ca_file: cannot load " + options.ca_file, 0) == 0);
}
