#include "listen_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <memory>

namespace sonde::http {

namespace {

[[noreturn]] void refuse(const std::string &listen, const std::string &why) {
    throw ListenAddressError("\"" + listen + "\": " + why);
}

std::uint16_t parse_port(const std::string &listen, const std::string &text) {
    if (text.empty()) refuse(listen, "no port after ':' (expected \"host:port\", port 0 to 65535)");
    if (text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
        refuse(listen, "port \"" + text + "\" is not a number from 0 to 65535");
    unsigned long port = std::stoul(text);
    if (port > 65535) refuse(listen, "port " + text + " is out of range (0 to 65535)");
    return static_cast<std::uint16_t>(port);
}


void resolve_name(const std::string &listen, const std::string &host, std::uint16_t port, ListenAddress &out) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *found = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (rc != 0) refuse(listen, "cannot resolve host \"" + host + "\": " + gai_strerror(rc));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);
    const addrinfo *chosen = nullptr;
    for (const addrinfo *a = found; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            chosen = a;
            break;
        }
    if (!chosen)
        for (const addrinfo *a = found; a; a = a->ai_next)
            if (a->ai_family == AF_INET6) {
                chosen = a;
                break;
            }
    if (!chosen) refuse(listen, "host \"" + host + "\" has no IPv4 or IPv6 address");
    std::memcpy(&out.address, chosen->ai_addr, chosen->ai_addrlen);
    out.length = chosen->ai_addrlen;
    if (chosen->ai_family == AF_INET)
        reinterpret_cast<sockaddr_in &>(out.address).sin_port = htons(port);
    else
        reinterpret_cast<sockaddr_in6 &>(out.address).sin6_port = htons(port);
}

}  // namespace

std::string numeric_text(const sockaddr_storage &address) {
    char host[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET6) {
        const auto &a6 = reinterpret_cast<const sockaddr_in6 &>(address);
        inet_ntop(AF_INET6, &a6.sin6_addr, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(a6.sin6_port));
    }
    const auto &a4 = reinterpret_cast<const sockaddr_in &>(address);
    inet_ntop(AF_INET, &a4.sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(a4.sin_port));
}

bool is_loopback(const ListenAddress &address) {
    if (address.address.ss_family == AF_INET) {
        const auto &a4 = reinterpret_cast<const sockaddr_in &>(address.address);
        return (ntohl(a4.sin_addr.s_addr) >> 24) == 127;
    }
    if (address.address.ss_family == AF_INET6) {
        const auto &a6 = reinterpret_cast<const sockaddr_in6 &>(address.address).sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    return false;
}

ListenAddress resolve_listen(const std::string &listen) {
    if (listen.empty()) refuse(listen, "empty; expected \"host:port\" such as \"127.0.0.1:9464\"");
    std::size_t colon = listen.rfind(':');
    if (colon == std::string::npos)
        refuse(listen, "no port; expected \"host:port\" such as \"" + listen + ":9464\"");
    std::string host = listen.substr(0, colon);
    std::uint16_t port = parse_port(listen, listen.substr(colon + 1));
    if (host.empty())
        refuse(listen, "no host; use \"127.0.0.1:" + std::to_string(port) + "\" for loopback or \"0.0.0.0:" +
                           std::to_string(port) + "\" for every IPv4 interface");

    ListenAddress out;
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') refuse(listen, "an IPv6 host needs both brackets, as in \"[::1]:9464\"");
        auto &a6 = reinterpret_cast<sockaddr_in6 &>(out.address);
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(port);
        if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6.sin6_addr) != 1)
            refuse(listen, "\"" + host + "\" is not an IPv6 address");
        out.length = sizeof a6;
    } else if (host.find(':') != std::string::npos) {
        refuse(listen, "an IPv6 host must be in brackets, as in \"[::1]:9464\"");
    } else if (auto &a4 = reinterpret_cast<sockaddr_in &>(out.address); inet_pton(AF_INET, host.c_str(), &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons(port);
        out.length = sizeof a4;
    } else {
        out.address = {};
        resolve_name(listen, host, port, out);
    }
    out.numeric = numeric_text(out.address);
    return out;
}

}  // namespace sonde::http
