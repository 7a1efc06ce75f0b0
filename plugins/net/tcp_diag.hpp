// TCP connection counts per state through NETLINK_SOCK_DIAG (inet_diag):
// one dump request per address family. Unlike /proc/net/tcp, the kernel
// does not walk every hash bucket to format text, so it stays cheap.
#pragma once

#include "net_parsers.hpp"

#include <string>
#include <vector>

namespace sonde::net {

// What one datagram of an inet_diag dump answer said.
enum class InetDiagStep { more, done, failed };

// Counts the sockets of one datagram of a dump answer (a run of netlink
// messages) into counts, skipping messages of other sequence numbers. done
// at NLMSG_DONE; failed at NLMSG_ERROR or a malformed message, with a reason
// in error. Socket-free, so it can be tested and fuzzed on captured bytes.
InetDiagStep count_inet_diag_datagram(const void *data, std::size_t size, std::uint32_t sequence,
                                      TcpStateCounts &counts, std::string &error);

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
