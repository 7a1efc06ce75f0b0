// Every name the shipped inputs produce, as the prometheus sink exposes it,
// passes the real `promtool check metrics` without a single complaint: the
// agent runs the shipped conf.d's inputs (with the options that add records:
// per-object inventory, histograms, events, the all-CPU aggregate), is
// scraped over HTTP, and the text goes to promtool.
//
// Built twice: prometheus_promtool_test runs the inputs that need no
// privileges (procfs, net); prometheus_promtool_bpf_test (SONDE_PROMTOOL_BPF,
// label bpf) runs every shipped input, the BPF tracers and bpfinventory
// included, and is skipped where BPF is unavailable.
#include "http_get.hpp"
#include "read_file.hpp"
#include "serving_agent.hpp"

#if SONDE_PROMTOOL_BPF
#include "bpf_available.hpp"
#endif

#include <fcntl.h>

#include <cstdio>
#include <set>
#include <thread>

using namespace sonde_test;

namespace {

struct Verdict {
    int status = -1;
    std::string output;  // promtool's stdout and stderr
};

Verdict promtool_check_metrics(const TempDir &dir, const std::string &exposition) {
    REQUIRE_MESSAGE(access("/usr/bin/promtool", X_OK) == 0, "promtool is missing (scripts/install-deps.sh installs it)");
    dir.write("scrape.txt", exposition);
    const std::string command = "/usr/bin/promtool check metrics < " + (dir.path / "scrape.txt").string() + " 2>&1";
    FILE *pipe = popen(command.c_str(), "r");
    REQUIRE(pipe);
    Verdict v;
    char buffer[4096];
    while (fgets(buffer, sizeof buffer, pipe)) v.output += buffer;
    v.status = pclose(pipe);
    return v;
}

// Family names from the # TYPE lines.
std::set<std::string> families(const std::string &exposition) {
    std::set<std::string> out;
    for (std::size_t at = 0; (at = exposition.find("# TYPE ", at)) != std::string::npos; ++at) {
        std::size_t start = at + 7, end = exposition.find(' ', start);
        out.insert(exposition.substr(start, end - start));
    }
    return out;
}

bool has_all(const std::set<std::string> &have, const std::vector<std::string> &wanted) {
    for (const auto &name : wanted)
        if (!have.count(name)) return false;
    return true;
}

// Block I/O for iolatency: a file written and synced beside the test's
// working directory (the build tree is on a disk; /tmp may be tmpfs).
void write_and_sync() {
    const std::string path = "promtool-names-io-" + std::to_string(getpid());
    int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) return;
    std::string block(64 * 1024, 'x');
    if (write(fd, block.data(), block.size()) > 0) fsync(fd);
    close(fd);
    unlink(path.c_str());
}

}  // namespace

TEST_CASE("promtool check metrics accepts every name the shipped inputs produce, without a complaint") {
#if SONDE_PROMTOOL_BPF
    require_bpf();
#endif
    const std::uint16_t port = free_port();
    TempDir conf, work;
    // The shipped inputs as shipped, then what this test changes: a short
    // interval, every optional record on, its own prometheus sink.
    std::vector<std::string> wanted = {
        "system_cpu_time_seconds_total", "system_cpu_aggregate_time_seconds_total", "system_processes",
        "system_linux_meminfo_pages", "system_memory_usage_bytes", "system_disk_io_bytes_total",
        "system_network_io_bytes_total", "system_network_connections", "system_network_tcp_segments_total"};
    std::string overrides = "[agent]\ninterval = \"200ms\"\n"
                            "[inputs.procfs]\nmeminfo_all = true\n"
                            "[inputs.procfs_all_cpus]\nplugin = \"procfs\"\nper_cpu = false\n"
                            "[sinks.prometheus]\nlisten = \"127.0.0.1:" + std::to_string(port) +
                            "\"\ncount_events = true\n";
    conf.write("20-net.toml", read_file(std::string(SONDE_SOURCE_DIR) + "/conf.d/20-net.toml"));
    conf.write("20-procfs.toml", read_file(std::string(SONDE_SOURCE_DIR) + "/conf.d/20-procfs.toml"));
#if SONDE_PROMTOOL_BPF
    for (const char *file : {"30-bpfinventory.toml", "30-iolatency.toml", "30-sched.toml", "30-syscall.toml",
                             "40-pagefault.toml"})
        conf.write(file, read_file(std::string(SONDE_SOURCE_DIR) + "/conf.d/" + file));
    overrides += "[inputs.bpfinventory]\ninterval = \"200ms\"\nper_object = true\n"
                 "[inputs.syscall]\nthreshold = \"1ms\"\nhistograms = true\ninclude = [\"nanosleep\", "
                 "\"clock_nanosleep\", \"fsync\", \"write\"]\n"
                 "[inputs.sched]\nslow_threshold = \"1us\"\n"
                 "[inputs.pagefault]\nenabled = true\nsample_interval = \"50ms\"\n";
    for (const char *name :
         {"bpf_programs", "bpf_maps", "bpf_program_memlock_bytes", "bpf_map_memlock_bytes", "bpf_program_object_memlock_bytes",
          "bpf_map_object_memlock_bytes", "bpf_inventory_duration_seconds", "syscall_latency_seconds",
          "syscall_count_total", "syscall_slow_events_total", "sched_runqueue_latency_seconds",
          "sched_runqueue_latency_interval_seconds", "sched_runqueue_slow_events_total", "page_fault_latency_seconds",
          "page_fault_count_total", "page_fault_sampled_events_total", "block_io_latency_seconds",
          "block_io_operations_total", "block_io_bytes_total"})
        wanted.push_back(name);
#endif
    conf.write("95-test.toml", overrides);
    Process agent = start_serving_agent(conf);

    HttpReply scrape;
    for (int i = 0; i < 50; ++i) {
        write_and_sync();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        scrape = http_get(port, "/metrics");
        if (scrape.status == 200 && has_all(families(scrape.body), wanted)) break;
    }
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    INFO(agent.stderr_text);
    INFO(scrape.body);
    REQUIRE(scrape.status == 200);
    const std::set<std::string> have = families(scrape.body);
    for (const auto &name : wanted) CHECK_MESSAGE(have.count(name), "no family ", name);
    // The defect this guards against: one metric holding per-CPU and all-CPU series.
    CHECK(scrape.body.find("cpu=\"total\"") == std::string::npos);

    const Verdict verdict = promtool_check_metrics(work, scrape.body);
    INFO("promtool: ", verdict.output);
    CHECK(verdict.status == 0);
    CHECK(verdict.output.empty());
}
