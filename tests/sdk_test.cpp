// The header-only SDK: units, the config reader, the JSON-lines encoder.
#include <sonde/record_json.hpp>
#include <sonde/sdk.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

TEST_CASE("durations and sizes") {
    CHECK(sonde::parse_duration_ns("250ms") == 250'000'000u);
    CHECK(sonde::parse_duration_ns("1.5s") == 1'500'000'000u);
    CHECK(sonde::parse_duration_ns("2m") == 120'000'000'000u);
    CHECK(sonde::parse_duration_ns("10") == std::nullopt);  // a unit is required
    CHECK(sonde::parse_duration_ns("-1s") == std::nullopt);
    CHECK(sonde::parse_duration_ns("ms") == std::nullopt);
    CHECK(sonde::parse_size_bytes("64MiB") == 64u << 20);
    CHECK(sonde::parse_size_bytes("1kB") == 1000u);
    CHECK(sonde::parse_size_bytes("512") == 512u);
    CHECK(sonde::parse_size_bytes("1 MiB") == std::nullopt);
}

TEST_CASE("the config reader checks types and rejects keys nobody read") {
    sonde::Config c(R"({"a": 1, "b": "x", "d": "250ms", "l": ["p", "q"], "typo": true})");
    CHECK(c.get_int("a", 0) == 1);
    CHECK(c.get_string("b", "") == "x");
    CHECK(c.get_duration_ns("d", 0) == 250'000'000u);
    CHECK(c.get_strings("l", {}) == std::vector<std::string>{"p", "q"});
    CHECK(c.get_bool("missing", true));
    try {
        c.finish();
        FAIL("finish accepted an unknown key");
    } catch (const sonde::ConfigError &e) {
        CHECK(e.key() == "typo");
        CHECK(std::string(e.what()) == "unknown key");
    }
    sonde::Config wrong(R"({"a": "one"})");
    CHECK_THROWS_WITH_AS(wrong.get_int("a", 0), "expected an integer", sonde::ConfigError);
    sonde::Config nested(R"({"t": {"x": 1, "y": 2}})");
    sonde::Config t = nested.get_table("t");
    t.get_int("x", 0);
    try {
        t.finish();
        FAIL("nested unknown key accepted");
    } catch (const sonde::ConfigError &e) {
        CHECK(e.key() == "t.y");
    }
}

namespace {
sonde_record_info info(const char *name, std::uint32_t kind, std::uint32_t metric_kind,
                       const std::vector<const char *> &keys) {
    sonde_record_info i{};
    i.struct_size = sizeof i;
    i.record_kind = kind;
    i.metric_kind = metric_kind;
    i.attribute_count = static_cast<std::uint32_t>(keys.size());
    i.attribute_keys = keys.data();
    i.name = name;
    i.unit = "s";
    i.description = "";
    i.input_name = "in";
    return i;
}
}  // namespace

TEST_CASE("JSON lines: gauge, counter, histogram and event, with escaping") {
    sonde::RecordJsonWriter w;
    std::string out;
    std::vector<const char *> keys{"k"};
    sonde_value weird = sonde::str("a\"b\\c\nd\x01");
    sonde_metric_point p{};
    p.struct_size = sizeof p;
    p.attribute_count = 1;
    p.attributes = &weird;
    p.time_ns = 1'700'000'000'123'456'789;
    p.start_time_ns = 1'699'999'999'000'000'000;
    p.value = sonde::double_value(1.5);
    auto gauge = info("g", SONDE_RECORD_METRIC, SONDE_METRIC_GAUGE, keys);
    w.append_metric(out, gauge, p);
    CHECK(out ==
          R"({"record":"metric","time":"2023-11-14T22:13:20.123456789Z","input":"in","name":"g","kind":"gauge","unit":"s","attributes":{"k":"a\"b\\c\nd\u0001"},"value":1.5})"
          "\n");
    out.clear();
    auto counter = info("c", SONDE_RECORD_METRIC, SONDE_METRIC_COUNTER, keys);
    p.value = sonde::uint_value(18446744073709551615ull);
    w.append_metric(out, counter, p);
    auto parsed = nlohmann::json::parse(out);
    CHECK(parsed["start_time"] == "2023-11-14T22:13:19.000000000Z");
    CHECK(parsed["value"].get<std::uint64_t>() == 18446744073709551615ull);

    out.clear();
    double bounds[] = {0.001, 0.01};
    std::uint64_t counts[] = {3, 2, 1};
    sonde_histogram h{sizeof h, 2, bounds, counts, 6, 0.05};
    p.histogram = &h;
    auto histogram = info("h", SONDE_RECORD_METRIC, SONDE_METRIC_HISTOGRAM, keys);
    w.append_metric(out, histogram, p);
    parsed = nlohmann::json::parse(out);
    CHECK(parsed["histogram"] == nlohmann::json::parse(R"({"count":6,"sum":0.05,"bounds":[0.001,0.01],"counts":[3,2,1]})"));
    CHECK_FALSE(parsed.contains("value"));

    out.clear();
    std::vector<const char *> event_keys{"pid", "ok", "lat"};
    sonde_value values[] = {sonde::int_value(-7), sonde::bool_value(true), sonde::double_value(0.025)};
    sonde_event e{sizeof e, 3, values, 1'700'000'000'000'000'000};
    auto event = info("syscall.slow", SONDE_RECORD_EVENT, 0, event_keys);
    w.append_event(out, event, e);
    CHECK(out ==
          R"({"record":"event","time":"2023-11-14T22:13:20.000000000Z","input":"in","name":"syscall.slow","attributes":{"pid":-7,"ok":true,"lat":0.025}})"
          "\n");
}

TEST_CASE("JSON lines: non-finite doubles become null; pretty output is still one JSON object") {
    sonde::RecordJsonWriter pretty(true);
    std::string out;
    std::vector<const char *> keys;
    auto gauge = info("g", SONDE_RECORD_METRIC, SONDE_METRIC_GAUGE, keys);
    sonde_metric_point p{};
    p.struct_size = sizeof p;
    p.value = sonde::double_value(std::numeric_limits<double>::infinity());
    pretty.append_metric(out, gauge, p);
    CHECK(out.find("\n  \"value\": null") != std::string::npos);
    CHECK(nlohmann::json::parse(out)["value"].is_null());
}

#include <sonde/latency_histogram.hpp>

TEST_CASE("latency buckets: every value lands in the bucket whose bounds hold it, at most 25% wide") {
    for (unsigned long long v : {0ull, 1ull, 3ull, 4ull, 5ull, 7ull, 8ull, 9ull, 1000ull, 25'000'000ull, 1ull << 36}) {
        unsigned i = sonde_latency_bucket(v);
        CHECK(v <= sonde_latency_bucket_upper_ns(i));
        if (i > 0) CHECK(v > sonde_latency_bucket_upper_ns(i - 1));
    }
    for (unsigned i = 8; i + 1 < SONDE_LATENCY_BUCKETS; ++i) {
        double lower = static_cast<double>(sonde_latency_bucket_upper_ns(i - 1) + 1);
        CHECK(static_cast<double>(sonde_latency_bucket_upper_ns(i)) + 1 <= lower * 1.25 + 1);
    }
    CHECK(sonde_latency_bucket(~0ull) == SONDE_LATENCY_BUCKETS - 1);
}

TEST_CASE("latency histogram: cumulative point and interval quantiles") {
    std::vector<sonde_latency_histogram> cpus(2);
    auto add = [&](int cpu, unsigned long long ns, int times) {
        for (int t = 0; t < times; ++t) {
            cpus[cpu].buckets[sonde_latency_bucket(ns)]++;
            cpus[cpu].count++;
            cpus[cpu].sum_ns += ns;
        }
    };
    sonde::LatencyHistogram h;
    add(0, 1000, 50);        // 1 us
    add(1, 1'000'000, 49);   // 1 ms
    add(1, 100'000'000, 1);  // 100 ms
    h.set_cumulative(cpus.data(), cpus.size());
    CHECK(h.interval_count() == 100);
    CHECK(h.interval_quantile_s(0.5) == doctest::Approx(1e-6).epsilon(0.25));
    CHECK(h.interval_quantile_s(0.95) == doctest::Approx(1e-3).epsilon(0.25));
    CHECK(h.interval_quantile_s(1.0) == doctest::Approx(0.1).epsilon(0.25));
    const sonde_histogram &p = h.point();
    CHECK(p.count == 100);
    CHECK(p.bound_count == SONDE_LATENCY_BUCKETS - 1);
    CHECK(p.sum == doctest::Approx(0.1 + 0.049 + 0.00005));
    // The next interval counts only what is new.
    add(0, 2000, 10);
    h.set_cumulative(cpus.data(), cpus.size());
    CHECK(h.interval_count() == 10);
    CHECK(h.interval_quantile_s(1.0) == doctest::Approx(2e-6).epsilon(0.25));
    CHECK(h.point().count == 110);
}
