// The standard Prometheus process metrics of the agent itself, named, typed
// and computed as the Prometheus client libraries do on Linux
// (process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_start_time_seconds,
// process_open_fds, process_max_fds), from /proc/self.
//
// Parsers take the text of a file and never touch the file system; the
// reader below them reads /proc/self into stack buffers (no allocation but
// the families it returns).
#pragma once

#include "control/self_metrics.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace sonde::core {

// What the client libraries take from /proc/<pid>/stat (proc(5)).
struct ProcessStat {
    std::uint64_t user_ticks = 0;             // utime, field 14, in clock ticks
    std::uint64_t system_ticks = 0;           // stime, field 15
    std::uint64_t start_ticks_after_boot = 0; // starttime, field 22
    std::uint64_t virtual_memory_bytes = 0;   // vsize, field 23
    std::uint64_t resident_pages = 0;         // rss, field 24
};

// Parses /proc/<pid>/stat. The command name (field 2) may hold spaces and
// ')', so the fields are counted from the last ')'. nullopt when the text
// is cut short or a field is not a number.
std::optional<ProcessStat> parse_process_stat(std::string_view stat_text);

// The boot time in seconds since the epoch (not negative): the `btime` line of /proc/stat.
std::optional<std::int64_t> parse_boot_time(std::string_view proc_stat_text);

// One reading, in the units of the metrics.
struct ProcessSnapshot {
    std::optional<double> cpu_seconds;           // user + system
    std::optional<double> resident_memory_bytes;
    std::optional<double> virtual_memory_bytes;
    std::optional<double> start_time_seconds;    // since the epoch
    std::optional<double> open_fds;
    std::optional<double> max_fds;               // RLIMIT_NOFILE, soft
};

// Converts a parsed stat with the host's clock tick rate and page size and
// the boot time (the start time stays unset without one).
ProcessSnapshot snapshot_from(const ProcessStat &stat, long ticks_per_second, long page_size_bytes,
                              std::optional<std::int64_t> boot_time_seconds);

// Reads /proc/self/stat, /proc/self/fd and RLIMIT_NOFILE now; /proc/stat's
// btime once per process (it does not change). A source that cannot be read
// leaves its values unset.
ProcessSnapshot read_process_snapshot();

// The families of a snapshot, one sample each, without the unset ones.
std::vector<SelfFamily> process_families(const ProcessSnapshot &snapshot);

// process_families(read_process_snapshot()): what /metrics and the `self`
// input show. Costs a few system calls (measured in
// tests/process_metrics_test.cpp).
std::vector<SelfFamily> process_families();

}  // namespace sonde::core
