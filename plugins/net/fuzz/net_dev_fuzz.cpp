// Fuzzes the /proc/net/dev parser. On success every interface has a name
// without surrounding blanks.
#include "fuzz_input.hpp"

#include "net_parsers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using sonde::fuzz::require;
    static std::vector<sonde::net::InterfaceStats> interfaces;
    if (sonde::net::parse_net_dev(sonde::fuzz::as_text(data, size), interfaces)) return 0;
    for (const auto &i : interfaces)
        require(i.device.empty() || (i.device.front() != ' ' && i.device.back() != ' '), "name not trimmed");
    return 0;
}
