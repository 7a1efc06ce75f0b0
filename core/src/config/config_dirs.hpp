// Where the configuration comes from: conf.d directories layered the way
// systemd layers unit drop-ins. Packages put vendor defaults in
// <prefix>/share/sonde/conf.d; the administrator's /etc/sonde/conf.d comes
// after it and wins (docs/configuration.md, "Where conf.d comes from").
#pragma once

#include "config/config.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace sonde::core {

struct ConfigDir {
    std::filesystem::path path;
    // A missing optional directory contributes nothing (the administrator's
    // directory may not exist on a host that runs the vendor defaults); a
    // missing required one (given with --config-dir) is an error.
    bool optional = false;
};

// "dir1:dir2", for logs and messages.
std::string describe(const std::vector<ConfigDir> &dirs);

// The *.toml files that make up the configuration, in merge order. Files are
// matched by name across the directories: a later directory's file replaces
// an earlier one's of the same name, and one that is a symlink to /dev/null
// masks it (drops that name). The result is ordered by file name, so
// 10-agent.toml from /usr/share comes before 20-procfs.toml from /etc. No
// file at all is an error, naming every directory searched.
struct ConfigFiles {
    std::vector<std::filesystem::path> files;
    std::vector<ConfigError> errors;
};
ConfigFiles list_config_files(const std::vector<ConfigDir> &dirs);

// list_config_files, then every file read (checked: a FIFO, a device or a
// file over max_config_file_bytes is an error naming it), merged and
// validated as load_config_texts does.
ConfigLoad load_config_dirs(const std::vector<ConfigDir> &dirs);

}  // namespace sonde::core
