// A `listen` option ("host:port") turned into a socket address while the
// configuration is checked, so that `sonde check-config` refuses every
// address `run` would refuse (only a busy port or a missing interface is
// left for start()).
#pragma once

#include <sys/socket.h>

#include <stdexcept>
#include <string>

namespace sonde::http {

struct ListenAddress {
    sockaddr_storage address{};
    socklen_t length = 0;
    std::string numeric;  // the resolved address as "127.0.0.1:9464" or "[::1]:9464"
};

// Why a listen address is refused: "\"LISTEN\": reason" (callers add the
// option's name, e.g. as the key of the SDK's ConfigError).
class ListenAddressError : public std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// Accepts a numeric IPv4 host ("127.0.0.1:9464", "0.0.0.0:9464"), a
// bracketed IPv6 host ("[::1]:9464") or a host name ("localhost:9464"),
// which is resolved now and binds its first IPv4 address, else its first
// IPv6 address (as node_exporter does). Port 0..65535, 0 = any free port.
// Throws ListenAddressError naming what is wrong.
ListenAddress resolve_listen(const std::string &listen);

// The address is on the loopback interface only: 127.0.0.0/8, ::1, or an
// IPv4-mapped 127.x address. The wildcard addresses are not.
bool is_loopback(const ListenAddress &address);

// An IPv4 or IPv6 socket address as "127.0.0.1:9464" or "[::1]:9464".
std::string numeric_text(const sockaddr_storage &address);

}  // namespace sonde::http
