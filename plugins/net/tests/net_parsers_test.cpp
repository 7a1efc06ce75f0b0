// The net parsers on real captured files, truncated and malformed ones.
#include "net_parsers.hpp"
#include "tcp_diag.hpp"

#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>

using namespace sonde::net;

namespace {
std::string fixture(const std::string &name) {
    std::ifstream in(std::string(NET_FIXTURES) + "/" + name);
    REQUIRE(in.good());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

TEST_CASE("/proc/net/dev: receive and transmit columns") {
    std::vector<InterfaceStats> out;
    REQUIRE_FALSE(parse_net_dev("Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed "
                                "multicast|bytes ...\n    lo: 100 2 3 4 0 0 0 0 500 6 7 8 0 0 0 0\n",
                                out));
    REQUIRE(out.size() == 1);
    CHECK(out[0].device == "lo");
    CHECK(out[0].rx_bytes == 100);
    CHECK(out[0].rx_packets == 2);
    CHECK(out[0].rx_errors == 3);
    CHECK(out[0].rx_dropped == 4);
    CHECK(out[0].tx_bytes == 500);
    CHECK(out[0].tx_packets == 6);
    CHECK(out[0].tx_errors == 7);
    CHECK(out[0].tx_dropped == 8);
    const std::string text = fixture("dev");
    REQUIRE_FALSE(parse_net_dev(text, out));
    bool has_lo = false;
    for (const auto &i : out) has_lo |= i.device == "lo";
    CHECK(has_lo);
    CHECK(parse_net_dev(fixture("dev.truncated"), out) == "truncated: no final newline");
}

TEST_CASE("/proc/net/snmp and netstat: header and value lines pair up") {
    const std::string snmp = fixture("snmp"), netstat = fixture("netstat");  // counters are views into them
    ProtocolCounters c;
    REQUIRE_FALSE(parse_snmp(snmp, c));
    REQUIRE_FALSE(parse_snmp(netstat, c));
    CHECK(c.find("Tcp", "RetransSegs").has_value());
    CHECK(c.find("Tcp", "MaxConn") == -1);  // the one signed field
    CHECK(c.find("Udp", "InDatagrams").has_value());
    CHECK(c.find("TcpExt", "ListenDrops").has_value());
    CHECK_FALSE(c.find("Tcp", "NoSuchCounter"));
    c.counters.clear();
    CHECK(parse_snmp(fixture("snmp.malformed"), c) == "line 2: missing or malformed value for C");

    ProtocolCounters only;  // the sections asked for; the others are not even split into fields
    REQUIRE_FALSE(parse_snmp(netstat, only, {"TcpExt"}));
    CHECK(only.find("TcpExt", "ListenDrops").has_value());
    CHECK_FALSE(only.find("IpExt", "InOctets"));
    for (const auto &counter : only.counters) CHECK(counter.section == "TcpExt");
}

TEST_CASE("/proc/net/tcp: states counted, request sockets as SYN_RECV") {
    TcpStateCounts counts{};
    REQUIRE_FALSE(parse_proc_net_tcp(fixture("tcp"), counts));
    CHECK(counts[10] == 1);  // the LISTEN socket of the capture
    counts.fill(0);
    REQUIRE_FALSE(parse_proc_net_tcp("  sl  local_address rem_address   st\n"
                                     "   0: 0100007F:0277 00000000:0000 0A 0\n"
                                     "   1: 0100007F:0277 0100007F:9999 01 0\n"
                                     "   2: 0100007F:0277 0100007F:9998 0C 0\n",
                                     counts));
    CHECK(counts[10] == 1);
    CHECK(counts[1] == 1);
    CHECK(counts[3] == 1);
    CHECK(parse_proc_net_tcp(fixture("tcp.malformed"), counts) == "line 2: unknown TCP state");
}

// inet_diag dump datagrams (tests/fixtures/inet_diag/README.md), socket-free.
namespace {
InetDiagStep count_datagram(const std::string &bytes, TcpStateCounts &counts, std::string &error) {
    std::vector<std::uint32_t> aligned(bytes.size() / 4 + 1);  // as the receive buffer is
    std::memcpy(aligned.data(), bytes.data(), bytes.size());
    return count_inet_diag_datagram(aligned.data(), bytes.size(), 1, counts, error);
}
}  // namespace

TEST_CASE("inet_diag: a captured dump counts its sockets by state, then ends") {
    TcpStateCounts counts{};
    std::string error;
    CHECK(count_datagram(fixture("inet_diag/inet_diag.v4.0"), counts, error) == InetDiagStep::more);
    CHECK(count_datagram(fixture("inet_diag/inet_diag.v4.1"), counts, error) == InetDiagStep::done);
    CHECK(std::accumulate(counts.begin(), counts.end(), std::uint64_t{0}) == 9);
    CHECK(counts[10] >= 1);  // LISTEN: the capture's listener
    CHECK(counts[1] >= 4);   // ESTABLISHED: both ends of the connections left open
    CHECK(error.empty());
}

// Found by fuzzing (plugins/net/fuzz/corpus/inet_diag_fuzz/): a message is
// read only within its own length, a length only within the datagram.
TEST_CASE("inet_diag: malformed messages are refused with a reason, never read past") {
    TcpStateCounts counts{};
    std::string error;
    auto message = [](std::uint32_t length, std::uint16_t type, std::int32_t payload) {
        std::string m(sizeof(nlmsghdr) + sizeof payload, '\0');
        nlmsghdr h{length, type, 0, 1, 0};
        std::memcpy(m.data(), &h, sizeof h);
        std::memcpy(m.data() + sizeof h, &payload, sizeof payload);
        return m;
    };
    CHECK(count_datagram(message(16, SOCK_DIAG_BY_FAMILY, 0), counts, error) == InetDiagStep::failed);
    CHECK(error == "inet_diag: unexpected message (type 20, 0 bytes)");
    CHECK(count_datagram(message(4096, SOCK_DIAG_BY_FAMILY, 0), counts, error) == InetDiagStep::failed);
    CHECK(error == "inet_diag: malformed message at byte 0 of 20");
    CHECK(count_datagram(message(16, NLMSG_ERROR, 0), counts, error) == InetDiagStep::failed);
    CHECK(error == "inet_diag: truncated error message");
    std::string error_message = message(20, NLMSG_ERROR, INT32_MIN);
    error_message.resize(16 + sizeof(nlmsgerr));
    reinterpret_cast<nlmsghdr *>(error_message.data())->nlmsg_len = static_cast<std::uint32_t>(error_message.size());
    CHECK(count_datagram(error_message, counts, error) == InetDiagStep::failed);
    CHECK(error == "inet_diag: unexpected error code -2147483648");
    CHECK(std::accumulate(counts.begin(), counts.end(), std::uint64_t{0}) == 0);
}
