// CheckedFile: what is not a regular file, or is too large, is refused with
// its path and reason before anything is read; a FIFO never blocks.
#include "temp_dir.hpp"

#include "files/checked_file.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using sonde::CheckedFile;
using sonde::FileLimits;

using sonde_test::TempDir;

namespace {


void write_file(const fs::path &path, const std::string &text) {
    std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("a regular file within its limit is read whole") {
    TempDir dir;
    write_file(dir.path / "a.pem", "hello\n");
    std::string error;
    auto text = sonde::read_checked_file(dir.path / "a.pem", {1024, "a test file"}, error);
    REQUIRE(text);
    CHECK(*text == "hello\n");
    CHECK(error.empty());
}

TEST_CASE("a FIFO is refused at once, without waiting for a writer") {
    TempDir dir;
    const fs::path fifo = dir.path / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::string error;
    auto started = std::chrono::steady_clock::now();
    auto text = sonde::read_checked_file(fifo, {}, error);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
    CHECK_FALSE(text);
    CHECK(error == fifo.string() + ": is a FIFO, not a regular file");
}

TEST_CASE("a directory and a character device are refused with what they are") {
    TempDir dir;
    std::string error;
    CHECK_FALSE(sonde::read_checked_file(dir.path, {}, error));
    CHECK(error == dir.path.string() + ": is a directory, not a regular file");
    CHECK_FALSE(sonde::read_checked_file("/dev/zero", {}, error));
    CHECK(error == "/dev/zero: is a character device, not a regular file");
    CHECK_FALSE(CheckedFile::open("/dev/null", {}, error));
    CHECK(error == "/dev/null: is a character device, not a regular file");
}

TEST_CASE("a huge sparse file is refused by its size, before any read") {
    TempDir dir;
    const fs::path huge = dir.path / "huge.pem";
    write_file(huge, "");
    fs::resize_file(huge, 3435973837ull);  // 3.2 GiB, sparse: nothing is written
    std::string error;
    CHECK_FALSE(sonde::read_checked_file(huge, {1u << 20, "a TLS certificate"}, error));
    CHECK(error == huge.string() + ": is 3.2 GiB; the limit for a TLS certificate is 1 MiB");
}

TEST_CASE("a missing file names the path and the system's reason") {
    std::string error;
    CHECK_FALSE(sonde::read_checked_file("/nonexistent/sonde.toml", {}, error));
    CHECK(error == "/nonexistent/sonde.toml: cannot open: No such file or directory");
}

TEST_CASE("a symbolic link is judged by what it points to") {
    TempDir dir;
    write_file(dir.path / "real.toml", "x = 1\n");
    fs::create_symlink(dir.path / "real.toml", dir.path / "link.toml");
    fs::create_symlink("/dev/zero", dir.path / "zero.toml");
    std::string error;
    CHECK(sonde::read_checked_file(dir.path / "link.toml", {}, error) == std::optional<std::string>("x = 1\n"));
    CHECK_FALSE(sonde::read_checked_file(dir.path / "zero.toml", {}, error));
    CHECK(error == (dir.path / "zero.toml").string() + ": is a character device, not a regular file");
}

TEST_CASE("a file growing past the limit after the check is cut off with an error") {
    TempDir dir;
    const fs::path path = dir.path / "growing";
    write_file(path, std::string(100, 'a'));
    std::string error;
    CheckedFile file = CheckedFile::open(path, {150, "a growing file"}, error);
    REQUIRE(file);
    std::ofstream(path, std::ios::binary | std::ios::app) << std::string(100, 'b');  // now 200 bytes
    CHECK_FALSE(file.read_all(error));
    CHECK(error == path.string() + ": grew past 150 bytes (the limit for a growing file) while being read");
}

TEST_CASE("a directory check names what the path is instead") {
    TempDir dir;
    CHECK(sonde::check_directory(dir.path) == "");
    write_file(dir.path / "file", "");
    CHECK(sonde::check_directory(dir.path / "file") == (dir.path / "file").string() + ": is a regular file, not a directory");
    REQUIRE(::mkfifo((dir.path / "fifo").c_str(), 0600) == 0);
    CHECK(sonde::check_directory(dir.path / "fifo") == (dir.path / "fifo").string() + ": is a FIFO, not a directory");
    CHECK(sonde::check_directory(dir.path / "missing") == (dir.path / "missing").string() + ": No such file or directory");
}

TEST_CASE("sizes are written in binary units") {
    CHECK(sonde::format_byte_size(100) == "100 bytes");
    CHECK(sonde::format_byte_size(1) == "1 byte");
    CHECK(sonde::format_byte_size(1536) == "1.5 KiB");
    CHECK(sonde::format_byte_size(1u << 20) == "1 MiB");
    CHECK(sonde::format_byte_size(UINT64_MAX) == "16 EiB");
}
