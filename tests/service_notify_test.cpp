// systemd's notify protocol on the real agent, without systemd: the test is
// the service manager. It binds a Unix datagram socket, starts the agent
// with NOTIFY_SOCKET (and WATCHDOG_USEC, WATCHDOG_PID) pointing at it, as
// systemd does for a Type=notify unit, and reads what the agent says:
// READY=1 after start-up, WATCHDOG=1 every half period, RELOADING=1 and
// READY=1 around reloads (applied or refused), STOPPING=1 at SIGTERM.
#include "agent_process.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <string>
#include <vector>

using namespace sonde_test;
using Clock = std::chrono::steady_clock;

namespace {

struct Notification {
    std::string text;
    Clock::time_point at;
    bool has(const std::string &assignment) const {
        return ("\n" + text + "\n").find("\n" + assignment + "\n") != std::string::npos;
    }
    std::string status() const {
        auto at = ("\n" + text).find("\nSTATUS=");
        return at == std::string::npos ? "" : text.substr(at + 7, text.find('\n', at + 7) - (at + 7));
    }
};

// The service manager's end: $NOTIFY_SOCKET.
struct NotifySocket {
    std::string path;
    int fd = -1;
    std::vector<Notification> received;

    explicit NotifySocket(const TempDir &dir) : path((dir.path / "notify.sock").string()) {
        fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        REQUIRE(path.size() < sizeof address.sun_path);
        path.copy(address.sun_path, path.size());
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
    }
    ~NotifySocket() { ::close(fd); }

    // Receives until `done(received)` or the timeout; true when done.
    template <typename Done>
    bool receive_until(Done done, std::chrono::milliseconds timeout) {
        auto deadline = Clock::now() + timeout;
        while (!done(received)) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return false;
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buffer[4096];
            ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n > 0) received.push_back({std::string(buffer, static_cast<std::size_t>(n)), Clock::now()});
        }
        return true;
    }
    void receive_for(std::chrono::milliseconds duration) {
        receive_until([](const auto &) { return false; }, duration);
    }
    // Index of the first notification at or after `from` with `assignment`, or -1.
    int find(const std::string &assignment, std::size_t from = 0) const {
        for (std::size_t i = from; i < received.size(); ++i)
            if (received[i].has(assignment)) return static_cast<int>(i);
        return -1;
    }
    auto waits_for(const std::string &assignment, std::size_t from = 0) {
        return [this, assignment, from](const auto &) { return find(assignment, from) >= 0; };
    }
};

std::string config(const TempDir &dir) {
    return "[agent]\nshutdown_timeout = \"1s\"\n"
           "[admin]\nlisten = \"\"\nsocket = \"" + (dir.path / "control.sock").string() + "\"\n"
           "[inputs.procfs]\ninterval = \"60s\"\n"
           "[sinks.stdout]\n";
}

// The agent as systemd would start it; `watchdog_pid` "" = the agent's own pid.
Process start_agent(const TempDir &conf, const NotifySocket &manager, const std::string &watchdog_usec,
                    const std::string &watchdog_pid = "") {
    return Process(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}), [&] {
        ::setenv("NOTIFY_SOCKET", manager.path.c_str(), 1);
        ::setenv("WATCHDOG_USEC", watchdog_usec.c_str(), 1);
        ::setenv("WATCHDOG_PID", (watchdog_pid.empty() ? std::to_string(::getpid()) : watchdog_pid).c_str(), 1);
    });
}

int cli(const TempDir &conf, const std::string &command) {
    Process p(sonde({command, "--socket", (conf.path / "control.sock").string()}));
    return p.wait();
}

}  // namespace

TEST_CASE("READY=1 after start-up, WATCHDOG=1 every half period, RELOADING=1/READY=1 around reloads, STOPPING=1") {
    TempDir conf;
    conf.write("10-agent.toml", config(conf));
    NotifySocket manager(conf);
    Process agent = start_agent(conf, manager, "1000000");  // 1 s: fed every 500 ms

    REQUIRE(manager.receive_until(manager.waits_for("READY=1"), std::chrono::seconds(20)));
    const Notification ready = manager.received[manager.find("READY=1")];
    CHECK(ready.status() == "2 instances running, 0 failed");

    // The watchdog, for 3 s: about 6 times, never a gap of a whole period.
    const std::size_t after_ready = manager.received.size();
    manager.receive_for(std::chrono::seconds(3));
    std::vector<Clock::time_point> fed;
    for (std::size_t i = after_ready; i < manager.received.size(); ++i)
        if (manager.received[i].has("WATCHDOG=1")) fed.push_back(manager.received[i].at);
    CHECK(fed.size() >= 4);
    CHECK(fed.size() <= 8);
    for (std::size_t i = 1; i < fed.size(); ++i)
        CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(fed[i] - fed[i - 1]).count() < 1000);

    // A reload that applies: RELOADING=1, then READY=1 saying what it did.
    std::size_t before = manager.received.size();
    CHECK(cli(conf, "reload") == 0);
    REQUIRE(manager.receive_until(manager.waits_for("READY=1", before), std::chrono::seconds(5)));
    int reloading = manager.find("RELOADING=1", before), ready_again = manager.find("READY=1", before);
    REQUIRE(reloading >= 0);
    CHECK(reloading < ready_again);
    CHECK(manager.received[reloading].text.find("MONOTONIC_USEC=") != std::string::npos);
    CHECK(manager.received[ready_again].status().rfind("reload: 0 added, 0 changed", 0) == 0);

    // A reload that is refused: the agent is ready again, on the old configuration.
    conf.write("20-broken.toml", "[inputs.procfs\n");
    before = manager.received.size();
    CHECK(cli(conf, "reload") == 1);
    REQUIRE(manager.receive_until(manager.waits_for("READY=1", before), std::chrono::seconds(5)));
    CHECK(manager.find("RELOADING=1", before) >= 0);
    CHECK(manager.received[manager.find("READY=1", before)].status().find("refused") != std::string::npos);

    // SIGTERM: STOPPING=1, then no more WATCHDOG=1.
    before = manager.received.size();
    ::kill(agent.pid, SIGTERM);
    REQUIRE(manager.receive_until(manager.waits_for("STOPPING=1", before), std::chrono::seconds(5)));
    const int stopping = manager.find("STOPPING=1", before);
    CHECK(agent.wait() == 0);
    manager.receive_for(std::chrono::milliseconds(100));
    CHECK(manager.find("WATCHDOG=1", static_cast<std::size_t>(stopping)) == -1);
    CHECK(agent.stderr_text.find("systemd watchdog: 1000 ms, fed every 500 ms") != std::string::npos);
}

TEST_CASE("a long watchdog period does not hold up the exit after SIGTERM") {
    TempDir conf;
    conf.write("10-agent.toml", config(conf));
    NotifySocket manager(conf);
    Process agent = start_agent(conf, manager, "120000000");  // 2 min: a timer pending for 60 s
    REQUIRE(manager.receive_until(manager.waits_for("READY=1"), std::chrono::seconds(20)));
    auto signalled = Clock::now();
    ::kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
    CHECK(Clock::now() - signalled < std::chrono::seconds(10));
}

TEST_CASE("a watchdog meant for another process (WATCHDOG_PID) is not fed, READY=1 still is sent") {
    TempDir conf;
    conf.write("10-agent.toml", config(conf));
    NotifySocket manager(conf);
    Process agent = start_agent(conf, manager, "200000", "1");
    REQUIRE(manager.receive_until(manager.waits_for("READY=1"), std::chrono::seconds(20)));
    manager.receive_for(std::chrono::milliseconds(800));
    CHECK(manager.find("WATCHDOG=1") == -1);
    ::kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
    CHECK(agent.stderr_text.find("systemd watchdog") == std::string::npos);
}

TEST_CASE("a malformed WATCHDOG_USEC is reported, not fed, and the agent runs") {
    TempDir conf;
    conf.write("10-agent.toml", config(conf));
    NotifySocket manager(conf);
    Process agent = start_agent(conf, manager, "soon");
    REQUIRE(manager.receive_until(manager.waits_for("READY=1"), std::chrono::seconds(20)));
    ::kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
    CHECK(manager.find("WATCHDOG=1") == -1);
    CHECK(agent.stderr_text.find("systemd watchdog: WATCHDOG_USEC or WATCHDOG_PID is malformed") != std::string::npos);
}
