// The prometheus sink in the real agent: scraped directly (text, OpenMetrics,
// gzip, 404), then by a real Prometheus server on loopback, whose query API
// must report the target up and the value a test input emitted.
#include "http_get.hpp"
#include "serving_agent.hpp"

#include <thread>

using namespace sonde_test;

namespace {

// The value of the first sample line starting with `prefix`, or -1.
double sample_value(const std::string &exposition, const std::string &prefix) {
    std::size_t at = exposition.find("\n" + prefix);
    if (at == std::string::npos) return -1;
    std::size_t end = exposition.find('\n', at + 1);
    std::string line = exposition.substr(at + 1, end - at - 1);
    return std::stod(line.substr(line.rfind(' ') + 1));
}

}  // namespace

TEST_CASE("scrapes: text 0.0.4, OpenMetrics, gzip, wrong path") {
    const std::uint16_t port = free_port();
    TempDir conf;
    conf.write("s.toml", "[agent]\ninterval = \"100ms\"\n[inputs.counting]\n[sinks.prometheus]\nlisten = \"127.0.0.1:" +
                             std::to_string(port) + "\"\ncount_events = true\n");
    Process agent = start_serving_agent(conf);
    INFO(agent.stderr_text);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));

    HttpReply text = http_get(port, "/metrics");
    REQUIRE(text.status == 200);
    CHECK(text.headers.find("Content-Type: text/plain; version=0.0.4; charset=utf-8") != std::string::npos);
    CHECK(text.body.find("# TYPE test_ticks_total counter\n") != std::string::npos);
    CHECK(sample_value(text.body, "test_ticks_total{source=\"counting\",input=\"counting\"}") >= 3);
    CHECK(sample_value(text.body, "test_event_events_total{input=\"counting\"}") >= 3);

    HttpReply om = http_get(port, "/metrics", "Accept: application/openmetrics-text; version=1.0.0\r\n");
    REQUIRE(om.status == 200);
    CHECK(om.headers.find("application/openmetrics-text; version=1.0.0") != std::string::npos);
    CHECK(om.body.find("# TYPE test_ticks counter\n") != std::string::npos);
    CHECK(om.body.substr(om.body.size() - 6) == "# EOF\n");

    HttpReply zipped = http_get(port, "/metrics", "Accept-Encoding: gzip\r\n");
    REQUIRE(zipped.status == 200);
    CHECK(zipped.headers.find("Content-Encoding: gzip") != std::string::npos);
    CHECK(zipped.body.substr(0, 2) == "\x1f\x8b");

    CHECK(http_get(port, "/other").status == 404);
    kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
}

TEST_CASE("a real Prometheus server scrapes sonde: up == 1 and the test input's value") {
    REQUIRE_MESSAGE(access("/usr/bin/prometheus", X_OK) == 0, "prometheus is missing (scripts/install-deps.sh installs it)");
    const std::uint16_t sonde_port = free_port(), prometheus_port = free_port();
    TempDir conf, data;
    conf.write("s.toml", "[agent]\ninterval = \"200ms\"\n[inputs.counting]\n[sinks.prometheus]\nlisten = \"127.0.0.1:" +
                             std::to_string(sonde_port) + "\"\n");
    Process agent = start_serving_agent(conf);
    data.write("prometheus.yml", "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
                                 "  - job_name: sonde\n    static_configs:\n      - targets: ['127.0.0.1:" +
                                     std::to_string(sonde_port) + "']\n");
    Process server({"/usr/bin/prometheus", "--config.file=" + (data.path / "prometheus.yml").string(),
                    "--storage.tsdb.path=" + (data.path / "tsdb").string(),
                    "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)});

    auto query = [&](const std::string &q) {
        HttpReply r = http_get(prometheus_port, "/api/v1/query?query=" + q);
        if (r.status != 200) return nlohmann::json();
        auto j = nlohmann::json::parse(r.body, nullptr, false);
        return j.is_discarded() || j["data"]["result"].empty() ? nlohmann::json() : j["data"]["result"][0];
    };
    nlohmann::json up, ticks;
    for (int i = 0; i < 60 && (up.is_null() || ticks.is_null()); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        up = query("up");
        ticks = query("test_ticks_total");
    }
    kill(server.pid, SIGTERM);
    server.wait();
    kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
    INFO(server.stderr_text.substr(server.stderr_text.size() > 3000 ? server.stderr_text.size() - 3000 : 0));
    REQUIRE_FALSE(up.is_null());
    CHECK(up["value"][1] == "1");
    REQUIRE_FALSE(ticks.is_null());
    CHECK(ticks["metric"]["source"] == "counting");
    CHECK(ticks["metric"]["input"] == "counting");
    CHECK(std::stod(ticks["value"][1].get<std::string>()) >= 1);
}
