// sonde::Config: reads an instance's configuration (the JSON text of its TOML
// table) with typed getters, and refuses what it does not understand.
#pragma once

#include <sonde/sdk/errors.hpp>
#include <sonde/units.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sonde {

// One thing wrong with a configuration: the dotted key it is about and why.
struct ConfigProblem {
    std::string key;
    std::string message;
};

// One ConfigError for several problems, so the operator sees them all at
// once: the first problem's key and message, then "; also KEY: MESSAGE" for
// each other one. Throw it only with at least one problem.
inline ConfigError config_error_of(const std::vector<ConfigProblem> &problems) {
    std::string message = problems.front().message;
    for (std::size_t i = 1; i < problems.size(); ++i)
        message += (i == 1 ? "; also " : ", ") + problems[i].key + ": " + problems[i].message;
    return ConfigError(problems.front().key, message);
}

// Reads an instance's JSON configuration. Every key a plugin reads is
// remembered, and finish() refuses every key that was never read, so a typo
// is an error instead of a silently ignored setting.
//
// A getter with a fallback returns it for a missing key; a present key of the
// wrong type or out of range throws ConfigError at once. required<T>() does
// not throw for a missing key: it notes the problem and returns T{}, so that
// finish() (which the SDK calls after the plugin's constructor) reports every
// unknown and every missing key together, unknown ones first, whatever order
// the plugin read them in.
class Config {
public:
    // Why a Config is read: for an instance that will run, or only to
    // describe the plugin (`sonde plugins --describe`), when the table is
    // empty and no key is required.
    enum class Purpose { run, describe };

    explicit Config(std::string_view json_text, std::string prefix = {}, Purpose purpose = Purpose::run)
        : prefix_(std::move(prefix)), purpose_(purpose) {
        json_ = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
        if (json_.is_discarded() || !json_.is_object())
            throw ConfigError(prefix_, "configuration is not a JSON object");
    }

    // True when the plugin is only being described: required keys are then
    // value-initialized, and a constructor should skip checks of its own that
    // need real values.
    bool describing() const noexcept { return purpose_ == Purpose::describe; }

    // Whether the table has `key` (without marking it read).
    bool has(const std::string &key) const { return json_.contains(key); }
    // Every key of this table (for free-form tables such as HTTP headers).
    std::vector<std::string> keys() const {
        std::vector<std::string> out;
        for (const auto &[key, value] : json_.items()) out.push_back(key);
        return out;
    }

    bool get_bool(const std::string &key, bool fallback) {
        return get<bool>(key, fallback, "a boolean", &nlohmann::json::is_boolean);
    }
    std::int64_t get_int(const std::string &key, std::int64_t fallback) {
        return get<std::int64_t>(key, fallback, "an integer", &nlohmann::json::is_number_integer);
    }
    // An integer in [min, max] (inclusive); outside it is a ConfigError that
    // names the range. Use it for every count that sizes or indexes something:
    // `max_batch_size = -1` must be refused, not cast to SIZE_MAX.
    std::int64_t get_int(const std::string &key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
        std::int64_t value = get_int(key, fallback);
        if (has(key) && (value < min || value > max))
            throw ConfigError(path(key), std::to_string(value) + " is out of range [" + std::to_string(min) + ", " +
                                             std::to_string(max) + "]");
        return value;
    }
    double get_double(const std::string &key, double fallback) {
        return get<double>(key, fallback, "a number", &nlohmann::json::is_number);
    }
    std::string get_string(const std::string &key, std::string fallback) {
        return get<std::string>(key, std::move(fallback), "a string", &nlohmann::json::is_string);
    }
    std::vector<std::string> get_strings(const std::string &key, std::vector<std::string> fallback) {
        const nlohmann::json *node = find(key);
        if (!node) return fallback;
        if (!node->is_array()) throw ConfigError(path(key), "expected an array of strings");
        std::vector<std::string> out;
        for (const auto &item : *node) {
            if (!item.is_string()) throw ConfigError(path(key), "expected an array of strings");
            out.push_back(item.get<std::string>());
        }
        return out;
    }
    // "250ms" -> nanoseconds, at most sonde::max_duration_ns (about ten years).
    std::uint64_t get_duration_ns(const std::string &key, std::uint64_t fallback) {
        return get_duration_ns(key, fallback, 0, max_duration_ns);
    }
    // A duration in [min_ns, max_ns] (inclusive); outside it is a ConfigError
    // that names the range ("flush_interval: 0ns is out of range [1ms, 1h]").
    std::uint64_t get_duration_ns(const std::string &key, std::uint64_t fallback, std::uint64_t min_ns,
                                  std::uint64_t max_ns) {
        const nlohmann::json *node = find(key);
        if (!node) return fallback;
        ParsedQuantity parsed = node->is_string() ? parse_duration(node->get<std::string>()) : ParsedQuantity{};
        if (parsed.status == ParsedQuantity::Status::syntax)
            throw ConfigError(path(key), "expected a duration such as \"250ms\" or \"10s\"");
        if (!parsed.ok() || parsed.value < min_ns || parsed.value > max_ns)
            throw ConfigError(path(key), "\"" + node->get<std::string>() + "\" is out of range [" +
                                             format_duration(min_ns) + ", " + format_duration(max_ns) + "]");
        return parsed.value;
    }
    // "64MiB" (or a non-negative integer of bytes) -> bytes, at most
    // sonde::max_size_bytes (1 PiB).
    std::uint64_t get_size_bytes(const std::string &key, std::uint64_t fallback) {
        return get_size_bytes(key, fallback, 0, max_size_bytes);
    }
    // A size in [min_bytes, max_bytes] (inclusive); outside it is a ConfigError
    // that names the range ("max_buffer: 0B is out of range [4KiB, 1GiB]").
    std::uint64_t get_size_bytes(const std::string &key, std::uint64_t fallback, std::uint64_t min_bytes,
                                 std::uint64_t max_bytes) {
        const nlohmann::json *node = find(key);
        if (!node) return fallback;
        ParsedQuantity parsed;
        std::string shown;
        if (node->is_number_integer()) {
            // A plain integer is bytes; a negative one is out of range.
            bool negative = node->is_number_unsigned() ? false : node->get<std::int64_t>() < 0;
            std::uint64_t bytes = negative ? 0 : node->get<std::uint64_t>();
            parsed = negative || bytes > max_size_bytes ? ParsedQuantity{ParsedQuantity::Status::out_of_range, 0}
                                                        : ParsedQuantity{ParsedQuantity::Status::ok, bytes};
            shown = node->dump();
        } else if (node->is_string()) {
            parsed = parse_size(node->get<std::string>());
            shown = "\"" + node->get<std::string>() + "\"";
        }
        if (parsed.status == ParsedQuantity::Status::syntax)
            throw ConfigError(path(key), "expected a size such as \"64MiB\"");
        if (!parsed.ok() || parsed.value < min_bytes || parsed.value > max_bytes)
            throw ConfigError(path(key), shown + " is out of range [" + format_size(min_bytes) + ", " +
                                             format_size(max_bytes) + "]");
        return parsed.value;
    }

    // A key the table must have. T is bool, an integer type (its range is
    // checked), a floating-point type, std::string or
    // std::vector<std::string>. A present value of the wrong type throws
    // ConfigError at once; a missing key is noted for finish() and T{}
    // returned, so the constructor goes on and every problem is reported
    // together. For durations and sizes see required_duration_ns and
    // required_size_bytes.
    template <typename T>
    T required(const std::string &key) {
        if (!has(key)) {
            note_missing(key);
            find(key);
            return T{};
        }
        if constexpr (std::is_same_v<T, bool>) {
            return get_bool(key, false);
        } else if constexpr (std::is_integral_v<T>) {
            static_assert(sizeof(T) <= sizeof(std::int64_t), "required<T>: T is at most 64 bits");
            if constexpr (std::is_unsigned_v<T> && sizeof(T) == sizeof(std::uint64_t)) {
                const nlohmann::json *node = find(key);
                if (!node->is_number_unsigned() && !(node->is_number_integer() && node->get<std::int64_t>() >= 0))
                    throw ConfigError(path(key), node->is_number_integer() ? node->dump() + " is out of range [0, " +
                                                                                 std::to_string(~std::uint64_t{0}) + "]"
                                                                           : std::string("expected an integer"));
                return node->get<std::uint64_t>();
            } else {
                return static_cast<T>(get_int(key, 0, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
            }
        } else if constexpr (std::is_floating_point_v<T>) {
            return static_cast<T>(get_double(key, 0));
        } else if constexpr (std::is_same_v<T, std::string>) {
            return get_string(key, {});
        } else {
            static_assert(std::is_same_v<T, std::vector<std::string>>,
                          "required<T>: T is bool, an integer, a floating-point type, std::string or "
                          "std::vector<std::string>");
            return get_strings(key, {});
        }
    }
    // A duration the table must have, in [min_ns, max_ns]; a missing key is
    // noted for finish() and 0 returned.
    std::uint64_t required_duration_ns(const std::string &key, std::uint64_t min_ns = 0,
                                       std::uint64_t max_ns = max_duration_ns) {
        if (!has(key)) note_missing(key);
        return get_duration_ns(key, 0, min_ns, max_ns);
    }
    // A size the table must have, in [min_bytes, max_bytes]; a missing key is
    // noted for finish() and 0 returned.
    std::uint64_t required_size_bytes(const std::string &key, std::uint64_t min_bytes = 0,
                                      std::uint64_t max_bytes = max_size_bytes) {
        if (!has(key)) note_missing(key);
        return get_size_bytes(key, 0, min_bytes, max_bytes);
    }

    // A nested table, read with the same rules. Its missing required keys are
    // reported by its own finish() and by the finish() of every table it is
    // nested in; its unknown keys only by its own finish(), so call it.
    Config get_table(const std::string &key) {
        const nlohmann::json *node = find(key);
        if (node && !node->is_object()) throw ConfigError(path(key), "expected a table");
        Config table(node ? node->dump() : "{}", path(key), purpose_);
        table.missing_ = missing_;
        return table;
    }

    // Throws one ConfigError naming every problem of this table: each key
    // that was never read ("unknown key"), then each required key missing
    // here or in a nested table. Does nothing when describing.
    void finish() const {
        std::vector<ConfigProblem> problems = unknown_keys();
        for (const ConfigProblem &missing : pending_missing()) problems.push_back(missing);
        if (!problems.empty()) throw config_error_of(problems);
    }

    // The error to report when the plugin's constructor threw `thrown` before
    // finish() could run: the required keys found missing so far come first
    // (they are the likelier cause), then `thrown` unless it is about one of
    // them. Unknown keys cannot be told yet: the constructor may have meant to
    // read them later.
    ConfigError with_missing_keys(const std::string &thrown_key, const std::string &thrown_message) const {
        std::vector<ConfigProblem> problems = pending_missing();
        bool about_missing = false;
        for (const ConfigProblem &missing : problems) about_missing = about_missing || missing.key == thrown_key;
        if (!about_missing) problems.push_back({thrown_key, thrown_message});
        return config_error_of(problems);
    }

private:
    // Missing required keys are shared by a table and the tables nested in it.
    using MissingKeys = std::vector<ConfigProblem>;

    const nlohmann::json *find(const std::string &key) {
        read_.insert(key);
        auto it = json_.find(key);
        return it == json_.end() ? nullptr : &*it;
    }
    template <typename T>
    T get(const std::string &key, T fallback, const char *expected,
          bool (nlohmann::json::*check)() const noexcept) {
        const nlohmann::json *node = find(key);
        if (!node) return fallback;
        if (!(node->*check)()) throw ConfigError(path(key), std::string("expected ") + expected);
        return node->get<T>();
    }
    void note_missing(const std::string &key) {
        if (!describing()) missing_->push_back({path(key), "required key is missing"});
    }
    std::vector<ConfigProblem> unknown_keys() const {
        std::vector<ConfigProblem> out;
        if (describing()) return out;
        for (const auto &[key, value] : json_.items())
            if (!read_.count(key)) out.push_back({path(key), "unknown key"});
        return out;
    }
    // The missing keys of this table and of the tables nested in it.
    std::vector<ConfigProblem> pending_missing() const {
        std::vector<ConfigProblem> out;
        for (const ConfigProblem &missing : *missing_)
            if (prefix_.empty() || missing.key.rfind(prefix_ + ".", 0) == 0) out.push_back(missing);
        return out;
    }
    std::string path(const std::string &key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

    nlohmann::json json_;
    std::string prefix_;
    Purpose purpose_;
    std::set<std::string> read_;
    std::shared_ptr<MissingKeys> missing_ = std::make_shared<MissingKeys>();
};

}  // namespace sonde
