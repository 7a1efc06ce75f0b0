// Fuzzes the conf.d loader: TOML text to validated instance configurations
// (durations, sizes, subscriptions, plugin tables). The input is split at NUL
// bytes into several files, loaded in order, so the merge of drop-ins is
// exercised too. Besides not crashing or throwing, an accepted configuration
// must be usable by the agent: every plugin table turns into the JSON text
// the host hands to the plugin, every error names a file, a line and a column.
#include "fuzz_input.hpp"

#include "config/config.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace {

using sonde::fuzz::require;

void check_instance(const sonde::core::InstanceConfig &inst) {
    require(!inst.name.empty(), "instance without a name");
    require(inst.role == sonde::core::InstanceRole::sink || inst.interval_ns > 0, "input without an interval");
    require(inst.role == sonde::core::InstanceRole::input || inst.queue_capacity > 0, "sink with no queue");
    try {
        (void)inst.plugin_config.dump();  // what core/src/runtime/instance.cpp passes to the plugin
    } catch (const nlohmann::json::exception &e) {
        std::fprintf(stderr, "%s: plugin configuration cannot be serialized: %s\n", inst.qualified_name().c_str(),
                     e.what());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::vector<std::pair<std::string, std::string>> documents;
    for (std::string_view text : sonde::fuzz::split_documents(sonde::fuzz::as_text(data, size)))
        documents.emplace_back("conf.d/" + std::to_string(10 + documents.size()) + "-fuzz.toml", std::string(text));
    sonde::core::ConfigLoad load = sonde::core::load_config_texts(documents);
    for (const auto &error : load.errors) {
        require(!error.where.file.empty(), "error without a file");
        require(!error.message.empty(), "error without a message");
    }
    if (!load.ok()) return 0;
    require(load.config.interval_ns > 0 && load.config.shutdown_timeout_ns > 0, "agent durations not positive");
    require(load.config.threads >= 1, "no threads");
    for (const auto &inst : load.config.inputs) check_instance(inst);
    for (const auto &inst : load.config.sinks) check_instance(inst);
    return 0;
}
