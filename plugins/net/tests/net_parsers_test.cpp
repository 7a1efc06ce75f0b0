// The net parsers on real captured files, truncated and malformed ones.
#include "net_parsers.hpp"

#include <doctest/doctest.h>

#include <fstream>
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
