// sonde's command line (CLI11): the local subcommands (run, check-config,
// plugins, trace) and the control ones (status, enable, disable, reload,
// log-level) that talk to a running agent.
#include "cli/commands.hpp"
#include "trace/trace.hpp"

#include <CLI/CLI.hpp>
#include <sonde/plugin_api.h>

#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <iostream>

using namespace sonde::cli;

namespace {

const char *defaults_note =
    "Defaults: in a build tree, the build's plugins/ and the source tree's conf.d/; installed, " SONDE_INSTALL_PLUGIN_DIR
    " under the binary's prefix, and conf.d layered from <prefix>/" SONDE_INSTALL_VENDOR_CONF_DIR
    " (packages' defaults) then /etc/sonde/conf.d (the administrator's, same name wins; a symlink to /dev/null"
    " masks); --plugin-dir adds to the default plugin directory, --config-dir replaces the defaults.";

void add_config_dir(CLI::App &command, Options &o) {
    command.add_option("--config-dir", o.config_dirs,
                       "conf.d directory (repeatable: layered in order, a later file of the same name wins)");
}
void add_plugin_options(CLI::App &command, Options &o) {
    command.add_option("--plugin-dir", o.plugin_dirs,
                       "also load plugins from this directory, searched before the default (repeatable)");
    command.add_flag_callback("--no-default-plugin-dir", [&o] { o.default_plugin_dir = false; },
                     "load plugins only from the --plugin-dir directories");
    command.add_flag("--allow-insecure-plugins", o.allow_insecure_plugins,
                     "as root, load plugins not owned by root or writable by others (development only)");
}
void add_socket(CLI::App &command, Options &o) {
    command.add_option("--socket", o.socket, "the agent's control socket (default: [admin] socket of conf.d, else "
                                             "/run/sonde/sonde.sock as root)");
    add_config_dir(command, o);
}

}  // namespace

int main(int argc, char **argv) {
    // A closed pipe (the stdout sink ends the agent in order on EPIPE) and a
    // file over RLIMIT_FSIZE (EFBIG) are errors of the write, not reasons to die.
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN);
    // Blocks of 1 MiB and more come from mmap and go back to the kernel when
    // freed: libbpf 1.1 copies and indexes the kernel's BTF (about 12 MB)
    // for each tracer it loads and frees it right after; from a thread's
    // malloc arena that memory would stay in the agent's RSS
    // (docs/benchmarks.md, "Peak RSS at start").
    mallopt(M_MMAP_THRESHOLD, 1 << 20);

    CLI::App app("sonde: a Linux host telemetry agent", "sonde");
    app.footer(defaults_note);
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("sonde ") + SONDE_VERSION + " (plugin ABI " +
                                          std::to_string(SONDE_ABI_MAJOR) + "." + std::to_string(SONDE_ABI_MINOR) + ")");
    Options o;

    auto *run_cmd = app.add_subcommand("run", "run the agent (SIGTERM/SIGINT: drain, flush, exit 0; SIGHUP: reload)");
    add_config_dir(*run_cmd, o);
    add_plugin_options(*run_cmd, o);

    auto *check = app.add_subcommand("check-config",
                                     "validate conf.d as a reload would; exit 1 with file:line:column: reason");
    add_config_dir(*check, o);
    add_plugin_options(*check, o);
    std::vector<std::string> labels;
    std::string host;
    check->add_option("--label", labels, "KEY=VALUE: judge `when` conditions as on a host with this label");
    check->add_option("--host", host, "judge `when` conditions as on the host of this name");

    auto *plugins_cmd = app.add_subcommand("plugins", "list plugins, or every record one emits");
    add_plugin_options(*plugins_cmd, o);
    plugins_cmd->add_option("--describe", o.describe, "every record the plugin NAME emits");

    auto *status_cmd = app.add_subcommand("status", "the running agent: instances, states, counters");
    add_socket(*status_cmd, o);
    status_cmd->add_flag("--json", o.json, "the whole status as JSON");

    EnableArguments enable_args;
    auto *enable_cmd = app.add_subcommand("enable", "start an instance on the running agent; returns once it runs");
    add_socket(*enable_cmd, o);
    enable_cmd->add_option("name", enable_args.name, "instance name (or inputs.NAME / sinks.NAME)");
    enable_cmd->add_option("--plugin", enable_args.plugin, "start a new instance of this plugin");
    enable_cmd->add_option("--for", enable_args.duration, "disable it again after this long (e.g. 30m)");
    enable_cmd->add_option("--set", enable_args.settings, "KEY=VALUE for the instance's table (repeatable)");

    std::string disable_name, disable_duration;
    auto *disable_cmd = app.add_subcommand("disable", "stop an instance on the running agent");
    add_socket(*disable_cmd, o);
    disable_cmd->add_option("name", disable_name, "instance name")->required();
    disable_cmd->add_option("--for", disable_duration, "enable it again after this long");

    auto *reload_cmd = app.add_subcommand("reload", "re-read conf.d; a bad configuration changes nothing");
    add_socket(*reload_cmd, o);

    std::string level;
    auto *level_cmd = app.add_subcommand("log-level", "set the running agent's log level");
    add_socket(*level_cmd, o);
    level_cmd->add_option("level", level, "trace, debug, info, warn, error or off")->required();

    std::vector<std::string> trace_files;
    auto *trace_cmd = app.add_subcommand("trace", "read back the file sink's files");
    trace_cmd->require_subcommand(1);
    auto *dump = trace_cmd->add_subcommand("dump", "records of the file sink's files");
    dump->add_option("files", trace_files, "files")->required();
    auto *summary = trace_cmd->add_subcommand("summary", "time range, counts, rates, latency quantiles");
    summary->add_option("files", trace_files, "files")->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    if (*dump) return sonde::core::trace_dump(trace_files, std::cout, std::cerr);
    if (*summary) return sonde::core::trace_summary(trace_files, std::cout, std::cerr);
    if (!host.empty()) o.labels["host.name"] = host;
    for (const auto &label : labels) {
        auto eq = label.find('=');
        if (eq == std::string::npos || eq == 0) {
            std::fprintf(stderr, "sonde: --label %s: expected KEY=VALUE\n", label.c_str());
            return 2;
        }
        o.labels[label.substr(0, eq)] = label.substr(eq + 1);
    }
    apply_defaults(o);
    try {
        if (*run_cmd) return run(o);
        if (*check) return check_config(o);
        if (*plugins_cmd) return plugins(o);
        if (*status_cmd) return status(o);
        if (*enable_cmd) {
            if (enable_args.name.empty() && enable_args.plugin.empty()) {
                std::fprintf(stderr, "sonde enable: give an instance NAME, or --plugin P\n");
                return 2;
            }
            return enable(o, enable_args);
        }
        if (*disable_cmd) return disable(o, disable_name, disable_duration);
        if (*reload_cmd) return reload(o);
        if (*level_cmd) return log_level(o, level);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "sonde: %s\n", e.what());
        return 1;
    }
    return 2;
}
