// The agent's log: one spdlog logger writing to stderr, as text (the
// historical pattern) or as JSON lines (`agent.log_format = "json"`), at a
// level the configuration sets, SONDE_LOG_LEVEL overrides, and the control
// plane may change while the agent runs.
//
// Instances. The core writes a message about an instance as
// "inputs.NAME: message" or "sinks.NAME: message" (runtime/instance.cpp).
// The JSON format recognises that leading qualified name and moves it to
// the line's `instance` field, so no call site changes; text lines keep it
// where it is.
//
// Fields. log_with_fields() attaches structured fields to one message. Both
// formats show them: JSON as the `fields` object, text as ` key=value`
// pairs after the message. Without it `fields` is an empty object.
#pragma once

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::core {

// The level names the configuration, SONDE_LOG_LEVEL and the control plane
// accept, in order: trace, debug, info, warn, error, off.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);
// The same list as text, for messages: "trace, debug, info, warn, error, off".
std::string_view log_level_names();

// The level to start with: `env_value` (the SONDE_LOG_LEVEL environment
// variable; null or empty when unset) when it names a level, else the
// configured one. An invalid value adds a warning naming the variable and
// its value to `warnings` and keeps the configured level; an invalid
// configured level (the configuration rejects those) falls back to info.
spdlog::level::level_enum resolve_log_level(std::string_view configured_level, const char *env_value,
                                            std::vector<std::string> &warnings);

// The formatter of a log format: "text" (the pattern the agent always had)
// or "json" (one object per line: time, level, instance when the message is
// about one, message, fields). nullptr for another name.
std::unique_ptr<spdlog::formatter> make_log_formatter(std::string_view format);

// The agent's logger, named "sonde", writing to stderr in `format` ("text"
// or "json"; another name adds a warning and writes text) at the level
// resolve_log_level() picks with SONDE_LOG_LEVEL from the environment.
// Not registered with spdlog's global registry, so it may be made more than
// once in a process. The caller logs `warnings` (they concern the logger
// itself, so they cannot be logged before it exists).
std::shared_ptr<spdlog::logger> make_agent_logger(const std::string &format, const std::string &configured_level,
                                                  std::vector<std::string> &warnings);

// Changes the level of a running logger; thread-safe (spdlog's level is
// atomic). False with `error` set when `level` is not one of
// log_level_names(); the level is then unchanged.
bool set_log_level(spdlog::logger &logger, std::string_view level, std::string &error);

// The name a level is shown with in both formats and accepted back by
// parse_log_level(): "warn", not spdlog's "warning"; "critical" for spdlog's
// critical level, which the agent does not use itself.
std::string_view log_level_name(spdlog::level::level_enum level);

// Logs `message` with structured fields (a JSON object; other values are
// logged under the key "value"). `instance` is the qualified name of the
// instance the message is about, or empty. Nothing is encoded when the
// logger would drop the level.
void log_with_fields(spdlog::logger &logger, spdlog::level::level_enum level, std::string_view instance,
                     std::string_view message, const nlohmann::json &fields);

}  // namespace sonde::core
