#include "tcp_diag.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace sonde::net {

InetDiagStep count_inet_diag_datagram(const void *data, std::size_t size, std::uint32_t sequence,
                                      TcpStateCounts &counts, std::string &error) {
    // Each message is read only within its own nlmsg_len, and that length
    // only within the datagram. The kernel aligns messages to 4 bytes; read
    // into a suitably aligned buffer, every header stays aligned.
    const auto *bytes = static_cast<const unsigned char *>(data);
    std::size_t offset = 0;
    while (offset < size) {
        const auto *h = reinterpret_cast<const nlmsghdr *>(bytes + offset);
        if (size - offset < sizeof(nlmsghdr) || h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > size - offset) {
            error = "inet_diag: malformed message at byte " + std::to_string(offset) + " of " + std::to_string(size);
            return InetDiagStep::failed;
        }
        offset += std::min<std::size_t>(NLMSG_ALIGN(h->nlmsg_len), size - offset);
        if (h->nlmsg_seq != sequence) continue;  // a late answer to an earlier request
        if (h->nlmsg_type == NLMSG_DONE) return InetDiagStep::done;
        const std::size_t payload = h->nlmsg_len - NLMSG_HDRLEN;
        if (h->nlmsg_type == NLMSG_ERROR) {
            if (payload < sizeof(nlmsgerr)) {
                error = "inet_diag: truncated error message";
                return InetDiagStep::failed;
            }
            // A negative errno; 0 would acknowledge a request, which a dump never asks for.
            const int code = static_cast<const nlmsgerr *>(NLMSG_DATA(h))->error;
            error = code < 0 && code > -4096 ? std::string("inet_diag: ") + std::strerror(-code)
                                             : "inet_diag: unexpected error code " + std::to_string(code);
            return InetDiagStep::failed;
        }
        if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || payload < sizeof(inet_diag_msg)) {
            error = "inet_diag: unexpected message (type " + std::to_string(h->nlmsg_type) + ", " +
                    std::to_string(payload) + " bytes)";
            return InetDiagStep::failed;
        }
        const auto *socket = static_cast<const inet_diag_msg *>(NLMSG_DATA(h));
        std::uint8_t state = socket->idiag_state;
        if (state == tcp_new_syn_recv) state = 3;  // SYN_RECV
        if (state > 0 && state < counts.size()) ++counts[state];
    }
    return InetDiagStep::more;
}

TcpDiag::TcpDiag() : buffer_(64 * 1024) {
    fd_ = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd_ < 0) error_ = std::string("netlink socket: ") + std::strerror(errno);
}

TcpDiag::~TcpDiag() {
    if (fd_ >= 0) ::close(fd_);
}

bool TcpDiag::count(int family, TcpStateCounts &counts) {
    struct {
        nlmsghdr header;
        inet_diag_req_v2 request;
    } message{};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.header.nlmsg_seq = ++sequence_;
    message.request.sdiag_family = static_cast<std::uint8_t>(family);
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = ~0u;  // every state, TIME_WAIT and request sockets included
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd_, &message, sizeof message, 0, reinterpret_cast<sockaddr *>(&kernel), sizeof kernel) < 0) {
        error_ = std::string("inet_diag request: ") + std::strerror(errno);
        return false;
    }
    for (;;) {
        ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error_ = std::string("inet_diag receive: ") + std::strerror(errno);
            return false;
        }
        InetDiagStep step = count_inet_diag_datagram(buffer_.data(), static_cast<std::size_t>(n), sequence_, counts, error_);
        if (step != InetDiagStep::more) return step == InetDiagStep::done;
    }
}

}  // namespace sonde::net
