// A directory of a test's own under /tmp (mode 0755, so an agent a test runs
// as another user can read it), removed with everything in it.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

namespace sonde_test {

struct TempDir {
    std::filesystem::path path;

    TempDir() {
        char name[] = "/tmp/sonde-test-XXXXXX";
        path = ::mkdtemp(name);
        std::filesystem::permissions(path, std::filesystem::perms(0755));
    }
    ~TempDir() {
        if (!path.empty()) std::filesystem::remove_all(path);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    TempDir(TempDir &&other) noexcept : path(std::exchange(other.path, {})) {}

    void write(const std::string &name, const std::string &text) const { std::ofstream(path / name) << text; }
};

}  // namespace sonde_test
