// Minimal HTTP/1.1 over loopback for tests: one request, read to EOF.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace sonde_test {

struct HttpReply {
    int status = 0;
    std::string headers;  // raw header block
    std::string body;
};

// One request with `Connection: close`; status 0 when nothing or no HTTP
// came back within 5 s. A POST carries `body` as application/json.
inline HttpReply http_request(std::uint16_t port, const std::string &method, const std::string &target,
                              const std::string &extra_headers = "", const std::string &body = "") {
    HttpReply reply;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
        close(fd);
        return reply;
    }
    std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers;
    if (method == "POST")
        request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    request += "\r\n" + body;
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        close(fd);
        return reply;
    }
    std::string all;
    char buffer[65536];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) all.append(buffer, static_cast<std::size_t>(n));
    close(fd);
    std::size_t end = all.find("\r\n\r\n");
    if (all.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return reply;
    reply.status = std::stoi(all.substr(9, 3));
    reply.headers = all.substr(0, end);
    reply.body = all.substr(end + 4);
    return reply;
}

inline HttpReply http_get(std::uint16_t port, const std::string &target, const std::string &extra_headers = "") {
    return http_request(port, "GET", target, extra_headers);
}

// A TCP port free on loopback right now.
inline std::uint16_t free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    socklen_t length = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &length);
    close(fd);
    return ntohs(addr.sin_port);
}

}  // namespace sonde_test
