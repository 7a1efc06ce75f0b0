// Opening a file named by configuration or the command line, checked for
// what it is before anything is read from it.
//
// The file is opened with O_NONBLOCK (a FIFO with no writer must not hang the
// caller) and O_CLOEXEC, and the opened descriptor is fstat()ed, not the path,
// so what is checked is what is read. Anything but a regular file is refused
// ("is a FIFO", "is a directory", "is a character device"), and so is a file
// larger than the caller's limit ("is 3.2 GiB; the limit for a TLS
// certificate is 1 MiB"). Reading never goes past the limit, even when the
// file grows after the check. Every error names the path.
//
// Header-only and free of the SDK, so the core, plugins and tools share it.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sonde {

// "a FIFO", "a directory", ... for the type bits of a st_mode.
inline const char *file_type_name(mode_t mode) noexcept {
    switch (mode & S_IFMT) {
        case S_IFREG: return "a regular file";
        case S_IFDIR: return "a directory";
        case S_IFIFO: return "a FIFO";
        case S_IFCHR: return "a character device";
        case S_IFBLK: return "a block device";
        case S_IFSOCK: return "a socket";
        case S_IFLNK: return "a symbolic link";
        default: return "of an unknown file type";
    }
}

// 1536 -> "1.5 KiB", 3435973837 -> "3.2 GiB", 100 -> "100 bytes".
inline std::string format_byte_size(std::uint64_t bytes) {
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
    double value = static_cast<double>(bytes);
    int unit = -1;
    while (value >= 1024 && unit < 5) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    if (value == static_cast<double>(static_cast<std::uint64_t>(value)))
        std::snprintf(text, sizeof text, "%" PRIu64 " %s", static_cast<std::uint64_t>(value), units[unit]);
    else
        std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
    return text;
}

// What a caller allows: how large, and what the file is for (named in the
// size refusal: "the limit for <what> is 1 MiB").
struct FileLimits {
    std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max();
    std::string_view what = "this file";
};

// An open regular file, checked. Move-only; closes on destruction.
class CheckedFile {
public:
    CheckedFile() = default;
    ~CheckedFile() { close(); }
    CheckedFile(CheckedFile &&other) noexcept
        : fd_(std::exchange(other.fd_, -1)), size_(other.size_), limit_(other.limit_), read_(other.read_),
          path_(std::move(other.path_)), what_(std::move(other.what_)) {}
    CheckedFile &operator=(CheckedFile &&other) noexcept {
        if (this != &other) {
            close();
            fd_ = std::exchange(other.fd_, -1);
            size_ = other.size_;
            limit_ = other.limit_;
            read_ = other.read_;
            path_ = std::move(other.path_);
            what_ = std::move(other.what_);
        }
        return *this;
    }
    CheckedFile(const CheckedFile &) = delete;
    CheckedFile &operator=(const CheckedFile &) = delete;

    // Opens and checks path. On refusal returns an empty CheckedFile and sets
    // error to one line naming the path and the reason.
    static CheckedFile open(const std::string &path, const FileLimits &limits, std::string &error) {
        CheckedFile file;
        int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            error = path + ": cannot open: " + std::strerror(errno);
            return file;
        }
        struct stat st{};
        if (::fstat(fd, &st) != 0) {
            error = path + ": cannot stat: " + std::strerror(errno);
            ::close(fd);
            return file;
        }
        if (!S_ISREG(st.st_mode)) {
            error = path + ": is " + file_type_name(st.st_mode) + ", not a regular file";
            ::close(fd);
            return file;
        }
        const auto size = static_cast<std::uint64_t>(st.st_size);
        if (size > limits.max_bytes) {
            error = path + ": is " + format_byte_size(size) + "; the limit for " + std::string(limits.what) + " is " +
                    format_byte_size(limits.max_bytes);
            ::close(fd);
            return file;
        }
        file.fd_ = fd;
        file.size_ = size;
        file.limit_ = limits.max_bytes;
        file.path_ = path;
        file.what_ = limits.what;
        return file;
    }

    explicit operator bool() const noexcept { return fd_ >= 0; }
    int fd() const noexcept { return fd_; }
    const std::string &path() const noexcept { return path_; }
    // The size fstat() saw at open.
    std::uint64_t size() const noexcept { return size_; }

    // Reads up to `capacity` bytes at the current position. Returns the count
    // (0 at the end), or nullopt with error set: a read error, or the file
    // having grown past the limit since it was opened.
    std::optional<std::size_t> read_some(char *buffer, std::size_t capacity, std::string &error) {
        if (fd_ < 0) {
            error = path_ + ": not open";
            return std::nullopt;
        }
        // One byte past the limit is asked for, so growth past it is seen.
        const std::uint64_t allowed = limit_ - read_ + (limit_ == std::numeric_limits<std::uint64_t>::max() ? 0 : 1);
        if (allowed < capacity) capacity = static_cast<std::size_t>(allowed);
        for (;;) {
            ssize_t n = ::read(fd_, buffer, capacity);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                error = path_ + ": cannot read: " + std::strerror(errno);
                return std::nullopt;
            }
            read_ += static_cast<std::uint64_t>(n);
            if (read_ > limit_) {
                error = path_ + ": grew past " + format_byte_size(limit_) + " (the limit for " + what_ +
                        ") while being read";
                return std::nullopt;
            }
            return static_cast<std::size_t>(n);
        }
    }

    // The rest of the file into a string, bounded by the limit.
    std::optional<std::string> read_all(std::string &error) {
        std::string text;
        if (size_ < (64u << 20)) text.reserve(static_cast<std::size_t>(size_));
        char buffer[65536];
        for (;;) {
            auto n = read_some(buffer, sizeof buffer, error);
            if (!n) return std::nullopt;
            if (*n == 0) return text;
            text.append(buffer, *n);
        }
    }

private:
    void close() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    int fd_ = -1;
    std::uint64_t size_ = 0;
    std::uint64_t limit_ = 0;
    std::uint64_t read_ = 0;
    std::string path_;
    std::string what_;
};

// A whole regular file of at most limits.max_bytes, or nullopt with error
// set to one line naming the path and the reason.
inline std::optional<std::string> read_checked_file(const std::string &path, const FileLimits &limits,
                                                    std::string &error) {
    CheckedFile file = CheckedFile::open(path, limits, error);
    if (!file) return std::nullopt;
    return file.read_all(error);
}

// Checks that path names a directory (following symbolic links); returns ""
// or one line naming the path and why not ("is a FIFO, not a directory").
inline std::string check_directory(const std::string &path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return path + ": " + std::strerror(errno);
    if (!S_ISDIR(st.st_mode)) return path + ": is " + std::string(file_type_name(st.st_mode)) + ", not a directory";
    return "";
}

}  // namespace sonde
