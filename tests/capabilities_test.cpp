// The capability drop at start (core/src/control/capabilities.hpp) on the
// real agent, as root: every thread of the running agent holds only
// cap_bpf, cap_perfmon and cap_sys_admin (of what the test itself may
// hold), in every set; a tracer still starts on the live agent afterwards
// (`sonde enable`), and bpfinventory runs. With a bounding set that lacks
// cap_sys_admin (as a unit or a pod might give), bpfinventory refuses in one
// line and the tracers run.
#include "agent_process.hpp"
#include "bpf_available.hpp"

#include <linux/capability.h>

#include <cstdint>
#include <map>
#include <sstream>

using namespace sonde_test;

namespace {

constexpr int cap_perfmon = 38, cap_bpf = 39;  // not in every linux/capability.h
constexpr std::uint64_t bit(int cap) { return std::uint64_t{1} << cap; }
constexpr std::uint64_t kept = bit(cap_bpf) | bit(cap_perfmon) | bit(CAP_SYS_ADMIN);

// The Cap* lines of a /proc/.../status file: {"CapEff": 0x..., ...}.
std::map<std::string, std::uint64_t> capability_sets(const fs::path &status) {
    std::map<std::string, std::uint64_t> sets;
    std::ifstream in(status);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("Cap", 0) == 0) {
            std::istringstream fields(line);
            std::string name, hex;
            fields >> name >> hex;
            sets[name.substr(0, name.size() - 1)] = std::stoull(hex, nullptr, 16);
        }
    return sets;
}

// Checks the sets of every thread of `pid`.
void check_every_thread(pid_t pid, std::uint64_t want) {
    std::size_t threads = 0;
    for (const auto &task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
        auto sets = capability_sets(task.path() / "status");
        INFO("thread " << task.path().filename().string() << std::hex << ": CapEff " << sets["CapEff"] << " CapPrm "
                       << sets["CapPrm"] << " CapBnd " << sets["CapBnd"] << ", want " << want);
        CHECK(sets["CapEff"] == want);
        CHECK(sets["CapPrm"] == want);
        CHECK(sets["CapBnd"] == want);
        CHECK(sets["CapInh"] == 0);
        CHECK(sets["CapAmb"] == 0);
        ++threads;
    }
    CHECK(threads >= 2);  // the io loop and the admin endpoint's thread at least
}

struct Agent {
    TempDir conf;
    std::string socket = (conf.path / "control.sock").string();
    Process process;

    explicit Agent(std::vector<std::string> prefix = {})
        : process(command(prefix, conf)) {
        process.read_until([&](const std::string &) {
            return process.stderr_text.find("running with config") != std::string::npos;
        }, std::chrono::seconds(30));
        REQUIRE(process.stderr_text.find("running with config") != std::string::npos);
    }
    static std::vector<std::string> command(std::vector<std::string> prefix, const TempDir &conf) {
        conf.write("10.toml", "[agent]\nshutdown_timeout = \"1s\"\n"
                              "[admin]\nlisten = \"\"\nsocket = \"" + (conf.path / "control.sock").string() + "\"\n"
                              "[inputs.procfs]\n"
                              "[inputs.bpfinventory]\ninterval = \"1s\"\n"
                              "[inputs.syscall]\nenabled = false\n"
                              "[sinks.stdout]\n");
        for (const auto &a : sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}))
            prefix.push_back(a);
        return prefix;
    }
    nlohmann::json instance(const std::string &name) {
        Process p(sonde({"status", "--json", "--socket", socket}));
        REQUIRE(p.wait() == 0);
        const nlohmann::json status = nlohmann::json::parse(p.stdout_text);
        for (const auto &i : status["instances"])
            if (i["name"] == name) return i;
        return nullptr;
    }
    int enable(const std::string &name) {
        Process p(sonde({"enable", name, "--socket", socket}));
        return p.wait();
    }
    ~Agent() {
        if (process.exit_status == -1) {
            ::kill(process.pid, SIGTERM);
            process.wait();
        }
    }
};

}  // namespace

TEST_CASE("as root, the agent keeps cap_bpf, cap_perfmon and cap_sys_admin on every thread; sonde enable still starts a tracer") {
    require_bpf();
    const std::uint64_t own_bounding = capability_sets("/proc/self/status")["CapBnd"];
    REQUIRE_MESSAGE((own_bounding & kept) == kept, "the test needs cap_bpf, cap_perfmon and cap_sys_admin");
    Agent agent;
    CHECK(agent.process.stderr_text.find("capabilities: kept ") != std::string::npos);
    CHECK(agent.process.stderr_text.find("cap_net_admin") != std::string::npos);  // named among the dropped
    check_every_thread(agent.process.pid, own_bounding & kept);
    CHECK(agent.instance("inputs.bpfinventory")["state"] == "running");

    REQUIRE(agent.enable("syscall") == 0);
    nlohmann::json syscall = agent.instance("inputs.syscall");
    CHECK(syscall["state"] == "running");
    CHECK(syscall["facts"].contains("hook"));
    check_every_thread(agent.process.pid, own_bounding & kept);
}

TEST_CASE("without cap_sys_admin in the bounding set, bpfinventory refuses in one line and a tracer still hot-enables") {
    require_bpf();
    Agent agent({"/usr/bin/setpriv", "--bounding-set=-all,+bpf,+perfmon", "--"});
    check_every_thread(agent.process.pid, bit(cap_bpf) | bit(cap_perfmon));
    nlohmann::json inventory = agent.instance("inputs.bpfinventory");
    CHECK(inventory["state"] == "failed");
    CHECK(agent.process.stderr_text.find("inputs.bpfinventory: cannot start: needs root (CAP_SYS_ADMIN)") !=
          std::string::npos);
    REQUIRE(agent.enable("syscall") == 0);
    CHECK(agent.instance("inputs.syscall")["state"] == "running");
}
