#include "config/config_dirs.hpp"

#include "files/checked_file.hpp"

#include <map>

namespace sonde::core {

namespace fs = std::filesystem;

std::string describe(const std::vector<ConfigDir> &dirs) {
    std::string out;
    for (const ConfigDir &dir : dirs) out += (out.empty() ? "" : ":") + dir.path.string();
    return out;
}

namespace {

bool masks(const fs::path &file) {
    std::error_code ec;
    return fs::is_symlink(fs::symlink_status(file, ec)) && fs::read_symlink(file, ec) == "/dev/null";
}

// The reason check_directory gives, without its leading "path: ", which the
// error's location already names.
std::string reason_of(const std::string &path, const std::string &why) {
    return why.size() > path.size() + 2 ? why.substr(path.size() + 2) : why;
}

}  // namespace

ConfigFiles list_config_files(const std::vector<ConfigDir> &dirs) {
    ConfigFiles out;
    std::map<std::string, fs::path> by_name;  // ordered: merge order is file-name order
    for (const ConfigDir &dir : dirs) {
        const std::string path = dir.path.string();
        std::error_code ec;
        if (dir.optional && !fs::exists(fs::symlink_status(dir.path, ec))) continue;
        if (std::string why = check_directory(path); !why.empty()) {
            out.errors.push_back({{path, 0, 0}, "cannot read config directory: " + reason_of(path, why)});
            continue;
        }
        for (fs::directory_iterator it(dir.path, ec), end; !ec && it != end; it.increment(ec)) {
            const fs::path &file = it->path();
            if (file.extension() != ".toml" || it->is_directory()) continue;
            if (masks(file))
                by_name.erase(file.filename().string());
            else
                by_name[file.filename().string()] = file;
        }
        if (ec) out.errors.push_back({{path, 0, 0}, "cannot read config directory: " + ec.message()});
    }
    for (auto &[name, file] : by_name) out.files.push_back(std::move(file));
    if (out.files.empty() && out.errors.empty())
        out.errors.push_back({{describe(dirs), 0, 0}, "no *.toml files in config directory"});
    return out;
}

ConfigLoad load_config_dirs(const std::vector<ConfigDir> &dirs) {
    ConfigFiles listed = list_config_files(dirs);
    // Each file is checked before it is read: a FIFO, a device or a huge file
    // among the *.toml is an error naming it, never a hang or a memory blow-up.
    std::vector<std::pair<std::string, std::string>> documents;
    std::vector<ConfigError> unreadable;
    for (const auto &file : listed.files) {
        std::string error;
        if (auto text = read_checked_file(file.string(), {max_config_file_bytes, "a configuration file"}, error))
            documents.emplace_back(file.string(), std::move(*text));
        else
            unreadable.push_back({{file.string(), 0, 0}, reason_of(file.string(), error)});
    }
    ConfigLoad load = load_config_texts(documents);
    load.errors.insert(load.errors.begin(), unreadable.begin(), unreadable.end());
    load.errors.insert(load.errors.begin(), listed.errors.begin(), listed.errors.end());
    load.files = std::move(listed.files);
    return load;
}

}  // namespace sonde::core
