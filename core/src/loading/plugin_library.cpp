#include "loading/plugin_library.hpp"

#include "control/self_input.hpp"

#include "files/checked_file.hpp"

#include <boost/dll/shared_library.hpp>

#include <dlfcn.h>
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sonde::core {

PluginLibrary::PluginLibrary(std::filesystem::path path, std::unique_ptr<boost::dll::shared_library> library,
                             const sonde_plugin_descriptor *descriptor)
    : path_(std::move(path)), library_(std::move(library)), descriptor_(descriptor) {}

PluginLibrary::PluginLibrary(const sonde_plugin_descriptor *builtin_descriptor)
    : path_(builtin_plugin_path), descriptor_(builtin_descriptor) {}

PluginLibrary::~PluginLibrary() = default;

decltype(sonde_plugin_ops::describe) PluginLibrary::describe_function() const {
    const sonde_plugin_ops &table = ops();
    if (descriptor_->abi_minor < 4 || table.struct_size < offsetof(sonde_plugin_ops, describe) + sizeof table.describe)
        return nullptr;
    return table.describe;
}

std::vector<const sonde_plugin_descriptor *> builtin_plugins() { return {self_input_descriptor()}; }

namespace {

std::string version_text(std::uint32_t major, std::uint32_t minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

std::string check_descriptor(const sonde_plugin_descriptor *d, std::uint32_t host_minor = SONDE_ABI_MINOR) {
    if (!d) return "entry point returned no descriptor";
    if (d->struct_size < sizeof(sonde_plugin_descriptor)) return "descriptor is truncated";
    if (auto version = abi_refusal(d->abi_major, d->abi_minor, host_minor); !version.empty()) return version;
    if (d->kind != SONDE_PLUGIN_INPUT && d->kind != SONDE_PLUGIN_SINK) return "descriptor has an unknown kind";
    if (!d->name || !*d->name) return "descriptor has no name";
    if (!d->version) return "descriptor has no version";
    const sonde_plugin_ops *ops = d->ops;
    if (!ops || ops->struct_size < offsetof(sonde_plugin_ops, consume)) return "descriptor has no ops table";
    if (!ops->create || !ops->start || !ops->stop || !ops->destroy) return "ops table lacks a required function";
    bool has_consume = ops->struct_size >= offsetof(sonde_plugin_ops, flush) && ops->consume;
    if (d->kind == SONDE_PLUGIN_SINK && !has_consume) return "sink has no consume function";
    return "";
}

// "uid 65534 (nobody)".
std::string owner_text(uid_t uid) {
    std::string text = "uid " + std::to_string(uid);
    struct passwd entry{}, *found = nullptr;
    char buffer[1024];
    if (::getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found) text += " (" + std::string(found->pw_name) + ")";
    return text;
}

// "" when path (followed) is owned by root and writable by nobody else.
std::string ownership_problem(const std::filesystem::path &path, const char *what) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return std::string(what) + path.string() + ": " + std::strerror(errno);
    if (st.st_uid != 0) return std::string(what) + path.string() + " is owned by " + owner_text(st.st_uid) + ", not root";
    const bool group = st.st_mode & S_IWGRP, others = st.st_mode & S_IWOTH;
    if (!group && !others) return "";
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::string(what) + path.string() + " is writable by " + (group && others ? "group and others" : group ? "group" : "others") +
           " (mode " + mode + ")";
}

}  // namespace

std::string abi_refusal(std::uint32_t major, std::uint32_t minor, std::uint32_t host_minor) {
    const std::string host_version = version_text(SONDE_ABI_MAJOR, host_minor);
    if (major != SONDE_ABI_MAJOR)
        return "built for plugin ABI " + version_text(major, minor) + ", this sonde speaks " + host_version;
    if (minor > host_minor)
        return "needs plugin ABI " + version_text(major, minor) + ", newer than this sonde's " + host_version;
    return "";
}

std::string untrusted_reason(const std::filesystem::path &file) {
    std::error_code ec;
    const std::filesystem::path resolved = std::filesystem::canonical(file, ec);
    if (ec) return file.string() + ": " + ec.message();
    const std::filesystem::path directory = std::filesystem::absolute(file, ec).parent_path();
    // The object itself, then the directory it was found in, then (for a
    // symbolic link) the directory of what it resolves to.
    std::string problem = ownership_problem(resolved, "");
    if (problem.empty()) problem = ownership_problem(directory, "directory ");
    if (problem.empty() && resolved.parent_path() != std::filesystem::canonical(directory, ec))
        problem = ownership_problem(resolved.parent_path(), "directory ");
    if (problem.empty() || resolved == file) return problem;
    return file.string() + " -> " + problem;
}

PluginCandidate load_plugin(const std::filesystem::path &path, const PluginTrust &trust, std::uint32_t host_minor) {
    PluginCandidate out{path, nullptr, ""};
    if (trust.enforced()) {
        if (std::string problem = untrusted_reason(path); !problem.empty()) {
            out.refusal = problem + "; " + allow_insecure_hint;
            return out;
        }
    }
    auto library = std::make_unique<boost::dll::shared_library>();
    boost::dll::fs::error_code ec;
    library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
    if (ec) {
        const char *why = dlerror();
        out.refusal = "cannot load: " + (why ? std::string(why) : ec.message());
        return out;
    }
    // The data symbol tells the ABI without running plugin code.
    if (library->has(SONDE_ABI_SYMBOL)) {
        const auto &abi = library->get<const sonde_abi_version>(SONDE_ABI_SYMBOL);
        if (auto reason = abi_refusal(abi.abi_major, abi.abi_minor, host_minor); !reason.empty()) {
            out.refusal = reason;
            return out;
        }
    }
    if (!library->has(SONDE_ENTRY_SYMBOL)) {
        out.refusal = std::string("no entry symbol ") + SONDE_ENTRY_SYMBOL + " (not a sonde plugin of ABI " +
                      std::to_string(SONDE_ABI_MAJOR) + ")";
        return out;
    }
    auto entry = library->get<const sonde_plugin_descriptor *()>(SONDE_ENTRY_SYMBOL);
    const sonde_plugin_descriptor *descriptor = entry();
    if (auto reason = check_descriptor(descriptor, host_minor); !reason.empty()) {
        out.refusal = reason;
        return out;
    }
    out.library = std::make_shared<PluginLibrary>(path, std::move(library), descriptor);
    return out;
}

PluginRegistry::PluginRegistry(PluginTrust trust) : trust_(trust) {
    for (const sonde_plugin_descriptor *descriptor : builtin_plugins()) add_builtin(descriptor);
}

// A built-in is checked as a loaded object would be: a broken one is a
// refusal in `sonde plugins`, never a crash.
void PluginRegistry::add_builtin(const sonde_plugin_descriptor *descriptor) {
    PluginCandidate candidate{builtin_plugin_path, nullptr, check_descriptor(descriptor)};
    if (candidate.refusal.empty()) candidate.library = std::make_shared<PluginLibrary>(descriptor);
    candidates_.push_back(std::move(candidate));
}

// The *.so files of the directories, each directory's in lexical order; a
// directory that gives none is a problem to report.
std::vector<std::filesystem::path> PluginRegistry::shared_objects(const std::vector<std::filesystem::path> &dirs) {
    std::vector<std::filesystem::path> all;
    for (const auto &dir : dirs) {
        std::vector<std::filesystem::path> files;
        std::error_code ec;
        for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
            if (it->path().extension() == ".so") files.push_back(it->path());
        if (ec) {
            std::string why = check_directory(dir.string());  // "dir: is a FIFO, not a directory"
            directory_problems_.push_back("plugin directory " + (why.empty() ? dir.string() + ": " + ec.message() : why));
        } else if (files.empty()) {
            directory_problems_.push_back("plugin directory " + dir.string() + " has no *.so files");
        }
        std::sort(files.begin(), files.end());
        all.insert(all.end(), files.begin(), files.end());
    }
    return all;
}

void PluginRegistry::scan(const std::vector<std::filesystem::path> &dirs) {
    for (const auto &file : shared_objects(dirs)) add(file);
}

void PluginRegistry::scan_for(const std::vector<std::filesystem::path> &dirs, const std::set<std::string> &names) {
    directory_problems_.clear();
    std::vector<std::filesystem::path> files = shared_objects(dirs), others;
    for (const auto &file : files) {
        if (names.count(file.stem().string())) add(file);
        else others.push_back(file);
    }
    for (const auto &name : names) {
        if (find(name)) continue;
        for (const auto &file : others) add(file);  // some plugin lives in a file named otherwise
        return;
    }
}

void PluginRegistry::add(const std::filesystem::path &file) {
    for (const auto &c : candidates_)
        if (c.path == file) return;  // looked at by an earlier scan (scan_for is repeated on reload)
    PluginCandidate candidate = load_plugin(file, trust_);
    if (candidate.library) {
        if (auto existing = find(candidate.library->name())) {
            candidate.refusal = "duplicate plugin name '" + candidate.library->name() + "' (already loaded from " +
                                existing->path().string() + ")";
            candidate.library.reset();
        }
    }
    candidates_.push_back(std::move(candidate));
}

std::shared_ptr<PluginLibrary> PluginRegistry::find(const std::string &name) const {
    for (const auto &c : candidates_)
        if (c.library && c.library->name() == name) return c.library;
    return nullptr;
}

const PluginCandidate *PluginRegistry::refused(const std::string &name) const {
    for (const auto &c : candidates_)
        if (!c.library && c.path.stem() == name) return &c;
    return nullptr;
}

std::vector<std::string> PluginRegistry::names() const {
    std::vector<std::string> out;
    for (const auto &c : candidates_)
        if (c.library) out.push_back(c.library->name());
    return out;
}

}  // namespace sonde::core
