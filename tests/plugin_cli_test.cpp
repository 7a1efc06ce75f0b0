// The plugin SDK as a third party meets it through the command line: a
// plugin with a required key can be described; a plugin the host refuses is
// explained wherever it is looked for (check-config, run, status);
// --plugin-dir adds to the default directory, and the start-up line names
// every directory.
#include "agent_process.hpp"
#include "read_file.hpp"

#include <doctest/doctest.h>
#include <sonde/plugin_api.h>

#include <map>

using namespace sonde_test;

namespace {

// Runs sonde to its end (at most 20 s) and returns the process.
Process finished(std::vector<std::string> args) {
    Process p(sonde(std::move(args)));
    p.read_until([](const std::string &) { return false; }, std::chrono::seconds(20));
    p.wait();
    return p;
}

bool has(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

// The line of `text` holding `part`, or "".
std::string line_with(const std::string &text, const std::string &part) {
    std::size_t at = text.find(part);
    if (at == std::string::npos) return "";
    std::size_t begin = text.rfind('\n', at), end = text.find('\n', at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

const std::string abi_dir = ABI_PLUGIN_DIR;
const std::string host_abi = std::to_string(SONDE_ABI_MAJOR) + "." + std::to_string(SONDE_ABI_MINOR);

}  // namespace

TEST_CASE("plugins --describe lists the records of a plugin with a required key, without a configuration") {
    Process described = finished({"plugins", "--plugin-dir", abi_dir, "--describe", "required_key"});
    INFO(described.stderr_text);
    CHECK(described.exit_status == 0);
    CHECK(has(described.stdout_text, "required_key 0.0.1 (input): Test input with a required key\n"));
    CHECK(has(described.stdout_text, "  metric test.file.reads "));
    CHECK(has(described.stdout_text, "  event  test.file.changed "));

    // A plugin of ABI 1.3 has no describe: the host creates an instance with
    // an empty table, which the plugin refuses, and says why it had to.
    Process old = finished({"plugins", "--plugin-dir", abi_dir, "--describe", "required_key_1_3"});
    CHECK(old.exit_status == 1);
    CHECK(has(old.stderr_text, "inputs.required_key_1_3.path: required key is missing (plugin ABI 1.3 has no describe, "
                               "so it is described by creating an instance with an empty table)\n"));
}

TEST_CASE("a plugin refused for its ABI is named with the reason by check-config, run and status") {
    TempDir conf;
    conf.write("a.toml", "[agent]\ninterval = \"100ms\"\n[admin]\nlisten = \"\"\nsocket = \"" +
                             (conf.path / "control.sock").string() +
                             "\"\n[inputs.newer_minor]\n[inputs.counting]\n[sinks.discard]\n");
    const std::string reason = "inputs.newer_minor: plugin 'newer_minor' could not be loaded: " + abi_dir +
                               "/newer_minor.so: needs plugin ABI 1.99, newer than this sonde's " + host_abi;

    Process check = finished({"check-config", "--config-dir", conf.path.string(), "--plugin-dir", abi_dir});
    CHECK(check.exit_status == 1);
    CHECK(has(check.stderr_text, reason + "\n"));

    Process run(sonde({"run", "--config-dir", conf.path.string(), "--plugin-dir", abi_dir}));
    run.read_until([&](const std::string &) { return has(run.stderr_text, "running with config"); },
                   std::chrono::seconds(20));
    REQUIRE(has(run.stderr_text, "running with config"));
    CHECK(has(line_with(run.stderr_text, reason), " error "));
    Process status = finished({"status", "--json", "--socket", (conf.path / "control.sock").string()});
    REQUIRE(status.exit_status == 0);
    const nlohmann::json all = nlohmann::json::parse(status.stdout_text);
    nlohmann::json newer;
    for (const auto &i : all["instances"])
        if (i["name"] == "inputs.newer_minor") newer = i;
    REQUIRE(newer.is_object());
    CHECK(newer["state"] == "failed");
    CHECK(has(newer["reason"].get<std::string>(), reason));
    kill(run.pid, SIGTERM);
    CHECK(run.wait() == 0);
}

TEST_CASE("--plugin-dir adds to the default directory; --no-default-plugin-dir leaves it out") {
    // In a build tree the default directory is the build's plugins/.
    Process both = finished({"plugins", "--plugin-dir", abi_dir});
    CHECK(both.exit_status == 0);
    CHECK(has(both.stdout_text, abi_dir + "/counting.so\n"));
    CHECK(has(both.stdout_text, std::string(SONDE_PLUGIN_DIR) + "/stdout.so\n"));

    Process only = finished({"plugins", "--plugin-dir", abi_dir, "--no-default-plugin-dir"});
    CHECK(only.exit_status == 0);
    CHECK(has(only.stdout_text, abi_dir + "/counting.so\n"));
    CHECK_FALSE(has(only.stdout_text, std::string(SONDE_PLUGIN_DIR) + "/"));

    // The start-up line names every directory, the given one first, the
    // default (given again here) once.
    TempDir conf;
    conf.write("a.toml", "[inputs.counting]\n[sinks.discard]\n");
    Process run(sonde({"run", "--config-dir", conf.path.string(), "--plugin-dir", abi_dir, "--plugin-dir",
                       SONDE_PLUGIN_DIR}));
    run.read_until([&](const std::string &) { return has(run.stderr_text, "running with config"); },
                   std::chrono::seconds(20));
    CHECK(has(run.stderr_text, "and plugins from " + abi_dir + ", " + SONDE_PLUGIN_DIR + "\n"));
    kill(run.pid, SIGTERM);
    CHECK(run.wait() == 0);
}

TEST_CASE("a plugin pinned to ABI 1.0 loads and runs on this host") {
    Process list = finished({"plugins", "--plugin-dir", abi_dir, "--no-default-plugin-dir"});
    CHECK(has(list.stdout_text, "pinned_1_0   input  0.0.1    1.0   loadable  " + abi_dir + "/pinned_1_0.so\n"));
}

namespace {

// The fenced blocks of the section under `heading` in `markdown`, by
// language ("" for a plain block): the first of each.
std::map<std::string, std::string> fenced_blocks(const std::string &markdown, const std::string &heading) {
    std::size_t at = markdown.find(heading + "\n");
    REQUIRE_MESSAGE(at != std::string::npos, heading);
    const std::size_t section_end = markdown.find("\n## ", at + heading.size());
    std::map<std::string, std::string> blocks;
    while ((at = markdown.find("\n```", at)) < section_end) {
        const std::size_t language_start = at + 4, text_start = markdown.find('\n', language_start) + 1;
        const std::size_t text_end = markdown.find("\n```", text_start) + 1;
        blocks.emplace(markdown.substr(language_start, text_start - 1 - language_start),
                       markdown.substr(text_start, text_end - text_start));
        at = text_end + 3;
    }
    return blocks;
}

}  // namespace

TEST_CASE("plugin-api/README.md's plugin builds out of tree as it says, and sonde lists it as the README shows") {
    const std::string readme = read_file(std::string(SONDE_SOURCE_DIR) + "/plugin-api/README.md");
    const std::string heading = "## A complete input plugin";
    std::map<std::string, std::string> blocks = fenced_blocks(readme, heading);
    const std::string source = blocks["cpp"], commands = blocks["sh"], sample = blocks[""];

    // The README's own commands, run where plugin-api/ is the source tree's
    // (nothing else of it is there) and `sonde` is this build's.
    TempDir work;
    work.write("uptime.cpp", source);
    fs::create_directory_symlink(fs::path(SONDE_SOURCE_DIR) / "plugin-api", work.path / "plugin-api");
    std::string script = "set -e\nsonde() { \"" + std::string(SONDE_BINARY) + "\" \"$@\"; }\n" + commands;
    const fs::path previous = fs::current_path();
    fs::current_path(work.path);
    Process built({"/bin/sh", "-c", script});
    built.read_until([](const std::string &) { return false; }, std::chrono::seconds(120));
    built.wait();
    fs::current_path(previous);
    INFO(built.stderr_text);
    REQUIRE(built.exit_status == 0);
    // Every line of the sample is a line of what sonde printed.
    std::size_t start = 0, end;
    REQUIRE_FALSE(sample.empty());
    while ((end = sample.find('\n', start)) != std::string::npos) {
        const std::string line = sample.substr(start, end - start + 1);
        CHECK_MESSAGE(has(built.stdout_text, line), "README sample line not printed: ", line, built.stdout_text);
        start = end + 1;
    }
}
