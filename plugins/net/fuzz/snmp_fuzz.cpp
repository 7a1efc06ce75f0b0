// Fuzzes the /proc/net/snmp and /proc/net/netstat parser, with and without a
// section filter. On success every counter has a section and a name, and
// with the filter only the sections asked for are kept.
#include "fuzz_input.hpp"

#include "net_parsers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using sonde::fuzz::require;
    std::string_view text = sonde::fuzz::as_text(data, size);
    static sonde::net::ProtocolCounters all, filtered;
    all.counters.clear();
    filtered.counters.clear();
    if (!sonde::net::parse_snmp(text, all))
        for (const auto &c : all.counters) require(!c.name.empty(), "counter without a name");
    if (!sonde::net::parse_snmp(text, filtered, {"Tcp", "Udp", "TcpExt"}))
        for (const auto &c : filtered.counters)
            require(c.section == "Tcp" || c.section == "Udp" || c.section == "TcpExt", "section not asked for");
    return 0;
}
