// Parsers for /proc/stat, /proc/meminfo, /proc/loadavg and /proc/diskstats.
// They take the file's text and fill a reusable output; names are views into
// the text, so the output is valid while the text is. On malformed or
// truncated input they return a message naming the line.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::procfs {

using ParseError = std::optional<std::string>;  // nullopt: parsed

// /proc/stat -----------------------------------------------------------------

// Order of the time columns of a cpu line, as OpenTelemetry `state` values.
inline constexpr std::array<std::string_view, 8> cpu_states = {
    "user", "nice", "system", "idle", "wait", "interrupt", "softirq", "steal"};

struct CpuTimes {
    std::string_view cpu;  // "cpu0", "cpu1", ...; "cpu" for the all-CPU line
    std::array<double, cpu_states.size()> seconds{};
};

struct ProcStat {
    // The kernel's all-CPU line ("cpu ..."): its sum over every possible CPU,
    // online or not, each value rounded once; the per-CPU lines are rounded
    // one by one, so their sum may differ by up to one tick per CPU.
    std::optional<CpuTimes> all_cpus;
    std::vector<CpuTimes> cpus;  // one per online CPU, in the file's order; never the all-CPU line
    std::uint64_t context_switches = 0;
    std::uint64_t processes_created = 0;
    std::uint64_t procs_running = 0;
    std::uint64_t procs_blocked = 0;
};

ParseError parse_stat(std::string_view text, double ticks_per_second, ProcStat &out);

// /proc/meminfo --------------------------------------------------------------

struct MemField {
    std::string_view name;
    std::uint64_t value = 0;  // bytes when in_bytes, else a count
    bool in_bytes = false;
};

struct MemInfo {
    std::vector<MemField> fields;
    std::optional<std::uint64_t> find(std::string_view name) const;
};

ParseError parse_meminfo(std::string_view text, MemInfo &out);

// /proc/loadavg --------------------------------------------------------------

struct LoadAvg {
    double one = 0, five = 0, fifteen = 0;
    std::uint64_t runnable = 0, total = 0;
};

ParseError parse_loadavg(std::string_view text, LoadAvg &out);

// /proc/diskstats ------------------------------------------------------------

struct DiskStats {
    std::string_view device;
    std::uint64_t reads = 0, reads_merged = 0, read_bytes = 0;
    std::uint64_t writes = 0, writes_merged = 0, written_bytes = 0;
    double read_seconds = 0, write_seconds = 0;
    std::uint64_t in_flight = 0;
    double io_seconds = 0, weighted_io_seconds = 0;
};

ParseError parse_diskstats(std::string_view text, std::vector<DiskStats> &out);

}  // namespace sonde::procfs
