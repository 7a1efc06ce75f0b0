// Finding and loading plugin shared objects. A library is refused with a
// one-line reason when its ABI does not fit; the rest load regardless.
#pragma once

#include <sonde/plugin_api.h>

#include <unistd.h>

#include <cstdint>

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
// A built-in plugin (compiled into sonde, like the `self` input) has no
// shared object: its path is "(built-in)" and its descriptor is static.
class PluginLibrary {
public:
    PluginLibrary(std::filesystem::path path, std::unique_ptr<boost::dll::shared_library> library,
                  const sonde_plugin_descriptor *descriptor);
    // A built-in plugin's descriptor (static lifetime).
    explicit PluginLibrary(const sonde_plugin_descriptor *builtin_descriptor);
    ~PluginLibrary();
    PluginLibrary(const PluginLibrary &) = delete;
    PluginLibrary &operator=(const PluginLibrary &) = delete;

    const std::filesystem::path &path() const { return path_; }
    const sonde_plugin_descriptor &descriptor() const { return *descriptor_; }
    const sonde_plugin_ops &ops() const { return *descriptor_->ops; }
    // The plugin's ABI 1.4 describe function, or null for an older plugin.
    decltype(sonde_plugin_ops::describe) describe_function() const;
    std::string name() const { return descriptor_->name; }
    bool is_sink() const { return descriptor_->kind == SONDE_PLUGIN_SINK; }
    bool builtin() const { return !library_; }

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

// Whether a plugin object must be trusted before it is loaded. When sonde
// runs as root, a plugin runs as root: like the dynamic loader in secure mode
// and sudo with its plugins, it then loads only an object owned by root and
// not writable by group or others, in a directory owned by root and not
// writable by group or others (for a symbolic link: the file it resolves to,
// and both directories). Ancestors of the directory are not checked (see
// plugin-api/README.md, "Plugin loading as root").
struct PluginTrust {
    bool check_ownership = ::geteuid() == 0;  // the agent runs as root
    bool allow_insecure = false;              // [agent] allow_insecure_plugins / --allow-insecure-plugins
    bool enforced() const { return check_ownership && !allow_insecure; }
};

// Why `file` may not be loaded as root: one line such as "/x/y.so is
// writable by group (mode 0664)", or "" when it and its directories pass.
std::string untrusted_reason(const std::filesystem::path &file);

// What a refusal for trust says to do about it.
inline constexpr const char *allow_insecure_hint =
    "set [agent] allow_insecure_plugins = true (or --allow-insecure-plugins) for development";

// Why a plugin of ABI major.minor cannot run on a host speaking
// SONDE_ABI_MAJOR.host_minor, one line; "" when it can (same major, minor not
// newer than the host's).
std::string abi_refusal(std::uint32_t major, std::uint32_t minor, std::uint32_t host_minor = SONDE_ABI_MINOR);

// Loads one shared object, checking the ABI before calling anything else;
// with trust enforced, the file and its directory are checked before that.
// `host_minor` is the minor to judge the plugin against: this host's, or an
// older one to tell whether the plugin would load there too.
PluginCandidate load_plugin(const std::filesystem::path &path, const PluginTrust &trust = {},
                            std::uint32_t host_minor = SONDE_ABI_MINOR);

// The path a built-in plugin's candidate shows.
inline constexpr const char *builtin_plugin_path = "(built-in)";

// The plugins compiled into sonde (the `self` input), in listing order.
std::vector<const sonde_plugin_descriptor *> builtin_plugins();

// Every loadable plugin of a set of directories, by unique name. The
// built-in plugins are registered first, without any file, so a shared
// object of the same name is refused as a duplicate.
class PluginRegistry {
public:
    explicit PluginRegistry(PluginTrust trust = {});
    // Scans each directory for *.so (in lexical order); later duplicates of a
    // name are refused.
    void scan(const std::vector<std::filesystem::path> &dirs);
    // Loads only what `names` need: each name's `<name>.so`, and every other
    // object only when a name is not found that way. The agent then maps only
    // the libraries it runs (and their dependencies: protobuf, OpenSSL, libbpf).
    // Repeatable: a reload that needs a plugin not opened so far opens it then;
    // objects already looked at are not opened again.
    void scan_for(const std::vector<std::filesystem::path> &dirs, const std::set<std::string> &names);

    std::shared_ptr<PluginLibrary> find(const std::string &name) const;
    // The refused object that would have provided `name` (a plugin is
    // looked for in <name>.so), or null.
    const PluginCandidate *refused(const std::string &name) const;
    const std::vector<PluginCandidate> &candidates() const { return candidates_; }
    std::vector<std::string> names() const;
    // One line per scanned directory that gave nothing: "plugin directory
    // /x: No such file or directory", "... is a regular file, not a
    // directory", "... has no *.so files".
    const std::vector<std::string> &directory_problems() const { return directory_problems_; }

private:
    std::vector<std::filesystem::path> shared_objects(const std::vector<std::filesystem::path> &dirs);
    void add(const std::filesystem::path &file);
    void add_builtin(const sonde_plugin_descriptor *descriptor);
    PluginTrust trust_;
    std::vector<PluginCandidate> candidates_;
    std::vector<std::string> directory_problems_;
};

}  // namespace sonde::core
