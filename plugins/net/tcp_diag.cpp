#include "tcp_diag.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sonde::net {

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
        auto *h = reinterpret_cast<nlmsghdr *>(buffer_.data());
        int left = static_cast<int>(n);
        for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != sequence_) continue;  // a late answer to an earlier request
            if (h->nlmsg_type == NLMSG_DONE) return true;
            if (h->nlmsg_type == NLMSG_ERROR) {
                auto *e = static_cast<nlmsgerr *>(NLMSG_DATA(h));
                error_ = std::string("inet_diag: ") + std::strerror(-e->error);
                return false;
            }
            auto *socket = static_cast<inet_diag_msg *>(NLMSG_DATA(h));
            std::uint8_t state = socket->idiag_state;
            if (state == tcp_new_syn_recv) state = 3;  // SYN_RECV
            if (state > 0 && state < counts.size()) ++counts[state];
        }
    }
}

}  // namespace sonde::net
