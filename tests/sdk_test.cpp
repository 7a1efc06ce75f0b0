// The header-only SDK: units, the config reader, the JSON-lines encoder.
#include "records/record_json.hpp"
#include <sonde/sdk.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <limits>

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

TEST_CASE("durations and sizes are bounded, so arithmetic on them cannot overflow") {
    using Status = sonde::ParsedQuantity::Status;
    // 2'100'000 h fits in a uint64 but now_ns() + it overflows an int64.
    CHECK(sonde::parse_duration("2100000h").status == Status::out_of_range);
    CHECK(sonde::parse_duration_ns("2100000h") == std::nullopt);
    CHECK(sonde::parse_duration("3650d").value == sonde::max_duration_ns);
    CHECK(sonde::parse_duration("3651d").status == Status::out_of_range);
    CHECK(sonde::parse_duration("99999999999999999999999999s").status == Status::out_of_range);
    CHECK(sonde::parse_duration("10").status == Status::syntax);
    CHECK(sonde::max_duration_ns * 2 + static_cast<std::uint64_t>(sonde::now_ns()) <
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    CHECK(sonde::parse_size("1PiB").value == sonde::max_size_bytes);
    CHECK(sonde::parse_size("16EiB").status == Status::syntax);
    CHECK(sonde::parse_size("2PiB").status == Status::out_of_range);
    CHECK(sonde::parse_size("18446744073709551615").status == Status::out_of_range);
    // Exact decimal arithmetic, rounded to the nearest unit.
    CHECK(sonde::parse_duration_ns("0.3s") == 300'000'000u);
    CHECK(sonde::parse_duration_ns("1.000000001s") == 1'000'000'001u);
    CHECK(sonde::parse_duration_ns("0.4ns") == 0u);
    CHECK(sonde::parse_duration_ns("1.5h") == 5'400'000'000'000u);
    CHECK(sonde::parse_size_bytes("1.5KiB") == 1536u);
    // The formatter picks the largest exact unit and round-trips.
    CHECK(sonde::format_duration(90'000'000'000) == "90s");
    CHECK(sonde::format_duration(0) == "0ns");
    CHECK(sonde::format_size(3u << 20) == "3MiB");
    CHECK(sonde::format_size(1000) == "1000B");
    for (std::uint64_t v : std::initializer_list<std::uint64_t>{1, 999, 1'500'000'000, sonde::max_duration_ns})
        CHECK(sonde::parse_duration_ns(sonde::format_duration(v)) == v);
}

TEST_CASE("the config reader's bounded getters refuse values outside their range, naming it") {
    sonde::Config c(R"({"batch": -1, "zero": "0s", "huge": "3651d", "neg_size": -5, "int_size": 4096,
                        "big_size": "2GiB", "ok": "250ms", "n": 10})");
    CHECK_THROWS_WITH_AS(c.get_int("batch", 8192, 1, 1'000'000), "-1 is out of range [1, 1000000]",
                         sonde::ConfigError);
    CHECK(c.get_int("n", 0, 1, 10) == 10);
    CHECK(c.get_int("missing", 7, 1, 5) == 7);  // the fallback is the plugin's own choice
    CHECK_THROWS_WITH_AS(c.get_duration_ns("zero", 1, 1'000'000, 3'600'000'000'000),
                         "\"0s\" is out of range [1ms, 1h]", sonde::ConfigError);
    CHECK_THROWS_WITH_AS(c.get_duration_ns("huge", 1), "\"3651d\" is out of range [0ns, 3650d]",
                         sonde::ConfigError);
    CHECK(c.get_duration_ns("ok", 0, 1, sonde::max_duration_ns) == 250'000'000u);
    CHECK_THROWS_WITH_AS(c.get_size_bytes("neg_size", 1), "-5 is out of range [0B, 1PiB]", sonde::ConfigError);
    CHECK(c.get_size_bytes("int_size", 0, 1024, 1u << 20) == 4096u);  // a plain integer is bytes
    CHECK_THROWS_WITH_AS(c.get_size_bytes("big_size", 1, 4096, 1u << 30), "\"2GiB\" is out of range [4KiB, 1GiB]",
                         sonde::ConfigError);
    try {
        c.get_int("batch", 0, 0, 5);
        FAIL("out of range accepted");
    } catch (const sonde::ConfigError &e) {
        CHECK(e.key() == "batch");
    }
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

#include "ebpf/latency_histogram.hpp"

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

#include <sonde/utf8.hpp>

namespace {
// What repair makes of `bytes`, with U+FFFD shown as '?' for readable checks
// (none of the inputs below contains a real '?').
std::string repaired_shown(std::string_view bytes) {
    std::string out = sonde::utf8::repaired(bytes);
    for (std::size_t at; (at = out.find(sonde::utf8::replacement)) != std::string::npos;) out.replace(at, 3, "?");
    return out;
}
}  // namespace

TEST_CASE("UTF-8: well-formed text, NUL and control characters included, is kept byte for byte") {
    using namespace std::string_view_literals;
    for (std::string_view s : {""sv, "plain"sv, "caf\xC3\xA9"sv, "\xE2\x82\xAC"sv, "\xF0\x9D\x84\x9E"sv,
                               "\xF4\x8F\xBF\xBF"sv /* U+10FFFF */, "\xED\x9F\xBF"sv /* U+D7FF */,
                               "\xEE\x80\x80"sv /* U+E000 */, "\xC2\x80"sv, "\xDF\xBF"sv, "\xEF\xBF\xBD"sv,
                               "a\0b\x01\x7F"sv}) {
        CAPTURE(s);
        CHECK(sonde::utf8::is_valid(s));
        CHECK(sonde::utf8::repaired(s) == s);
        CHECK(sonde::utf8::repaired_size(s) == s.size());
    }
}

TEST_CASE("UTF-8: each maximal invalid subpart becomes one U+FFFD") {
    using namespace std::string_view_literals;
    struct Case {
        std::string_view bytes, shown;
    };
    for (const Case &c : {
             Case{"\xFF\xFE\"bad\x01"sv, "??\"bad\x01"sv},  // the issue's process name
             Case{"\xC0\xAF"sv, "??"sv},                    // overlong '/': C0 never starts a character
             Case{"\xC1\xBF"sv, "??"sv},
             Case{"\xE0\x80\xAF"sv, "???"sv},      // overlong three-byte form
             Case{"\xF0\x80\x80\xAF"sv, "????"sv},  // overlong four-byte form
             Case{"\xED\xA0\x80"sv, "???"sv},       // surrogate U+D800
             Case{"\xED\xBF\xBF"sv, "???"sv},       // surrogate U+DFFF
             Case{"\xF4\x90\x80\x80"sv, "????"sv},  // U+110000
             Case{"\xF5\x80\x80\x80"sv, "????"sv},
             Case{"a\xE2\x82"sv, "a?"sv},           // truncated by the end: one replacement
             Case{"\xF0\x9D\x84"sv, "?"sv},
             Case{"\xC3"sv, "?"sv},
             Case{"\xE2\x82" "a"sv, "?a"sv},        // truncated by an ASCII byte
             Case{"\xE2\xC3\xA9"sv, "?\xC3\xA9"sv},  // truncated by the next character, which is kept
             Case{"\x80"sv, "?"sv},                 // lone continuation bytes
             Case{"\xBF\xBF" "x"sv, "??x"sv},
             // Unicode 15, section 3.9, the example of U+FFFD substitution.
             Case{"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"sv, "a???b?c??d"sv},
         }) {
        CAPTURE(c.bytes);
        CHECK_FALSE(sonde::utf8::is_valid(c.bytes));
        CHECK(repaired_shown(c.bytes) == c.shown);
        const std::string repaired = sonde::utf8::repaired(c.bytes);
        CHECK(sonde::utf8::is_valid(repaired));
        CHECK(sonde::utf8::repaired_size(c.bytes) == repaired.size());
    }
}

TEST_CASE("UTF-8: a non-ASCII byte is found wherever it falls in the eight-byte scans") {
    for (std::size_t length : {1u, 7u, 8u, 9u, 16u, 33u}) {
        for (std::size_t at = 0; at < length; ++at) {
            std::string s(length, 'x');
            s[at] = '\x80';
            CAPTURE(length);
            CAPTURE(at);
            CHECK(sonde::utf8::valid_prefix(s) == at);
            CHECK_FALSE(sonde::utf8::is_ascii(s));
            CHECK_FALSE(sonde::utf8::is_valid(s));
            s[at] = 'y';
            CHECK(sonde::utf8::valid_prefix(s) == length);
            CHECK(sonde::utf8::is_ascii(s));
        }
    }
}

TEST_CASE("JSON lines: strings are valid UTF-8 and control characters escaped, whatever the bytes") {
    // As `sonde trace dump` meets them in a crafted file: invalid bytes in the
    // name, the unit, an attribute key and a value.
    sonde::RecordJsonWriter w;
    std::string out;
    std::vector<const char *> keys{"comm\xC0", "path"};
    sonde_value values[] = {sonde::str("\xFF\xFE\"bad\x01"), sonde::str("/tmp/\xE2\x82\x00x")};
    values[1].as.s.size = 9;  // the NUL is part of the value
    sonde_event e{sizeof e, 2, values, 1'700'000'000'000'000'000};
    auto event = info("syscall.\xF5slow", SONDE_RECORD_EVENT, 0, keys);
    event.input_name = "in\xED\xA0\x80";
    w.append_event(out, event, e);
    CHECK(out ==
          "{\"record\":\"event\",\"time\":\"2023-11-14T22:13:20.000000000Z\",\"input\":\"in\xEF\xBF\xBD\xEF\xBF\xBD"
          "\xEF\xBF\xBD\",\"name\":\"syscall.\xEF\xBF\xBDslow\",\"attributes\":{\"comm\xEF\xBF\xBD\":"
          "\"\xEF\xBF\xBD\xEF\xBF\xBD\\\"bad\\u0001\",\"path\":\"/tmp/\xEF\xBF\xBD\\u0000x\"}}\n");
    auto parsed = nlohmann::json::parse(out);  // throws on invalid UTF-8
    CHECK(parsed["attributes"]["comm\xEF\xBF\xBD"] == "\xEF\xBF\xBD\xEF\xBF\xBD\"bad\x01");
    CHECK(parsed["attributes"]["path"] == std::string("/tmp/\xEF\xBF\xBD\0x", 10));
}

#include <sched.h>
#include <sys/wait.h>

TEST_CASE("host_name(): a host name root set to bytes that are not UTF-8 comes out repaired") {
    // In a child with its own UTS namespace, so the machine's name is untouched.
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const char name[] = "\xFF\xFE\"host\x01";
        if (unshare(CLONE_NEWUTS) != 0 || sethostname(name, sizeof name - 1) != 0) _exit(2);
        _exit(sonde::host_name() == "\xEF\xBF\xBD\xEF\xBF\xBD\"host\x01" ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE_MESSAGE(WEXITSTATUS(status) != 2, "unshare(CLONE_NEWUTS) or sethostname failed: needs root");
    CHECK(WEXITSTATUS(status) == 0);
}
