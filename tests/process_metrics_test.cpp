// The process metrics (core/src/control/process_metrics.hpp): parsers on
// captured /proc files (tests/fixtures/process/), and the live reading of
// this test process against getrusage, getrlimit and its own descriptors.
#include "control/process_metrics.hpp"

#include "read_file.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <string>

using namespace sonde::core;

namespace {

std::string fixture(const std::string &name) {
    const std::string text = sonde_test::read_file(std::string(PROCESS_FIXTURES) + "/" + name);
    REQUIRE_MESSAGE(!text.empty(), "missing fixture " << name);
    return text;
}

double rusage_cpu_seconds() {
    struct rusage usage{};
    REQUIRE(getrusage(RUSAGE_SELF, &usage) == 0);
    const auto seconds = [](const timeval &t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

const SelfFamily *find(const std::vector<SelfFamily> &families, const std::string &name) {
    for (const SelfFamily &f : families)
        if (f.name == name) return &f;
    return nullptr;
}

}  // namespace

TEST_CASE("/proc/<pid>/stat: fields counted from the last ')' of the command name") {
    // A copy of sleep(1) named "x) (y z" (the kernel keeps 15 bytes of it).
    const auto odd = parse_process_stat(fixture("stat_comm_with_paren_and_spaces"));
    REQUIRE(odd);
    CHECK(odd->user_ticks == 0);
    CHECK(odd->system_ticks == 0);
    CHECK(odd->start_ticks_after_boot == 151667);
    CHECK(odd->virtual_memory_bytes == 2990080);
    CHECK(odd->resident_pages == 392);

    // A python3 that spun for 0.6 s.
    const auto busy = parse_process_stat(fixture("stat_busy_python"));
    REQUIRE(busy);
    CHECK(busy->user_ticks == 35);
    CHECK(busy->system_ticks == 1);
    CHECK(busy->start_ticks_after_boot == 152005);
    CHECK(busy->virtual_memory_bytes == 16961536);
    CHECK(busy->resident_pages == 3367);
}

TEST_CASE("/proc/<pid>/stat: cut short or not numbers") {
    const std::string whole = fixture("stat_busy_python");
    CHECK_FALSE(parse_process_stat(""));
    CHECK_FALSE(parse_process_stat("16214 (python3"));                             // no ')'
    CHECK_FALSE(parse_process_stat(whole.substr(0, whole.find(" 16961536"))));  // ends before vsize
    CHECK_FALSE(parse_process_stat("1 (a) R 1 1 1 0 -1 0 0 0 0 0 x5 1 0 0 20 0 1 0 5 6 7\n"));
    CHECK_FALSE(parse_process_stat("1 (a) R 1 1 1 0 -1 0 0 0 0 0 -5 1 0 0 20 0 1 0 5 6 7\n"));
    // Exactly the fields needed, with and without the final newline; a name holding ')' and a newline.
    const auto minimal = parse_process_stat("1 (a\n)b)) R 1 1 1 0 -1 0 0 0 0 0 4 1 0 0 20 0 1 0 5 6 7\n");
    REQUIRE(minimal);
    CHECK(minimal->user_ticks == 4);
    CHECK(minimal->resident_pages == 7);
    CHECK(parse_process_stat("1 (a) R 1 1 1 0 -1 0 0 0 0 0 4 1 0 0 20 0 1 0 5 6 7"));
}

TEST_CASE("/proc/stat: btime") {
    CHECK(parse_boot_time(fixture("proc_stat")) == 1796202956);
    CHECK_FALSE(parse_boot_time("cpu  1 2 3\nctxt 5\n"));
    CHECK_FALSE(parse_boot_time("btime -1\n"));  // process_stat_fuzz: a negative start time
    CHECK_FALSE(parse_boot_time("btime\n"));
    CHECK_FALSE(parse_boot_time("btime soon\n"));
    CHECK_FALSE(parse_boot_time("btime 1 2\n"));
    CHECK(parse_boot_time("btimex 3\nbtime 7") == 7);
}

TEST_CASE("a snapshot in the metrics' units") {
    ProcessStat stat;
    stat.user_ticks = 35;
    stat.system_ticks = 1;
    stat.start_ticks_after_boot = 152005;
    stat.virtual_memory_bytes = 16961536;
    stat.resident_pages = 3367;
    const ProcessSnapshot s = snapshot_from(stat, 100, 4096, 1796202956);
    CHECK(*s.cpu_seconds == doctest::Approx(0.36));
    CHECK(*s.resident_memory_bytes == 3367.0 * 4096);
    CHECK(*s.virtual_memory_bytes == 16961536.0);
    CHECK(*s.start_time_seconds == doctest::Approx(1796202956 + 1520.05));
    CHECK_FALSE(snapshot_from(stat, 100, 4096, std::nullopt).start_time_seconds);

    const std::vector<SelfFamily> families = process_families(s);
    REQUIRE(families.size() == 4);  // no fd counts in this snapshot
    const SelfFamily *cpu = find(families, "process_cpu_seconds");
    REQUIRE(cpu);
    CHECK(cpu->type == SelfMetricType::counter);
    CHECK(cpu->unit == "seconds");
    REQUIRE(cpu->samples.size() == 1);
    CHECK(cpu->samples[0].labels.empty());
    CHECK(cpu->samples[0].value == doctest::Approx(0.36));
    CHECK(find(families, "process_resident_memory_bytes")->unit == "bytes");
    CHECK(find(families, "process_start_time_seconds")->type == SelfMetricType::gauge);
    CHECK_FALSE(find(families, "process_open_fds"));
}

TEST_CASE("live: this process, against getrusage, getrlimit and its descriptors") {
    // Spend some CPU so that the comparison means something.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    volatile std::uint64_t spin = 0;
    while (std::chrono::steady_clock::now() < until) spin = spin + 1;

    const double before = rusage_cpu_seconds();
    const ProcessSnapshot s = read_process_snapshot();
    const double after = rusage_cpu_seconds();
    REQUIRE(s.cpu_seconds);
    // The kernel samples utime/stime in clock ticks: a few ticks of slack.
    CHECK(*s.cpu_seconds >= before - 0.05);
    CHECK(*s.cpu_seconds <= after + 0.05);
    CHECK(*s.cpu_seconds > 0.1);

    REQUIRE(s.resident_memory_bytes);
    struct rusage usage{};
    REQUIRE(getrusage(RUSAGE_SELF, &usage) == 0);
    CHECK(*s.resident_memory_bytes > 0);
    CHECK(*s.resident_memory_bytes <= static_cast<double>(usage.ru_maxrss) * 1024);  // ru_maxrss is in KiB
    CHECK(*s.resident_memory_bytes > 1024.0 * 1024);  // a C++ test process is never below 1 MiB
    REQUIRE(s.virtual_memory_bytes);
    CHECK(*s.virtual_memory_bytes >= *s.resident_memory_bytes);

    REQUIRE(s.start_time_seconds);
    const double now = static_cast<double>(std::time(nullptr));
    CHECK(*s.start_time_seconds <= now + 1);
    CHECK(*s.start_time_seconds >= now - 900);  // this test's timeout under sanitizers

    REQUIRE(s.open_fds);
    std::size_t listed = 0;  // the iterator holds a descriptor of its own
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd"); it != std::filesystem::directory_iterator();
         ++it)
        ++listed;
    CHECK(*s.open_fds == static_cast<double>(listed - 1));
    const int a = ::open("/dev/null", O_RDONLY | O_CLOEXEC), b = ::dup(a), c = ::dup(a);
    REQUIRE((a >= 0 && b >= 0 && c >= 0));
    CHECK(*read_process_snapshot().open_fds == *s.open_fds + 3);
    ::close(a), ::close(b), ::close(c);
    CHECK(*read_process_snapshot().open_fds == *s.open_fds);

    struct rlimit limit{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
    REQUIRE(s.max_fds);
    CHECK(*s.max_fds == static_cast<double>(limit.rlim_cur));
    struct rlimit lower = limit;
    lower.rlim_cur = 999;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &lower) == 0);
    CHECK(*read_process_snapshot().max_fds == 999);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &limit) == 0);

    const std::vector<SelfFamily> families = process_families();
    CHECK(families.size() == 6);
    for (const char *name : {"process_cpu_seconds", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                             "process_start_time_seconds", "process_open_fds", "process_max_fds"})
        CHECK_MESSAGE(find(families, name), name);
}

TEST_CASE("cost: well under a millisecond per reading") {
    (void)process_families();  // the one-time /proc/stat read
    constexpr int readings = 2000;
    const auto start = std::chrono::steady_clock::now();
    std::size_t sink = 0;
    for (int i = 0; i < readings; ++i) sink += process_families().size();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    const double micros = std::chrono::duration<double, std::micro>(elapsed).count() / readings;
    MESSAGE("process_families(): " << micros << " us per reading (" << readings << " readings)");
    CHECK(sink == 6u * readings);
    CHECK(micros < 1000);
}
