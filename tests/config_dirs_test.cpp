// conf.d layered from several directories (config/config_dirs.hpp): vendor
// defaults first, the administrator's directory after, systemd's rules.
#include "config/config_dirs.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace sonde::core;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char name[] = "/tmp/sonde-layers-XXXXXX";
        path = ::mkdtemp(name);
    }
    ~TempDir() { fs::remove_all(path); }
    fs::path write(const std::string &name, const std::string &text) const {
        std::ofstream(path / name) << text;
        return path / name;
    }
};

std::vector<std::string> names(const std::vector<fs::path> &files) {
    std::vector<std::string> out;
    for (const auto &f : files) out.push_back(f.parent_path().filename().string() + "/" + f.filename().string());
    return out;
}

}  // namespace

TEST_CASE("a later directory's file replaces the earlier one of its name; the rest merge in name order") {
    TempDir root;
    fs::create_directories(root.path / "vendor");
    fs::create_directories(root.path / "admin");
    std::ofstream(root.path / "vendor/10-agent.toml") << "[agent]\nthreads = 1\n";
    std::ofstream(root.path / "vendor/30-syscall.toml") << "[sinks.stdout]\n";
    std::ofstream(root.path / "admin/20-local.toml") << "[agent]\nthreads = 3\n";
    std::ofstream(root.path / "admin/30-syscall.toml") << "[sinks.other]\nplugin = \"stdout\"\n";

    ConfigFiles files = list_config_files({{root.path / "vendor"}, {root.path / "admin"}});
    CHECK(files.errors.empty());
    CHECK(names(files.files) ==
          std::vector<std::string>{"vendor/10-agent.toml", "admin/20-local.toml", "admin/30-syscall.toml"});

    ConfigLoad load = load_config_dirs({{root.path / "vendor"}, {root.path / "admin"}});
    REQUIRE(load.ok());
    CHECK(load.config.threads == 3);  // 20-local.toml comes after 10-agent.toml
    REQUIRE(load.config.sinks.size() == 1);
    CHECK(load.config.sinks[0].name == "other");  // the vendor's 30-syscall.toml was replaced
}

TEST_CASE("a symlink to /dev/null masks the file of its name; an optional missing directory is nothing") {
    TempDir root;
    fs::create_directories(root.path / "vendor");
    fs::create_directories(root.path / "admin");
    std::ofstream(root.path / "vendor/10-agent.toml") << "[agent]\n";
    std::ofstream(root.path / "vendor/90-stdout.toml") << "[sinks.stdout]\n";
    fs::create_symlink("/dev/null", root.path / "admin/90-stdout.toml");

    ConfigLoad load = load_config_dirs({{root.path / "vendor"}, {root.path / "admin"}, {root.path / "gone", true}});
    CHECK(load.ok());
    CHECK(load.config.sinks.empty());
    CHECK(names(load.files) == std::vector<std::string>{"vendor/10-agent.toml"});
}

TEST_CASE("a required missing directory is an error; no file at all names every directory searched") {
    TempDir root;
    fs::create_directories(root.path / "empty");
    ConfigFiles missing = list_config_files({{root.path / "gone"}});
    REQUIRE(missing.errors.size() == 1);
    CHECK(missing.errors[0].where.file == (root.path / "gone").string());

    ConfigFiles none = list_config_files({{root.path / "empty"}, {root.path / "gone", true}});
    REQUIRE(none.errors.size() == 1);
    CHECK(none.errors[0].format() == (root.path / "empty").string() + ":" + (root.path / "gone").string() +
                                         ":0:0: no *.toml files in config directory");
}
