// The self-metrics exposition (core/src/control/metrics_text.hpp): exact text
// in both formats, number formatting, content negotiation, and the real
// `promtool check metrics` on a realistic set of families.
#include "control/metrics_text.hpp"

#include "read_file.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <limits>

using namespace sonde::core;

namespace {

std::string value_text(double v) {
    std::string out;
    append_sample_value(out, v);
    return out;
}

std::string bound_text(double v) {
    std::string out;
    append_canonical_bound(out, v);
    return out;
}

std::string render(const std::vector<SelfFamily> &families, ExpositionFormat format) {
    std::string out;
    append_exposition(out, families, format);
    return out;
}

// One of each type, a label needing every escape, a unit.
std::vector<SelfFamily> small_set() {
    std::vector<SelfFamily> f(4);
    f[0].name = "sonde_records_emitted";
    f[0].type = SelfMetricType::counter;
    f[0].help = "Records an input emitted.";
    f[0].samples = {{{{"input", "inputs.procfs"}}, 120, {}}, {{{"input", "a\"b\\c\nd"}}, 3, {}}};
    f[1].name = "sonde_queue_size";
    f[1].help = "Records waiting in a sink's queue \\ with\nnewline";
    f[1].samples = {{{}, 0.5, {}}};
    f[2].name = "sonde_export_duration_seconds";
    f[2].type = SelfMetricType::histogram;
    f[2].unit = "seconds";
    f[2].help = "Export latency \"quoted\".";
    f[2].samples = {{{{"sink", "sinks.otlp"}}, 0, {{0.005, 1, 1000000}, {2, 5, 6}, 7, 2.25}}};
    f[3].name = "sonde_build";
    f[3].type = SelfMetricType::info;
    f[3].help = "Build of the agent.";
    f[3].samples = {{{{"version", "0.1.0"}}, 0, {}}};
    return f;
}

// promtool's verdict on the text piped into `promtool check metrics`; exit status in `status`.
std::string promtool_check(const std::string &text, int &status) {
    REQUIRE_MESSAGE(access("/usr/bin/promtool", X_OK) == 0,
                    "promtool is missing (scripts/test.sh installs Debian's prometheus package)");
    sonde_test::TempDir dir;
    const std::string verdict_path = (dir.path / "verdict").string();
    FILE *promtool = popen(("/usr/bin/promtool check metrics > " + verdict_path + " 2>&1").c_str(), "w");
    REQUIRE(promtool != nullptr);
    CHECK(std::fwrite(text.data(), 1, text.size(), promtool) == text.size());
    const int wait_status = pclose(promtool);
    status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
    return sonde_test::read_file(verdict_path);
}

}  // namespace

TEST_CASE("sample values: plain integers where exact, shortest text otherwise") {
    CHECK(value_text(0) == "0");
    CHECK(value_text(-0.0) == "0");
    CHECK(value_text(1) == "1");
    CHECK(value_text(1000000) == "1000000");
    CHECK(value_text(1234567168) == "1234567168");
    CHECK(value_text(9007199254740992.0) == "9007199254740992");
    CHECK(value_text(1e20) == "1e+20");
    CHECK(value_text(-42) == "-42");
    CHECK(value_text(0.25) == "0.25");
    CHECK(value_text(1712345678.37) == "1712345678.37");
    CHECK(value_text(1e-7) == "1e-07");
    CHECK(value_text(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(value_text(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(value_text(std::nan("")) == "NaN");
}

TEST_CASE("le bounds: OpenMetrics canonical numbers") {
    // The spec's own examples (OpenMetrics 1.0, "Considerations: Canonical Numbers").
    const std::pair<double, const char *> cases[] = {
        {0.0, "0.0"},     {0.001, "0.001"},   {0.002, "0.002"}, {0.01, "0.01"},       {0.1, "0.1"},
        {0.9, "0.9"},     {0.95, "0.95"},     {0.99, "0.99"},   {0.999, "0.999"},     {1.0, "1.0"},
        {1.7, "1.7"},     {10.0, "10.0"},     {1e-10, "1e-10"}, {1e-9, "1e-09"},      {1e-5, "1e-05"},
        {0.0001, "0.0001"}, {100000.0, "100000.0"}, {1e6, "1e+06"}, {1e10, "1e+10"}, {1.1e23, "1.1e+23"},
        {1234567.0, "1.234567e+06"}, {2.5, "2.5"}};
    for (auto [value, text] : cases) {
        CAPTURE(value);
        CHECK(bound_text(value) == text);
    }
    CHECK(bound_text(std::numeric_limits<double>::infinity()) == "+Inf");
}

TEST_CASE("text 0.0.4: exact output") {
    const std::string expected =
        "# HELP sonde_records_emitted_total Records an input emitted.\n"
        "# TYPE sonde_records_emitted_total counter\n"
        "sonde_records_emitted_total{input=\"inputs.procfs\"} 120\n"
        "sonde_records_emitted_total{input=\"a\\\"b\\\\c\\nd\"} 3\n"
        "# HELP sonde_queue_size Records waiting in a sink's queue \\\\ with\\nnewline\n"
        "# TYPE sonde_queue_size gauge\n"
        "sonde_queue_size 0.5\n"
        "# HELP sonde_export_duration_seconds Export latency \"quoted\".\n"
        "# TYPE sonde_export_duration_seconds histogram\n"
        "sonde_export_duration_seconds_bucket{sink=\"sinks.otlp\",le=\"0.005\"} 2\n"
        "sonde_export_duration_seconds_bucket{sink=\"sinks.otlp\",le=\"1.0\"} 5\n"
        "sonde_export_duration_seconds_bucket{sink=\"sinks.otlp\",le=\"1e+06\"} 6\n"
        "sonde_export_duration_seconds_bucket{sink=\"sinks.otlp\",le=\"+Inf\"} 7\n"
        "sonde_export_duration_seconds_sum{sink=\"sinks.otlp\"} 2.25\n"
        "sonde_export_duration_seconds_count{sink=\"sinks.otlp\"} 7\n"
        "# HELP sonde_build_info Build of the agent.\n"
        "# TYPE sonde_build_info gauge\n"
        "sonde_build_info{version=\"0.1.0\"} 1\n";
    CHECK(render(small_set(), ExpositionFormat::prometheus_text_0_0_4) == expected);
}

TEST_CASE("OpenMetrics 1.0: exact output") {
    const std::string expected =
        "# TYPE sonde_records_emitted counter\n"
        "# HELP sonde_records_emitted Records an input emitted.\n"
        "sonde_records_emitted_total{input=\"inputs.procfs\"} 120\n"
        "sonde_records_emitted_total{input=\"a\\\"b\\\\c\\nd\"} 3\n"
        "# TYPE sonde_queue_size gauge\n"
        "# HELP sonde_queue_size Records waiting in a sink's queue \\\\ with\\nnewline\n"
        "sonde_queue_size 0.5\n"
        "# TYPE sonde_export_duration_seconds histogram\n"
        "# UNIT sonde_export_duration_seconds seconds\n"
        "# HELP sonde_export_duration_seconds Export latency \\\"quoted\\\".\n"
        "sonde_export_duration_seconds_bucket{sink=\"sinks.otlp\",le=\"0.005\"} 2\n"
        "sonde_export_duration_seconds_bucket{sink=\"sinks.otlp\",le=\"1.0\"} 5\n"
        "sonde_export_duration_seconds_bucket{sink=\"sinks.otlp\",le=\"1e+06\"} 6\n"
        "sonde_export_duration_seconds_bucket{sink=\"sinks.otlp\",le=\"+Inf\"} 7\n"
        "sonde_export_duration_seconds_sum{sink=\"sinks.otlp\"} 2.25\n"
        "sonde_export_duration_seconds_count{sink=\"sinks.otlp\"} 7\n"
        "# TYPE sonde_build info\n"
        "# HELP sonde_build Build of the agent.\n"
        "sonde_build_info{version=\"0.1.0\"} 1\n"
        "# EOF\n";
    CHECK(render(small_set(), ExpositionFormat::openmetrics_1_0) == expected);
}

TEST_CASE("an empty set: nothing in text, only # EOF in OpenMetrics") {
    CHECK(render({}, ExpositionFormat::prometheus_text_0_0_4).empty());
    CHECK(render({}, ExpositionFormat::openmetrics_1_0) == "# EOF\n");
}

TEST_CASE("invalid UTF-8 in label values and help becomes U+FFFD") {
    SelfFamily f;
    f.name = "sonde_thread";
    f.help = "bad \xC3 help";
    f.samples = {{{{"comm", "x\xFFy\xE2\x82"}}, 1, {}}};
    const std::string out = render({f}, ExpositionFormat::prometheus_text_0_0_4);
    CHECK(out == "# HELP sonde_thread bad \xEF\xBF\xBD help\n# TYPE sonde_thread gauge\n"
                 "sonde_thread{comm=\"x\xEF\xBF\xBDy\xEF\xBF\xBD\"} 1\n");
}

TEST_CASE("content negotiation from the Accept header") {
    using enum ExpositionFormat;
    // What Prometheus 2.x sends when it may scrape OpenMetrics.
    CHECK(negotiate_exposition_format("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                                      "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1") ==
          openmetrics_1_0);
    // What it sends otherwise, and what curl sends.
    CHECK(negotiate_exposition_format("text/plain;version=0.0.4;q=1,*/*;q=0.1") == prometheus_text_0_0_4);
    CHECK(negotiate_exposition_format("*/*") == prometheus_text_0_0_4);
    CHECK(negotiate_exposition_format("") == prometheus_text_0_0_4);
    // Weights decide, not order; on a tie the first listed wins.
    CHECK(negotiate_exposition_format("text/plain;q=0.2, application/openmetrics-text; q=0.9") == openmetrics_1_0);
    CHECK(negotiate_exposition_format("text/plain, application/openmetrics-text") == prometheus_text_0_0_4);
    CHECK(negotiate_exposition_format("Application/OpenMetrics-Text; Version=\"1.0.0\"") == openmetrics_1_0);
    // Refused or unknown versions, q=0, malformed weights, other types: text.
    CHECK(negotiate_exposition_format("application/openmetrics-text;version=2.0.0") == prometheus_text_0_0_4);
    CHECK(negotiate_exposition_format("application/openmetrics-text;q=0") == prometheus_text_0_0_4);
    CHECK(negotiate_exposition_format("application/openmetrics-text;q=abc") == prometheus_text_0_0_4);
    CHECK(negotiate_exposition_format("application/json") == prometheus_text_0_0_4);
    CHECK(negotiate_exposition_format(",,;;=,") == prometheus_text_0_0_4);

    const Exposition om = render_exposition("application/openmetrics-text", {});
    CHECK(om.content_type == "application/openmetrics-text; version=1.0.0; charset=utf-8");
    CHECK(om.body == "# EOF\n");
    const Exposition text = render_exposition("text/plain", small_set());
    CHECK(text.content_type == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(text.body == render(small_set(), ExpositionFormat::prometheus_text_0_0_4));
}

TEST_CASE("promtool check metrics finds nothing to say about a realistic set") {
    std::vector<SelfFamily> families = small_set();
    auto add = [&](std::string name, SelfMetricType type, std::string unit, std::string help,
                   std::vector<SelfSample> samples) {
        families.push_back({std::move(name), type, std::move(unit), std::move(help), std::move(samples)});
    };
    using T = SelfMetricType;
    add("process_cpu_seconds", T::counter, "seconds", "Total user and system CPU time spent in seconds.",
        {{{}, 12.34, {}}});
    add("process_resident_memory_bytes", T::gauge, "bytes", "Resident memory size in bytes.", {{{}, 34963456, {}}});
    add("process_start_time_seconds", T::gauge, "seconds", "Start time of the process since unix epoch in seconds.",
        {{{}, 1712345678.37, {}}});
    add("sonde_sink_records_dropped", T::counter, "", "Records a sink dropped, by reason.",
        {{{{"sink", "sinks.file"}, {"reason", "queue_full"}}, 17, {}},
         {{{"sink", "sinks.file"}, {"reason", "rejected"}}, 0, {}},
         {{{"sink", "sinks.\"odd\" \\ name\nwith newline"}, {"reason", "expired"}}, 1, {}}});
    add("sonde_instance_up", T::gauge, "", "1 when the instance runs.",
        {{{{"instance", "inputs.syscall"}, {"plugin", "syscall"}, {"note", "ünïcödé ✓ 日本語"}}, 1, {}},
         {{{"instance", "inputs.broken"}, {"plugin", "x"}, {"note", "bad\xFF\xFE"}}, 0, {}}});
    add("sonde_config_last_reload_successful", T::gauge, "", "Whether the last reload succeeded.",
        {{{}, 1, {}}});
    add("sonde_batch_size_records", T::histogram, "", "Records per export request.",
        {{{{"sink", "sinks.otlp"}}, 0, {{1, 10, 100, 1000}, {0, 3, 9, 9}, 10, 5012}}});
    add("sonde_ring_buffer_lost_events", T::counter, "", "Events the kernel could not queue.",
        {{{{"instance", "inputs.syscall"}}, std::numeric_limits<double>::quiet_NaN(), {}}});
    add("sonde_queue_capacity_records", T::gauge, "", "Queue capacity.",
        {{{{"sink", "sinks.stdout"}}, std::numeric_limits<double>::infinity(), {}}});

    const std::string text = render(families, ExpositionFormat::prometheus_text_0_0_4);
    int status = -1;
    const std::string verdict = promtool_check(text, status);
    INFO(text);
    INFO(verdict);
    CHECK(status == 0);
    CHECK(verdict.empty());
}

TEST_CASE("promtool sees the problems it is meant to see (the check can fail)") {
    // A gauge ending in _count is what promtool lints; proves the pipe reaches it.
    SelfFamily f;
    f.name = "sonde_things_count";
    f.help = "Wrongly named.";
    f.samples = {{{}, 1, {}}};
    int status = -1;
    const std::string verdict = promtool_check(render({f}, ExpositionFormat::prometheus_text_0_0_4), status);
    INFO(verdict);
    CHECK(status != 0);
    CHECK(verdict.find("sonde_things_count") != std::string::npos);
}
