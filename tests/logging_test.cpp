// The agent's logger (core/src/control/logging.hpp): JSON lines and their
// fields, the instance taken out of "inputs.NAME: ..." messages, structured
// fields, UTF-8 repair, the text pattern, SONDE_LOG_LEVEL and level changes.
#include "control/logging.hpp"

#include "read_file.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <regex>
#include <sstream>

using namespace sonde::core;
using nlohmann::json;

namespace {

// A logger in `format` writing into a string stream, as the agent's would.
struct CapturedLogger {
    std::ostringstream out;
    std::shared_ptr<spdlog::logger> logger;

    explicit CapturedLogger(std::string_view format) {
        logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
        auto formatter = make_log_formatter(format);
        REQUIRE(formatter);
        logger->set_formatter(std::move(formatter));
        logger->set_level(spdlog::level::trace);
    }
    // Every line written so far, each parsed (strictly: invalid UTF-8 fails).
    std::vector<json> json_lines() {
        std::vector<json> lines;
        std::istringstream in(out.str());
        for (std::string line; std::getline(in, line);) {
            INFO(line);
            lines.push_back(json::parse(line));
        }
        out.str("");
        return lines;
    }
    json only_line() {
        auto lines = json_lines();
        REQUIRE(lines.size() == 1);
        return lines[0];
    }
};

// Seconds since the epoch of an RFC 3339 UTC time with microseconds, or -1.
double rfc3339_seconds(const std::string &time) {
    static const std::regex shape(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
    if (!std::regex_match(time, shape)) return -1;
    std::tm tm{};
    if (!strptime(time.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return -1;
    return static_cast<double>(timegm(&tm)) + std::stod(time.substr(19, 7));
}

// Runs `body` with the process's stderr going to a file; returns what it wrote.
template <typename Body>
std::string capture_stderr(Body &&body) {
    sonde_test::TempDir dir;
    const std::string path = (dir.path / "stderr").string();
    std::fflush(stderr);
    const int saved = ::dup(2);
    const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE((saved >= 0 && file >= 0));
    ::dup2(file, 2);
    ::close(file);
    body();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    return sonde_test::read_file(path);
}

// Sets or clears an environment variable for the life of the object.
struct ScopedEnv {
    const char *name;
    ScopedEnv(const char *n, const char *value) : name(n) {
        if (value) ::setenv(name, value, 1);
        else ::unsetenv(name);
    }
    ~ScopedEnv() { ::unsetenv(name); }
};

}  // namespace

TEST_CASE("json: one object per line with time, level, message and empty fields") {
    CapturedLogger c("json");
    const double before = static_cast<double>(std::time(nullptr));
    c.logger->info("received SIGHUP: {} reloads", 3);
    c.logger->warn("no sink is running: records go nowhere");
    c.logger->error("x");
    c.logger->debug("d");
    c.logger->trace("t");
    const auto lines = c.json_lines();
    REQUIRE(lines.size() == 5);
    const json &first = lines[0];
    CHECK(first.size() == 4);  // no instance
    const double when = rfc3339_seconds(first.at("time").get<std::string>());
    CHECK(when >= before - 1);
    CHECK(when <= static_cast<double>(std::time(nullptr)) + 1);
    CHECK(first.at("level") == "info");
    CHECK(first.at("message") == "received SIGHUP: 3 reloads");
    CHECK(first.at("fields") == json::object());
    CHECK_FALSE(first.contains("instance"));
    CHECK(lines[1].at("level") == "warn");
    CHECK(lines[2].at("level") == "error");
    CHECK(lines[3].at("level") == "debug");
    CHECK(lines[4].at("level") == "trace");
}

TEST_CASE("json: a leading inputs.NAME or sinks.NAME becomes the instance") {
    CapturedLogger c("json");
    c.logger->warn("inputs.procfs: cannot read /proc/stat: {}", "No such file");
    json line = c.only_line();
    CHECK(line.at("instance") == "inputs.procfs");
    CHECK(line.at("message") == "cannot read /proc/stat: No such file");

    c.logger->error("sinks.my-file_2: flush failed: disk full");
    line = c.only_line();
    CHECK(line.at("instance") == "sinks.my-file_2");
    CHECK(line.at("message") == "flush failed: disk full");

    // Not an instance: the whole text is the message.
    for (const char *message : {"inputs.: x", "inputsx.y: z", "inputs.a b: c", "inputs.x:no space", "outputs.x: y",
                                "received SIGTERM, shutting down", "inputs.x", "sinks.x:", " inputs.x: y"}) {
        c.logger->info("{}", message);
        line = c.only_line();
        CAPTURE(message);
        CHECK_FALSE(line.contains("instance"));
        CHECK(line.at("message") == message);
    }
}

TEST_CASE("json: strings are escaped and invalid UTF-8 repaired") {
    CapturedLogger c("json");
    c.logger->info("inputs.syscall: comm \"{}\" \\ tab\there\nnext \x01 {}", "bad\xFF\xC3 end", "ünï ✓");
    const json line = c.only_line();  // strict parse: would throw on invalid UTF-8
    CHECK(line.at("instance") == "inputs.syscall");
    CHECK(line.at("message") ==
          "comm \"bad\xEF\xBF\xBD\xEF\xBF\xBD end\" \\ tab\there\nnext \x01 ünï ✓");

    // A message that starts like a structured payload but is not one stays a message.
    c.logger->info("{}", "\x1e{\"message\": \"forged\"}");
    CHECK(c.only_line().at("message") == "\x1e{\"message\": \"forged\"}");
}

TEST_CASE("structured fields in both formats") {
    CapturedLogger j("json");
    log_with_fields(*j.logger, spdlog::level::warn, "sinks.otlp", "export failed",
                    {{"status", 503}, {"retry_in_ms", 250}, {"receiver", "http://h:4318\xFF"}});
    json line = j.only_line();
    CHECK(line.at("level") == "warn");
    CHECK(line.at("instance") == "sinks.otlp");
    CHECK(line.at("message") == "export failed");
    CHECK(line.at("fields").at("status") == 503);
    CHECK(line.at("fields").at("retry_in_ms") == 250);
    CHECK(line.at("fields").at("receiver") == "http://h:4318\xEF\xBF\xBD");

    log_with_fields(*j.logger, spdlog::level::info, "", "reloaded", {{"added", 1}});
    line = j.only_line();
    CHECK_FALSE(line.contains("instance"));
    CHECK(line.at("fields") == json{{"added", 1}});

    log_with_fields(*j.logger, spdlog::level::info, "", "not an object", 42);
    CHECK(j.only_line().at("fields") == json{{"value", 42}});

    // Below the level: nothing.
    j.logger->set_level(spdlog::level::err);
    log_with_fields(*j.logger, spdlog::level::warn, "sinks.otlp", "dropped", json::object());
    CHECK(j.out.str().empty());

    CapturedLogger t("text");
    log_with_fields(*t.logger, spdlog::level::warn, "sinks.otlp", "export failed",
                    {{"status", 503}, {"reason", "a b"}});
    const std::string text = t.out.str();
    CHECK(text.ends_with(" warning sinks.otlp: export failed reason=\"a b\" status=503\n"));
}

TEST_CASE("text: the agent's pattern, messages as written") {
    CapturedLogger c("text");
    c.logger->info("inputs.procfs: started (plugin {} {})", "procfs", "1.0");
    const std::string line = c.out.str();
    INFO(line);
    static const std::regex shape(
        R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d info inputs\.procfs: started \(plugin procfs 1\.0\)\n)");
    CHECK(std::regex_match(line, shape));
    CHECK(make_log_formatter("yaml") == nullptr);
}

TEST_CASE("level names") {
    CHECK(parse_log_level("trace") == spdlog::level::trace);
    CHECK(parse_log_level("debug") == spdlog::level::debug);
    CHECK(parse_log_level("info") == spdlog::level::info);
    CHECK(parse_log_level("warn") == spdlog::level::warn);
    CHECK(parse_log_level("error") == spdlog::level::err);
    CHECK(parse_log_level("off") == spdlog::level::off);
    for (const char *bad : {"", "warning", "WARN", "err", "critical", "info ", "verbose"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_log_level(bad));
    }
}

TEST_CASE("set_log_level on a running logger") {
    CapturedLogger c("json");
    std::string error;
    for (const char *name : {"trace", "debug", "info", "warn", "error", "off"}) {
        CAPTURE(name);
        CHECK(set_log_level(*c.logger, name, error));
        CHECK(c.logger->level() == *parse_log_level(name));
    }
    CHECK(set_log_level(*c.logger, "warn", error));
    c.logger->info("hidden");
    c.logger->warn("shown");
    CHECK(c.only_line().at("message") == "shown");

    CHECK_FALSE(set_log_level(*c.logger, "warning", error));
    CHECK(error == "unknown log level \"warning\" (trace, debug, info, warn, error, off)");
    CHECK(c.logger->level() == spdlog::level::warn);  // unchanged
    CHECK_FALSE(set_log_level(*c.logger, "lo\xFFud", error));
    CHECK(error.find("lo\xEF\xBF\xBDud") != std::string::npos);
}

TEST_CASE("SONDE_LOG_LEVEL overrides the configured level; an invalid value is named and ignored") {
    std::vector<std::string> warnings;
    CHECK(resolve_log_level("info", "debug", warnings) == spdlog::level::debug);
    CHECK(resolve_log_level("warn", nullptr, warnings) == spdlog::level::warn);
    CHECK(resolve_log_level("warn", "", warnings) == spdlog::level::warn);
    CHECK(resolve_log_level("debug", "off", warnings) == spdlog::level::off);
    CHECK(warnings.empty());

    CHECK(resolve_log_level("error", "loud", warnings) == spdlog::level::err);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0] == "SONDE_LOG_LEVEL=\"loud\" is not one of trace, debug, info, warn, error, off: "
                         "ignored, logging at the configured level error");

    warnings.clear();
    CHECK(resolve_log_level("chatty", nullptr, warnings) == spdlog::level::info);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("\"chatty\"") != std::string::npos);
}

TEST_CASE("make_agent_logger: stderr, the format, the environment") {
    {
        ScopedEnv env("SONDE_LOG_LEVEL", "debug");
        std::vector<std::string> warnings;
        std::shared_ptr<spdlog::logger> logger;
        const std::string written = capture_stderr([&] {
            logger = make_agent_logger("json", "warn", warnings);
            logger->debug("inputs.net: probing");
            logger->trace("below debug");
            logger->flush();
        });
        CHECK(warnings.empty());
        CHECK(logger->level() == spdlog::level::debug);
        CHECK(logger->name() == "sonde");
        INFO(written);
        REQUIRE(written.find('\n') == written.size() - 1);  // exactly one line
        const json line = json::parse(written);
        CHECK(line.at("instance") == "inputs.net");
        CHECK(line.at("message") == "probing");
        CHECK(line.at("level") == "debug");
    }
    {
        ScopedEnv env("SONDE_LOG_LEVEL", "verbose");
        std::vector<std::string> warnings;
        auto logger = make_agent_logger("text", "error", warnings);
        CHECK(logger->level() == spdlog::level::err);
        REQUIRE(warnings.size() == 1);
        CHECK(warnings[0].find("SONDE_LOG_LEVEL=\"verbose\"") == 0);
        // A second logger of the same name: not registered globally, so no clash.
        std::vector<std::string> more;
        CHECK(make_agent_logger("text", "info", more) != nullptr);
    }
    {
        ScopedEnv env("SONDE_LOG_LEVEL", nullptr);
        std::vector<std::string> warnings;
        std::shared_ptr<spdlog::logger> logger;
        const std::string written = capture_stderr([&] {
            logger = make_agent_logger("yaml", "info", warnings);
            logger->info("plain");
            logger->flush();
        });
        REQUIRE(warnings.size() == 1);
        CHECK(warnings[0] == "log format \"yaml\" is not text or json: writing text");
        CHECK(written.ends_with(" info plain\n"));
    }
}
