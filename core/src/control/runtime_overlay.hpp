// Runtime enables and disables (`sonde enable`, `sonde disable`): an overlay
// on conf.d, written as one more TOML document merged after conf.d's files,
// so it is validated by the same rules and its errors point at it. It lives
// in memory: it survives reloads, not restarts, and each change may expire.
#pragma once

#include "config/config.hpp"

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sonde::core {

// `--set key=value`: the value is TOML when it reads as a TOML value
// (10, true, ["a","b"], "quoted"), else a string (10ms, db-eu-1).
struct Setting {
    std::string key;    // a bare or dotted key: letters, digits, '_', '-', '.'
    std::string value;  // as typed
};
// Splits "key=value"; false with `error` set when there is no '=' or the key is not a key.
bool parse_setting(const std::string &text, Setting &out, std::string &error);

struct RuntimeChange {
    InstanceRole role = InstanceRole::input;
    std::string name;    // the instance (table) name
    bool enable = true;  // false: disabled until it expires or is undone
    std::string plugin;  // a new instance of this plugin; "" = as configured
    std::vector<Setting> settings;
    std::optional<std::chrono::system_clock::time_point> expires;

    std::string qualified_name() const { return (role == InstanceRole::input ? "inputs." : "sinks.") + name; }
};

class RuntimeOverlay {
public:
    // Adds or replaces the change for its instance.
    void set(RuntimeChange change);
    // Forgets the change for an instance; false when there was none.
    bool erase(const std::string &qualified_name);
    const RuntimeChange *find(const std::string &qualified_name) const;
    const std::vector<RuntimeChange> &changes() const { return changes_; }
    // Removes the changes whose time is up at `now`; returns their names.
    std::vector<std::string> expire(std::chrono::system_clock::time_point now);

    // The overlay as a TOML document named `document_name`, or none when empty.
    std::optional<std::pair<std::string, std::string>> document() const;
    // Instances enabled at run time: they run whatever their `when` says.
    std::set<std::string> forced() const;

    static constexpr const char *document_name = "(runtime: sonde enable/disable)";

private:
    std::vector<RuntimeChange> changes_;
};

}  // namespace sonde::core
