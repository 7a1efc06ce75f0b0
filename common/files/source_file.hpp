// Reading small pseudo-files (/proc, /sys) for scraper plugins: into a
// buffer reused across reads, and a failing source reported once, with its
// path, not on every tick (and its recovery once). A file of procfs or sysfs
// stays open and is read again from offset 0, which regenerates it (open and
// close were an eighth of a procfs + net cycle); any other file, such as a
// test fixture, is opened afresh each time, so a replaced file is seen.
#pragma once

#include <sonde/sdk.hpp>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace sonde {

class SourceFile {
public:
    explicit SourceFile(std::string path, std::size_t initial_capacity = 16384) : path_(std::move(path)) {
        buffer_.resize(initial_capacity);
    }
    ~SourceFile() { close_file(); }
    SourceFile(const SourceFile &) = delete;
    SourceFile &operator=(const SourceFile &) = delete;

    const std::string &path() const noexcept { return path_; }

    // The whole file, or nullopt (reported through ctx the first time).
    std::optional<std::string_view> read(Context &ctx) {
        if (fd_ < 0) {
            fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd_ < 0) return fail(ctx, std::string("cannot open: ") + std::strerror(errno));
            struct statfs fs{};
            keep_open_ = ::fstatfs(fd_, &fs) == 0 && (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC);
        }
        std::size_t size = 0;
        for (;;) {
            if (size == buffer_.size()) buffer_.resize(buffer_.size() * 2);
            ssize_t n = ::pread(fd_, buffer_.data() + size, buffer_.size() - size, static_cast<off_t>(size));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                int err = errno;
                close_file();
                return fail(ctx, std::string("cannot read: ") + std::strerror(err));
            }
            if (n == 0) break;
            size += static_cast<std::size_t>(n);
        }
        if (!keep_open_) close_file();
        return std::string_view(buffer_.data(), size);
    }

    // Tells whether the content parsed; a failure is reported once.
    void parsed(Context &ctx, const std::optional<std::string> &error) {
        if (error) fail(ctx, "cannot parse: " + *error);
        else recovered(ctx);
    }

private:
    void close_file() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    std::nullopt_t fail(Context &ctx, const std::string &why) {
        if (!failing_) ctx.warn(path_ + ": " + why + " (reported once until it recovers)");
        failing_ = true;
        return std::nullopt;
    }
    void recovered(Context &ctx) {
        if (failing_) ctx.info(path_ + ": readable again");
        failing_ = false;
    }

    std::string path_;
    std::string buffer_;
    int fd_ = -1;
    bool keep_open_ = false;  // procfs or sysfs: read again from offset 0
    bool failing_ = false;
};

}  // namespace sonde
