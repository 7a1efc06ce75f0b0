// file sink: records as JSON lines (docs/json-schema.md) into rotating
// files under a hard disk budget. Lines are self-delimiting, so a reader of
// a file cut by a crash stops cleanly at the torn last line. See README.md.
#include <sonde/record_json.hpp>
#include <sonde/sdk.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

namespace sonde::file_sink {
namespace {

namespace fs = std::filesystem;

enum class SyncPolicy { never, on_rotate, on_flush };

SyncPolicy parse_sync(const std::string &s) {
    if (s == "never") return SyncPolicy::never;
    if (s == "on_rotate") return SyncPolicy::on_rotate;
    if (s == "on_flush") return SyncPolicy::on_flush;
    throw ConfigError("fsync", "expected \"never\", \"on_rotate\" or \"on_flush\"");
}

class FileSink final : public SinkPlugin {
public:
    explicit FileSink(Context &ctx)
        : SinkPlugin(ctx),
          directory_(ctx.config().get_string("directory", "")),
          prefix_(ctx.config().get_string("prefix", "sonde")),
          max_file_bytes_(ctx.config().get_size_bytes("max_file_size", 64ull << 20)),
          max_file_age_ns_(ctx.config().get_duration_ns("max_file_age", 3600'000'000'000ull)),
          max_total_bytes_(ctx.config().get_size_bytes("max_total_size", 1ull << 30)),
          flush_interval_ns_(ctx.config().get_duration_ns("flush_interval", 1'000'000'000)),
          max_buffer_bytes_(ctx.config().get_size_bytes("max_buffer", 16ull << 20)),
          sync_(parse_sync(ctx.config().get_string("fsync", "on_rotate"))) {
        if (ctx.config().get_string("format", "jsonl") != "jsonl")
            throw ConfigError("format", "only \"jsonl\" is available in this version");
        if (directory_.empty()) throw ConfigError("directory", "is required: where the files go");
        if (prefix_.empty() || prefix_.find('/') != std::string::npos)
            throw ConfigError("prefix", "must be a non-empty file name prefix");
        if (max_file_bytes_ < 1024) throw ConfigError("max_file_size", "must be at least 1KiB");
        if (max_total_bytes_ < max_file_bytes_)
            throw ConfigError("max_total_size", "must be at least max_file_size");
    }

    void start() override {
        std::error_code ec;
        fs::create_directories(directory_, ec);
        if (ec) ctx_.warn(directory_ + ": " + ec.message() + " (will retry)");
        ctx_.every(flush_interval_ns_, [this] { write_out(); });
    }

    void stop() override {
        write_out();
        close_file();
    }

    void flush() override { write_out(); }

    sonde_status consume(const sonde_batch &batch) override {
        // Full buffer: the disk is not taking writes. The host keeps the batch
        // and applies the queue's overflow policy, counting what it drops.
        if (buffer_.size() >= max_buffer_bytes_) return SONDE_RETRY;
        writer_.append(buffer_, batch);
        if (buffer_.size() >= write_threshold_bytes) write_out();  // don't wait for the timer
        return SONDE_OK;
    }

private:
    static constexpr std::size_t write_threshold_bytes = 1 << 20;

    // Writes the buffer out, whole lines at a time, rotating and deleting
    // old files so the directory never holds more than max_total_size.
    void write_out() {
        while (!buffer_.empty()) {
            std::size_t chunk = chunk_size();
            if (!ensure_file(chunk) || !make_room(chunk)) return;
            ssize_t n = ::write(fd_, buffer_.data(), chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                failed("write " + path_, errno);
                if (errno == ENOSPC) close_file();  // start afresh once space returns
                return;
            }
            buffer_.erase(0, static_cast<std::size_t>(n));
            file_bytes_ += static_cast<std::uint64_t>(n);
            total_bytes_ += static_cast<std::uint64_t>(n);
            recovered();
        }
        if (sync_ == SyncPolicy::on_flush && fd_ >= 0) ::fdatasync(fd_);
    }

    // The largest prefix of the buffer made of whole lines that fits one file.
    std::size_t chunk_size() const {
        std::size_t limit = static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), max_file_bytes_));
        if (limit == buffer_.size()) return limit;
        std::size_t end = buffer_.rfind('\n', limit - 1);
        return end == std::string::npos ? limit : end + 1;  // a line longer than a file is split
    }

    // An open file with room for `bytes`, rotating by size and age.
    bool ensure_file(std::size_t bytes) {
        const std::int64_t now = now_ns();
        if (fd_ >= 0 && file_bytes_ > 0 &&
            (file_bytes_ + bytes > max_file_bytes_ ||
             static_cast<std::uint64_t>(now - opened_ns_) >= max_file_age_ns_))
            close_file();
        if (fd_ >= 0) return true;
        std::error_code ec;
        fs::create_directories(directory_, ec);  // it may have vanished
        char sequence[16];
        std::snprintf(sequence, sizeof sequence, "%06llu", static_cast<unsigned long long>(++sequence_ % 1000000));
        path_ = directory_ + "/" + prefix_ + "-" + timestamp(now) + "-" + sequence + ".jsonl";
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            failed("open " + path_, errno);
            return false;
        }
        opened_ns_ = now;
        file_bytes_ = 0;
        total_bytes_ = directory_bytes();
        return true;
    }

    // Deletes the oldest closed files until `bytes` more fit the budget.
    bool make_room(std::size_t bytes) {
        if (total_bytes_ + bytes <= max_total_bytes_) return true;
        for (const auto &[name, size] : closed_files()) {
            std::error_code ec;
            if (fs::remove(name, ec)) total_bytes_ -= std::min(total_bytes_, size);
            if (total_bytes_ + bytes <= max_total_bytes_) return true;
        }
        total_bytes_ = directory_bytes();
        if (total_bytes_ + bytes <= max_total_bytes_) return true;
        failed("budget of " + std::to_string(max_total_bytes_) + " bytes leaves no room in " + directory_, ENOSPC);
        return false;
    }

    // This sink's files except the one being written, oldest first.
    std::vector<std::pair<std::string, std::uint64_t>> closed_files() const {
        std::vector<std::pair<std::string, std::uint64_t>> files;
        std::error_code ec;
        for (fs::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
            std::string name = it->path().filename().string();
            if (name.rfind(prefix_ + "-", 0) != 0 || it->path().extension() != ".jsonl" || it->path() == path_) continue;
            std::error_code size_ec;
            auto size = fs::file_size(it->path(), size_ec);
            files.emplace_back(it->path().string(), size_ec ? 0 : size);
        }
        std::sort(files.begin(), files.end());  // names sort by creation time
        return files;
    }

    std::uint64_t directory_bytes() const {
        std::uint64_t total = file_bytes_;
        for (const auto &[name, size] : closed_files()) total += size;
        return total;
    }

    void close_file() {
        if (fd_ < 0) return;
        if (sync_ != SyncPolicy::never) ::fdatasync(fd_);
        ::close(fd_);
        fd_ = -1;
        file_bytes_ = 0;
    }

    static std::string timestamp(std::int64_t ns) {
        std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
        std::tm tm{};
        gmtime_r(&seconds, &tm);
        char text[32];
        std::size_t n = std::strftime(text, sizeof text, "%Y%m%dT%H%M%S", &tm);
        std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>((ns / 1'000'000) % 1000));
        return text;
    }

    // Reports a failing disk once until it works again.
    void failed(const std::string &what, int error) {
        if (!failing_) ctx_.warn(what + ": " + std::strerror(error) + "; keeping records and retrying");
        failing_ = true;
    }
    void recovered() {
        if (failing_) ctx_.info("writing to " + directory_ + " again");
        failing_ = false;
    }

    std::string directory_, prefix_;
    std::uint64_t max_file_bytes_, max_file_age_ns_, max_total_bytes_, flush_interval_ns_, max_buffer_bytes_;
    SyncPolicy sync_;
    RecordJsonWriter writer_;
    std::string buffer_;
    int fd_ = -1;
    std::string path_;
    std::int64_t opened_ns_ = 0;
    std::uint64_t file_bytes_ = 0, total_bytes_ = 0, sequence_ = 0;
    bool failing_ = false;
};

}  // namespace
}  // namespace sonde::file_sink

SONDE_SINK_PLUGIN(sonde::file_sink::FileSink, "file", "0.1.0",
                  "Records as JSON lines in rotating files under a disk budget")
