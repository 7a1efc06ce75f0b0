#include "procfs_parsers.hpp"

#include "text/text.hpp"

#include <cmath>
#include <limits>

namespace sonde::procfs {

namespace {

using sonde::text::Fields;
using sonde::text::Lines;
using sonde::text::number;
using sonde::text::at_line;

// Reads N unsigned fields into out; false if any is missing or not a number.
template <std::size_t N>
bool read_numbers(Fields &fields, std::array<std::uint64_t, N> &out) {
    std::string_view f;
    for (std::size_t i = 0; i < N; ++i) {
        if (!fields.next(f)) return false;
        auto v = number<std::uint64_t>(f);
        if (!v) return false;
        out[i] = *v;
    }
    return true;
}

}  // namespace

ParseError parse_stat(std::string_view text, double ticks_per_second, ProcStat &out) {
    out.all_cpus.reset();
    out.cpus.clear();
    out.context_switches = out.processes_created = out.procs_running = out.procs_blocked = 0;
    if (auto e = text::incomplete(text)) return e;
    Lines lines(text);
    std::string_view line, key;
    bool saw_ctxt = false;
    while (lines.next(line)) {
        Fields fields(line);
        if (!fields.next(key)) continue;
        if (key.substr(0, 3) == "cpu") {
            // user nice system idle iowait irq softirq steal (guest columns are
            // already inside user and nice, so they are not added again).
            std::array<std::uint64_t, cpu_states.size()> ticks{};
            if (!read_numbers(fields, ticks)) return at_line(lines.number(), "cpu line with fewer than 8 numbers");
            CpuTimes &cpu = key == "cpu" ? out.all_cpus.emplace() : out.cpus.emplace_back();
            cpu.cpu = key;
            for (std::size_t i = 0; i < ticks.size(); ++i) cpu.seconds[i] = ticks[i] / ticks_per_second;
            continue;
        }
        std::uint64_t *target = key == "ctxt"            ? &out.context_switches
                                : key == "processes"     ? &out.processes_created
                                : key == "procs_running" ? &out.procs_running
                                : key == "procs_blocked" ? &out.procs_blocked
                                                         : nullptr;
        if (!target) continue;
        std::array<std::uint64_t, 1> value{};
        if (!read_numbers(fields, value)) return at_line(lines.number(), std::string(key) + " without a number");
        *target = value[0];
        saw_ctxt |= key == "ctxt";
    }
    if ((out.cpus.empty() && !out.all_cpus) || !saw_ctxt) return "no cpu or ctxt lines";
    return std::nullopt;
}

std::optional<std::uint64_t> MemInfo::find(std::string_view name) const {
    for (const MemField &f : fields)
        if (f.name == name) return f.value;
    return std::nullopt;
}

ParseError parse_meminfo(std::string_view text, MemInfo &out) {
    out.fields.clear();
    if (auto e = text::incomplete(text)) return e;
    Lines lines(text);
    std::string_view line, value, unit;
    while (lines.next(line)) {
        if (line.empty()) continue;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return at_line(lines.number(), "expected 'Name: value'");
        Fields fields(line.substr(colon + 1));
        auto v = fields.next(value) ? number<std::uint64_t>(value) : std::nullopt;
        if (!v) return at_line(lines.number(), "value is not a number");
        bool kb = fields.next(unit);
        if (kb && unit != "kB") return at_line(lines.number(), "unknown unit");
        if (kb && *v > std::numeric_limits<std::uint64_t>::max() / 1024)
            return at_line(lines.number(), "value too large for a byte count");
        out.fields.push_back({line.substr(0, colon), kb ? *v * 1024 : *v, kb});
    }
    if (!out.find("MemTotal")) return "no MemTotal line";
    return std::nullopt;
}

ParseError parse_loadavg(std::string_view text, LoadAvg &out) {
    if (auto e = text::incomplete(text)) return e;
    Fields fields(text.substr(0, text.size() - 1));
    std::string_view one, five, fifteen, tasks;
    if (!fields.next(one) || !fields.next(five) || !fields.next(fifteen) || !fields.next(tasks))
        return "expected 5 fields";
    auto a = text::decimal(one), b = text::decimal(five), c = text::decimal(fifteen);
    std::size_t slash = tasks.find('/');
    auto average = [](std::optional<double> v) { return v && std::isfinite(*v) && *v >= 0; };
    if (!average(a) || !average(b) || !average(c) || slash == std::string_view::npos) return "malformed load averages";
    auto runnable = number<std::uint64_t>(tasks.substr(0, slash));
    auto total = number<std::uint64_t>(tasks.substr(slash + 1));
    if (!runnable || !total) return "malformed task counts";
    out = {*a, *b, *c, *runnable, *total};
    return std::nullopt;
}

ParseError parse_diskstats(std::string_view text, std::vector<DiskStats> &out) {
    out.clear();
    if (auto e = text::incomplete(text)) return e;
    constexpr std::uint64_t sector_bytes = 512;  // diskstats counts 512-byte sectors whatever the device
    Lines lines(text);
    std::string_view line, major, minor, device;
    while (lines.next(line)) {
        Fields fields(line);
        if (!fields.next(major)) continue;
        if (!fields.next(minor) || !fields.next(device)) return at_line(lines.number(), "expected major minor name");
        // reads merged sectors ms writes merged sectors ms in_flight io_ms weighted_ms
        std::array<std::uint64_t, 11> v{};
        if (!read_numbers(fields, v)) return at_line(lines.number(), "fewer than 11 counters");
        if (v[2] > std::numeric_limits<std::uint64_t>::max() / sector_bytes ||
            v[6] > std::numeric_limits<std::uint64_t>::max() / sector_bytes)
            return at_line(lines.number(), "sector count too large for a byte count");
        DiskStats &d = out.emplace_back();
        d.device = device;
        d.reads = v[0];
        d.reads_merged = v[1];
        d.read_bytes = v[2] * sector_bytes;
        d.read_seconds = v[3] / 1e3;
        d.writes = v[4];
        d.writes_merged = v[5];
        d.written_bytes = v[6] * sector_bytes;
        d.write_seconds = v[7] / 1e3;
        d.in_flight = v[8];
        d.io_seconds = v[9] / 1e3;
        d.weighted_io_seconds = v[10] / 1e3;
    }
    return std::nullopt;
}

}  // namespace sonde::procfs
