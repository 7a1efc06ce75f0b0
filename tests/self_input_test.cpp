// The built-in `self` input in the agent, in process: families from a
// provider the test sets become records the file sink writes, named and
// typed as README-self.md says.
#include "control/self_input.hpp"
#include "loading/plugin_library.hpp"
#include "runtime/agent.hpp"

#include "read_file.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

using namespace sonde::core;
using sonde_test::TempDir;

namespace {

std::shared_ptr<spdlog::logger> quiet_logger() {
    return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

InstanceConfig instance(InstanceRole role, const std::string &name, nlohmann::json plugin_config = nlohmann::json::object()) {
    InstanceConfig c;
    c.role = role;
    c.name = c.plugin = name;
    c.plugin_config = std::move(plugin_config);
    c.interval_ns = 50'000'000;
    c.queue_capacity = 1000;
    c.location = {"test.toml", 1, 1};
    return c;
}

// What a provider of the agent gives: one family of each type.
std::vector<SelfFamily> test_families() {
    SelfHistogramValue latency{{0.1, 1}, {2, 3}, 4, 2.5};
    return {
        {"sonde_test_requests", SelfMetricType::counter, "", "Requests", {{{{"sink", "otlp"}}, 7, {}}}},
        {"sonde_test_queue_bytes", SelfMetricType::gauge, "bytes", "Bytes queued",
         {{{{"sink", "a"}, {"queue", "main"}}, 10, {}}, {{{"sink", "b"}}, 20, {}}}},
        {"sonde_test_duration_seconds", SelfMetricType::histogram, "seconds", "Latency", {{{}, 0, latency}}},
        {"sonde_test_build", SelfMetricType::info, "", "Build", {{{{"version", "9.9"}}, 1, {}}}},
        // No samples yet at create: its declared label keys make later ones fit.
        {"sonde_test_later", SelfMetricType::gauge, "", "Later", {}, {"sink"}},
    };
}

// The last record of each name the file sink wrote.
std::map<std::string, std::vector<nlohmann::json>> records_by_name(const std::filesystem::path &dir) {
    std::map<std::string, std::vector<nlohmann::json>> out;
    for (const auto &entry : std::filesystem::directory_iterator(dir)) {
        std::istringstream lines(sonde_test::read_file(entry.path()));
        for (std::string line; std::getline(lines, line);) {
            nlohmann::json record = nlohmann::json::parse(line);
            out[record["name"]].push_back(record);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("names and units: the unit suffix becomes a UCUM unit, underscores dots, info families end in .info") {
    SelfFamily f{"sonde_export_duration_seconds", SelfMetricType::histogram, "seconds", "", {}};
    CHECK(self_record_name(f) == "sonde.export.duration");
    CHECK(self_record_unit(f) == "s");
    f = {"process_resident_memory_bytes", SelfMetricType::gauge, "bytes", "", {}};
    CHECK(self_record_name(f) == "process.resident.memory");
    CHECK(self_record_unit(f) == "By");
    f = {"sonde_sink_records_delivered", SelfMetricType::counter, "", "", {}};
    CHECK(self_record_name(f) == "sonde.sink.records.delivered");
    CHECK(self_record_unit(f).empty());
    f = {"sonde_build", SelfMetricType::info, "", "", {}};
    CHECK(self_record_name(f) == "sonde.build.info");
}

TEST_CASE("the self input is built in: listed without a file, refusing a shared object of its name") {
    PluginRegistry registry;
    auto self = registry.find("self");
    REQUIRE(self);
    CHECK(self->builtin());
    CHECK(self->path() == builtin_plugin_path);
    CHECK_FALSE(self->is_sink());
    CHECK(self->descriptor().abi_minor == SONDE_ABI_MINOR);
}

TEST_CASE("the self input declares the provider's families at create and emits them each interval") {
    PluginRegistry registry;
    registry.scan({SONDE_PLUGIN_DIR});
    Agent agent(AgentConfig{}, registry, quiet_logger());
    // The first call (create) has no sample of sonde_test_later; later calls have one.
    std::atomic<int> calls{0};
    set_self_metrics_provider([&calls] {
        std::vector<SelfFamily> families = test_families();
        if (calls++ > 0) families.back().samples.push_back({{{"sink", "file"}}, 3, {}});
        return families;
    });
    TempDir out;
    std::string error;
    REQUIRE_MESSAGE(agent.add(instance(InstanceRole::sink, "file", {{"directory", out.path.string()}, {"flush_interval", "20ms"}}),
                              error),
                    error);
    REQUIRE_MESSAGE(agent.add(instance(InstanceRole::input, "self"), error), error);
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        agent.request_shutdown();
    });
    CHECK(agent.run() == 0);
    stopper.join();
    set_self_metrics_provider({});

    auto records = records_by_name(out.path);
    REQUIRE(records.count("sonde.test.requests"));
    CHECK(records["sonde.test.requests"].size() >= 3);  // one per 50 ms interval
    const nlohmann::json &counter = records["sonde.test.requests"].back();
    CHECK(counter["kind"] == "counter");
    CHECK(counter["input"] == "self");
    CHECK(counter["value"] == 7);
    CHECK(counter["attributes"] == nlohmann::json{{"sink", "otlp"}});
    CHECK(counter.contains("start_time"));

    REQUIRE(records.count("sonde.test.queue"));
    const auto &queue = records["sonde.test.queue"];
    CHECK(queue.back()["kind"] == "gauge");
    CHECK(queue.back()["unit"] == "By");
    // Keys are the union of the samples' label keys; a sample without one has "".
    CHECK(queue.back()["attributes"] == nlohmann::json{{"sink", "b"}, {"queue", ""}});
    CHECK(queue[queue.size() - 2]["attributes"] == nlohmann::json{{"sink", "a"}, {"queue", "main"}});

    REQUIRE(records.count("sonde.test.duration"));
    const nlohmann::json &histogram = records["sonde.test.duration"].back();
    CHECK(histogram["kind"] == "histogram");
    CHECK(histogram["unit"] == "s");
    CHECK(histogram["histogram"]["bounds"] == nlohmann::json{0.1, 1});
    CHECK(histogram["histogram"]["counts"] == nlohmann::json{2, 1, 1});  // cumulative {2, 3} of 4
    CHECK(histogram["histogram"]["count"] == 4);
    CHECK(histogram["histogram"]["sum"] == 2.5);

    REQUIRE(records.count("sonde.test.later"));
    CHECK(records["sonde.test.later"].back()["attributes"] == nlohmann::json{{"sink", "file"}});

    REQUIRE(records.count("sonde.test.build.info"));
    CHECK(records["sonde.test.build.info"].back()["value"] == 1);
    CHECK(records["sonde.test.build.info"].back()["attributes"] == nlohmann::json{{"version", "9.9"}});
}
