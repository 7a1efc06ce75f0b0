// ABI 1.3: facts and export requests a plugin reports, as the host keeps
// them; the SDK on a host of 1.2; the fixed-bucket histogram behind them.
#include "loading/plugin_library.hpp"
#include "runtime/agent.hpp"
#include "runtime/histogram.hpp"

#include <sonde/sdk.hpp>

#include "instance_config.hpp"

#include <doctest/doctest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

using namespace sonde::core;

namespace {

std::shared_ptr<spdlog::logger> quiet_logger() {
    return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

InstanceConfig sink_config(const std::string &name, const std::string &plugin) {
    return test_instance(InstanceRole::sink, name, plugin);
}

}  // namespace

TEST_CASE("facts a plugin sets are kept by key: replaced, cut to 256 bytes at a character, repaired as UTF-8") {
    PluginRegistry registry;
    registry.scan({ABI_PLUGIN_DIR});
    Agent agent(AgentConfig{}, registry, quiet_logger());
    std::string error;
    std::shared_ptr<Instance> sink = agent.create(sink_config("reporting", "reporting"), error);
    REQUIRE_MESSAGE(sink, error);
    const std::map<std::string, std::string> facts = sink->facts();
    CHECK(facts.size() == 3);  // "Bad Key!" is not a token
    CHECK(facts.at("mode") == "second");
    // 255 x then a 2-byte character that would end at byte 257: the character goes, whole.
    CHECK(facts.at("long") == std::string(255, 'x'));
    CHECK(facts.at("broken") == "a\xEF\xBF\xBD" "b");
}

TEST_CASE("export requests a sink records are counted, with their durations and sizes in the right buckets") {
    PluginRegistry registry;
    registry.scan({ABI_PLUGIN_DIR});
    Agent agent(AgentConfig{}, registry, quiet_logger());
    std::string error;
    std::shared_ptr<Instance> sink = agent.create(sink_config("reporting", "reporting"), error);
    REQUIRE_MESSAGE(sink, error);
    const ExportStats &stats = sink->export_stats();
    CHECK(stats.requests.load() == 4);
    CHECK(stats.errors.load() == 2);

    // 0.5 ms, 3 ms, 2 s, 20 s against .001 .0025 .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10.
    SelfHistogramValue duration = stats.duration_seconds.snapshot();
    REQUIRE(duration.upper_bounds.size() == 13);
    CHECK(duration.cumulative == std::vector<std::uint64_t>{1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3});
    CHECK(duration.count == 4);  // 20 s is above every bound
    CHECK(duration.sum == doctest::Approx(22.0035));

    // 1, 50, 5000, 200000 records against 1 10 100 1000 10000 100000.
    SelfHistogramValue batch = stats.batch_records.snapshot();
    CHECK(batch.upper_bounds == std::vector<double>{1, 10, 100, 1000, 10000, 100000});
    CHECK(batch.cumulative == std::vector<std::uint64_t>{1, 1, 2, 2, 3, 3});
    CHECK(batch.count == 4);
    CHECK(batch.sum == 205051);
}

TEST_CASE("a histogram's bounds are inclusive; a value above the last counts only in the total") {
    FixedHistogram h{1, 2};
    for (double v : {0.5, 1.0, 1.5, 2.0, 2.5}) h.observe(v);
    SelfHistogramValue s = h.snapshot();
    CHECK(s.cumulative == std::vector<std::uint64_t>{2, 4});
    CHECK(s.count == 5);
    CHECK(s.sum == 7.5);
}

namespace {

// A host table whose set_fact and record_export note that they were called.
struct RecordingHost {
    static inline int facts = 0, exports = 0;
    static void set_fact(sonde_host_context *, const char *, sonde_str) { ++facts; }
    static void record_export(sonde_host_context *, std::uint64_t, std::uint64_t, int) { ++exports; }

    sonde_host_api table{};
    sonde_instance_info info{};
    explicit RecordingHost(std::uint32_t struct_size) {
        facts = exports = 0;
        table.struct_size = struct_size;
        table.abi_major = SONDE_ABI_MAJOR;
        table.set_fact = &set_fact;  // present in memory, outside a 1.2 table's size
        table.record_export = &record_export;
        info.struct_size = sizeof info;
        info.instance_name = "test";
        info.config_json = "{}";
        info.config_json_size = 2;
        info.host = &table;
    }
};

}  // namespace

TEST_CASE("the SDK calls set_fact and record_export only when the host's table has them (a 1.2 host has not)") {
    SUBCASE("1.2 host: the calls do nothing") {
        RecordingHost host(offsetof(sonde_host_api, set_fact));  // sizeof(sonde_host_api) in 1.2
        sonde::Context ctx(host.info);
        ctx.set_fact("hook", "tp_btf");
        ctx.record_export(10, 1000, true);
        CHECK(RecordingHost::facts == 0);
        CHECK(RecordingHost::exports == 0);
    }
    SUBCASE("a table that ends after set_fact: only set_fact") {
        RecordingHost host(offsetof(sonde_host_api, record_export));
        sonde::Context ctx(host.info);
        ctx.set_fact("hook", "tp_btf");
        ctx.record_export(10, 1000, true);
        CHECK(RecordingHost::facts == 1);
        CHECK(RecordingHost::exports == 0);
    }
    SUBCASE("1.3 host: both reach it") {
        RecordingHost host(sizeof(sonde_host_api));
        sonde::Context ctx(host.info);
        ctx.set_fact("hook", "tp_btf");
        ctx.record_export(10, 1000, true);
        CHECK(RecordingHost::facts == 1);
        CHECK(RecordingHost::exports == 1);
    }
}
