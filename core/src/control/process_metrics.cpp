#include "control/process_metrics.hpp"

#include "text/text.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace sonde::core {

namespace {

// Reads a whole file into `buffer`; the text, or nullopt when it cannot be
// read or does not fit.
std::optional<std::string_view> read_into(const char *path, char *buffer, std::size_t capacity) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::size_t size = 0;
    bool ok = true;
    while (size < capacity) {
        const ssize_t n = ::read(fd, buffer + size, capacity - size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        size += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (!ok || size == capacity) return std::nullopt;
    return std::string_view(buffer, size);
}

std::optional<std::int64_t> read_boot_time() {
    // /proc/stat grows with the CPUs and interrupts (tens of KiB on large
    // hosts); read once, it may go through the heap.
    std::string text;
    const int fd = ::open("/proc/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    char chunk[8192];
    for (;;) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return parse_boot_time(text);
}

// Entries of /proc/self/fd but the directory's own descriptor.
std::optional<double> count_open_fds() {
    const int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return std::nullopt;
    alignas(dirent64) char buffer[4096];
    std::uint64_t count = 0;
    bool ok = true;
    for (;;) {
        const ssize_t n = ::getdents64(dir, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        for (ssize_t at = 0; at < n;) {
            const auto *entry = reinterpret_cast<const dirent64 *>(buffer + at);
            at += entry->d_reclen;
            const std::string_view name = entry->d_name;
            if (name == "." || name == ".." || text::number<int>(name) == dir) continue;
            ++count;
        }
    }
    ::close(dir);
    if (!ok) return std::nullopt;
    return static_cast<double>(count);
}

SelfFamily family(const char *name, SelfMetricType type, const char *unit, const char *help, double value) {
    SelfFamily f;
    f.name = name;
    f.type = type;
    f.unit = unit;
    f.help = help;
    f.samples.push_back(SelfSample{{}, value, {}});
    return f;
}

}  // namespace

std::optional<ProcessStat> parse_process_stat(std::string_view stat_text) {
    const std::size_t comm_end = stat_text.rfind(')');
    if (comm_end == std::string_view::npos) return std::nullopt;
    text::Fields fields(stat_text.substr(comm_end + 1));
    ProcessStat stat;
    std::string_view field;
    // Field 3 (state) is the first after the command name.
    for (int number = 3; number <= 24; ++number) {
        if (!fields.next(field)) return std::nullopt;
        std::uint64_t *target = number == 14   ? &stat.user_ticks
                                : number == 15 ? &stat.system_ticks
                                : number == 22 ? &stat.start_ticks_after_boot
                                : number == 23 ? &stat.virtual_memory_bytes
                                : number == 24 ? &stat.resident_pages
                                               : nullptr;
        if (!target) continue;
        if (!field.empty() && field.back() == '\n') field.remove_suffix(1);
        const auto value = text::number<std::uint64_t>(field);
        if (!value) return std::nullopt;
        *target = *value;
    }
    return stat;
}

std::optional<std::int64_t> parse_boot_time(std::string_view proc_stat_text) {
    text::Lines lines(proc_stat_text);
    std::string_view line;
    while (lines.next(line)) {
        text::Fields fields(line);
        std::string_view key, value, extra;
        if (!fields.next(key) || key != "btime") continue;
        if (!fields.next(value) || fields.next(extra)) return std::nullopt;
        // Seconds since the epoch: a negative boot time is not one (it made
        // process_start_time_seconds negative; found by process_stat_fuzz).
        auto seconds = text::number<std::int64_t>(value);
        if (!seconds || *seconds < 0) return std::nullopt;
        return seconds;
    }
    return std::nullopt;
}

ProcessSnapshot snapshot_from(const ProcessStat &stat, long ticks_per_second, long page_size_bytes,
                              std::optional<std::int64_t> boot_time_seconds) {
    ProcessSnapshot s;
    if (ticks_per_second > 0) {
        const double tick = 1.0 / static_cast<double>(ticks_per_second);
        s.cpu_seconds = static_cast<double>(stat.user_ticks + stat.system_ticks) * tick;
        if (boot_time_seconds)
            s.start_time_seconds =
                static_cast<double>(*boot_time_seconds) + static_cast<double>(stat.start_ticks_after_boot) * tick;
    }
    if (page_size_bytes > 0)
        s.resident_memory_bytes = static_cast<double>(stat.resident_pages) * static_cast<double>(page_size_bytes);
    s.virtual_memory_bytes = static_cast<double>(stat.virtual_memory_bytes);
    return s;
}

ProcessSnapshot read_process_snapshot() {
    static const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    static const long page_size_bytes = ::sysconf(_SC_PAGESIZE);
    static const std::optional<std::int64_t> boot_time_seconds = read_boot_time();
    ProcessSnapshot s;
    char buffer[2048];  // a stat line is at most about 1100 bytes
    if (auto text = read_into("/proc/self/stat", buffer, sizeof buffer))
        if (auto stat = parse_process_stat(*text))
            s = snapshot_from(*stat, ticks_per_second, page_size_bytes, boot_time_seconds);
    s.open_fds = count_open_fds();
    struct rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = static_cast<double>(limit.rlim_cur);
    return s;
}

std::vector<SelfFamily> process_families(const ProcessSnapshot &snapshot) {
    using T = SelfMetricType;
    std::vector<SelfFamily> out;
    out.reserve(6);
    if (snapshot.cpu_seconds)
        out.push_back(family("process_cpu_seconds", T::counter, "seconds",
                             "Total user and system CPU time spent in seconds.", *snapshot.cpu_seconds));
    if (snapshot.resident_memory_bytes)
        out.push_back(family("process_resident_memory_bytes", T::gauge, "bytes", "Resident memory size in bytes.",
                             *snapshot.resident_memory_bytes));
    if (snapshot.virtual_memory_bytes)
        out.push_back(family("process_virtual_memory_bytes", T::gauge, "bytes", "Virtual memory size in bytes.",
                             *snapshot.virtual_memory_bytes));
    if (snapshot.start_time_seconds)
        out.push_back(family("process_start_time_seconds", T::gauge, "seconds",
                             "Start time of the process since unix epoch in seconds.", *snapshot.start_time_seconds));
    if (snapshot.open_fds)
        out.push_back(family("process_open_fds", T::gauge, "", "Number of open file descriptors.", *snapshot.open_fds));
    if (snapshot.max_fds)
        out.push_back(family("process_max_fds", T::gauge, "", "Maximum number of open file descriptors.",
                             *snapshot.max_fds));
    return out;
}

std::vector<SelfFamily> process_families() { return process_families(read_process_snapshot()); }

}  // namespace sonde::core
