// The capability drop at start (core/src/control/capabilities.hpp) on the
// real agent, as root: every thread of the running agent holds only
// cap_bpf, cap_perfmon and cap_sys_admin (of what the test itself may
// hold), in every set; a tracer still starts on the live agent afterwards
// (`sonde enable`), and bpfinventory runs. With a bounding set that lacks
// cap_sys_admin (as a unit or a pod might give), bpfinventory refuses in one
// line and the tracers run; so does a user given them as ambient capabilities.
#include "agent_process.hpp"
#include "bpf_available.hpp"

#include <linux/capability.h>

#include <cstdint>
#include <map>
#include <optional>
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

// Checks the sets of every thread of `pid`: effective and permitted are
// `want`, and so is the bounding set unless `bounding` says otherwise.
void check_every_thread(pid_t pid, std::uint64_t want, std::optional<std::uint64_t> bounding = {}) {
    std::size_t threads = 0;
    for (const auto &task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
        auto sets = capability_sets(task.path() / "status");
        INFO("thread " << task.path().filename().string() << std::hex << ": CapEff " << sets["CapEff"] << " CapPrm "
                       << sets["CapPrm"] << " CapBnd " << sets["CapBnd"] << ", want " << want);
        CHECK(sets["CapEff"] == want);
        CHECK(sets["CapPrm"] == want);
        CHECK(sets["CapBnd"] == bounding.value_or(want));
        CHECK(sets["CapInh"] == 0);
        CHECK(sets["CapAmb"] == 0);
        ++threads;
    }
    CHECK(threads >= 2);  // the io loop and the admin endpoint's thread at least
}

struct Agent {
    TempDir conf;
    std::string socket = (conf.path / "run" / "control.sock").string();
    Process process;

    // `prefix` runs the agent (setpriv ...). For an agent that is not root,
    // the socket's directory is open to every user, and `own_copy` runs a
    // copy of the binary and plugins from the temporary directory: the build
    // tree may lie where other users cannot reach.
    explicit Agent(std::vector<std::string> prefix = {}, bool own_copy = false)
        : process(command(prefix, conf, own_copy)) {
        process.read_until([&](const std::string &) {
            return process.stderr_text.find("running with config") != std::string::npos;
        }, std::chrono::seconds(30));
        REQUIRE(process.stderr_text.find("running with config") != std::string::npos);
    }
    static std::vector<std::string> command(std::vector<std::string> prefix, const TempDir &conf, bool own_copy) {
        fs::path binary = SONDE_BINARY, plugins = SONDE_PLUGIN_DIR;
        if (own_copy) {
            fs::create_directory(conf.path / "plugins");
            fs::copy_file(binary, conf.path / "sonde");
            for (const char *plugin : {"procfs.so", "stdout.so", "syscall.so", "bpfinventory.so"})
                fs::copy_file(plugins / plugin, conf.path / "plugins" / plugin);
            binary = conf.path / "sonde";
            plugins = conf.path / "plugins";
        }
        fs::create_directory(conf.path / "run");
        fs::permissions(conf.path / "run", fs::perms::all | fs::perms::sticky_bit);
        const std::string socket = (conf.path / "run" / "control.sock").string();
        conf.write("10.toml", "[agent]\nshutdown_timeout = \"1s\"\n"
                              "[admin]\nlisten = \"\"\nsocket = \"" + socket + "\"\n"
                              "[inputs.procfs]\n"
                              "[inputs.bpfinventory]\ninterval = \"1s\"\n"
                              "[inputs.syscall]\nenabled = false\n"
                              "[sinks.stdout]\n");
        for (const auto &a : {binary.string(), std::string("run"), std::string("--config-dir"), conf.path.string(),
                              std::string("--plugin-dir"), plugins.string()})
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

TEST_CASE("a user given cap_bpf and cap_perfmon as ambient capabilities keeps them, runs a tracer, passes none on") {
    require_bpf();
    // What a unit with User= and AmbientCapabilities= does.
    Agent agent({"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                 "--inh-caps=-all,+bpf,+perfmon", "--ambient-caps=-all,+bpf,+perfmon", "--"},
                true);
    const std::uint64_t own_bounding = capability_sets("/proc/self/status")["CapBnd"];
    check_every_thread(agent.process.pid, bit(cap_bpf) | bit(cap_perfmon), own_bounding);
    REQUIRE(agent.enable("syscall") == 0);
    CHECK(agent.instance("inputs.syscall")["state"] == "running");
    CHECK(agent.process.stderr_text.find("capabilities: kept cap_perfmon,cap_bpf; dropped none") != std::string::npos);
    CHECK(agent.process.stderr_text.find("warning capabilities: the bounding set keeps") != std::string::npos);
    CHECK(agent.process.stderr_text.find("inputs.bpfinventory: cannot start: needs root (CAP_SYS_ADMIN)") !=
          std::string::npos);
}
