// The syscall tracer in the real agent: this process makes the slow and fast
// syscalls it expects to see (or not) and reads the agent's JSON events.
#include "agent_process.hpp"
#include "bpf_available.hpp"

#include <sys/syscall.h>
#include <time.h>

#include <thread>

using namespace sonde_test;

namespace {

void sleep_syscall(long number, long ms) {
    timespec t{0, ms * 1'000'000};
    if (number == SYS_clock_nanosleep) syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &t, nullptr);
    else syscall(SYS_nanosleep, &t, nullptr);
}

// Starts the agent with the syscall tracer and stdout, waits until attached.
Process start_agent(const TempDir &conf) {
    Process p(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    p.read_until([&](const std::string &) { return p.stderr_text.find("inputs.syscall: tracing") != std::string::npos ||
                                                   p.stderr_text.find("cannot start") != std::string::npos; },
                 std::chrono::seconds(20));
    return p;
}

std::vector<nlohmann::json> events_of_tid(const std::string &stdout_text, long tid) {
    std::vector<nlohmann::json> out;
    for (const auto &r : json_lines(stdout_text))
        if (r["record"] == "event" && r["name"] == "syscall.slow" && r["attributes"]["tid"] == tid) out.push_back(r);
    return out;
}

}  // namespace

TEST_CASE("a 25 ms nanosleep is one event with its latency; 1 ms and excluded calls are not") {
    require_bpf();
    TempDir conf;
    conf.write("s.toml", "[agent]\ninterval = \"100ms\"\n"
                         "[inputs.syscall]\nthreshold = \"10ms\"\n"
                         "include = [\"nanosleep\", \"clock_nanosleep\"]\nexclude = [\"clock_nanosleep\"]\n"
                         "[sinks.stdout]\n");
    Process agent = start_agent(conf);
    INFO(agent.stderr_text);
    REQUIRE(agent.stderr_text.find("inputs.syscall: tracing 1 syscalls slower than 10000 us via tp_btf") !=
            std::string::npos);

    const long tid = syscall(SYS_gettid);
    sleep_syscall(SYS_nanosleep, 25);
    sleep_syscall(SYS_nanosleep, 1);
    sleep_syscall(SYS_clock_nanosleep, 25);  // excluded
    agent.read_until([&](const std::string &out) { return !events_of_tid(out, tid).empty(); }, std::chrono::seconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // anything else that would arrive
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);

    auto events = events_of_tid(agent.stdout_text, tid);
    REQUIRE(events.size() == 1);
    const auto &a = events[0]["attributes"];
    CHECK(a["syscall.name"] == "nanosleep");
    CHECK(a["syscall.id"] == SYS_nanosleep);
    CHECK(a["pid"] == getpid());
    CHECK(a["return"] == 0);
    CHECK(a["latency_ns"].get<std::uint64_t>() >= 25'000'000u);
    CHECK(a["latency_ns"].get<std::uint64_t>() <= 40'000'000u);
    CHECK(a["comm"].get<std::string>().rfind("syscall_test", 0) == 0);
}

TEST_CASE("blocking calls are excluded by default and can be asked for") {
    require_bpf();
    TempDir conf;
    conf.write("s.toml", "[inputs.syscall]\nthreshold = \"10ms\"\n[sinks.stdout]\n");
    Process agent = start_agent(conf);
    INFO(agent.stderr_text);
    const long tid = syscall(SYS_gettid);
    sleep_syscall(SYS_nanosleep, 20);  // excluded by default
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    CHECK(events_of_tid(agent.stdout_text, tid).empty());
}

TEST_CASE("a kernel without the hooks, and no privileges: one-line refusal, the agent keeps running") {
    require_bpf();
    TempDir conf;
    conf.write("s.toml", "[agent]\ninterval = \"100ms\"\n[inputs.syscall]\n[inputs.procfs]\n[sinks.stdout]\n");
    setenv("SONDE_BPF_FAIL_HOOKS", "tp_btf,raw_tp,tracepoint", 1);
    Process agent = start_agent(conf);
    unsetenv("SONDE_BPF_FAIL_HOOKS");
    agent.read_until([](const std::string &out) { return out.find("system.cpu.load_average.1m") != std::string::npos; },
                     std::chrono::seconds(5));
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find("error inputs.syscall: cannot start: no usable hook on this kernel: "
                                 "tp_btf: unavailable (forced by SONDE_BPF_FAIL_HOOKS); raw_tp: unavailable (forced "
                                 "by SONDE_BPF_FAIL_HOOKS); tracepoint: unavailable (forced by SONDE_BPF_FAIL_HOOKS)\n") !=
          std::string::npos);
    CHECK(agent.stdout_text.find("system.cpu.load_average.1m") != std::string::npos);  // procfs went on

    // Without privileges: as nobody, through setpriv (util-linux, installed by scripts/install-deps.sh).
    REQUIRE_MESSAGE(access("/usr/bin/setpriv", X_OK) == 0, "setpriv is missing");
    {
        std::filesystem::permissions(conf.path, std::filesystem::perms::all);
        Process unprivileged({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SONDE_BINARY,
                              "run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR});
        unprivileged.read_until([&](const std::string &out) { return out.find("load_average") != std::string::npos; },
                                std::chrono::seconds(5));
        kill(unprivileged.pid, SIGTERM);
        CHECK(unprivileged.wait() == 0);
        INFO(unprivileged.stderr_text);
        CHECK(unprivileged.stderr_text.find("inputs.syscall: cannot start: needs root, or CAP_BPF and CAP_PERFMON, to "
                                            "load BPF programs (running as uid 65534)") != std::string::npos);
        CHECK(unprivileged.stdout_text.find("system.cpu.load_average.1m") != std::string::npos);
    }
}

TEST_CASE("the forced fallback picks raw_tp, then the tracepoint") {
    require_bpf();
    TempDir conf;
    conf.write("s.toml", "[inputs.syscall]\ninclude = [\"nanosleep\"]\n[sinks.stdout]\n");
    for (auto [fail, chosen] : {std::pair{"tp_btf", "via raw_tp"}, std::pair{"tp_btf,raw_tp", "via tracepoint"}}) {
        setenv("SONDE_BPF_FAIL_HOOKS", fail, 1);
        Process agent = start_agent(conf);
        unsetenv("SONDE_BPF_FAIL_HOOKS");
        const long tid = syscall(SYS_gettid);
        sleep_syscall(SYS_nanosleep, 15);
        agent.read_until([&](const std::string &out) { return !events_of_tid(out, tid).empty(); },
                         std::chrono::seconds(5));
        kill(agent.pid, SIGTERM);
        REQUIRE(agent.wait() == 0);
        INFO(agent.stderr_text);
        CHECK(agent.stderr_text.find(chosen) != std::string::npos);
        CHECK(events_of_tid(agent.stdout_text, tid).size() == 1);
    }
}

TEST_CASE("per-syscall histograms count every traced call of the chosen command with its latency") {
    require_bpf();
    TempDir conf;
    // Filtered by command name in the kernel: only this test binary's threads.
    conf.write("s.toml", "[agent]\ninterval = \"100ms\"\n[inputs.syscall]\nhistograms = true\n"
                         "comm = \"syscall_test\"\ninclude = [\"nanosleep\"]\n[sinks.stdout]\n");
    Process agent = start_agent(conf);
    for (int i = 0; i < 5; ++i) sleep_syscall(SYS_nanosleep, 2);
    auto nanosleep_count = [](const std::string &out) {
        std::uint64_t n = 0;
        for (const auto &r : json_lines(out))
            if (r["name"] == "syscall.count" && r["attributes"]["syscall.name"] == "nanosleep") n = r["value"];
        return n;
    };
    agent.read_until([&](const std::string &out) { return nanosleep_count(out) >= 5; }, std::chrono::seconds(5));
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    INFO(agent.stderr_text);
    CHECK(nanosleep_count(agent.stdout_text) == 5);  // only this process, only nanosleep
    double sum = 0;
    for (const auto &r : json_lines(agent.stdout_text))
        if (r["name"] == "syscall.latency" && r["attributes"]["syscall.name"] == "nanosleep") sum = r["histogram"]["sum"];
    CHECK(sum >= 0.010);
    CHECK(sum < 0.050);
}
