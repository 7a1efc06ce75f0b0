// The otlp sink in the real agent against a receiver on loopback that
// decodes with an independent implementation (tests/receiver/receiver.js,
// using @opentelemetry/otlp-transformer's generated protobuf code).
#include "accounting.hpp"
#include "agent_process.hpp"
#include "http_get.hpp"

#include <set>
#include <thread>

using namespace sonde_test;

namespace {

// tls_dir: serve https with make_test_certs.sh's certificates, requiring a client certificate.
// answer_delay: RECEIVER_DELAY_MS of receiver.js (milliseconds, or "never").
Process start_receiver(std::uint16_t port, int fail_first = 0, const std::string &tls_dir = "",
                       const std::string &answer_delay = "0") {
    std::vector<std::string> command{"/usr/bin/env", "RECEIVER_DELAY_MS=" + answer_delay, "node", OTLP_RECEIVER,
                                     std::to_string(port), std::to_string(fail_first)};
    if (!tls_dir.empty()) command.push_back(tls_dir);
    Process receiver(command);
    receiver.read_until([](const std::string &out) { return out.find("\"listening\"") != std::string::npos; },
                        std::chrono::seconds(15));
    REQUIRE_MESSAGE(receiver.stdout_text.find("\"listening\"") != std::string::npos, receiver.stderr_text);
    return receiver;
}

// SIGTERM to the agent, which must drain and exit 0, then to the receiver,
// whose output is then complete.
void stop(Process &agent, Process &receiver) {
    kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
    kill(receiver.pid, SIGTERM);
    receiver.wait();
}

Process start_agent(const TempDir &conf) {
    return Process(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR, "--plugin-dir", ABI_PLUGIN_DIR}));
}

std::string config(std::uint16_t port, const std::string &extra = "") {
    return "[agent]\ninterval = \"100ms\"\n[inputs.counting]\n[sinks.otlp]\nendpoint = \"http://127.0.0.1:" +
           std::to_string(port) + "\"\nmax_batch_age = \"200ms\"\n" + extra;
}

std::vector<nlohmann::json> requests(const std::string &stdout_text, const std::string &path) {
    std::vector<nlohmann::json> out;
    for (const auto &line : json_lines(stdout_text))
        if (line.value("path", "") == path && line.value("status", 0) == 200) out.push_back(line);
    return out;
}

std::map<std::string, nlohmann::json> attributes(const nlohmann::json &list) {
    std::map<std::string, nlohmann::json> out;
    for (const auto &kv : list) out[kv["key"]] = kv["value"];
    return out;
}

// Sequence numbers of every test.event log record received.
std::set<std::int64_t> sequences(const std::string &stdout_text) {
    std::set<std::int64_t> out;
    for (const auto &r : requests(stdout_text, "/v1/logs"))
        for (const auto &rl : r["request"]["resourceLogs"])
            for (const auto &sl : rl["scopeLogs"])
                for (const auto &record : sl["logRecords"])
                    out.insert(std::stoll(attributes(record["attributes"])["sequence"]["intValue"].get<std::string>()));
    return out;
}

// Metric data points and log records the receiver decoded.
std::uint64_t records_received(const std::string &stdout_text) {
    std::uint64_t n = 0;
    for (const auto &r : requests(stdout_text, "/v1/metrics"))
        for (const auto &rm : r["request"]["resourceMetrics"])
            for (const auto &sm : rm["scopeMetrics"])
                for (const auto &metric : sm["metrics"])
                    for (const char *kind : {"sum", "gauge", "histogram"})
                        if (metric.contains(kind)) n += metric[kind]["dataPoints"].size();
    for (const auto &r : requests(stdout_text, "/v1/logs"))
        for (const auto &rl : r["request"]["resourceLogs"])
            for (const auto &sl : rl["scopeLogs"]) n += sl["logRecords"].size();
    return n;
}

}  // namespace

TEST_CASE("every field of a known batch, as decoded by an independent OTLP implementation") {
    const std::uint16_t port = free_port();
    Process receiver = start_receiver(port);
    TempDir conf;
    conf.write("s.toml", config(port, "[sinks.otlp.resource]\n\"deployment.environment\" = \"test\"\n"));
    Process agent = start_agent(conf);
    receiver.read_until([](const std::string &out) {
        return !requests(out, "/v1/metrics").empty() && !requests(out, "/v1/logs").empty();
    }, std::chrono::seconds(10));
    stop(agent, receiver);
    INFO(agent.stderr_text);
    INFO(receiver.stdout_text.substr(0, 4000));

    auto metrics = requests(receiver.stdout_text, "/v1/metrics");
    REQUIRE_FALSE(metrics.empty());
    CHECK(metrics[0]["contentType"] == "application/x-protobuf");
    const auto &rm = metrics[0]["request"]["resourceMetrics"][0];
    auto resource = attributes(rm["resource"]["attributes"]);
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    CHECK(resource["service.name"]["stringValue"] == "sonde");
    CHECK(resource["service.version"]["stringValue"] == "0.1.0");
    CHECK(resource["host.name"]["stringValue"] == host);
    CHECK(resource["os.type"]["stringValue"] == "linux");
    CHECK(resource["deployment.environment"]["stringValue"] == "test");
    const auto &scope = rm["scopeMetrics"][0];
    CHECK(scope["scope"]["name"] == "counting");
    const auto &metric = scope["metrics"][0];
    CHECK(metric["name"] == "test.ticks");
    CHECK(metric["unit"] == "{tick}");
    CHECK(metric["description"] == "ticks so far");
    CHECK(metric["sum"]["isMonotonic"] == true);
    CHECK(metric["sum"]["aggregationTemporality"] == 2);  // cumulative
    const auto &point = metric["sum"]["dataPoints"][0];
    CHECK(attributes(point["attributes"])["source"]["stringValue"] == "counting");
    CHECK(std::stoll(point["asInt"].get<std::string>()) >= 1);
    CHECK(std::stoull(point["timeUnixNano"].get<std::string>()) > std::stoull(point["startTimeUnixNano"].get<std::string>()));

    auto logs = requests(receiver.stdout_text, "/v1/logs");
    REQUIRE_FALSE(logs.empty());
    const auto &record = logs[0]["request"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    auto a = attributes(record["attributes"]);
    CHECK(a["event.name"]["stringValue"] == "test.event");
    CHECK(a["ok"]["boolValue"] == true);
    CHECK(std::stoll(a["sequence"]["intValue"].get<std::string>()) >= 1);
    CHECK(record["severityNumber"] == 9);
    CHECK(std::stoull(record["timeUnixNano"].get<std::string>()) > 0);
}

TEST_CASE("a receiver answering 503 at first gets every record once it recovers") {
    const std::uint16_t port = free_port();
    Process receiver = start_receiver(port, 3);
    TempDir conf;
    conf.write("s.toml", config(port));
    Process agent = start_agent(conf);
    receiver.read_until([](const std::string &out) { return sequences(out).size() >= 25; }, std::chrono::seconds(20));
    stop(agent, receiver);
    INFO(agent.stderr_text);
    CHECK(receiver.stdout_text.find("\"status\":503") != std::string::npos);
    auto seen = sequences(receiver.stdout_text);
    REQUIRE(seen.size() >= 25);
    // No gap: every event from the first to the last arrived.
    CHECK(*seen.begin() == 1);
    CHECK(static_cast<std::size_t>(*seen.rbegin()) == seen.size());
    CHECK(agent.stderr_text.find("HTTP 503") != std::string::npos);
    CHECK(agent.stderr_text.find("exporting to http://127.0.0.1:" + std::to_string(port) + " again") != std::string::npos);
}

TEST_CASE("JSON encoding decodes too") {
    const std::uint16_t port = free_port();
    Process receiver = start_receiver(port);
    TempDir conf;
    conf.write("s.toml", config(port, "encoding = \"json\"\ngzip = false\n"));
    Process agent = start_agent(conf);
    receiver.read_until([](const std::string &out) { return !requests(out, "/v1/metrics").empty(); }, std::chrono::seconds(10));
    stop(agent, receiver);
    auto metrics = requests(receiver.stdout_text, "/v1/metrics");
    REQUIRE_FALSE(metrics.empty());
    CHECK(metrics[0]["contentType"] == "application/json");
    CHECK(metrics[0]["request"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["name"] == "test.ticks");
}

TEST_CASE("a receiver that stays down: the sink drops and counts, memory stays bounded, the agent runs") {
    const std::uint16_t port = free_port();  // nobody listens
    TempDir conf;
    conf.write("s.toml", "[agent]\ninterval = \"10ms\"\n[inputs.counting]\n[sinks.otlp]\nendpoint = \"http://127.0.0.1:" +
                             std::to_string(port) + "\"\nmax_batch_age = \"50ms\"\nqueue_capacity = 20\n");
    Process agent = start_agent(conf);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find("connect: Connection refused; retrying with backoff") != std::string::npos);
    CHECK(agent.stderr_text.find("queue_full=") != std::string::npos);  // the queue's policy dropped, counted
    // Everything routed is accounted for: nothing reached the receiver, so all of it was dropped.
    Summary counts = parse_summary(agent.stderr_text);
    check_sink_identity(counts, "sinks.otlp");
    CHECK(counter(counts, "sinks.otlp", "delivered") == 0);
    CHECK(counter(counts, "sinks.otlp", "routed") == counter(counts, "inputs.counting", "emitted"));
}

namespace {

// A CA, server and client certificates (tests/make_test_certs.sh).
TempDir make_certificates() {
    TempDir pki;
    Process make({"/bin/sh", OTLP_MAKE_TEST_CERTS, pki.path.string()});
    REQUIRE_MESSAGE(make.wait() == 0, make.stderr_text);
    return pki;
}

std::string https_config(std::uint16_t port, const fs::path &pki, const std::string &ca) {
    return "[agent]\ninterval = \"100ms\"\n[inputs.counting]\n[sinks.otlp]\nendpoint = \"https://127.0.0.1:" +
           std::to_string(port) + "\"\nmax_batch_age = \"200ms\"\n[sinks.otlp.tls]\nca_file = \"" + (pki / ca).string() +
           "\"\ncert_file = \"" + (pki / "client.crt").string() + "\"\nkey_file = \"" + (pki / "client.key").string() + "\"\n";
}

}  // namespace

TEST_CASE("https with a configured CA and a client certificate: the receiver verifies the client, every record arrives") {
    TempDir pki = make_certificates();
    const std::uint16_t port = free_port();
    Process receiver = start_receiver(port, 0, pki.path.string());
    TempDir conf;
    conf.write("s.toml", https_config(port, pki.path, "ca.crt"));
    Process agent = start_agent(conf);
    receiver.read_until([](const std::string &out) { return sequences(out).size() >= 10 && !requests(out, "/v1/metrics").empty(); },
                        std::chrono::seconds(15));
    stop(agent, receiver);
    INFO(agent.stderr_text);
    INFO(receiver.stdout_text.substr(0, 2000));
    auto metrics = requests(receiver.stdout_text, "/v1/metrics");
    REQUIRE_FALSE(metrics.empty());
    CHECK(metrics[0]["client"] == "sonde-test-client");  // the server required and verified it
    CHECK(metrics[0]["request"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["name"] == "test.ticks");
    auto seen = sequences(receiver.stdout_text);
    REQUIRE(seen.size() >= 10);
    CHECK(*seen.begin() == 1);
    CHECK(static_cast<std::size_t>(*seen.rbegin()) == seen.size());
    CHECK(receiver.stdout_text.find("tlsClientError") == std::string::npos);
}

TEST_CASE("https to a server the configured CA did not sign: refused with the reason, retried, the agent runs") {
    TempDir pki = make_certificates();
    const std::uint16_t port = free_port();
    Process receiver = start_receiver(port, 0, pki.path.string());
    TempDir conf;
    conf.write("s.toml", https_config(port, pki.path, "other-ca.crt"));
    Process agent = start_agent(conf);
    agent.read_until([](const std::string &) { return false; }, std::chrono::milliseconds(1500));
    stop(agent, receiver);
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find("TLS handshake: certificate verify failed") != std::string::npos);
    CHECK(agent.stderr_text.find("retrying with backoff") != std::string::npos);
    CHECK(requests(receiver.stdout_text, "/v1/metrics").empty());
    CHECK(agent.stderr_text.find("inputs.counting emitted=") != std::string::npos);
}

TEST_CASE("TLS settings that cannot work are configuration errors naming the key") {
    TempDir conf;
    conf.write("s.toml", "[sinks.otlp]\nendpoint = \"https://127.0.0.1:4318\"\n[sinks.otlp.tls]\nca_file = \"/nonexistent/ca.pem\"\n");
    Process check(sonde({"check-config", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    CHECK(check.wait() != 0);
    INFO(check.stderr_text);
    CHECK(check.stderr_text.find("tls.ca_file") != std::string::npos);
    CHECK(check.stderr_text.find("cannot load /nonexistent/ca.pem") != std::string::npos);

    conf.write("s.toml", "[sinks.otlp]\nendpoint = \"http://127.0.0.1:4318\"\n[sinks.otlp.tls]\nca_file = \"/etc/ssl/certs/ca-certificates.crt\"\n");
    Process plain(sonde({"check-config", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    CHECK(plain.wait() != 0);
    CHECK(plain.stderr_text.find("TLS settings need an https:// endpoint") != std::string::npos);
}

namespace {
// Runs the agent until its first request reached a receiver that answers
// after `answer_delay` (receiver.js), then stops both; the agent's summary.
Summary stop_during_first_request(const std::string &answer_delay, const std::string &agent_table,
                                  std::string *received) {
    const std::uint16_t port = free_port();
    Process receiver = start_receiver(port, 0, "", answer_delay);
    TempDir conf;
    conf.write("s.toml", config(port));
    conf.write("t.toml", agent_table);
    Process agent = start_agent(conf);
    receiver.read_until([](const std::string &out) { return out.find("\"status\":200") != std::string::npos; },
                        std::chrono::seconds(10));
    stop(agent, receiver);
    INFO(agent.stderr_text);
    Summary counts = parse_summary(agent.stderr_text);
    check_sink_identity(counts, "sinks.otlp");
    CHECK(counter(counts, "sinks.otlp", "routed") == counter(counts, "inputs.counting", "emitted"));
    *received = receiver.stdout_text;
    return counts;
}
}  // namespace

TEST_CASE("stopped while a request is in flight: the agent waits for the answer; what the receiver got is delivered") {
    std::string received;
    Summary counts = stop_during_first_request("800", "", &received);  // the answer comes 800 ms after the stop
    CHECK(counter(counts, "sinks.otlp", "dropped") == 0);
    CHECK(counter(counts, "sinks.otlp", "delivered") == counter(counts, "inputs.counting", "emitted"));
    CHECK(counter(counts, "sinks.otlp", "delivered") == records_received(received));
}

TEST_CASE("a request never answered by the stop: counted as in_flight_at_stop, never as delivered") {
    std::string received;
    Summary counts = stop_during_first_request("never", "[agent]\nshutdown_timeout = \"500ms\"\n", &received);
    CHECK(counter(counts, "sinks.otlp", "delivered") == 0);
    CHECK(counter(counts, "sinks.otlp", "in_flight_at_stop") > 0);
}
