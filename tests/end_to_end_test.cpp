// The real sonde binary with a temporary conf.d: its stdout is parsed as
// JSON lines and checked against the schema and against the kernel.
#include "agent_process.hpp"
#include "read_file.hpp"

#include <sys/sysinfo.h>

#include <map>
#include <thread>

using namespace sonde_test;

TEST_CASE("sonde run: JSON lines of procfs and net on stdout; SIGTERM flushes and exits 0") {
    TempDir conf;
    conf.write("10-agent.toml", "[agent]\ninterval = \"200ms\"\nshutdown_timeout = \"2s\"\n");
    conf.write("20-inputs.toml", "[inputs.procfs]\n[inputs.net]\n");
    conf.write("90-stdout.toml", "[sinks.stdout]\n");
    Process p(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    // At least two timer-driven cycles after the one at start, with net's output too.
    auto cycles = [](const std::string &s) {
        std::size_t n = 0;
        for (std::size_t at = 0; (at = s.find("system.cpu.load_average.1m", at)) != std::string::npos; ++at) ++n;
        return n;
    };
    p.read_until([&](const std::string &s) { return cycles(s) >= 3 && s.find("\"input\":\"net\"") != std::string::npos; },
                 std::chrono::seconds(10));
    CHECK(cycles(p.stdout_text) >= 3);
    kill(p.pid, SIGTERM);
    REQUIRE(p.wait() == 0);
    INFO(p.stderr_text);
    CHECK(p.stderr_text.find("shutdown summary: inputs.net emitted=") != std::string::npos);
    CHECK(p.stderr_text.find("sinks.stdout routed=") != std::string::npos);

    std::vector<nlohmann::json> records = json_lines(p.stdout_text);
    REQUIRE(records.size() > 100);
    std::map<std::string, nlohmann::json> last;
    for (const auto &r : records) {
        // Fixed field order of the documented schema.
        std::vector<std::string> keys;
        for (auto it = r.begin(); it != r.end(); ++it) keys.push_back(it.key());
        REQUIRE(r.at("record") == "metric");
        CHECK(r.at("time").get<std::string>().size() == 30);  // 2026-11-21T23:10:16.637407839Z
        CHECK(r.contains("attributes"));
        CHECK(r.contains("value"));
        CHECK((r.at("kind") == "gauge" || r.at("kind") == "counter"));
        CHECK(r.contains("start_time") == (r.at("kind") == "counter"));
        last[r.at("name").get<std::string>()] = r;
    }
    // Exact order, checked on the raw text of one counter line.
    std::string first_line = p.stdout_text.substr(0, p.stdout_text.find('\n'));
    std::vector<std::string> order{"\"record\"", "\"time\"", "\"input\"", "\"name\"", "\"kind\"", "\"unit\"", "\"attributes\""};
    std::size_t at = 0;
    for (const auto &k : order) {
        std::size_t found = first_line.find(k, at);
        CHECK_MESSAGE(found != std::string::npos, k);
        at = found;
    }
    for (const char *name : {"system.cpu.time", "system.memory.usage", "system.memory.limit", "system.cpu.load_average.1m",
                             "system.network.io", "system.network.connections", "system.network.tcp.segments"})
        CHECK_MESSAGE(last.count(name), name);

    struct sysinfo si {};
    REQUIRE(sysinfo(&si) == 0);
    CHECK(last["system.memory.limit"]["value"].get<double>() ==
          doctest::Approx(static_cast<double>(si.totalram) * si.mem_unit).epsilon(0.001));
    CHECK(last["system.memory.limit"]["unit"] == "By");
}

TEST_CASE("a missing source is reported once with its path, and the agent keeps running") {
    TempDir conf;
    conf.write("s.toml", "[agent]\ninterval = \"50ms\"\n[inputs.procfs]\nproc_root = \"/nonexistent\"\n"
                         "[inputs.net]\ninterfaces = false\ntcp_states = false\n[sinks.stdout]\n");
    Process p(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    // Several cycles of net's counters arrive while procfs fails on every tick.
    p.read_until([](const std::string &s) {
        std::size_t n = 0;
        for (std::size_t at = 0; (at = s.find("system.network.tcp.retransmitted_segments", at)) != std::string::npos; ++at) ++n;
        return n >= 5;
    }, std::chrono::seconds(10));
    kill(p.pid, SIGTERM);
    REQUIRE(p.wait() == 0);
    std::size_t warnings = 0;
    for (std::size_t at = 0; (at = p.stderr_text.find("/nonexistent/stat: cannot open", at)) != std::string::npos; ++at)
        ++warnings;
    INFO(p.stderr_text);
    CHECK(warnings == 1);
    CHECK(p.stderr_text.find("/nonexistent/meminfo: cannot open: No such file or directory (reported once") !=
          std::string::npos);
}

TEST_CASE("check-config: every error as file:line:column, exit 1; a good dir exits 0") {
    TempDir conf;
    conf.write("10-agent.toml", "[agent]\nthreads = \"two\"\n");
    conf.write("20-in.toml", "[inputs.procfs]\ncolour = \"blue\"\n");
    Process bad(sonde({"check-config", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    CHECK(bad.wait() == 1);
    CHECK(bad.stderr_text.find((conf.path / "10-agent.toml").string() +
                               ":2:11: agent.threads: expected an integer, got a string") != std::string::npos);

    conf.write("10-agent.toml", "[agent]\nthreads = 2\n");
    Process plugin_error(sonde({"check-config", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    CHECK(plugin_error.wait() == 1);
    CHECK(plugin_error.stderr_text ==
          (conf.path / "20-in.toml").string() + ":2:1: inputs.procfs.colour: unknown key\n");

    conf.write("20-in.toml", "[inputs.procfs]\ndisks = false\n");
    Process good(sonde({"check-config", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    CHECK(good.wait() == 0);
}

#ifdef SONDE_EVERY_PLUGIN_BUILT
TEST_CASE("check-config runs each plugin's full validation: what it accepts, run starts") {
    // Each of these was accepted by check-config and then refused (or did nothing) at run.
    const std::pair<const char *, const char *> bad[] = {
        {"flush_interval = \"0s\"", "sinks.file.flush_interval: \"0s\" is out of range [1ms, 1h]"},
        {"max_buffer = \"0\"", "sinks.file.max_buffer: \"0\" is out of range [4KiB, 1TiB]"},
    };
    for (const auto &[line, message] : bad) {
        INFO(line);
        TempDir conf;
        conf.write("a.toml", std::string("[inputs.procfs]\n[sinks.file]\ndirectory = \"") + conf.path.string() + "/out\"\n" +
                                 line + "\n");
        Process check(sonde({"check-config", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
        CHECK(check.wait() == 1);
        CHECK(check.stderr_text.find(conf.path.string() + "/a.toml:4:1: " + message) != std::string::npos);
    }
}

#ifdef SONDE_EVERY_PLUGIN_BUILT
TEST_CASE("check-config refuses sizes and ids the kernel or the sink would refuse at run") {
    const std::pair<const char *, const char *> bad[] = {
        {"[inputs.syscall]\nmax_threads = 100000000000", "inputs.syscall.max_threads: 100000000000 is out of range"},
        {"[inputs.syscall]\nring_buffer_size = \"1TiB\"", "inputs.syscall.ring_buffer_size: \"1TiB\" is out of range"},
        {"[inputs.sched]\npid = 99999999999", "inputs.sched.pid: 99999999999 is out of range"},
        {"[sinks.otlp]\nmax_batch_size = -1", "sinks.otlp.max_batch_size: -1 is out of range"},
        {"[sinks.otlp]\ntimeout = \"0s\"", "sinks.otlp.timeout: \"0s\" is out of range"},
    };
    for (const auto &[text, message] : bad) {
        INFO(text);
        TempDir conf;
        conf.write("a.toml", text);
        Process check(sonde({"check-config", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
        CHECK(check.wait() == 1);
        CHECK(check.stderr_text.find(conf.path.string() + "/a.toml:2:1: " + message) != std::string::npos);
    }
}
#endif

TEST_CASE("subscriptions that can deliver nothing are named, in check-config and in the run log") {
    TempDir conf;
    conf.write("a.toml", "[inputs.procfs]\n[sinks.stdout]\ninputs = [\"procsf\"]\n"
                         "[sinks.other]\nplugin = \"stdout\"\nmatch = [\"system.cpu.tme\"]\n"
                         "[sinks.third]\nplugin = \"stdout\"\nkinds = [\"event\"]\n");
    Process check(sonde({"check-config", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    CHECK(check.wait() == 0);  // legal, so not an error; but said
    Process run(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    run.read_until([&](const std::string &) { return run.stderr_text.find("running with config") != std::string::npos; },
                   std::chrono::seconds(10));
    kill(run.pid, SIGTERM);
    CHECK(run.wait() == 0);
    const std::string file = conf.path.string() + "/a.toml";
    for (const std::string &expected :
         {file + ":3:1: sinks.stdout.inputs: 'procsf' matches no input instance (configured: procfs)",
          file + ":6:1: sinks.other.match: 'system.cpu.tme' matches none of the records its inputs declare",
          file + ":7:1: sinks.third: receives no records",
          file + ":1:1: inputs.procfs: no sink receives any of its records"}) {
        CHECK_MESSAGE(check.stderr_text.find("warning: " + expected) != std::string::npos, expected);
        CHECK_MESSAGE(run.stderr_text.find("warning " + expected) != std::string::npos, run.stderr_text);
    }
}

TEST_CASE("the shipped conf.d is valid") {
    Process p(sonde({"check-config", "--config-dir", std::string(SONDE_SOURCE_DIR) + "/conf.d", "--plugin-dir",
                     SONDE_PLUGIN_DIR}));
    INFO(p.stderr_text);
    CHECK(p.wait() == 0);
}

#endif

TEST_CASE("sonde plugins lists every object with kind, versions and status; --describe lists records") {
    Process list(sonde({"plugins", "--plugin-dir", SONDE_PLUGIN_DIR}));
    REQUIRE(list.wait() == 0);
    for (const char *row : {"procfs       input  0.1.0    1.4   loadable", "net          input  0.1.0    1.4   loadable",
                            "stdout       sink   0.1.0    1.4   loadable", "self         input  0.1.0    1.4   loadable  (built-in)"})
        CHECK_MESSAGE(list.stdout_text.find(row) != std::string::npos, row);

    Process describe(sonde({"plugins", "--plugin-dir", SONDE_PLUGIN_DIR, "--describe", "procfs"}));
    REQUIRE(describe.wait() == 0);
    CHECK(describe.stdout_text.find("system.cpu.time") != std::string::npos);
    CHECK(describe.stdout_text.find("[cpu,state]") != std::string::npos);

    Process version(sonde({"--version"}));
    REQUIRE(version.wait() == 0);
    CHECK(version.stdout_text.rfind("sonde ", 0) == 0);
}

TEST_CASE("sonde trace: dump reads back what the file sink wrote; a torn tail is reported, not fatal") {
    TempDir conf, out;
    conf.write("s.toml", "[agent]\ninterval = \"50ms\"\n[inputs.procfs]\ndisks = false\n[sinks.file]\ndirectory = \"" +
                             out.path.string() + "\"\nflush_interval = \"50ms\"\n");
    Process agent(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    std::vector<std::string> files;
    for (const auto &entry : fs::directory_iterator(out.path)) files.push_back(entry.path().string());
    REQUIRE(files.size() == 1);
    std::string written = read_file(files[0]);

    Process dump(sonde({"trace", "dump", files[0]}));
    REQUIRE(dump.wait() == 0);
    CHECK(json_lines(dump.stdout_text) == json_lines(written));  // every record, unchanged

    std::ofstream(files[0], std::ios::app) << "{\"record\":\"metric\",\"time\":\"2026-";  // a crash mid-write
    Process torn(sonde({"trace", "dump", files[0]}));
    CHECK(torn.wait() == 1);
    CHECK(json_lines(torn.stdout_text) == json_lines(written));  // everything before the damage
    CHECK(torn.stderr_text.find(files[0] + ":") == 0);
    CHECK(torn.stderr_text.find("torn record at byte " + std::to_string(written.size()) + " (no final newline); " +
                                std::to_string(json_lines(written).size()) + " records read before it") != std::string::npos);
}

TEST_CASE("sonde trace summary: counts, rates, latency quantiles of events and histograms") {
    TempDir dir;
    dir.write("a.jsonl",
              "{\"record\":\"metric\",\"time\":\"2026-11-21T23:10:16.000000000Z\",\"input\":\"sched\",\"name\":\"h\","
              "\"kind\":\"histogram\",\"unit\":\"s\",\"attributes\":{},\"start_time\":\"2026-11-21T23:10:15.000000000Z\","
              "\"histogram\":{\"count\":2,\"sum\":0.002,\"bounds\":[0.001,0.01],\"counts\":[2,0,0]}}\n"
              "{\"record\":\"event\",\"time\":\"2026-11-21T23:10:17.000000000Z\",\"input\":\"s\",\"name\":\"e\","
              "\"attributes\":{\"latency_ns\":25000000}}\n"
              "{\"record\":\"event\",\"time\":\"2026-11-21T23:10:18.000000000Z\",\"input\":\"s\",\"name\":\"e\","
              "\"attributes\":{\"latency_ns\":15000000}}\n"
              "{\"record\":\"metric\",\"time\":\"2026-11-21T23:10:20.000000000Z\",\"input\":\"sched\",\"name\":\"h\","
              "\"kind\":\"histogram\",\"unit\":\"s\",\"attributes\":{},\"start_time\":\"2026-11-21T23:10:15.000000000Z\","
              "\"histogram\":{\"count\":12,\"sum\":0.05,\"bounds\":[0.001,0.01],\"counts\":[2,10,0]}}\n");
    Process summary(sonde({"trace", "summary", (dir.path / "a.jsonl").string()}));
    REQUIRE(summary.wait() == 0);
    INFO(summary.stdout_text);
    CHECK(summary.stdout_text.find("4 records from 2026-11-21T23:10:16.000000000Z to 2026-11-21T23:10:20.000000000Z (4.000 s)") !=
          std::string::npos);
    // e: two events, 0.5/s, p50 15 ms, max 25 ms.
    CHECK(summary.stdout_text.find("e                                                      2      0.50   0.015000   0.025000   0.025000   0.025000") !=
          std::string::npos);
    // h: gained 10 samples, all in the (0.001, 0.01] bucket.
    CHECK(summary.stdout_text.find("h                                                      2      0.50   0.010000   0.010000   0.010000   0.010000") !=
          std::string::npos);
}
