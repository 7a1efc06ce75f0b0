// The admin endpoint of the real agent (docs/operations.md, "Watching
// sonde"): /healthz while a plugin blocks the io loop, /ready while an OTLP
// receiver is down, /metrics through promtool and the accounting identity
// after drops of each reason, changes over TCP and the bearer token, the
// loopback rule, and `sonde status` on instances in every state.
#include "accounting.hpp"
#include "agent_process.hpp"
#include "http_get.hpp"

#include <sys/stat.h>

#include <map>
#include <regex>
#include <set>
#include <thread>

using namespace sonde_test;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

HttpReply http(std::uint16_t port, const std::string &method, const std::string &target,
               const std::string &extra_headers = "", const std::string &body = "") {
    return http_request(port, method, target, extra_headers, body);
}

nlohmann::json json_of(const HttpReply &reply) {
    auto j = nlohmann::json::parse(reply.body, nullptr, false);
    INFO(reply.body);
    REQUIRE(j.is_object());
    return j;
}

// Keeps reading the agent's output (so its pipes never fill) for `ms`.
void pump(Process &p, milliseconds ms) {
    p.read_until([](const std::string &) { return false; }, ms);
}

bool logged(Process &p, const std::string &text) { return p.stderr_text.find(text) != std::string::npos; }

bool wait_for_log(Process &p, const std::string &text, milliseconds timeout) {
    p.read_until([&](const std::string &) { return logged(p, text); }, timeout);
    return logged(p, text);
}

// The [admin] table of a test: an ephemeral port and a socket in `dir`.
std::string admin_table(const TempDir &dir, const std::string &more = "") {
    return "[admin]\nlisten = \"127.0.0.1:0\"\nsocket = \"" + (dir.path / "control.sock").string() + "\"\n" + more;
}

struct RunningAgent {
    Process process;
    std::uint16_t port = 0;
};

// Starts `sonde run` on `conf` and reads the admin port from its log line
// "admin endpoint on http://127.0.0.1:PORT".
RunningAgent start_agent(const TempDir &conf) {
    RunningAgent agent{Process(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR,
                                      "--plugin-dir", ABI_PLUGIN_DIR})),
                       0};
    const std::string marker = "admin endpoint on http://127.0.0.1:";
    Process &p = agent.process;
    p.read_until([&](const std::string &) { return logged(p, "running with config"); }, seconds(20));
    INFO(p.stderr_text);
    REQUIRE(logged(p, "running with config"));
    std::size_t at = p.stderr_text.find(marker);
    REQUIRE(at != std::string::npos);
    agent.port = static_cast<std::uint16_t>(std::stoi(p.stderr_text.substr(at + marker.size())));
    REQUIRE(agent.port != 0);
    return agent;
}

void stop_agent(Process &p) {
    kill(p.pid, SIGTERM);
    CHECK(p.wait() == 0);
}

// `sonde ARGS... --socket SOCKET`; the exit status, its output in `out`.
int cli(const TempDir &dir, std::vector<std::string> args, std::string *out = nullptr, std::string *err = nullptr) {
    args.push_back("--socket");
    args.push_back((dir.path / "control.sock").string());
    Process p(sonde(args));
    int status = p.wait();
    if (out) *out = p.stdout_text;
    if (err) *err = p.stderr_text;
    return status;
}

// Polls `get` until `done(reply)` or the timeout; the last reply.
template <typename Done>
HttpReply poll_until(std::uint16_t port, const std::string &target, Process &agent, Done done, milliseconds timeout,
                     milliseconds every = milliseconds(100)) {
    auto deadline = Clock::now() + timeout;
    HttpReply reply = http(port, "GET", target);
    while (!done(reply) && Clock::now() < deadline) {
        pump(agent, every);
        reply = http(port, "GET", target);
    }
    return reply;
}

// ---------------------------------------------------------------------------
// The Prometheus text format, enough for the agent's own exposition: one
// sample per line, `name{label="value",...} value`.

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

std::vector<Sample> parse_exposition(const std::string &text) {
    std::vector<Sample> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') continue;
        Sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                std::string key;
                while (i < line.size() && line[i] != '=') key += line[i++];
                i += 2;  // ="
                std::string value;
                while (i < line.size() && line[i] != '"') {
                    if (line[i] == '\\' && i + 1 < line.size()) ++i;
                    value += line[i++];
                }
                ++i;  // closing quote
                if (i < line.size() && line[i] == ',') ++i;
                s.labels[key] = value;
            }
            ++i;  // }
        }
        std::istringstream rest(line.substr(i));
        std::string value;
        rest >> value;
        s.value = std::stod(value);
        out.push_back(std::move(s));
    }
    return out;
}

// One sink's terms of the identity, from a scrape.
struct SinkTerms {
    double routed = 0, delivered = 0, queued = 0, dropped = 0;
    std::map<std::string, double> by_reason;
    bool operator==(const SinkTerms &) const = default;
};

std::map<std::string, SinkTerms> sink_terms(const std::vector<Sample> &samples) {
    std::map<std::string, SinkTerms> out;
    for (const auto &s : samples) {
        auto name = s.labels.find("name");
        if (name == s.labels.end()) continue;
        if (s.name == "sonde_sink_records_routed_total") out[name->second].routed = s.value;
        else if (s.name == "sonde_sink_records_delivered_total") out[name->second].delivered = s.value;
        else if (s.name == "sonde_sink_records_queued") out[name->second].queued = s.value;
        else if (s.name == "sonde_sink_records_dropped_total") {
            out[name->second].dropped += s.value;
            out[name->second].by_reason[s.labels.at("reason")] += s.value;
        }
    }
    return out;
}

// Writes `text` to `dir/name` and runs `command` with the file's path
// appended; its exit status, with stdout and stderr in `output`.
int run_on_file(const TempDir &dir, const std::string &name, const std::string &text, const std::string &command,
                std::string &output) {
    dir.write(name, text);
    Process p({"/bin/sh", "-c", command + " " + (dir.path / name).string()});
    int status = p.wait();
    output = p.stdout_text + p.stderr_text;
    return status;
}

}  // namespace

// ---------------------------------------------------------------------------

TEST_CASE("/healthz fails when a plugin blocks the io loop, and recovers when it returns") {
    TempDir conf;
    // One io thread: the blocking input's sleep stops every handler of the loop.
    conf.write("a.toml", "[agent]\nthreads = 1\ninterval = \"50ms\"\n" + admin_table(conf, "liveness_timeout = \"300ms\"\n") +
                             "[inputs.blocking]\nafter_ms = 2000\nblock_ms = 3000\n[sinks.discard]\n");
    RunningAgent agent = start_agent(conf);
    Process &p = agent.process;

    // Live before the block (polled: a loaded machine may delay one turn).
    HttpReply before = poll_until(agent.port, "/healthz", p, [](const HttpReply &r) { return r.status == 200; }, seconds(5),
                                  milliseconds(50));
    INFO(p.stderr_text);
    REQUIRE(before.status == 200);
    REQUIRE_FALSE(logged(p, "blocking the io loop"));
    CHECK(json_of(before)["live"] == true);

    REQUIRE(wait_for_log(p, "blocking the io loop for 3000 ms", seconds(10)));
    // While the loop sleeps the admin thread still answers, and says so.
    HttpReply blocked;
    auto deadline = Clock::now() + seconds(3);
    while (Clock::now() < deadline && !logged(p, "io loop unblocked")) {
        auto asked = Clock::now();
        blocked = http(agent.port, "GET", "/healthz");
        // The answer does not wait for the loop (loosely: well under the 3 s block).
        CHECK(Clock::now() - asked < milliseconds(1500));
        if (blocked.status == 503) break;
        pump(p, milliseconds(50));
    }
    REQUIRE_MESSAGE(blocked.status == 503, blocked.status, " ", blocked.body);
    nlohmann::json stalled = json_of(blocked);
    CHECK(stalled["live"] == false);
    CHECK(stalled["loop_last_turn_seconds_ago"].get<double>() > 0.3);
    CHECK(stalled["reason"].get<std::string>().find("liveness_timeout") != std::string::npos);
    CHECK(blocked.headers.find("application/json") != std::string::npos);

    REQUIRE(wait_for_log(p, "io loop unblocked", seconds(10)));
    HttpReply after = poll_until(agent.port, "/healthz", p, [](const HttpReply &r) { return r.status == 200; }, seconds(5));
    CHECK(after.status == 200);
    CHECK(json_of(after)["live"] == true);
    stop_agent(p);
}

TEST_CASE("/ready is 503 while an OTLP receiver is down beyond ready_max_undelivered and 200 after it returns") {
    const std::uint16_t port = free_port();  // nobody listens, yet
    TempDir conf;
    conf.write("a.toml", "[agent]\ninterval = \"100ms\"\nshutdown_timeout = \"2s\"\n" +
                             admin_table(conf, "ready_max_undelivered = \"2s\"\n") + "[inputs.counting]\n[sinks.otlp]\n"
                             "endpoint = \"http://127.0.0.1:" + std::to_string(port) + "\"\nmax_batch_age = \"100ms\"\n"
                             "max_backoff = \"500ms\"\n");
    auto started = Clock::now();
    RunningAgent agent = start_agent(conf);
    Process &p = agent.process;

    // Ready once the configuration is applied: the sink has not been stuck for 2 s yet.
    HttpReply first = poll_until(agent.port, "/ready", p, [](const HttpReply &r) { return r.status == 200; }, seconds(5));
    CHECK_MESSAGE(first.status == 200, first.body);

    HttpReply down = poll_until(agent.port, "/ready", p, [](const HttpReply &r) { return r.status == 503 &&
                                                                                      r.body.find("sinks.otlp") != std::string::npos; },
                                seconds(15), milliseconds(200));
    auto not_ready_at = Clock::now();
    INFO(p.stderr_text);
    REQUIRE_MESSAGE(down.status == 503, down.body);
    // Not before the configured time: the stall is measured from the agent's first sample.
    CHECK(not_ready_at - started >= milliseconds(2000));
    nlohmann::json report = json_of(down);
    CHECK(report["ready"] == false);
    bool named = false;
    for (const auto &f : report["failing"]) {
        if (f["check"] == "sinks" && f["reason"].get<std::string>().find("sinks.otlp") != std::string::npos) named = true;
        CHECK(f["check"] == "sinks");  // configuration and instances are fine
    }
    CHECK(named);
    CHECK(logged(p, "Connection refused; retrying with backoff"));

    // The receiver comes up on that port: the sink's next retry delivers.
    Process receiver({"/usr/bin/env", "node", OTLP_RECEIVER, std::to_string(port)});
    receiver.read_until([](const std::string &out) { return out.find("\"listening\"") != std::string::npos; }, seconds(15));
    REQUIRE_MESSAGE(receiver.stdout_text.find("\"listening\"") != std::string::npos, receiver.stderr_text);
    auto back_at = Clock::now();
    HttpReply up = poll_until(agent.port, "/ready", p, [](const HttpReply &r) { return r.status == 200; }, seconds(15),
                              milliseconds(200));
    INFO(up.body);
    CHECK(up.status == 200);
    CHECK(json_of(up)["failing"].empty());
    MESSAGE("/ready 200 again " << std::chrono::duration_cast<milliseconds>(Clock::now() - back_at).count()
                                << " ms after the receiver listened");
    receiver.read_until([](const std::string &out) { return out.find("\"status\":200") != std::string::npos; }, seconds(5));
    CHECK(receiver.stdout_text.find("\"status\":200") != std::string::npos);
    stop_agent(p);
    kill(receiver.pid, SIGTERM);
    receiver.wait();
}

TEST_CASE("/metrics passes promtool and holds the accounting identity after drops of every reason the host has") {
    TempDir conf, scratch;
    // The otlp sink sends to the agent's own admin listener, a real HTTP
    // server that refuses a POST without a token (403): every request is
    // "rejected", a reason the sink reports itself.
    const std::uint16_t admin_port = free_port();
    conf.write("a.toml",
               "[agent]\ninterval = \"5ms\"\nshutdown_timeout = \"300ms\"\n"
               "[admin]\nlisten = \"127.0.0.1:" + std::to_string(admin_port) + "\"\nsocket = \"" +
                   (conf.path / "control.sock").string() +
                   "\"\n"
                   "[inputs.counting]\n"
                   // Asks for 8 retries (backoff 10 ms doubling): its queue of 16 overflows meanwhile.
                   "[sinks.full]\nplugin = \"flaky\"\nretries = 8\nqueue_capacity = 16\noverflow = \"drop_oldest\"\n"
                   "[sinks.newest]\nplugin = \"flaky\"\nretries = 8\nqueue_capacity = 16\noverflow = \"drop_newest\"\n"
                   // Refuses every batch: sink_error.
                   "[sinks.failing]\nplugin = \"flaky\"\nfail = true\n"
                   // Retries for ever: its records stay queued until the agent stops (shutdown).
                   "[sinks.stuck]\nplugin = \"flaky\"\nretries = 1000000000\nqueue_capacity = 100000\n"
                   "[sinks.otlp]\nendpoint = \"http://127.0.0.1:" + std::to_string(admin_port) +
                   "\"\nmax_batch_age = \"50ms\"\n"
                   "[sinks.discard]\n");
    RunningAgent agent = start_agent(conf);
    Process &p = agent.process;
    REQUIRE(agent.port == admin_port);
    pump(p, milliseconds(1500));

    // Stop the input so the numbers settle, then wait until two scrapes a
    // second apart agree and nothing waits in the sinks that can drain.
    std::string out, err;
    REQUIRE_MESSAGE(cli(conf, {"disable", "inputs.counting"}, &out, &err) == 0, out, err);
    CHECK(out.find("inputs.counting: disabled") != std::string::npos);
    HttpReply scrape;
    std::map<std::string, SinkTerms> terms, previous;
    auto deadline = Clock::now() + seconds(30);
    while (Clock::now() < deadline) {
        pump(p, milliseconds(1000));
        scrape = http(agent.port, "GET", "/metrics");
        REQUIRE(scrape.status == 200);
        terms = sink_terms(parse_exposition(scrape.body));
        bool drained = true;
        for (const char *sink : {"full", "newest", "failing", "otlp", "discard"}) drained &= terms[sink].queued == 0;
        if (drained && terms == previous) break;
        previous = terms;
    }
    INFO(p.stderr_text.substr(0, 6000));
    INFO(scrape.body);
    REQUIRE(terms == previous);
    CHECK(scrape.headers.find("text/plain; version=0.0.4") != std::string::npos);

    // promtool and the deploy checker accept the scrape as it is.
    std::string output;
    CHECK_MESSAGE(run_on_file(scratch, "metrics.prom", scrape.body, "promtool check metrics <", output) == 0, output);
    CHECK_MESSAGE(output.empty(), output);
    CHECK_MESSAGE(run_on_file(scratch, "metrics2.prom", scrape.body,
                              "/usr/bin/python3 " SONDE_SOURCE_DIR "/deploy/tests/check_deploy.py metrics", output) == 0,
                  output);

    // Every sink: routed = delivered + dropped (by reason) + queued.
    for (const char *sink : {"full", "newest", "failing", "stuck", "otlp", "discard"}) {
        INFO("sink " << sink);
        REQUIRE(terms.count(sink));
        const SinkTerms &t = terms[sink];
        CHECK(t.routed > 0);
        CHECK(t.routed == t.delivered + t.dropped + t.queued);
    }
    CHECK(terms["full"].by_reason["queue_full"] > 0);
    CHECK(terms["full"].delivered > 0);
    CHECK(terms["newest"].by_reason["queue_full"] > 0);
    CHECK(terms["failing"].by_reason["sink_error"] == terms["failing"].routed);
    CHECK(terms["otlp"].by_reason["rejected"] > 0);
    CHECK(terms["otlp"].delivered == 0);
    CHECK(terms["stuck"].queued == terms["stuck"].routed);
    CHECK(terms["discard"].delivered == terms["discard"].routed);
    // Every sink got every record the input emitted before it was disabled.
    for (const auto &[name, t] : terms) CHECK(t.routed == terms.at("discard").routed);
    // The otlp sink's requests show up as export requests and errors.
    bool export_errors = false;
    for (const auto &s : parse_exposition(scrape.body))
        if (s.name == "sonde_sink_export_errors_total" && s.labels.at("name") == "otlp" && s.value > 0) export_errors = true;
    CHECK(export_errors);

    // The OpenMetrics variant: its content type, "# EOF" at the end, the same numbers.
    HttpReply om = http(agent.port, "GET", "/metrics", "Accept: application/openmetrics-text; version=1.0.0\r\n");
    REQUIRE(om.status == 200);
    CHECK(om.headers.find("application/openmetrics-text") != std::string::npos);
    CHECK(om.body.size() >= 6);
    CHECK(om.body.substr(om.body.size() - 6) == "# EOF\n");
    CHECK(sink_terms(parse_exposition(om.body)) == terms);
    CHECK_MESSAGE(run_on_file(scratch, "metrics.om", om.body,
                              "/usr/bin/python3 " SONDE_SOURCE_DIR "/deploy/tests/check_deploy.py metrics", output) == 0,
                  output);

    // `shutdown` is only counted as the sinks stop, after the last scrape:
    // the summary holds it, and it is exactly what the scrape saw queued.
    stop_agent(p);
    Summary summary = parse_summary(p.stderr_text);
    check_sink_identity(summary, "sinks.stuck");
    CHECK(counter(summary, "sinks.stuck", "shutdown") == static_cast<std::uint64_t>(terms["stuck"].queued));
}

TEST_CASE("changes over TCP need the token; reads do not") {
    TempDir conf;
    const std::string token = "t0ken-for-the-admin-test";
    conf.write("token", token + "\n");
    chmod((conf.path / "token").c_str(), 0600);
    conf.write("a.toml", "[agent]\ninterval = \"100ms\"\n" +
                             admin_table(conf, "token_file = \"" + (conf.path / "token").string() + "\"\n") +
                             "[inputs.counting]\n[sinks.discard]\n");
    RunningAgent agent = start_agent(conf);
    Process &p = agent.process;
    INFO(p.stderr_text);

    HttpReply none = http(agent.port, "POST", "/v1/reload", "", "{}");
    CHECK(none.status == 401);
    CHECK(none.headers.find("WWW-Authenticate: Bearer") != std::string::npos);
    HttpReply wrong = http(agent.port, "POST", "/v1/reload", "Authorization: Bearer not-" + token + "\r\n", "{}");
    CHECK(wrong.status == 401);
    HttpReply level = http(agent.port, "POST", "/v1/log-level", "", "{\"level\":\"debug\"}");
    CHECK(level.status == 401);
    CHECK_FALSE(wait_for_log(p, "log level: debug", milliseconds(300)));

    HttpReply right = http(agent.port, "POST", "/v1/reload", "Authorization: Bearer " + token + "\r\n", "{}");
    REQUIRE_MESSAGE(right.status == 200, right.body);
    nlohmann::json result = json_of(right);
    CHECK(result["ok"] == true);
    CHECK(result["message"].get<std::string>().find("reload:") == 0);
    CHECK(wait_for_log(p, "reload: 0 added, 0 changed, 0 removed", seconds(5)));

    HttpReply status = http(agent.port, "GET", "/status");
    REQUIRE(status.status == 200);
    nlohmann::json s = json_of(status);
    CHECK(s["reload"]["reloads_ok"] == 1);
    CHECK(s["instances"].size() == 2);
    stop_agent(p);
}

TEST_CASE("without token_file, every change over TCP is refused (403) and the Unix socket still takes it") {
    TempDir conf;
    conf.write("a.toml", "[agent]\ninterval = \"100ms\"\n" + admin_table(conf) + "[inputs.counting]\n[sinks.discard]\n");
    RunningAgent agent = start_agent(conf);
    Process &p = agent.process;
    HttpReply refused = http(agent.port, "POST", "/v1/reload", "Authorization: Bearer anything\r\n", "{}");
    CHECK(refused.status == 403);
    CHECK(refused.body.find("token_file") != std::string::npos);
    std::string out, err;
    CHECK_MESSAGE(cli(conf, {"reload"}, &out, &err) == 0, out, err);
    CHECK(out.find("reload: 0 added, 0 changed, 0 removed") != std::string::npos);
    stop_agent(p);
}

TEST_CASE("a non-loopback listen address without allow_non_loopback: check-config refuses it, run logs it and keeps going") {
    TempDir conf, out;
    conf.write("a.toml", "[agent]\ninterval = \"20ms\"\n[admin]\nlisten = \"0.0.0.0:0\"\nsocket = \"" +
                             (conf.path / "control.sock").string() + "\"\n[inputs.counting]\n[sinks.file]\ndirectory = \"" +
                             out.path.string() + "\"\n");
    Process check(sonde({"check-config", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR, "--plugin-dir",
                         ABI_PLUGIN_DIR}));
    CHECK(check.wait() == 1);
    INFO(check.stderr_text);
    CHECK(check.stderr_text.find("admin.listen") != std::string::npos);
    CHECK(check.stderr_text.find("not a loopback address") != std::string::npos);

    Process agent(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR, "--plugin-dir",
                         ABI_PLUGIN_DIR}));
    REQUIRE(wait_for_log(agent, "running with config", seconds(20)));
    pump(agent, milliseconds(500));
    INFO(agent.stderr_text);
    CHECK(std::regex_search(agent.stderr_text, std::regex("error.*listen.*0\\.0\\.0\\.0:0.*not a loopback address")));
    CHECK_FALSE(logged(agent, "admin endpoint on http://"));
    REQUIRE(waitpid(agent.pid, nullptr, WNOHANG) == 0);  // still running
    // The control socket is not lost with the TCP listener.
    std::string status_out, status_err;
    CHECK(cli(conf, {"status"}, &status_out, &status_err) == 0);
    stop_agent(agent);
    Summary s = parse_summary(agent.stderr_text);
    CHECK(counter(s, "inputs.counting", "emitted") > 0);
    CHECK(counter(s, "sinks.file", "delivered") == counter(s, "inputs.counting", "emitted"));
}

TEST_CASE("sonde status --json shows each instance's state, plugin, reason and counters") {
    TempDir conf;
    conf.write("a.toml", "[agent]\ninterval = \"20ms\"\n" + admin_table(conf) +
                             "[inputs.counting]\n"
                             "[inputs.off]\nplugin = \"counting\"\nenabled = false\n"
                             "[inputs.broken]\nplugin = \"create_throws\"\n"
                             "[inputs.dbonly]\nplugin = \"counting\"\nwhen = { role = \"db\" }\n"
                             "[sinks.discard]\n");
    RunningAgent agent = start_agent(conf);
    Process &p = agent.process;
    pump(p, milliseconds(500));

    std::string out, err;
    REQUIRE_MESSAGE(cli(conf, {"status", "--json"}, &out, &err) == 0, err);
    nlohmann::json status = nlohmann::json::parse(out, nullptr, false);
    REQUIRE(status.is_object());
    INFO(status.dump(2));
    CHECK(status["pid"] == p.pid);
    CHECK(status["config_dir"] == conf.path.string());
    CHECK_FALSE(status["config_hash"].get<std::string>().empty());
    std::map<std::string, nlohmann::json> by_name;
    for (const auto &i : status["instances"]) by_name[i["name"].get<std::string>()] = i;
    REQUIRE(by_name.size() == 5);
    for (const char *name : {"inputs.counting", "inputs.off", "inputs.broken", "inputs.dbonly", "sinks.discard"})
        REQUIRE(by_name.count(name));

    const auto &running = by_name["inputs.counting"];
    CHECK(running["state"] == "running");
    CHECK(running["plugin"] == "counting");
    CHECK(running["role"] == "input");
    CHECK(running["counters"]["emitted"].get<std::uint64_t>() > 0);
    CHECK(running["counters"]["dropped"] == 0);

    const auto &off = by_name["inputs.off"];
    CHECK(off["state"] == "disabled");
    CHECK(off["plugin"] == "counting");
    CHECK_FALSE(off.value("reason", "").empty());
    CHECK_FALSE(off.contains("counters"));

    const auto &broken = by_name["inputs.broken"];
    CHECK(broken["state"] == "failed");
    CHECK(broken["plugin"] == "create_throws");
    CHECK(broken["reason"].get<std::string>().find("cannot initialise the frobnicator") != std::string::npos);

    const auto &waiting = by_name["inputs.dbonly"];
    CHECK(waiting["state"] == "waiting");
    CHECK(waiting["plugin"] == "counting");
    CHECK(waiting["reason"].get<std::string>().find("role") != std::string::npos);
    CHECK(waiting["when"]["role"] == "db");

    const auto &sink = by_name["sinks.discard"];
    CHECK(sink["state"] == "running");
    CHECK(sink["role"] == "sink");
    CHECK(sink["counters"]["routed"].get<std::uint64_t>() > 0);
    for (const char *key : {"routed", "delivered", "dropped", "queued", "retried", "errors", "dropped_by_reason"})
        CHECK(sink["counters"].contains(key));

    // /status over TCP is the same document.
    nlohmann::json over_tcp = json_of(http(agent.port, "GET", "/status"));
    CHECK(over_tcp["instances"].size() == 5);
    // The failed instance is down on /metrics too (what the InstanceDown alert watches).
    std::string metrics = http(agent.port, "GET", "/metrics").body;
    CHECK(metrics.find("sonde_instance_up{name=\"broken\",plugin=\"create_throws\",role=\"input\"} 0\n") !=
          std::string::npos);
    CHECK(metrics.find("sonde_instance_up{name=\"counting\",plugin=\"counting\",role=\"input\"} 1\n") !=
          std::string::npos);

    // The table: one line per instance, with its plugin, state and detail.
    REQUIRE(cli(conf, {"status"}, &out, &err) == 0);
    INFO(out);
    CHECK(std::regex_search(out, std::regex("\n\\s*inputs\\.counting\\s+counting\\s+running\\s+.*emitted=\\d+")));
    CHECK(std::regex_search(out, std::regex("\n\\s*inputs\\.off\\s+counting\\s+disabled\\b")));
    CHECK(std::regex_search(out, std::regex("\n\\s*inputs\\.broken\\s+create_throws\\s+failed\\s+.*frobnicator")));
    CHECK(std::regex_search(out, std::regex("\n\\s*inputs\\.dbonly\\s+counting\\s+waiting\\b")));
    CHECK(std::regex_search(out, std::regex("\n\\s*sinks\\.discard\\s+discard\\s+running\\s+.*routed=\\d+")));
    stop_agent(p);
}
