#include "control/logging.hpp"

#include <sonde/utf8.hpp>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace sonde::core {

namespace {

using Json = nlohmann::ordered_json;

// log_with_fields() payloads start with this byte (ASCII record separator),
// then the JSON of {instance, message, fields}. Messages from plugins reach
// the logger behind their instance's name, so they cannot start with it.
constexpr char structured_marker = '\x1e';

// The agent's text pattern, with %* for the message (see MessageFlag).
constexpr const char *text_pattern = "%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %*";

struct LogParts {
    std::string instance;  // qualified name, or empty
    std::string message;
    Json fields = Json::object();
};

bool is_instance_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// "inputs.NAME: rest" or "sinks.NAME: rest" -> the qualified name, or empty.
std::string_view leading_instance(std::string_view payload) {
    std::size_t dot = 0;
    if (payload.starts_with("inputs.")) dot = 6;
    else if (payload.starts_with("sinks.")) dot = 5;
    else return {};
    std::size_t end = dot + 1;
    while (end < payload.size() && is_instance_name_char(payload[end])) ++end;
    if (end == dot + 1 || payload.substr(end, 2) != ": ") return {};
    return payload.substr(0, end);
}

LogParts split_payload(std::string_view payload) {
    LogParts parts;
    if (!payload.empty() && payload.front() == structured_marker) {
        Json d = Json::parse(payload.substr(1), nullptr, /*allow_exceptions=*/false);
        if (d.is_object() && d.contains("message") && d["message"].is_string() && d.contains("instance") &&
            d["instance"].is_string() && d.contains("fields") && d["fields"].is_object()) {
            parts.instance = std::move(d["instance"].get_ref<std::string &>());
            parts.message = std::move(d["message"].get_ref<std::string &>());
            parts.fields = std::move(d["fields"]);
            return parts;
        }
        // Not ours after all: the bytes are the message.
    }
    const std::string_view instance = leading_instance(payload);
    parts.instance = instance;
    parts.message = instance.empty() ? payload : payload.substr(instance.size() + 2);
    return parts;
}

void append(spdlog::memory_buf_t &dest, std::string_view s) { dest.append(s.data(), s.data() + s.size()); }

// "2024-05-01T12:34:56.123456Z"
std::string rfc3339_utc_micros(spdlog::log_clock::time_point time) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
    std::int64_t seconds = micros / 1'000'000, fraction = micros % 1'000'000;
    if (fraction < 0) {
        fraction += 1'000'000;
        --seconds;
    }
    const std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[48];
    std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(text + n, sizeof text - n, ".%06lldZ", static_cast<long long>(fraction));
    return text;
}

class JsonLogFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg &msg, spdlog::memory_buf_t &dest) override {
        const LogParts parts = split_payload(std::string_view(msg.payload.data(), msg.payload.size()));
        Json line = Json::object();
        line["time"] = rfc3339_utc_micros(msg.time);
        line["level"] = log_level_name(msg.level);
        if (!parts.instance.empty()) line["instance"] = utf8::repaired(parts.instance);
        line["message"] = utf8::repaired(parts.message);
        line["fields"] = parts.fields;
        append(dest, line.dump(-1, ' ', false, Json::error_handler_t::replace));
        dest.push_back('\n');
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLogFormatter>(); }
};

// %* in the text pattern: the message as the core wrote it, or for a
// structured one "instance: message key=value ...", values in JSON.
class MessageFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg &msg, const std::tm &, spdlog::memory_buf_t &dest) override {
        const std::string_view payload(msg.payload.data(), msg.payload.size());
        if (payload.empty() || payload.front() != structured_marker) {
            append(dest, payload);
            return;
        }
        const LogParts parts = split_payload(payload);
        if (!parts.instance.empty()) {
            append(dest, parts.instance);
            append(dest, ": ");
        }
        append(dest, parts.message);
        for (const auto &[key, value] : parts.fields.items()) {
            dest.push_back(' ');
            append(dest, key);
            dest.push_back('=');
            append(dest, value.dump(-1, ' ', false, Json::error_handler_t::replace));
        }
    }
    std::unique_ptr<spdlog::custom_flag_formatter> clone() const override { return std::make_unique<MessageFlag>(); }
};

}  // namespace

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name) {
    using namespace spdlog::level;
    if (name == "trace") return trace;
    if (name == "debug") return debug;
    if (name == "info") return info;
    if (name == "warn") return warn;
    if (name == "error") return err;
    if (name == "off") return off;
    return std::nullopt;
}

std::string_view log_level_names() { return "trace, debug, info, warn, error, off"; }

std::string_view log_level_name(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace: return "trace";
        case spdlog::level::debug: return "debug";
        case spdlog::level::info: return "info";
        case spdlog::level::warn: return "warn";
        case spdlog::level::err: return "error";
        case spdlog::level::critical: return "critical";
        default: return "off";
    }
}

spdlog::level::level_enum resolve_log_level(std::string_view configured_level, const char *env_value,
                                            std::vector<std::string> &warnings) {
    std::optional<spdlog::level::level_enum> configured = parse_log_level(configured_level);
    if (!configured) {
        warnings.push_back("log level \"" + std::string(configured_level) + "\" is not one of " +
                           std::string(log_level_names()) + ": logging at info");
        configured = spdlog::level::info;
    }
    if (!env_value || !*env_value) return *configured;
    if (auto level = parse_log_level(env_value)) return *level;
    warnings.push_back("SONDE_LOG_LEVEL=\"" + utf8::repaired(env_value) + "\" is not one of " +
                       std::string(log_level_names()) + ": ignored, logging at the configured level " +
                       std::string(log_level_name(*configured)));
    return *configured;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(std::string_view format) {
    if (format == "json") return std::make_unique<JsonLogFormatter>();
    if (format != "text") return nullptr;
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<MessageFlag>('*').set_pattern(text_pattern);
    return formatter;
}

std::shared_ptr<spdlog::logger> make_agent_logger(const std::string &format, const std::string &configured_level,
                                                  std::vector<std::string> &warnings) {
    std::unique_ptr<spdlog::formatter> formatter = make_log_formatter(format);
    const bool json = format == "json";
    if (!formatter) {
        warnings.push_back("log format \"" + utf8::repaired(format) + "\" is not text or json: writing text");
        formatter = make_log_formatter("text");
    }
    // JSON lines go uncoloured: a reader parses them.
    spdlog::sink_ptr sink;
    if (json) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    else sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>("sonde", std::move(sink));
    logger->set_formatter(std::move(formatter));
    logger->set_level(resolve_log_level(configured_level, std::getenv("SONDE_LOG_LEVEL"), warnings));
    return logger;
}

bool set_log_level(spdlog::logger &logger, std::string_view level, std::string &error) {
    const auto parsed = parse_log_level(level);
    if (!parsed) {
        error = "unknown log level \"" + utf8::repaired(level) + "\" (" + std::string(log_level_names()) + ")";
        return false;
    }
    logger.set_level(*parsed);
    return true;
}

void log_with_fields(spdlog::logger &logger, spdlog::level::level_enum level, std::string_view instance,
                     std::string_view message, const nlohmann::json &fields) {
    if (!logger.should_log(level)) return;
    Json payload = Json::object();
    payload["instance"] = utf8::repaired(instance);
    payload["message"] = utf8::repaired(message);
    payload["fields"] = fields.is_object() ? Json(fields) : Json{{"value", Json(fields)}};
    std::string text(1, structured_marker);
    text += payload.dump(-1, ' ', false, Json::error_handler_t::replace);
    logger.log(level, "{}", text);
}

}  // namespace sonde::core
