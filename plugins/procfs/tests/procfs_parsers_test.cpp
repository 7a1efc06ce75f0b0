// The procfs parsers on real captured files, truncated and malformed ones.
#include "../procfs_parsers.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

using namespace sonde::procfs;

namespace {
std::string fixture(const std::string &name) {
    std::ifstream in(std::string(PROCFS_FIXTURES) + "/" + name);
    REQUIRE(in.good());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

TEST_CASE("/proc/stat: per-CPU times apart from the all-CPU line, which they sum to within rounding") {
    std::string text = fixture("stat");
    ProcStat s;
    REQUIRE_FALSE(parse_stat(text, 100.0, s));
    REQUIRE(s.cpus.size() == 2);  // captured on a 2-CPU machine
    CHECK(s.cpus[0].cpu == "cpu0");
    CHECK(s.cpus[1].cpu == "cpu1");
    REQUIRE(s.all_cpus);
    CHECK(s.all_cpus->cpu == "cpu");
    CHECK(s.all_cpus->seconds[0] == 103.51);  // user: 10351 ticks, where cpu0 + cpu1 = 5374 + 4976 = 10350
    // The kernel rounds each per-CPU value and the all-CPU sum separately:
    // at most one tick (1/100 s) per CPU apart.
    for (std::size_t state = 0; state < cpu_states.size(); ++state) {
        double sum = 0;
        for (const CpuTimes &cpu : s.cpus) sum += cpu.seconds[state];
        CHECK(std::abs(sum - s.all_cpus->seconds[state]) <= s.cpus.size() * 0.01 + 1e-9);
    }
    CHECK(s.all_cpus->seconds[3] > 0);  // idle
    CHECK(s.context_switches > 0);
    CHECK(s.processes_created > 0);
    CHECK(s.procs_running >= 1);
}

TEST_CASE("/proc/stat: a second parse into the same output forgets the first's CPUs") {
    ProcStat s;
    REQUIRE_FALSE(parse_stat("cpu  1 1 1 1 1 1 1 1\ncpu0 1 1 1 1 1 1 1 1\nctxt 1\n", 100.0, s));
    REQUIRE_FALSE(parse_stat("cpu0 2 2 2 2 2 2 2 2\nctxt 1\n", 100.0, s));
    CHECK_FALSE(s.all_cpus);
    REQUIRE(s.cpus.size() == 1);
    CHECK(s.cpus[0].seconds[0] == 0.02);
}

TEST_CASE("/proc/stat: a hand-checked line") {
    ProcStat s;
    REQUIRE_FALSE(parse_stat("cpu  100 200 300 400 500 600 700 800 900 1000\nctxt 42\nprocesses 7\n"
                             "procs_running 3\nprocs_blocked 1\n",
                             100.0, s));
    REQUIRE(s.all_cpus);
    CHECK(s.all_cpus->seconds == std::array<double, 8>{1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(s.cpus.empty());
    CHECK(s.context_switches == 42);
    CHECK(s.processes_created == 7);
    CHECK(s.procs_running == 3);
    CHECK(s.procs_blocked == 1);
}

TEST_CASE("/proc/stat: truncated and malformed input is refused with the line") {
    ProcStat s;
    CHECK(parse_stat(fixture("stat.truncated"), 100, s) == "truncated: no final newline");
    CHECK(parse_stat(fixture("stat.malformed"), 100, s) == "line 1: cpu line with fewer than 8 numbers");
    CHECK(parse_stat("", 100, s) == "empty file");
    CHECK(parse_stat("intr 1 2\n", 100, s) == "no cpu or ctxt lines");
}

TEST_CASE("/proc/meminfo: kB fields in bytes, counts as counts") {
    const std::string text = fixture("meminfo");  // the parsed names are views into it
    MemInfo m;
    REQUIRE_FALSE(parse_meminfo(text, m));
    CHECK(*m.find("MemTotal") > 1024 * 1024);
    CHECK(*m.find("MemTotal") % 1024 == 0);
    CHECK(*m.find("MemFree") <= *m.find("MemTotal"));
    CHECK(m.find("HugePages_Total").has_value());
    CHECK_FALSE(m.find("NoSuchField"));
    bool huge_is_count = false;
    for (const auto &f : m.fields)
        if (f.name == "HugePages_Total") huge_is_count = !f.in_bytes;
    CHECK(huge_is_count);
}

TEST_CASE("/proc/meminfo: truncated and malformed") {
    MemInfo m;
    CHECK(parse_meminfo(fixture("meminfo.truncated"), m) == "truncated: no final newline");
    CHECK(parse_meminfo(fixture("meminfo.malformed"), m) == "line 1: value is not a number");
    CHECK(parse_meminfo("MemFree: 10 kB\n", m) == "no MemTotal line");
}

TEST_CASE("/proc/loadavg") {
    LoadAvg l;
    REQUIRE_FALSE(parse_loadavg("0.50 1.25 2.00 3/456 7890\n", l));
    CHECK(l.one == 0.5);
    CHECK(l.five == 1.25);
    CHECK(l.fifteen == 2.0);
    CHECK(l.runnable == 3);
    CHECK(l.total == 456);
    REQUIRE_FALSE(parse_loadavg(fixture("loadavg"), l));
    CHECK(l.total > 0);
    CHECK(parse_loadavg(fixture("loadavg.malformed"), l) == "expected 5 fields");
}

TEST_CASE("/proc/diskstats: sectors to bytes, milliseconds to seconds") {
    std::vector<DiskStats> d;
    REQUIRE_FALSE(parse_diskstats("   8       0 sda 10 2 64 1500 20 3 128 2500 1 3000 4000 0 0 0 0\n", d));
    REQUIRE(d.size() == 1);
    CHECK(d[0].device == "sda");
    CHECK(d[0].reads == 10);
    CHECK(d[0].reads_merged == 2);
    CHECK(d[0].read_bytes == 64 * 512);
    CHECK(d[0].read_seconds == 1.5);
    CHECK(d[0].writes == 20);
    CHECK(d[0].written_bytes == 128 * 512);
    CHECK(d[0].write_seconds == 2.5);
    CHECK(d[0].in_flight == 1);
    CHECK(d[0].io_seconds == 3.0);
    CHECK(d[0].weighted_io_seconds == 4.0);
    const std::string text = fixture("diskstats");
    REQUIRE_FALSE(parse_diskstats(text, d));
    CHECK(d.size() >= 1);
    CHECK(parse_diskstats(fixture("diskstats.malformed"), d) == "line 1: fewer than 11 counters");
}

// Found by fuzzing (plugins/procfs/fuzz/corpus/): values that do not fit
// are refused with the line, not wrapped or converted out of range.
TEST_CASE("/proc/meminfo: a kB value too large for a byte count is refused") {
    MemInfo m;
    CHECK(parse_meminfo("MemTotal: 4080 kB\nHuge: 18014398509481984 kB\n", m) ==
          "line 2: value too large for a byte count");
    REQUIRE_FALSE(parse_meminfo("MemTotal: 18014398509481983 kB\n", m));
    CHECK(m.find("MemTotal") == 18014398509481983ull * 1024);
}

TEST_CASE("/proc/loadavg: negative, infinite or NaN averages are refused") {
    LoadAvg l;
    CHECK(parse_loadavg("-17 5.21 0.10 1/7 2\n", l) == "malformed load averages");
    CHECK(parse_loadavg("nan 0.1 0.1 1/7 2\n", l) == "malformed load averages");
    CHECK(parse_loadavg("0.1 inf 0.1 1/7 2\n", l) == "malformed load averages");
}

TEST_CASE("/proc/diskstats: a sector count too large for a byte count is refused") {
    std::vector<DiskStats> d;
    CHECK(parse_diskstats("8 0 sda 1 0 36028797018963968 0 0 0 0 0 0 0 0\n", d) ==
          "line 1: sector count too large for a byte count");
    REQUIRE_FALSE(parse_diskstats("8 0 sda 1 0 36028797018963967 0 0 0 0 0 0 0 0\n", d));
    CHECK(d[0].read_bytes == 36028797018963967ull * 512);
}
