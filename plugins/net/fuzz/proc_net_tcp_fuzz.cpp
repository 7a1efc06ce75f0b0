// Fuzzes the /proc/net/tcp{,6} parser. On success exactly one state was
// counted per socket line, and never the unused state 0.
#include "fuzz_input.hpp"

#include "net_parsers.hpp"

#include <algorithm>
#include <numeric>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using sonde::fuzz::require;
    std::string_view text = sonde::fuzz::as_text(data, size);
    sonde::net::TcpStateCounts counts{};
    if (sonde::net::parse_proc_net_tcp(text, counts)) return 0;
    std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    std::uint64_t counted = std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
    require(counts[0] == 0, "state 0 counted");
    require(counted == (lines > 0 ? lines - 1 : 0), "not one state per socket line");
    return 0;
}
