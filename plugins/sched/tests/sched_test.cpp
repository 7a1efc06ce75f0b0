// The sched tracer in the real agent, filtered to this process: a pipe
// ping-pong between two threads pinned to one CPU must add at least one
// sample per round trip, and a CPU hog on that CPU must shift latency up.
#include "agent_process.hpp"
#include "bpf_available.hpp"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <thread>

using namespace sonde_test;

namespace {

void pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Two threads on `cpu` bounce a byte through two pipes `round_trips` times.
void ping_pong(int cpu, int round_trips) {
    int ab[2], ba[2];
    REQUIRE(pipe(ab) == 0);
    REQUIRE(pipe(ba) == 0);
    std::thread pong([&] {
        pin_to(cpu);
        char c;
        for (int i = 0; i < round_trips; ++i) {
            if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1) break;
        }
    });
    pin_to(cpu);
    char c = 'x';
    for (int i = 0; i < round_trips; ++i) {
        if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1) break;
    }
    pong.join();
    for (int fd : {ab[0], ab[1], ba[0], ba[1]}) close(fd);
}

struct Totals {
    std::uint64_t count = 0;
    double sum = 0;
};

// The newest cumulative histogram the agent has printed so far.
Totals latest(const std::string &stdout_text) {
    Totals t;
    for (const auto &r : json_lines(stdout_text))
        if (r["name"] == "sched.runqueue.latency") t = {r["histogram"]["count"].get<std::uint64_t>(), r["histogram"]["sum"].get<double>()};
    return t;
}

std::size_t histogram_lines(const std::string &s) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = s.find("\"sched.runqueue.latency\"", at)) != std::string::npos; ++at) ++n;
    return n;
}

// Waits for two more histogram points, so everything before is included.
Totals settle(Process &agent) {
    std::size_t seen = histogram_lines(agent.stdout_text);
    agent.read_until([&](const std::string &s) { return histogram_lines(s) >= seen + 2; }, std::chrono::seconds(5));
    return latest(agent.stdout_text);
}

}  // namespace

TEST_CASE("ping-pong adds a sample per round trip; a CPU hog shifts the latency up") {
    require_bpf();
    const int cpu = static_cast<int>(std::thread::hardware_concurrency()) - 1;
    TempDir conf;
    conf.write("s.toml", "[agent]\ninterval = \"200ms\"\n[inputs.sched]\npid = " + std::to_string(getpid()) +
                             "\n[sinks.stdout]\nmatch = [\"sched.runqueue.latency\"]\n");
    Process agent(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    agent.read_until([](const std::string &s) { return histogram_lines(s) >= 1; }, std::chrono::seconds(20));
    INFO(agent.stderr_text);
    REQUIRE(agent.stderr_text.find("inputs.sched: run-queue latency via tp_btf") != std::string::npos);

    Totals before = settle(agent);
    const int round_trips = 2000;
    ping_pong(cpu, round_trips);
    Totals quiet = settle(agent);
    CHECK(quiet.count - before.count >= static_cast<std::uint64_t>(round_trips));

    std::atomic<bool> hogging{true};
    std::thread hog([&] {
        pin_to(cpu);
        while (hogging.load(std::memory_order_relaxed)) {
        }
    });
    ping_pong(cpu, round_trips);
    hogging = false;
    hog.join();
    Totals loaded = settle(agent);
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);

    double quiet_mean = (quiet.sum - before.sum) / static_cast<double>(quiet.count - before.count);
    double loaded_mean = (loaded.sum - quiet.sum) / static_cast<double>(loaded.count - quiet.count);
    INFO("mean wait without hog " << quiet_mean * 1e6 << " us, with hog " << loaded_mean * 1e6 << " us");
    CHECK(loaded.count - quiet.count >= static_cast<std::uint64_t>(round_trips));
    CHECK(loaded_mean > 2 * quiet_mean);
}

TEST_CASE("long waits become events when slow_threshold is set; grouping by pid labels the histogram") {
    require_bpf();
    const int cpu = static_cast<int>(std::thread::hardware_concurrency()) - 1;
    TempDir conf;
    conf.write("s.toml", "[agent]\ninterval = \"200ms\"\n[inputs.sched]\ngroup_by = \"pid\"\nslow_threshold = \"1ms\"\n"
                         "[sinks.stdout]\n");
    Process agent(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    agent.read_until([](const std::string &s) { return histogram_lines(s) >= 1; }, std::chrono::seconds(20));
    std::atomic<bool> hogging{true};
    std::thread hog([&] {
        pin_to(cpu);
        while (hogging.load(std::memory_order_relaxed)) {
        }
    });
    ping_pong(cpu, 500);
    hogging = false;
    hog.join();
    settle(agent);
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    bool ours_labelled = false, slow_event = false;
    for (const auto &r : json_lines(agent.stdout_text)) {
        if (r["name"] == "sched.runqueue.latency" && r["attributes"]["pid"] == getpid()) ours_labelled = true;
        if (r["name"] == "sched.runqueue.slow" && r["attributes"]["pid"] == getpid()) {
            slow_event = true;
            CHECK(r["attributes"]["latency_ns"].get<std::uint64_t>() >= 1'000'000u);
        }
    }
    CHECK(ours_labelled);
    CHECK(slow_event);
}
