// Plugin loading as root: an object or directory that someone other than
// root could have written is refused with one line saying who and how; the
// development flag loads it anyway; a plugin directory that gives nothing
// says why.
#include "loading/plugin_library.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace sonde::core;

using sonde_test::TempDir;

namespace {


// A copy of a built test plugin, owned by root, mode 0755, in a 0755 directory.
fs::path copy_plugin(const fs::path &dir) {
    fs::path to = dir / "counting.so";
    fs::copy_file(fs::path(ABI_PLUGIN_DIR) / "counting.so", to);
    fs::permissions(to, fs::perms(0755));
    return to;
}

const PluginTrust as_root{true, false};
const PluginTrust as_root_allowing{true, true};
const std::string hint = std::string("; ") + allow_insecure_hint;

}  // namespace

TEST_CASE("as root, a plugin owned by root and writable only by it loads") {
    REQUIRE(::geteuid() == 0);  // the test machines run as root; the checks below need it
    TempDir dir;
    PluginCandidate c = load_plugin(copy_plugin(dir.path), as_root);
    CHECK(c.refusal == "");
    CHECK(c.library);
}

TEST_CASE("as root, a plugin writable by group or others is refused with its mode, unless allowed") {
    TempDir dir;
    const fs::path so = copy_plugin(dir.path);
    ::chmod(so.c_str(), 0775);
    PluginCandidate c = load_plugin(so, as_root);
    CHECK_FALSE(c.library);
    CHECK(c.refusal == so.string() + " is writable by group (mode 0775)" + hint);
    ::chmod(so.c_str(), 0757);
    CHECK(load_plugin(so, as_root).refusal == so.string() + " is writable by others (mode 0757)" + hint);
    ::chmod(so.c_str(), 0777);
    CHECK(load_plugin(so, as_root).refusal == so.string() + " is writable by group and others (mode 0777)" + hint);
    PluginCandidate allowed = load_plugin(so, as_root_allowing);
    CHECK(allowed.refusal == "");
    CHECK(allowed.library);
    // Not root: the file is only as trusted as the user running sonde, who could write it anyway.
    CHECK(load_plugin(so, PluginTrust{false, false}).library);
}

TEST_CASE("as root, a plugin owned by another user is refused, naming the owner") {
    TempDir dir;
    const fs::path so = copy_plugin(dir.path);
    REQUIRE(::chown(so.c_str(), 65534, 65534) == 0);
    PluginCandidate c = load_plugin(so, as_root);
    CHECK_FALSE(c.library);
    CHECK(c.refusal.rfind(so.string() + " is owned by uid 65534", 0) == 0);
    CHECK(c.refusal.find(", not root" + hint) != std::string::npos);
    CHECK(load_plugin(so, as_root_allowing).library);
}

TEST_CASE("as root, a plugin in a directory writable by others is refused: anyone could replace it") {
    TempDir dir;
    const fs::path so = copy_plugin(dir.path);
    fs::permissions(dir.path, fs::perms(01777));  // even with the sticky bit: the name could have been planted
    CHECK(load_plugin(so, as_root).refusal ==
          "directory " + dir.path.string() + " is writable by group and others (mode 1777)" + hint);
}

TEST_CASE("as root, a symbolic link to a world-writable plugin elsewhere is refused, naming both") {
    TempDir good, elsewhere;
    const fs::path target = copy_plugin(elsewhere.path);
    ::chmod(target.c_str(), 0666);
    fs::create_symlink(target, good.path / "counting.so");
    PluginCandidate c = load_plugin(good.path / "counting.so", as_root);
    CHECK_FALSE(c.library);
    CHECK(c.refusal == (good.path / "counting.so").string() + " -> " + target.string() +
                           " is writable by group and others (mode 0666)" + hint);
    // A good file behind a link from a good directory, but in a directory others may write.
    ::chmod(target.c_str(), 0755);
    fs::permissions(elsewhere.path, fs::perms(0777));
    CHECK(load_plugin(good.path / "counting.so", as_root).refusal == (good.path / "counting.so").string() +
                                                                          " -> directory " + elsewhere.path.string() +
                                                                          " is writable by group and others (mode 0777)" +
                                                                          hint);
}

TEST_CASE("the build tree's plugins pass the root check as built here (umask 022)") {
    PluginRegistry registry(as_root);
    registry.scan({ABI_PLUGIN_DIR});
    CHECK(registry.find("counting"));
    for (const auto &c : registry.candidates()) CHECK(c.refusal.find("writable") == std::string::npos);
}

TEST_CASE("a plugin directory that is missing, a file or empty is one line each") {
    TempDir dir;
    fs::create_directory(dir.path / "empty");
    const fs::path so = copy_plugin(dir.path);
    PluginRegistry registry(as_root);
    registry.scan({dir.path / "missing", so, dir.path / "empty", dir.path});
    CHECK(registry.directory_problems() ==
          std::vector<std::string>{"plugin directory " + (dir.path / "missing").string() + ": No such file or directory",
                                   "plugin directory " + so.string() + ": is a regular file, not a directory",
                                   "plugin directory " + (dir.path / "empty").string() + " has no *.so files"});
    CHECK(registry.find("counting"));
}
