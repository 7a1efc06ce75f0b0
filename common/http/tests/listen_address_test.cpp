// "host:port" parsing and the loopback test the admin listener relies on.
#include "http/listen_address.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace sonde::http;

namespace {

std::string refusal(const std::string &listen) {
    try {
        resolve_listen(listen);
    } catch (const ListenAddressError &e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("numeric IPv4, bracketed IPv6 and names resolve; the port is kept") {
    CHECK(resolve_listen("127.0.0.1:9464").numeric == "127.0.0.1:9464");
    CHECK(resolve_listen("[::1]:0").numeric == "[::1]:0");
    CHECK(resolve_listen("0.0.0.0:19090").numeric == "0.0.0.0:19090");
    CHECK(resolve_listen("localhost:80").numeric == "127.0.0.1:80");
}

TEST_CASE("malformed addresses are refused with the address and the reason") {
    CHECK(refusal("") == "\"\": empty; expected \"host:port\" such as \"127.0.0.1:9464\"");
    CHECK(refusal("127.0.0.1").find("no port") != std::string::npos);
    CHECK(refusal(":80").find("no host") != std::string::npos);
    CHECK(refusal("127.0.0.1:65536").find("out of range") != std::string::npos);
    CHECK(refusal("127.0.0.1:http").find("is not a number") != std::string::npos);
    CHECK(refusal("::1:80").find("must be in brackets") != std::string::npos);
    CHECK(refusal("[::1:80").find("both brackets") != std::string::npos);
    CHECK(refusal("[zz]:80").find("is not an IPv6 address") != std::string::npos);
}

TEST_CASE("loopback: 127/8 and ::1 (also v4-mapped); wildcards and other hosts are not") {
    CHECK(is_loopback(resolve_listen("127.0.0.1:1")));
    CHECK(is_loopback(resolve_listen("127.1.2.3:1")));
    CHECK(is_loopback(resolve_listen("[::1]:1")));
    CHECK(is_loopback(resolve_listen("[::ffff:127.0.0.1]:1")));
    CHECK(is_loopback(resolve_listen("localhost:1")));
    CHECK_FALSE(is_loopback(resolve_listen("0.0.0.0:1")));
    CHECK_FALSE(is_loopback(resolve_listen("[::]:1")));
    CHECK_FALSE(is_loopback(resolve_listen("10.1.2.3:1")));
    CHECK_FALSE(is_loopback(resolve_listen("[::ffff:10.0.0.1]:1")));
    CHECK_FALSE(is_loopback(resolve_listen("128.0.0.1:1")));
}
