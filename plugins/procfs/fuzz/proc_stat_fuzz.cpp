// Fuzzes the /proc/stat parser. On success: at least one cpu line and the
// ctxt line were seen, and every CPU time is a finite, non-negative number
// of seconds.
#include "fuzz_input.hpp"

#include "procfs_parsers.hpp"

#include <cmath>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using sonde::fuzz::require;
    static sonde::procfs::ProcStat stat;  // reused across inputs, as the plugin does
    if (sonde::procfs::parse_stat(sonde::fuzz::as_text(data, size), 100.0, stat)) return 0;
    require(!stat.cpus.empty() || stat.all_cpus, "parsed without a cpu line");
    auto check_times = [](const sonde::procfs::CpuTimes &cpu) {
        for (double seconds : cpu.seconds) require(std::isfinite(seconds) && seconds >= 0, "cpu time not a time");
    };
    for (const auto &cpu : stat.cpus) {
        require(!cpu.cpu.empty() && cpu.cpu != "cpu", "a per-CPU line without its number");
        check_times(cpu);
    }
    if (stat.all_cpus) check_times(*stat.all_cpus);
    return 0;
}
