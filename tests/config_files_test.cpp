// conf.d loading meets files that are not what they claim: a FIFO, a device,
// a directory or a huge file among the *.toml, and a --config-dir that is not
// a directory. Each is one error naming the path and what it is; nothing
// hangs and nothing large is read.
#include "config/config.hpp"
#include "config/config_dirs.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace sonde::core;

namespace {

struct ConfDir {
    fs::path path;
    ConfDir() {
        char name[] = "/tmp/sonde-conf-XXXXXX";
        path = ::mkdtemp(name);
        std::ofstream(path / "10-agent.toml") << "[agent]\nthreads = 1\n";
    }
    ~ConfDir() { fs::remove_all(path); }
};

std::vector<std::string> formatted(const ConfigLoad &load) {
    std::vector<std::string> out;
    for (const auto &e : load.errors) out.push_back(e.format());
    return out;
}

}  // namespace

TEST_CASE("a FIFO named *.toml is an error naming it, and loading does not wait for a writer") {
    ConfDir dir;
    REQUIRE(::mkfifo((dir.path / "20-fifo.toml").c_str(), 0600) == 0);
    auto started = std::chrono::steady_clock::now();
    ConfigLoad load = load_config_dirs({{dir.path}});
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
    CHECK(formatted(load) ==
          std::vector<std::string>{(dir.path / "20-fifo.toml").string() + ":0:0: is a FIFO, not a regular file"});
}

TEST_CASE("a device linked in as *.toml is refused, not read") {
    ConfDir dir;
    fs::create_symlink("/dev/zero", dir.path / "20-zero.toml");
    ConfigLoad load = load_config_dirs({{dir.path}});
    CHECK(formatted(load) == std::vector<std::string>{(dir.path / "20-zero.toml").string() +
                                                      ":0:0: is a character device, not a regular file"});
}

TEST_CASE("a huge *.toml is refused by its size before it is read") {
    ConfDir dir;
    std::ofstream(dir.path / "20-huge.toml") << "";
    fs::resize_file(dir.path / "20-huge.toml", 8ull << 30);  // sparse
    ConfigLoad load = load_config_dirs({{dir.path}});
    CHECK(formatted(load) == std::vector<std::string>{(dir.path / "20-huge.toml").string() +
                                                      ":0:0: is 8 GiB; the limit for a configuration file is 4 MiB"});
}

TEST_CASE("the good files still load beside an unreadable one, and the error comes first") {
    ConfDir dir;
    std::ofstream(dir.path / "30-bad.toml") << "[agent]\nthreads = 0\n";
    REQUIRE(::mkfifo((dir.path / "20-fifo.toml").c_str(), 0600) == 0);
    ConfigLoad load = load_config_dirs({{dir.path}});
    auto errors = formatted(load);
    REQUIRE(errors.size() == 2);
    CHECK(errors[0].find("20-fifo.toml:0:0: is a FIFO") != std::string::npos);
    CHECK(errors[1].find("30-bad.toml:2:") != std::string::npos);
}

TEST_CASE("a config directory that is a file, a FIFO or missing says which") {
    ConfDir dir;
    const fs::path file = dir.path / "10-agent.toml";
    CHECK(formatted(load_config_dirs({{file}})) ==
          std::vector<std::string>{file.string() + ":0:0: cannot read config directory: is a regular file, not a directory"});
    REQUIRE(::mkfifo((dir.path / "fifo").c_str(), 0600) == 0);
    CHECK(formatted(load_config_dirs({{dir.path / "fifo"}})) ==
          std::vector<std::string>{(dir.path / "fifo").string() +
                                   ":0:0: cannot read config directory: is a FIFO, not a directory"});
    CHECK(formatted(load_config_dirs({{dir.path / "missing"}})) ==
          std::vector<std::string>{(dir.path / "missing").string() +
                                   ":0:0: cannot read config directory: No such file or directory"});
}
