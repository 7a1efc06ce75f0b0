// Live cross-checks: inet_diag against /proc/net/tcp, /proc/net/dev against
// SIOCGIFSTATS-free getifaddrs(3) statistics.
#include "net_parsers.hpp"
#include "tcp_diag.hpp"

#include "read_file.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace sonde::net;

namespace {

// A listening socket and one established connection to it, on loopback.
struct LoopbackConnection {
    int listener = -1, client = -1, server = -1;
    LoopbackConnection() {
        listener = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
        REQUIRE(listen(listener, 4) == 0);
        socklen_t len = sizeof addr;
        getsockname(listener, reinterpret_cast<sockaddr *>(&addr), &len);
        client = socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(connect(client, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
        server = accept(listener, nullptr, nullptr);
        REQUIRE(server >= 0);
    }
    ~LoopbackConnection() {
        close(server);
        close(client);
        close(listener);
    }
};
}  // namespace

TEST_CASE("inet_diag sees our own sockets and agrees with /proc/net/tcp") {
    TcpDiag diag;
    REQUIRE_MESSAGE(diag.ok(), diag.error());
    TcpStateCounts before{};
    REQUIRE(diag.count(AF_INET, before));
    LoopbackConnection connection;
    TcpStateCounts netlink{}, proc{};
    REQUIRE(diag.count(AF_INET, netlink));
    REQUIRE_FALSE(parse_proc_net_tcp(sonde_test::read_file("/proc/net/tcp"), proc));
    CHECK(netlink[1] >= before[1] + 2);  // both ends ESTABLISHED
    CHECK(netlink[10] >= before[10] + 1);
    // Other processes may open sockets between the two reads; ours dominate on a quiet host.
    CHECK(netlink[10] == proc[10]);
    CHECK(std::abs(static_cast<long>(netlink[1]) - static_cast<long>(proc[1])) <= 2);
    TcpStateCounts v6{};
    CHECK(diag.count(AF_INET6, v6));
}

TEST_CASE("/proc/net/dev agrees with getifaddrs statistics for loopback") {
    std::vector<InterfaceStats> stats;
    std::string text = sonde_test::read_file("/proc/net/dev");
    REQUIRE_FALSE(parse_net_dev(text, stats));
    ifaddrs *list = nullptr;
    REQUIRE(getifaddrs(&list) == 0);
    std::uint64_t lo_rx_packets = 0;
    bool found = false;
    for (ifaddrs *a = list; a; a = a->ifa_next)
        if (a->ifa_addr && a->ifa_addr->sa_family == AF_PACKET && std::string(a->ifa_name) == "lo" && a->ifa_data) {
            lo_rx_packets = static_cast<rtnl_link_stats *>(a->ifa_data)->rx_packets;
            found = true;
        }
    freeifaddrs(list);
    REQUIRE(found);
    for (const auto &i : stats)
        if (i.device == "lo") {
            // Both are the same kernel counter read moments apart (32-bit in rtnl_link_stats).
            CHECK((i.rx_packets & 0xffffffffu) <= lo_rx_packets + 1000);
            CHECK((i.rx_packets & 0xffffffffu) + 1000 >= lo_rx_packets);
        }
}
