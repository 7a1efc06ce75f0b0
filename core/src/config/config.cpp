#include "config/config.hpp"

#include "config/host_labels.hpp"
#include "config/merged_tree.hpp"

#include "files/checked_file.hpp"
#include <sonde/units.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

namespace sonde::core {

std::string ConfigError::format() const {
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " + message;
}

const SourceLocation &InstanceConfig::locate(const std::string &key) const {
    auto it = key_locations.find(key);
    return it == key_locations.end() ? location : it->second;
}

std::string InstanceConfig::identity() const {
    nlohmann::json id{{"role", role == InstanceRole::input ? "input" : "sink"},
                      {"plugin", plugin},
                      {"interval_ns", interval_ns},
                      {"queue_capacity", queue_capacity},
                      {"overflow", static_cast<int>(overflow)},
                      {"config", plugin_config}};
    return id.dump();
}

std::string InstanceConfig::subscription_identity() const {
    const Subscription &s = subscription;
    return nlohmann::json{{"metrics", s.metrics}, {"events", s.events}, {"inputs", s.inputs}, {"match", s.match},
                          {"exclude", s.exclude}}
        .dump();
}

std::string InstanceConfig::qualified_name() const {
    return (role == InstanceRole::input ? "inputs." : "sinks.") + name;
}

namespace {

// Validates the merged tree into an AgentConfig, collecting every error.
class Validator {
public:
    explicit Validator(ConfigLoad &out) : out_(out) {}

    void root(const MergedNode &root) {
        for (const auto &[key, node] : root.table) {
            if (key == "agent") agent(node);
            else if (key == "inputs") instances(node, InstanceRole::input);
            else if (key == "sinks") instances(node, InstanceRole::sink);
            else if (key == "admin") admin(node);
            else error(node.where, key + ": unknown table (expected agent, admin, inputs or sinks)");
        }
    }

private:
    void error(const SourceLocation &where, std::string message) {
        out_.errors.push_back({where, std::move(message)});
    }
    void wrong_type(const std::string &path, const MergedNode &n, const char *expected) {
        error(n.where, path + ": expected " + std::string(expected) + ", got " + type_name(n));
    }

    bool expect_table(const std::string &path, const MergedNode &n) {
        if (n.is_table()) return true;
        wrong_type(path, n, "a table");
        return false;
    }
    std::optional<std::string> string(const std::string &path, const MergedNode &n) {
        if (!n.is_table())
            if (auto s = n.leaf->value<std::string>(); s && n.leaf->is_string()) return *s;
        wrong_type(path, n, "a string");
        return std::nullopt;
    }
    std::optional<bool> boolean(const std::string &path, const MergedNode &n) {
        if (!n.is_table() && n.leaf->is_boolean()) return *n.leaf->value<bool>();
        wrong_type(path, n, "a boolean");
        return std::nullopt;
    }
    std::optional<std::int64_t> integer(const std::string &path, const MergedNode &n, std::int64_t min,
                                        std::int64_t max) {
        if (n.is_table() || !n.leaf->is_integer()) {
            wrong_type(path, n, "an integer");
            return std::nullopt;
        }
        std::int64_t v = *n.leaf->value<std::int64_t>();
        if (v < min || v > max) {
            error(n.where, path + ": " + std::to_string(v) + " is out of range [" + std::to_string(min) + ", " +
                               std::to_string(max) + "]");
            return std::nullopt;
        }
        return v;
    }
    // A duration string in [min_ns, max_ns]: the bounds keep every later
    // `now + duration` and every conversion to a signed chrono type exact.
    std::optional<std::uint64_t> duration(const std::string &path, const MergedNode &n, std::uint64_t min_ns,
                                          std::uint64_t max_ns) {
        auto text = (!n.is_table() && n.leaf->is_string()) ? n.leaf->value<std::string>() : std::nullopt;
        if (!text) {
            wrong_type(path, n, "a duration string such as \"250ms\"");
            return std::nullopt;
        }
        ParsedQuantity parsed = parse_duration(*text);
        if (parsed.status == ParsedQuantity::Status::syntax) {
            error(n.where, path + ": expected a duration such as \"250ms\" or \"10s\", got \"" + *text + "\"");
            return std::nullopt;
        }
        if (!parsed.ok() || parsed.value < min_ns || parsed.value > max_ns) {
            error(n.where, path + ": \"" + *text + "\" is out of range [" + format_duration(min_ns) + ", " +
                               format_duration(max_ns) + "]");
            return std::nullopt;
        }
        return parsed.value;
    }
    std::optional<std::vector<std::string>> strings(const std::string &path, const MergedNode &n) {
        if (!n.is_table() && n.leaf->is_array()) {
            std::vector<std::string> out;
            for (const auto &item : *n.leaf->as_array()) {
                if (!item.is_string()) {
                    error(location_of(item, n.where.file), path + ": expected an array of strings");
                    return std::nullopt;
                }
                out.push_back(*item.value<std::string>());
            }
            return out;
        }
        wrong_type(path, n, "an array of strings");
        return std::nullopt;
    }

    void agent(const MergedNode &n) {
        if (!expect_table("agent", n)) return;
        AgentConfig &a = out_.config;
        for (const auto &[key, v] : n.table) {
            std::string path = "agent." + key;
            if (key == "threads") {
                if (auto t = integer(path, v, 1, limits::max_threads)) a.threads = static_cast<unsigned>(*t);
            } else if (key == "interval") {
                if (auto d = duration(path, v, limits::min_interval_ns, limits::max_interval_ns)) a.interval_ns = *d;
            } else if (key == "shutdown_timeout") {
                if (auto d = duration(path, v, limits::min_shutdown_timeout_ns, limits::max_shutdown_timeout_ns))
                    a.shutdown_timeout_ns = *d;
            } else if (key == "log_level") {
                static const std::vector<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
                if (auto s = string(path, v)) {
                    if (std::find(levels.begin(), levels.end(), *s) == levels.end())
                        error(v.where, path + ": unknown level \"" + *s + "\" (trace, debug, info, warn, error, off)");
                    else
                        a.log_level = *s;
                }
            } else if (key == "allow_insecure_plugins") {
                if (auto b = boolean(path, v)) a.allow_insecure_plugins = *b;
            } else if (key == "log_format") {
                if (auto s = string(path, v)) {
                    if (*s != "text" && *s != "json") error(v.where, path + ": unknown format \"" + *s + "\" (text, json)");
                    else a.log_format = *s;
                }
            } else if (key == "labels") {
                if (auto labels = string_table(path, v)) {
                    a.labels = *labels;
                    for (const auto &[label, value] : v.table)
                        if (is_host_fact(label))
                            error(value.key_where, path + "." + label + ": a built-in fact of the host; it cannot be set");
                }
            } else {
                error(v.key_where, path + ": unknown key");
            }
        }
    }

    void admin(const MergedNode &n) {
        if (!expect_table("admin", n)) return;
        AdminConfig &a = out_.config.admin;
        for (const auto &[key, v] : n.table) {
            std::string path = "admin." + key;
            if (key == "listen") {
                if (auto s = string(path, v)) a.listen = *s;
            } else if (key == "allow_non_loopback") {
                if (auto b = boolean(path, v)) a.allow_non_loopback = *b;
            } else if (key == "socket") {
                if (auto s = string(path, v)) a.socket = *s;
            } else if (key == "token_file") {
                if (auto s = string(path, v)) {
                    a.token_file = *s;
                    a.token_file_location = v.where;
                }
            } else if (key == "ready_max_undelivered") {
                if (auto d = duration(path, v, limits::min_interval_ns, limits::max_interval_ns))
                    a.ready_max_undelivered_ns = *d;
            } else if (key == "liveness_timeout") {
                if (auto d = duration(path, v, limits::min_liveness_timeout_ns, limits::max_interval_ns))
                    a.liveness_timeout_ns = *d;
            } else {
                error(v.key_where, path + ": unknown key");
            }
        }
    }

    // A table of strings, such as [agent.labels] or an instance's `when`.
    std::optional<std::map<std::string, std::string>> string_table(const std::string &path, const MergedNode &n) {
        if (!expect_table(path, n)) return std::nullopt;
        std::map<std::string, std::string> out;
        bool ok = true;
        for (const auto &[key, v] : n.table) {
            if (auto s = string(path + "." + key, v)) out[key] = *s;
            else ok = false;
        }
        return ok ? std::optional(out) : std::nullopt;
    }

    void instances(const MergedNode &n, InstanceRole role) {
        const std::string section = role == InstanceRole::input ? "inputs" : "sinks";
        if (!expect_table(section, n)) return;
        for (const auto &[name, table] : n.table) {
            std::string path = section + "." + name;
            if (!expect_table(path, table)) continue;
            bool valid_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
            });
            if (!valid_name) {
                error(table.where, path + ": instance names use letters, digits, '_' and '-'");
                continue;
            }
            InstanceConfig inst;
            inst.role = role;
            inst.name = name;
            inst.plugin = name;
            inst.location = table.where;
            inst.queue_capacity = 8192;
            for (const auto &[key, v] : table.table) host_key(inst, path, key, v);
            if (role == InstanceRole::input && inst.interval_ns == 0) inst.interval_ns = out_.config.interval_ns;
            (role == InstanceRole::input ? out_.config.inputs : out_.config.sinks).push_back(std::move(inst));
        }
    }

    void host_key(InstanceConfig &inst, const std::string &table_path, const std::string &key, const MergedNode &v) {
        std::string path = table_path + "." + key;
        bool sink = inst.role == InstanceRole::sink;
        inst.key_locations[key] = v.key_where;
        if (key == "plugin") {
            if (auto s = string(path, v)) inst.plugin = *s;
        } else if (key == "enabled") {
            if (auto b = boolean(path, v)) inst.enabled = *b;
        } else if (key == "when") {
            if (auto when = string_table(path, v)) inst.when = *when;
        } else if (key == "interval" && !sink) {
            if (auto d = duration(path, v, limits::min_interval_ns, limits::max_interval_ns)) inst.interval_ns = *d;
        } else if (key == "kinds" && sink) {
            if (auto list = strings(path, v)) {
                inst.subscription.metrics = inst.subscription.events = false;
                for (const auto &k : *list) {
                    if (k == "metric") inst.subscription.metrics = true;
                    else if (k == "event") inst.subscription.events = true;
                    else error(v.where, path + ": unknown record kind \"" + k + "\" (metric, event)");
                }
            }
        } else if ((key == "inputs" || key == "match" || key == "exclude") && sink) {
            if (auto list = strings(path, v)) {
                Subscription &s = inst.subscription;
                (key == "inputs" ? s.inputs : key == "match" ? s.match : s.exclude) = *list;
            }
        } else if (key == "queue_capacity" && sink) {
            if (auto c = integer(path, v, 1, limits::max_queue_capacity))
                inst.queue_capacity = static_cast<std::size_t>(*c);
        } else if (key == "overflow" && sink) {
            if (auto s = string(path, v)) {
                if (*s == "drop_oldest") inst.overflow = OverflowPolicy::drop_oldest;
                else if (*s == "drop_newest") inst.overflow = OverflowPolicy::drop_newest;
                else if (*s == "block") inst.overflow = OverflowPolicy::block;
                else error(v.where, path + ": unknown policy \"" + *s + "\" (drop_oldest, drop_newest, block)");
            }
        } else {
            inst.plugin_config[key] = plugin_value(v, key, inst);
        }
    }

    // Converts a plugin-owned value to JSON, remembering where each key is.
    nlohmann::json plugin_value(const MergedNode &v, const std::string &key_path, InstanceConfig &inst) {
        inst.key_locations[key_path] = v.key_where;
        if (!v.is_table()) return to_json(*v.leaf);
        nlohmann::json out = nlohmann::json::object();
        for (const auto &[k, child] : v.table) out[k] = plugin_value(child, key_path + "." + k, inst);
        return out;
    }

    ConfigLoad &out_;
};

ConfigLoad load_documents(const std::vector<std::pair<std::string, std::string>> &documents) {
    ConfigLoad load;
    std::vector<toml::table> parsed;
    parsed.reserve(documents.size());
    MergedNode root;
    for (const auto &[file, text] : documents) {
        try {
            parsed.push_back(toml::parse(text, file));
            merge_into(root, parsed.back(), file);
        } catch (const toml::parse_error &e) {
            const auto &src = e.source();
            load.errors.push_back({{file, src.begin.line, src.begin.column}, std::string(e.description())});
        }
    }
    Validator(load).root(root);
    return load;
}

}  // namespace

ConfigLoad load_config_texts(const std::vector<std::pair<std::string, std::string>> &documents) {
    ConfigLoad load = load_documents(documents);
    load.documents = documents;
    return load;
}

std::string ConfigLoad::content_hash() const {
    std::uint64_t h = 14695981039346656037ull;
    auto mix = [&](std::string_view bytes) {
        for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;  // separator: ("ab","c") differs from ("a","bc")
    };
    for (const auto &[name, text] : documents) {
        mix(name);
        mix(text);
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
}

}  // namespace sonde::core
