// CPU time through the real agent: system.cpu.time has one series per CPU
// and none for all CPUs, so a sum over its series counts each CPU once and
// matches /proc/stat's all-CPU line within the kernel's rounding; with
// per_cpu = false the all-CPU line arrives as system.cpu.aggregate_time.
#include "agent_process.hpp"
#include "read_file.hpp"

#include <array>
#include <cmath>
#include <map>
#include <regex>
#include <sstream>

using namespace sonde_test;

namespace {

constexpr std::array<const char *, 8> states = {"user", "nice", "system", "idle", "wait", "interrupt", "softirq", "steal"};
using StateSeconds = std::map<std::string, double>;

// The all-CPU line ("cpu  ...") of a /proc/stat text, in seconds per state.
StateSeconds all_cpu_line(const std::string &stat, double ticks_per_second) {
    std::istringstream in(stat.substr(0, stat.find('\n')));
    std::string key;
    in >> key;
    REQUIRE(key == "cpu");
    StateSeconds out;
    for (const char *state : states) {
        double ticks = -1;
        in >> ticks;
        REQUIRE(ticks >= 0);
        out[state] = ticks / ticks_per_second;
    }
    return out;
}

struct CpuRecords {
    std::map<std::string, StateSeconds> per_cpu;  // the first cycle of system.cpu.time, by cpu
    std::map<std::string, StateSeconds> aggregate;  // the first system.cpu.aggregate_time, by input
    std::vector<std::string> cpu_time_inputs;
};

CpuRecords cpu_records(const std::string &stdout_text) {
    CpuRecords r;
    for (const auto &line : json_lines(stdout_text)) {
        const std::string name = line.at("name");
        const auto &attributes = line.at("attributes");
        if (name == "system.cpu.time") {
            r.cpu_time_inputs.push_back(line.at("input"));
            // First value only: later cycles have grown.
            r.per_cpu[attributes.at("cpu")].try_emplace(attributes.at("state"), line.at("value").get<double>());
        } else if (name == "system.cpu.aggregate_time") {
            CHECK_FALSE(attributes.contains("cpu"));
            r.aggregate[line.at("input")].try_emplace(attributes.at("state"), line.at("value").get<double>());
        }
    }
    return r;
}

bool has_both(const std::string &text) {
    return text.find("\"system.cpu.time\"") != std::string::npos &&
           text.find("\"system.cpu.aggregate_time\"") != std::string::npos;
}

Process run_two_instances(const TempDir &conf, const std::string &proc_root) {
    const std::string common = "proc_root = \"" + proc_root + "\"\nmemory = false\nload = false\ndisks = false\n";
    conf.write("s.toml", "[agent]\ninterval = \"100ms\"\n[inputs.procfs]\n" + common +
                             "[inputs.procfs_all]\nplugin = \"procfs\"\nper_cpu = false\n" + common +
                             "[sinks.stdout]\n");
    return Process(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
}

void check_cpu_names(const CpuRecords &r) {
    const std::regex one_cpu("cpu[0-9]+");
    for (const auto &[cpu, by_state] : r.per_cpu) {
        CHECK_MESSAGE(std::regex_match(cpu, one_cpu), "system.cpu.time series with cpu=\"", cpu, "\"");
        CHECK(by_state.size() == states.size());
    }
    for (const auto &input : r.cpu_time_inputs) CHECK(input == "procfs");  // per_cpu = false emits none
    CHECK(r.aggregate.size() == 1);
    CHECK(r.aggregate.count("procfs_all") == 1);  // per_cpu = true emits none
}

double sum_over_cpus(const CpuRecords &r, const std::string &state) {
    double sum = 0;
    for (const auto &[cpu, by_state] : r.per_cpu) sum += by_state.at(state);
    return sum;
}

}  // namespace

TEST_CASE("captured /proc/stat: per-CPU series only, their sum is the all-CPU line within a tick per CPU") {
    TempDir proc, conf;
    proc.write("stat", read_file(std::string(PROCFS_FIXTURES) + "/stat"));
    Process agent = run_two_instances(conf, proc.path.string());
    agent.read_until(has_both, std::chrono::seconds(10));
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    INFO(agent.stderr_text);
    const CpuRecords r = cpu_records(agent.stdout_text);
    check_cpu_names(r);
    REQUIRE(r.per_cpu.size() == 2);  // the fixture was captured on a 2-CPU machine

    const double tick = 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
    const StateSeconds line = all_cpu_line(read_file(std::string(PROCFS_FIXTURES) + "/stat"),
                                           static_cast<double>(sysconf(_SC_CLK_TCK)));
    const StateSeconds &aggregate = r.aggregate.at("procfs_all");
    for (const char *state : states) {
        INFO(state);
        CHECK(aggregate.at(state) == doctest::Approx(line.at(state)));
        CHECK(std::abs(sum_over_cpus(r, state) - line.at(state)) <= 2 * tick + 1e-9);
    }
    // The fixture's user column: 10351 ticks in all, 5374 + 4976 = 10350 per CPU.
    CHECK(sum_over_cpus(r, "user") != doctest::Approx(line.at("user")).epsilon(1e-9));
}

TEST_CASE("live /proc/stat: the sum over CPUs lies between the all-CPU lines read before and after") {
    const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
    const StateSeconds before = all_cpu_line(read_file("/proc/stat"), ticks_per_second);
    TempDir conf;
    Process agent = run_two_instances(conf, "/proc");
    agent.read_until(has_both, std::chrono::seconds(10));
    const StateSeconds after = all_cpu_line(read_file("/proc/stat"), ticks_per_second);
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    INFO(agent.stderr_text);
    const CpuRecords r = cpu_records(agent.stdout_text);
    check_cpu_names(r);
    REQUIRE(r.per_cpu.size() == static_cast<std::size_t>(sysconf(_SC_NPROCESSORS_ONLN)));

    const double rounding = static_cast<double>(r.per_cpu.size()) / ticks_per_second + 1e-9;
    const StateSeconds &aggregate = r.aggregate.at("procfs_all");
    for (const char *state : states) {
        INFO(state);
        const double sum = sum_over_cpus(r, state);
        CHECK(sum >= before.at(state) - rounding);
        CHECK(sum <= after.at(state) + rounding);
        CHECK(aggregate.at(state) >= before.at(state));
        CHECK(aggregate.at(state) <= after.at(state));
    }
}
