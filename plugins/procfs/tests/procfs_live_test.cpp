// The parsers on this machine's live files, cross-checked against sysinfo(2).
#include "../procfs_parsers.hpp"

#include "read_file.hpp"

#include <doctest/doctest.h>

#include <sys/sysinfo.h>
#include <unistd.h>

using namespace sonde::procfs;

TEST_CASE("live meminfo agrees with sysinfo(2)") {
    struct sysinfo si {};
    REQUIRE(sysinfo(&si) == 0);
    // MemInfo holds views into the text: the text must outlive it.
    const std::string text = sonde_test::read_file("/proc/meminfo");
    MemInfo m;
    REQUIRE_FALSE(parse_meminfo(text, m));
    const double unit = si.mem_unit;
    CHECK(static_cast<double>(*m.find("MemTotal")) == doctest::Approx(si.totalram * unit).epsilon(0.001));
    CHECK(static_cast<double>(*m.find("SwapTotal")) == doctest::Approx(si.totalswap * unit).epsilon(0.001));
    // Free memory moves; allow 5% of total.
    CHECK(std::abs(static_cast<double>(*m.find("MemFree")) - si.freeram * unit) < 0.05 * si.totalram * unit);
}

TEST_CASE("live loadavg agrees with sysinfo(2)") {
    struct sysinfo si {};
    REQUIRE(sysinfo(&si) == 0);
    LoadAvg l;
    REQUIRE_FALSE(parse_loadavg(sonde_test::read_file("/proc/loadavg"), l));
    CHECK(l.one == doctest::Approx(si.loads[0] / 65536.0).epsilon(0.2));
    CHECK(l.total > 0);
}

TEST_CASE("live stat has one line per online CPU and the all-CPU line apart") {
    const std::string text = sonde_test::read_file("/proc/stat");  // ProcStat holds views into it
    ProcStat s;
    REQUIRE_FALSE(parse_stat(text, static_cast<double>(sysconf(_SC_CLK_TCK)), s));
    CHECK(s.cpus.size() == static_cast<std::size_t>(sysconf(_SC_NPROCESSORS_ONLN)));
    for (const CpuTimes &cpu : s.cpus) CHECK(cpu.cpu != "cpu");
    REQUIRE(s.all_cpus);
    struct sysinfo si {};
    REQUIRE(sysinfo(&si) == 0);
    // Idle plus busy time of all CPUs cannot exceed uptime times CPU count.
    double total = 0;
    for (double v : s.all_cpus->seconds) total += v;
    CHECK(total <= (si.uptime + 2) * static_cast<double>(s.cpus.size()));
}

TEST_CASE("live diskstats parses") {
    std::vector<DiskStats> d;
    CHECK_FALSE(parse_diskstats(sonde_test::read_file("/proc/diskstats"), d));
}
