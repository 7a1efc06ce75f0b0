// The accounting identity of docs/accounting.md, checked on the real agent
// after runs that provoke each host-side drop reason, and the signals of
// docs/operations.md: for every sink routed = delivered + dropped (by reason)
// + queued, and every input's emitted records reach the sinks.
#include "accounting.hpp"
#include "agent_process.hpp"

#include <fcntl.h>

#include <thread>

using namespace sonde_test;

namespace {

Process start_agent(const TempDir &conf) {
    return Process(
        sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR, "--plugin-dir", ABI_PLUGIN_DIR}));
}

// Runs the agent for `ms`, stops it with SIGTERM and returns its summary.
Summary run_for(const TempDir &conf, int ms, std::string *log = nullptr) {
    Process agent = start_agent(conf);
    agent.read_until([&](const std::string &) { return agent.stderr_text.find("running with config") != std::string::npos; },
                     std::chrono::seconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find("accounting does not add up") == std::string::npos);
    if (log) *log = agent.stderr_text;
    return parse_summary(agent.stderr_text);
}

const std::string fast_counting = "[agent]\ninterval = \"1ms\"\nshutdown_timeout = \"300ms\"\n[inputs.counting]\n";

}  // namespace

TEST_CASE("every record reaches each sink: emitted = routed = delivered when nothing goes wrong") {
    TempDir conf;
    conf.write("a.toml", fast_counting + "[sinks.discard]\n[sinks.second]\nplugin = \"discard\"\n");
    Summary s = run_for(conf, 300);
    INFO(s.size());
    const std::uint64_t emitted = counter(s, "inputs.counting", "emitted");
    CHECK(emitted > 100);
    for (const char *sink : {"sinks.discard", "sinks.second"}) {
        check_sink_identity(s, sink);
        CHECK(counter(s, sink, "routed") == emitted);
        CHECK(counter(s, sink, "delivered") == emitted);
        CHECK(counter(s, sink, "queued") == 0);
    }
}

TEST_CASE("queue overflow under each policy: what is not delivered is dropped as queue_full") {
    for (std::string policy : {"drop_oldest", "drop_newest"}) {
        INFO(policy);
        TempDir conf;
        // The sink asks for a retry 40 times (backoff doubling from 10 ms): the queue of 16 overflows meanwhile.
        conf.write("a.toml", fast_counting + "[sinks.flaky]\nretries = 40\nqueue_capacity = 16\noverflow = \"" + policy +
                                 "\"\n");
        Summary s = run_for(conf, 600);
        check_sink_identity(s, "sinks.flaky");
        CHECK(counter(s, "sinks.flaky", "routed") == counter(s, "inputs.counting", "emitted"));
        CHECK(counter(s, "sinks.flaky", "queue_full") > 0);
        CHECK(counter(s, "sinks.flaky", "queued") == 0);
    }
}

TEST_CASE("a failing sink: every record is dropped as sink_error, the other sink gets all of them") {
    TempDir conf;
    conf.write("a.toml", fast_counting + "[sinks.flaky]\nfail = true\n[sinks.discard]\n");
    Summary s = run_for(conf, 300);
    check_sink_identity(s, "sinks.flaky");
    check_sink_identity(s, "sinks.discard");
    const std::uint64_t emitted = counter(s, "inputs.counting", "emitted");
    CHECK(counter(s, "sinks.flaky", "routed") == emitted);
    CHECK(counter(s, "sinks.flaky", "delivered") == 0);
    CHECK(counter(s, "sinks.flaky", "sink_error") > 0);
    CHECK(counter(s, "sinks.discard", "delivered") == emitted);
}

TEST_CASE("stopped while records are queued: they are dropped as shutdown once the drain times out") {
    TempDir conf;
    // Retries for ever: the queue never drains; shutdown_timeout ends the wait.
    conf.write("a.toml", fast_counting + "[sinks.flaky]\nretries = 1000000\nqueue_capacity = 100000\n");
    std::string log;
    Summary s = run_for(conf, 300, &log);
    check_sink_identity(s, "sinks.flaky");
    CHECK(counter(s, "sinks.flaky", "delivered") == 0);
    CHECK(counter(s, "sinks.flaky", "shutdown") == counter(s, "inputs.counting", "emitted"));
    // An unintentional drop is logged at error level.
    CHECK(log.find("error sinks.flaky: stopped with") != std::string::npos);
}

TEST_CASE("signals: SIGUSR1 reports, SIGHUP, SIGUSR2 and SIGALRM do not kill; SIGQUIT ends in order") {
    TempDir conf, out;
    conf.write("a.toml", "[agent]\ninterval = \"10ms\"\n[inputs.counting]\n[sinks.file]\ndirectory = \"" + out.path.string() +
                             "\"\nflush_interval = \"20ms\"\n");
    Process agent = start_agent(conf);
    agent.read_until([&](const std::string &) { return agent.stderr_text.find("running with config") != std::string::npos; },
                     std::chrono::seconds(10));
    for (int signal : {SIGUSR1, SIGHUP, SIGUSR2, SIGALRM, SIGIO, SIGPWR}) {
        kill(agent.pid, signal);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        REQUIRE(waitpid(agent.pid, nullptr, WNOHANG) == 0);  // still running
    }
    agent.read_until([&](const std::string &) { return agent.stderr_text.find("SIGPWR") != std::string::npos; },
                     std::chrono::seconds(5));
    kill(agent.pid, SIGQUIT);
    CHECK(agent.wait() == 0);
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find("received SIGUSR1: inputs.counting emitted=") != std::string::npos);
    CHECK(agent.stderr_text.find("received SIGHUP") != std::string::npos);
    CHECK(agent.stderr_text.find("received SIGQUIT, shutting down") != std::string::npos);
    Summary s = parse_summary(agent.stderr_text);
    check_sink_identity(s, "sinks.file");
    // Nothing buffered was lost: every emitted record is in the files.
    CHECK(counter(s, "sinks.file", "delivered") == counter(s, "inputs.counting", "emitted"));
    std::size_t lines = 0;
    for (const auto &entry : fs::directory_iterator(out.path)) {
        std::ifstream in(entry.path());
        for (std::string line; std::getline(in, line);) ++lines;
    }
    CHECK(lines == counter(s, "sinks.file", "delivered"));
}

TEST_CASE("a closed stdout ends the agent as it ends a Unix filter: `sonde run | head -1`") {
    TempDir conf, out;
    conf.write("a.toml", "[agent]\ninterval = \"10ms\"\n[inputs.counting]\n[sinks.stdout]\n[sinks.file]\ndirectory = \"" +
                             out.path.string() + "\"\n");
    Process agent = start_agent(conf);
    // Read the first line, then close the pipe as `head -1` does.
    agent.read_until([](const std::string &text) { return text.find('\n') != std::string::npos; }, std::chrono::seconds(10));
    REQUIRE(agent.stdout_text.find('\n') != std::string::npos);
    close(agent.out);
    agent.out = open("/dev/null", O_RDONLY);
    agent.read_until([&](const std::string &) { return agent.stderr_text.find("shutdown summary") != std::string::npos; },
                     std::chrono::seconds(10));
    CHECK(agent.wait() == 0);
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find("sinks.stdout: standard output was closed by its reader; shutting down") !=
          std::string::npos);
    CHECK(agent.stderr_text.find("write to stdout failed") == std::string::npos);
    Summary s = parse_summary(agent.stderr_text);
    check_sink_identity(s, "sinks.stdout");
    check_sink_identity(s, "sinks.file");
    CHECK(counter(s, "sinks.stdout", "output_closed") > 0);
    // The other sink was drained and flushed: it has every record.
    CHECK(counter(s, "sinks.file", "delivered") == counter(s, "inputs.counting", "emitted"));
}
