// Finding and loading plugin shared objects. A library is refused with a
// one-line reason when its ABI does not fit; the rest load regardless.
#pragma once

#include <sonde/plugin_api.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace boost::dll {
class shared_library;
}

namespace sonde::core {

// A loaded plugin. Instances, callbacks and declarations of the plugin hold a
// shared_ptr to it, so the library stays mapped while any of them can run.
class PluginLibrary {
public:
    PluginLibrary(std::filesystem::path path, std::unique_ptr<boost::dll::shared_library> library,
                  const sonde_plugin_descriptor *descriptor);
    ~PluginLibrary();
    PluginLibrary(const PluginLibrary &) = delete;
    PluginLibrary &operator=(const PluginLibrary &) = delete;

    const std::filesystem::path &path() const { return path_; }
    const sonde_plugin_descriptor &descriptor() const { return *descriptor_; }
    const sonde_plugin_ops &ops() const { return *descriptor_->ops; }
    std::string name() const { return descriptor_->name; }
    bool is_sink() const { return descriptor_->kind == SONDE_PLUGIN_SINK; }

private:
    std::filesystem::path path_;
    std::unique_ptr<boost::dll::shared_library> library_;
    const sonde_plugin_descriptor *descriptor_;
};

// The outcome of looking at one shared object.
struct PluginCandidate {
    std::filesystem::path path;
    std::shared_ptr<PluginLibrary> library;  // null when refused
    std::string refusal;                     // one line; empty when loaded
};

// Loads one shared object, checking the ABI before calling anything else.
PluginCandidate load_plugin(const std::filesystem::path &path);

// Every loadable plugin of a set of directories, by unique name.
class PluginRegistry {
public:
    // Scans each directory for *.so (in lexical order); later duplicates of a
    // name are refused.
    void scan(const std::vector<std::filesystem::path> &dirs);
    // Loads only what `names` need: each name's `<name>.so`, and every other
    // object only when a name is not found that way. The agent then maps only
    // the libraries it runs (and their dependencies: protobuf, OpenSSL, libbpf).
    void scan_for(const std::vector<std::filesystem::path> &dirs, const std::set<std::string> &names);

    std::shared_ptr<PluginLibrary> find(const std::string &name) const;
    const std::vector<PluginCandidate> &candidates() const { return candidates_; }
    std::vector<std::string> names() const;

private:
    void add(const std::filesystem::path &file);
    std::vector<PluginCandidate> candidates_;
};

}  // namespace sonde::core
