// TCP connection counts per state through NETLINK_SOCK_DIAG (inet_diag):
// one dump request per address family. Unlike /proc/net/tcp, the kernel
// does not walk every hash bucket to format text, so it stays cheap.
#pragma once

#include "net_parsers.hpp"

#include <string>
#include <vector>

namespace sonde::net {

class TcpDiag {
public:
    TcpDiag();  // opens the socket; ok() tells whether it worked
    ~TcpDiag();
    TcpDiag(const TcpDiag &) = delete;
    TcpDiag &operator=(const TcpDiag &) = delete;

    bool ok() const { return fd_ >= 0; }
    const std::string &error() const { return error_; }

    // Counts sockets of one family (AF_INET or AF_INET6) by state into counts.
    // Returns false (and sets error()) on failure.
    bool count(int family, TcpStateCounts &counts);

private:
    int fd_ = -1;
    std::uint32_t sequence_ = 0;
    std::vector<char> buffer_;
    std::string error_;
};

}  // namespace sonde::net
