// The `sonde` subcommands. Local ones (run, check-config, plugins) work on
// conf.d and plugin directories; control ones (status, enable, disable,
// reload, log-level) talk to a running agent over its control socket.
#pragma once

#include "config/config_dirs.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace sonde::cli {

struct Options {
    std::vector<std::filesystem::path> config_dirs;  // --config-dir, repeatable: exactly these, in order
    std::vector<core::ConfigDir> config_sources;     // what is read: config_dirs, or the defaults
    std::vector<std::filesystem::path> plugin_dirs;  // --plugin-dir, searched before the default
    bool default_plugin_dir = true;                  // false: --no-default-plugin-dir
    bool allow_insecure_plugins = false;  // as root, load plugins not owned by root or writable by others
    std::string describe;                 // plugins --describe NAME
    std::map<std::string, std::string> labels;  // check-config --label k=v, --host NAME
    std::string socket;                   // control commands: --socket PATH
    bool json = false;                    // status --json
};

// Fills config_sources: the --config-dir directories, else the defaults (a
// build tree: the source tree's conf.d; installed: <prefix>/share/sonde/conf.d
// then the administrator's <sysconfdir>/sonde/conf.d, both optional). Adds
// the default plugin directory after the given ones (unless
// default_plugin_dir is false): a build tree's plugins/, else the installed one.
void apply_defaults(Options &options);

int run(const Options &options);
int check_config(const Options &options);
int plugins(const Options &options);

struct EnableArguments {
    std::string name, plugin, duration;
    std::vector<std::string> settings;
};
int status(const Options &options);
int enable(const Options &options, const EnableArguments &arguments);
int disable(const Options &options, const std::string &name, const std::string &duration);
int reload(const Options &options);
int log_level(const Options &options, const std::string &level);

}  // namespace sonde::cli
