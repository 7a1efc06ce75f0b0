// Names, rendering and bookkeeping of the Prometheus exposition, on batches
// built by hand; the output must pass `promtool check metrics`.
#include "exposition.hpp"

#include <sonde/sdk.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace sonde::prometheus;

TEST_CASE("OpenTelemetry to Prometheus names") {
    CHECK(metric_name("system.cpu.time", "s", SONDE_METRIC_COUNTER) == "system_cpu_time_seconds");
    CHECK(metric_name("system.memory.usage", "By", SONDE_METRIC_GAUGE) == "system_memory_usage_bytes");
    CHECK(metric_name("system.disk.operations", "{operation}", SONDE_METRIC_COUNTER) == "system_disk_operations");
    CHECK(metric_name("system.cpu.utilization", "1", SONDE_METRIC_GAUGE) == "system_cpu_utilization_ratio");
    CHECK(metric_name("requests.total", "", SONDE_METRIC_COUNTER) == "requests");  // _total is added per sample
    CHECK(metric_name("net.rate", "By/s", SONDE_METRIC_GAUGE) == "net_rate_bytes_per_second");
    CHECK(metric_name("already_seconds", "s", SONDE_METRIC_GAUGE) == "already_seconds");
    CHECK(metric_name("9lives-x", "", SONDE_METRIC_GAUGE) == "_9lives_x");
    CHECK(label_name("cgroup.id") == "cgroup_id");
}

TEST_CASE("a gauge never ends in a suffix Prometheus reserves for histograms, summaries or counters") {
    // OpenTelemetry's up-down counts (.count) become the plural of what the unit says they count.
    CHECK(metric_name("system.process.count", "{process}", SONDE_METRIC_GAUGE) == "system_processes");
    CHECK(metric_name("bpf.program.count", "{program}", SONDE_METRIC_GAUGE) == "bpf_programs");
    CHECK(metric_name("bpf.map.count", "{map}", SONDE_METRIC_GAUGE) == "bpf_maps");
    CHECK(metric_name("cache.count", "{entry}", SONDE_METRIC_GAUGE) == "cache_entries");
    CHECK(metric_name("db.pool.count", "{connection}", SONDE_METRIC_GAUGE) == "db_pool_connections");
    CHECK(metric_name("queue.count", "{box}", SONDE_METRIC_GAUGE) == "queue_boxes");
    CHECK(metric_name("hw.count", "{key}", SONDE_METRIC_GAUGE) == "hw_keys");  // vowel before y: no -ies
    // Without a counted thing, or another reserved suffix: _value.
    CHECK(metric_name("widget.count", "", SONDE_METRIC_GAUGE) == "widget_count_value");
    CHECK(metric_name("widget.count", "{a}{b}", SONDE_METRIC_GAUGE) == "widget_count_value");
    CHECK(metric_name("widget.sum", "", SONDE_METRIC_GAUGE) == "widget_sum_value");
    CHECK(metric_name("widget.bucket", "{bucket}", SONDE_METRIC_GAUGE) == "widget_bucket_value");
    CHECK(metric_name("widget.total", "", SONDE_METRIC_GAUGE) == "widget_total_value");
    CHECK(metric_name("count", "{thing}", SONDE_METRIC_GAUGE) == "count");  // nothing before the suffix
    // Counters and histograms keep their names: samples get _total, _bucket, _sum, _count.
    CHECK(metric_name("page_fault.count", "{fault}", SONDE_METRIC_COUNTER) == "page_fault_count");
    CHECK(metric_name("x.count", "s", SONDE_METRIC_HISTOGRAM) == "x_count_seconds");
    CHECK(metric_name("bpf.program.memlock", "By", SONDE_METRIC_GAUGE) == "bpf_program_memlock_bytes");
    CHECK(label_name("__name") == "_name");  // runs of _ collapse, so never the reserved "__"
    CHECK(label_name("syscall.name") == "syscall_name");
}

namespace {

// One batch: a counter, a gauge with a troublesome label, a histogram, an event.
struct Fixture {
    const char *cpu_keys[2] = {"cpu", "state"};
    const char *label_keys[1] = {"path"};
    const char *no_keys[1] = {nullptr};
    sonde_record_info counter{sizeof(sonde_record_info), SONDE_RECORD_METRIC, SONDE_METRIC_COUNTER, 2, "system.cpu.time",
                              "s", "CPU time\nby state", cpu_keys, "procfs"};
    sonde_record_info gauge{sizeof(sonde_record_info), SONDE_RECORD_METRIC, SONDE_METRIC_GAUGE, 1, "fs.usage", "By",
                            "Usage", label_keys, "disk_a"};
    sonde_record_info histogram{sizeof(sonde_record_info), SONDE_RECORD_METRIC, SONDE_METRIC_HISTOGRAM, 0,
                                "io.latency", "s", "Latency", no_keys, "io"};
    sonde_record_info event{sizeof(sonde_record_info), SONDE_RECORD_EVENT, 0, 0, "syscall.slow", "", "", no_keys, "sc"};
    sonde_value cpu_values[2] = {sonde::str("cpu0"), sonde::str("user")};
    sonde_value path_value[1] = {sonde::str("/a \"quoted\"\\path")};
    double bounds[2] = {0.001, 0.01};
    std::uint64_t counts[3] = {5, 3, 2};
    sonde_histogram h{sizeof(sonde_histogram), 2, bounds, counts, 10, 0.05};
    sonde_metric_point points[3] = {};
    sonde_event events[2] = {};
    sonde_record_group groups[4] = {};
    sonde_batch batch{sizeof(sonde_batch), 0, groups, 4};

    Fixture() {
        for (auto &p : points) p.struct_size = sizeof p;
        points[0].attribute_count = 2;
        points[0].attributes = cpu_values;
        points[0].value = sonde::double_value(12.5);
        points[1].attribute_count = 1;
        points[1].attributes = path_value;
        points[1].value = sonde::uint_value(4096);
        points[2].histogram = &h;
        groups[0] = {sizeof(sonde_record_group), 0, &counter, &points[0], nullptr, 1};
        groups[1] = {sizeof(sonde_record_group), 0, &gauge, &points[1], nullptr, 1};
        groups[2] = {sizeof(sonde_record_group), 0, &histogram, &points[2], nullptr, 1};
        groups[3] = {sizeof(sonde_record_group), 0, &event, nullptr, events, 2};
    }
};

bool contains(const std::string &text, const std::string &line) { return text.find(line) != std::string::npos; }

}  // namespace

TEST_CASE("text 0.0.4: HELP, TYPE, escaped labels, counters with _total, cumulative buckets") {
    Fixture f;
    MetricStore store(true);
    store.update(f.batch, 1000);
    std::string out;
    store.render(out, Format::text_0_0_4);
    INFO(out);
    CHECK(contains(out, "# HELP system_cpu_time_seconds_total CPU time\\nby state\n"));
    CHECK(contains(out, "# TYPE system_cpu_time_seconds_total counter\n"));
    CHECK(contains(out, "system_cpu_time_seconds_total{cpu=\"cpu0\",state=\"user\",input=\"procfs\"} 12.5\n"));
    CHECK(contains(out, "fs_usage_bytes{path=\"/a \\\"quoted\\\"\\\\path\",input=\"disk_a\"} 4096\n"));
    CHECK(contains(out, "# TYPE io_latency_seconds histogram\n"));
    CHECK(contains(out, "io_latency_seconds_bucket{le=\"0.001\",input=\"io\"} 5\n"));
    CHECK(contains(out, "io_latency_seconds_bucket{le=\"0.01\",input=\"io\"} 8\n"));
    CHECK(contains(out, "io_latency_seconds_bucket{le=\"+Inf\",input=\"io\"} 10\n"));
    CHECK(contains(out, "io_latency_seconds_sum{input=\"io\"} 0.05\n"));
    CHECK(contains(out, "io_latency_seconds_count{input=\"io\"} 10\n"));
    CHECK(contains(out, "syscall_slow_events_total{input=\"sc\"} 2\n"));
    CHECK(store.series_count() == 4);

    // Events add up across batches; values are replaced.
    store.update(f.batch, 2000);
    out.clear();
    store.render(out, Format::text_0_0_4);
    CHECK(contains(out, "syscall_slow_events_total{input=\"sc\"} 4\n"));

    {
        REQUIRE_MESSAGE(access("/usr/bin/promtool", X_OK) == 0, "promtool is missing (scripts/install-deps.sh installs it)");
        std::string path = "/tmp/sonde-exposition-" + std::to_string(getpid()) + ".txt";
        std::ofstream(path) << out;
        FILE *p = popen(("/usr/bin/promtool check metrics < " + path + " 2>&1").c_str(), "r");
        char buffer[4096];
        std::string verdict;
        while (fgets(buffer, sizeof buffer, p)) verdict += buffer;
        int status = pclose(p);
        std::remove(path.c_str());
        INFO(verdict);
        CHECK(status == 0);
    }
}

TEST_CASE("OpenMetrics 1.0: counter families without _total, UNIT lines, # EOF") {
    Fixture f;
    MetricStore store(false);
    store.update(f.batch, 1000);
    std::string out;
    store.render(out, Format::openmetrics_1_0);
    INFO(out);
    CHECK(contains(out, "# TYPE system_cpu_time_seconds counter\n# UNIT system_cpu_time_seconds seconds\n"));
    CHECK(contains(out, "system_cpu_time_seconds_total{cpu=\"cpu0\",state=\"user\",input=\"procfs\"} 12.5\n"));
    CHECK_FALSE(contains(out, "syscall_slow_events"));  // events are not counted unless asked
    CHECK(out.size() > 6);
    CHECK(out.substr(out.size() - 6) == "# EOF\n");
}

TEST_CASE("an input's series go when it stops; stale series expire") {
    Fixture f;
    MetricStore store(true);
    store.update(f.batch, 1000);
    store.drop_input("procfs");
    std::string out;
    store.render(out, Format::text_0_0_4);
    CHECK_FALSE(contains(out, "system_cpu_time"));
    CHECK(store.series_count() == 3);
    CHECK(store.expire(1001) == 3);
    CHECK(store.series_count() == 0);
}
