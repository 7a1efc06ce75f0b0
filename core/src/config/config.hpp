// conf.d loading: every *.toml of a directory in lexical order, merged like
// systemd drop-ins (later files override keys, tables merge), validated
// into an AgentConfig. Every error carries file:line:column.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sonde::core {

struct SourceLocation {
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t column = 0;
};

struct ConfigError {
    SourceLocation where;
    std::string message;
    // "conf.d/10-agent.toml:3:11: agent.threads: expected an integer"
    std::string format() const;
};

enum class OverflowPolicy { drop_oldest, drop_newest, block };

// Which records a sink receives. Empty lists mean "everything".
struct Subscription {
    bool metrics = true;
    bool events = true;
    std::vector<std::string> inputs;   // instance-name globs
    std::vector<std::string> match;    // record-name globs
    std::vector<std::string> exclude;  // record-name globs
};

enum class InstanceRole { input, sink };

// One [inputs.NAME] or [sinks.NAME] table.
struct InstanceConfig {
    InstanceRole role = InstanceRole::input;
    std::string name;
    std::string plugin;
    bool enabled = true;
    // `when = { label = "glob", ... }`: runs only on a host whose labels and
    // facts match every glob (config/host_labels.hpp). Empty: everywhere.
    std::map<std::string, std::string> when;
    std::uint64_t interval_ns = 0;  // inputs; agent.interval unless set
    Subscription subscription;      // sinks
    std::size_t queue_capacity = 0; // sinks, in records
    OverflowPolicy overflow = OverflowPolicy::drop_oldest;
    nlohmann::json plugin_config = nlohmann::json::object();  // keys the host does not own
    SourceLocation location;                                  // the table header
    std::map<std::string, SourceLocation> key_locations;      // dotted key -> where

    // What the instance is, by value, without where it was written: two
    // configurations with equal identities run the same instance (reload
    // leaves it untouched). The subscription is apart: a sink whose only
    // change is its subscription is updated in place.
    std::string identity() const;
    std::string subscription_identity() const;

    // Where a plugin's complaint about `key` points: the key, else the table.
    const SourceLocation &locate(const std::string &key) const;
    std::string qualified_name() const;  // "inputs.procfs"
};

// The ranges the host's own keys accept (docs/configuration.md); a value
// outside is a configuration error with file:line:column.
namespace limits {
inline constexpr std::uint64_t min_interval_ns = 1'000'000;                  // 1ms
inline constexpr std::uint64_t max_interval_ns = 24ull * 3600 * 1'000'000'000;  // 1d
inline constexpr std::uint64_t min_shutdown_timeout_ns = 1'000'000;          // 1ms
inline constexpr std::uint64_t max_shutdown_timeout_ns = 3600ull * 1'000'000'000;  // 1h
inline constexpr std::int64_t max_threads = 256;
inline constexpr std::uint64_t min_liveness_timeout_ns = 100'000'000;  // 100ms
inline constexpr std::int64_t max_queue_capacity = 100'000'000;  // records, per sink
}  // namespace limits

// [admin]: the admin endpoint (read-only HTTP on `listen`; changes over the
// Unix socket, or over TCP with the bearer token in `token_file`).
struct AdminConfig {
    std::string listen = "127.0.0.1:19090";  // "" = no TCP listener
    bool allow_non_loopback = false;
    std::string socket;      // "" = the default (control/control_socket.hpp); "off" = none
    std::string token_file;  // read at start and on reload
    SourceLocation token_file_location;
    // /ready fails while a sink has not delivered for this long with records waiting.
    std::uint64_t ready_max_undelivered_ns = 300'000'000'000;
    // /healthz fails when the io loop has not turned for this long.
    std::uint64_t liveness_timeout_ns = 10'000'000'000;
};

struct AgentConfig {
    unsigned threads = 1;
    std::uint64_t interval_ns = 1'000'000'000;
    std::uint64_t shutdown_timeout_ns = 5'000'000'000;
    std::string log_level = "info";
    std::string log_format = "text";  // or "json"
    std::map<std::string, std::string> labels;  // [agent.labels]
    AdminConfig admin;
    // Running as root, load plugin objects (or directories) that are not
    // owned by root or are writable by group or others. For development only.
    bool allow_insecure_plugins = false;
    std::vector<InstanceConfig> inputs;
    std::vector<InstanceConfig> sinks;
};

struct ConfigLoad {
    AgentConfig config;
    std::vector<ConfigError> errors;
    std::vector<std::filesystem::path> files;
    // (file name, text) of every document read, in merge order: what a
    // runtime change (sonde enable) re-validates with its overlay, without
    // re-reading a conf.d an operator may be editing.
    std::vector<std::pair<std::string, std::string>> documents;
    bool ok() const { return errors.empty(); }
    // FNV-1a 64 over the names and texts of the documents, as 16 hex digits:
    // tells whether two agents (or two loads) read the same configuration.
    std::string content_hash() const;
};

// The largest configuration file read (config/config_dirs.hpp reads conf.d).
inline constexpr std::uint64_t max_config_file_bytes = 4u << 20;

// Same rules for in-memory documents (name, text): tests, and conf.d with
// the runtime overlay (control/runtime_overlay.hpp) appended.
ConfigLoad load_config_texts(const std::vector<std::pair<std::string, std::string>> &documents);

}  // namespace sonde::core
