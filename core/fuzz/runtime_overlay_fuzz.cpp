// Fuzzes `sonde enable --set key=value`: the settings (split at NUL bytes)
// become the runtime overlay's TOML document (control/runtime_overlay.hpp),
// which the conf.d loader then validates. Whatever the values hold (quotes,
// newlines, TOML of any shape), the document never carries a setting into
// another table or key: an accepted document has exactly the enabled
// instance, and a key that was set is there.
#include "fuzz_input.hpp"

#include "control/runtime_overlay.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace sonde::core;
    using sonde::fuzz::require;
    RuntimeChange change;
    change.name = "syscall";
    for (std::string_view part : sonde::fuzz::split_documents(sonde::fuzz::as_text(data, size))) {
        Setting setting;
        std::string error;
        if (parse_setting(std::string(part), setting, error)) change.settings.push_back(setting);
        else require(!error.empty(), "a refused setting without a reason");
    }
    RuntimeOverlay overlay;
    overlay.set(change);
    auto document = overlay.document();
    require(document.has_value(), "an overlay with a change but no document");
    ConfigLoad load = load_config_texts({*document});
    for (const auto &e : load.errors) require(e.where.line > 0, "an overlay error without a line");
    if (!load.ok()) return 0;  // e.g. a key set twice, or a host key of the wrong type
    require(load.config.inputs.size() == 1 && load.config.sinks.empty(), "a setting escaped its table");
    require(load.config.inputs[0].name == "syscall", "the instance changed its name");
    require(load.config.inputs[0].enabled, "a setting disabled the instance");
    return 0;
}
