// Parsers for /proc/net/dev, /proc/net/snmp and /proc/net/netstat, and
// /proc/net/tcp{,6} (the fallback for TCP states). Same contract as the
// procfs parsers: text in, reusable output, a message on malformed input.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::net {

using ParseError = std::optional<std::string>;

struct InterfaceStats {
    std::string_view device;
    std::uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0;
    std::uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0;
};

ParseError parse_net_dev(std::string_view text, std::vector<InterfaceStats> &out);

// One counter of /proc/net/snmp or /proc/net/netstat, e.g. {"Tcp", "RetransSegs", 12}.
struct ProtocolCounter {
    std::string_view section;
    std::string_view name;
    std::int64_t value = 0;
};

struct ProtocolCounters {
    std::vector<ProtocolCounter> counters;
    std::optional<std::int64_t> find(std::string_view section, std::string_view name) const;
};

// Appends the counters of one file (call once per file, after clear()); with
// `sections`, only those sections' (the others are checked for shape only).
ParseError parse_snmp(std::string_view text, ProtocolCounters &out,
                      std::initializer_list<std::string_view> sections = {});

// TCP states as the kernel numbers them (include/net/tcp_states.h).
inline constexpr std::array<std::string_view, 12> tcp_state_names = {
    "",           "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
    "TIME_WAIT",  "CLOSE",       "CLOSE_WAIT", "LAST_ACK", "LISTEN",  "CLOSING"};
inline constexpr std::uint8_t tcp_new_syn_recv = 12;  // request sockets, counted as SYN_RECV

using TcpStateCounts = std::array<std::uint64_t, tcp_state_names.size()>;

// Adds one to counts[state] per socket line of /proc/net/tcp or tcp6.
ParseError parse_proc_net_tcp(std::string_view text, TcpStateCounts &counts);

}  // namespace sonde::net
