// What `sonde run`, `check-config`, `plugins` and `trace` say about files and
// plugin directories that are not what they should be: one line each, naming
// the path and the reason, and nothing hangs.
#include "agent_process.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

using namespace sonde_test;

namespace {

// Runs sonde to its end (at most 10 s) and returns the process.
Process finished(std::vector<std::string> args) {
    Process p(sonde(std::move(args)));
    p.read_until([](const std::string &) { return false; }, std::chrono::seconds(10));
    p.wait();
    return p;
}

bool has(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a missing, empty or file plugin directory is one warning line in check-config, plugins and run") {
    TempDir dir;
    dir.write("a.toml", "[agent]\ninterval = \"100ms\"\n[inputs.procfs]\n[sinks.stdout]\n");
    fs::create_directory(dir.path / "empty");
    dir.write("file.so.dir", "");
    const std::string missing = (dir.path / "missing").string(), empty = (dir.path / "empty").string(),
                      file = (dir.path / "file.so.dir").string();
    std::vector<std::string> dirs{"--plugin-dir", missing, "--plugin-dir", empty, "--plugin-dir", file,
                                  "--plugin-dir", SONDE_PLUGIN_DIR};
    auto with = [&](std::vector<std::string> args) {
        args.insert(args.end(), dirs.begin(), dirs.end());
        return args;
    };
    const std::string lines[] = {"plugin directory " + missing + ": No such file or directory",
                                 "plugin directory " + empty + " has no *.so files",
                                 "plugin directory " + file + ": is a regular file, not a directory"};

    Process check = finished(with({"check-config", "--config-dir", dir.path.string()}));
    CHECK(check.exit_status == 0);
    for (const auto &line : lines) CHECK(has(check.stderr_text, "warning: " + line + "\n"));

    Process plugins = finished(with({"plugins"}));
    CHECK(plugins.exit_status == 0);
    for (const auto &line : lines) CHECK(has(plugins.stderr_text, "warning: " + line + "\n"));

    Process run(sonde(with({"run", "--config-dir", dir.path.string()})));
    run.read_until([](const std::string &out) { return has(out, "\n"); }, std::chrono::seconds(10));
    kill(run.pid, SIGTERM);
    run.wait();
    for (const auto &line : lines) CHECK(has(run.stderr_text, " warning " + line + "\n"));
}

TEST_CASE("as root, run and check-config refuse a group-writable plugin with the one line, and the flag loads it") {
    REQUIRE(geteuid() == 0);  // the test machines run as root
    TempDir dir, plugins;
    fs::permissions(plugins.path, fs::perms(0755));
    dir.write("a.toml", "[agent]\ninterval = \"100ms\"\n[sinks.stdout]\n");
    fs::copy_file(fs::path(SONDE_PLUGIN_DIR) / "stdout.so", plugins.path / "stdout.so");
    ::chmod((plugins.path / "stdout.so").c_str(), 0664);
    const std::string refusal = "plugin " + (plugins.path / "stdout.so").string() + " refused: " +
                                (plugins.path / "stdout.so").string() +
                                " is writable by group (mode 0664); set [agent] allow_insecure_plugins = true (or "
                                "--allow-insecure-plugins) for development";
    Process check = finished({"check-config", "--config-dir", dir.path.string(), "--plugin-dir",
                              plugins.path.string(), "--no-default-plugin-dir"});
    CHECK(check.exit_status == 1);  // the configured sink has no loadable plugin
    CHECK(has(check.stderr_text, "warning: " + refusal + "\n"));

    Process allowed = finished({"check-config", "--config-dir", dir.path.string(), "--plugin-dir",
                                plugins.path.string(), "--no-default-plugin-dir", "--allow-insecure-plugins"});
    CHECK(allowed.exit_status == 0);
    dir.write("b.toml", "[agent]\nallow_insecure_plugins = true\n");
    Process by_key = finished({"check-config", "--config-dir", dir.path.string(), "--plugin-dir",
                               plugins.path.string(), "--no-default-plugin-dir"});
    CHECK(by_key.exit_status == 0);
}

TEST_CASE("check-config with a FIFO in conf.d and trace dump of a FIFO answer at once, naming it") {
    TempDir dir;
    dir.write("a.toml", "[sinks.stdout]\n");
    REQUIRE(::mkfifo((dir.path / "b.toml").c_str(), 0600) == 0);
    Process check = finished({"check-config", "--config-dir", dir.path.string()});
    CHECK(check.exit_status == 1);
    CHECK(has(check.stderr_text, (dir.path / "b.toml").string() + ":0:0: is a FIFO, not a regular file\n"));
    Process dump = finished({"trace", "dump", (dir.path / "b.toml").string()});
    CHECK(dump.exit_status == 1);
    CHECK(dump.stderr_text == (dir.path / "b.toml").string() + ": is a FIFO, not a regular file\n");
}
