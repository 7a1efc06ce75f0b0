// file sink: records as JSON lines (docs/json-schema.md) or in the compact
// binary format (docs/binary-format.md), in rotating files under a hard disk
// budget. Both encodings are self-delimiting (lines; checksummed frames), so a
// reader of a file cut by a crash stops cleanly at the torn tail. See README.md.
#include "records/record_binary_writer.hpp"
#include "records/record_json.hpp"
#include <sonde/sdk.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <ctime>
#include <filesystem>
#include <memory>
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

std::uint64_t records_of(const sonde_batch &batch) {
    std::uint64_t n = 0;
    for (std::size_t g = 0; g < batch.group_count; ++g) n += batch.groups[g].count;
    return n;
}

// An encoding as the sink sees it: records go into a buffer as whole units
// (lines, frames); a run of whole units can go into a file, after the
// preamble that makes the file readable on its own.
class FileFormat {
public:
    virtual ~FileFormat() = default;
    virtual const char *extension() const = 0;
    virtual void append(std::string &buffer, const sonde_batch &batch) = 0;
    // Completes the unit in progress, so the buffer holds whole units only.
    virtual void seal(std::string &buffer) = 0;
    // How many records the whole units `front` (the front of the buffer,
    // about to leave it: written or dropped) hold. Called once per front.
    virtual std::uint64_t take_front(std::string_view front) = 0;
    // The longest run of whole units at the front of `buffer` that is at most
    // `limit` bytes; the first unit alone when it is longer.
    virtual std::size_t whole_units(std::string_view buffer, std::size_t limit) const = 0;
    // What a new file starts with, for the units at the front of `buffer`.
    virtual std::string preamble(std::string_view buffer, std::int64_t now_ns) const = 0;
};

class JsonLinesFormat final : public FileFormat {
public:
    const char *extension() const override { return ".jsonl"; }
    void append(std::string &buffer, const sonde_batch &batch) override { writer_.append(buffer, batch); }
    void seal(std::string &) override {}
    std::uint64_t take_front(std::string_view front) override {
        return static_cast<std::uint64_t>(std::count(front.begin(), front.end(), '\n'));
    }
    std::size_t whole_units(std::string_view buffer, std::size_t limit) const override {
        if (buffer.size() <= limit) return buffer.size();
        std::size_t end = limit ? buffer.rfind('\n', limit - 1) : std::string_view::npos;
        if (end == std::string_view::npos) end = buffer.find('\n');
        return end == std::string_view::npos ? buffer.size() : end + 1;
    }
    std::string preamble(std::string_view, std::int64_t) const override { return {}; }

private:
    RecordJsonWriter writer_;
};

class BinaryFormat final : public FileFormat {
public:
    BinaryFormat(std::string host, std::string writer, std::size_t frame_bytes)
        : writer_(std::move(host), std::move(writer)), frame_bytes_(frame_bytes) {}
    const char *extension() const override { return ".sonde"; }
    void append(std::string &buffer, const sonde_batch &batch) override {
        writer_.append(batch);
        open_records_ += records_of(batch);
        if (writer_.open_frame_bytes() >= frame_bytes_) seal(buffer);
    }
    void seal(std::string &buffer) override {
        const std::size_t before = buffer.size();
        writer_.seal(buffer);
        if (buffer.size() > before) frames_.push_back({buffer.size() - before, std::exchange(open_records_, 0)});
    }
    std::uint64_t take_front(std::string_view front) override {
        std::uint64_t records = 0;
        for (std::size_t bytes = front.size(); bytes > 0 && !frames_.empty(); frames_.pop_front()) {
            bytes -= std::min(bytes, frames_.front().bytes);
            records += frames_.front().records;
        }
        return records;
    }
    std::size_t whole_units(std::string_view buffer, std::size_t limit) const override {
        return RecordBinaryWriter::whole_frames(buffer, limit);
    }
    std::string preamble(std::string_view buffer, std::int64_t now_ns) const override {
        return writer_.file_preamble(buffer, now_ns);
    }

private:
    struct SealedFrame {
        std::size_t bytes;
        std::uint64_t records;
    };
    RecordBinaryWriter writer_;
    std::size_t frame_bytes_;
    std::uint64_t open_records_ = 0;   // appended, not yet in a sealed frame
    std::deque<SealedFrame> frames_;  // the buffer's frames, in order
};

// Delivered (docs/accounting.md): a record is delivered once write(2) has put
// it into the current file; what fsync adds is the `fsync` policy's.
class FileSink final : public SinkPlugin {
public:
    static constexpr bool reports_delivery = true;

    explicit FileSink(Context &ctx)
        : SinkPlugin(ctx),
          directory_(ctx.config().get_string("directory", "")),
          prefix_(ctx.config().get_string("prefix", "sonde")),
          max_file_bytes_(ctx.config().get_size_bytes("max_file_size", 64ull << 20)),
          max_file_age_ns_(ctx.config().get_duration_ns("max_file_age", 3600'000'000'000ull, 100'000'000, max_duration_ns)),
          max_total_bytes_(ctx.config().get_size_bytes("max_total_size", 1ull << 30)),
          flush_interval_ns_(ctx.config().get_duration_ns("flush_interval", 1'000'000'000, 1'000'000, 3600'000'000'000)),
          max_buffer_bytes_(ctx.config().get_size_bytes("max_buffer", 16ull << 20, 4096, 1ull << 40)),
          sync_(parse_sync(ctx.config().get_string("fsync", "on_rotate"))) {
        const std::string format = ctx.config().get_string("format", "jsonl");
        if (format == "jsonl") format_ = std::make_unique<JsonLinesFormat>();
        else if (format == "binary")
            format_ = std::make_unique<BinaryFormat>(host_name(), "sonde file sink 0.2.0",
                                                     std::min<std::uint64_t>(max_frame_bytes, max_file_bytes_ / 4));
        else throw ConfigError("format", "expected \"jsonl\" or \"binary\"");
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

    // What the disk still refuses at stop is dropped, counted and logged.
    void stop() override {
        write_out();
        if (!buffer_.empty()) {
            const std::uint64_t lost = format_->take_front(buffer_);
            buffer_.clear();
            ctx_.count_drop("unwritten_at_stop", lost);
            ctx_.error("stopped with " + std::to_string(lost) + " records that could not be written to " + directory_ +
                       (last_error_.empty() ? "" : " (" + last_error_ + ")"));
        }
        close_file();
    }

    void flush() override { write_out(); }

    sonde_status consume(const sonde_batch &batch) override {
        // Full buffer: the disk is not taking writes. The host keeps the batch
        // and applies the queue's overflow policy, counting what it drops.
        if (buffer_.size() >= max_buffer_bytes_) return SONDE_RETRY;
        format_->append(buffer_, batch);
        if (buffer_.size() >= write_threshold_bytes) write_out();  // don't wait for the timer
        return SONDE_OK;
    }

private:
    static constexpr std::size_t write_threshold_bytes = 1 << 20;
    static constexpr std::uint64_t max_frame_bytes = 64 << 10;

    // Writes the buffer out, whole units at a time, rotating and deleting
    // old files so the directory never holds more than max_total_size.
    void write_out() {
        format_->seal(buffer_);
        while (!buffer_.empty()) {
            if (!ensure_file()) return;
            std::size_t room = static_cast<std::size_t>(max_file_bytes_ - std::min(max_file_bytes_, file_bytes_));
            std::size_t chunk = format_->whole_units(buffer_, room);
            if (chunk > room && file_records_) {  // full: the next file takes it
                close_file();
                continue;
            }
            if (!make_room(chunk) || !write_all(buffer_.data(), chunk)) return;
            ctx_.count_delivered(format_->take_front(std::string_view(buffer_).substr(0, chunk)));
            buffer_.erase(0, chunk);
            file_records_ = true;
            recovered();
        }
        if (sync_ == SyncPolicy::on_flush && fd_ >= 0) ::fdatasync(fd_);
    }

    // An open file, rotating by age and replacing a file that was deleted
    // under us; a new file starts with the format's preamble.
    bool ensure_file() {
        const std::int64_t now = now_ns();
        if (fd_ >= 0) {
            struct stat st{};
            if (::fstat(fd_, &st) == 0 && st.st_nlink == 0) {
                ctx_.warn(path_ + " was deleted; starting a new file");
                close_file();
            } else if (file_records_ && static_cast<std::uint64_t>(now - opened_ns_) >= max_file_age_ns_) {
                close_file();
            }
        }
        if (fd_ >= 0) return true;
        std::error_code ec;
        fs::create_directories(directory_, ec);  // it may have vanished
        char sequence[16];
        std::snprintf(sequence, sizeof sequence, "%06llu", static_cast<unsigned long long>(++sequence_ % 1000000));
        path_ = directory_ + "/" + prefix_ + "-" + timestamp(now) + "-" + sequence + format_->extension();
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            failed("open " + path_, errno);
            return false;
        }
        opened_ns_ = now;
        file_bytes_ = 0;
        file_records_ = false;
        total_bytes_ = directory_bytes();
        const std::string preamble = format_->preamble(buffer_, now);
        if (!make_room(preamble.size()) || !write_all(preamble.data(), preamble.size())) {
            ::close(fd_);
            fd_ = -1;
            ::unlink(path_.c_str());
            return false;
        }
        return true;
    }

    // Appends to the open file; a failed write is cut back off, so the file
    // always ends with a whole unit and the bytes can be written again later.
    bool write_all(const char *data, std::size_t size) {
        std::size_t done = 0;
        while (done < size) {
            ssize_t n = ::write(fd_, data + done, size - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                int error = n < 0 ? errno : ENOSPC;
                if (::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0) close_file();
                failed("write " + path_, error);
                return false;
            }
            done += static_cast<std::size_t>(n);
        }
        file_bytes_ += size;
        total_bytes_ += size;
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
            if (name.rfind(prefix_ + "-", 0) != 0 || it->path().extension() != format_->extension() || it->path() == path_)
                continue;
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
        file_records_ = false;
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
        last_error_ = what + ": " + std::strerror(error);
        if (!failing_) ctx_.warn(last_error_ + "; keeping records and retrying");
        failing_ = true;
    }
    void recovered() {
        if (failing_) ctx_.info("writing to " + directory_ + " again");
        failing_ = false;
    }

    std::string directory_, prefix_;
    std::uint64_t max_file_bytes_, max_file_age_ns_, max_total_bytes_, flush_interval_ns_, max_buffer_bytes_;
    SyncPolicy sync_;
    std::unique_ptr<FileFormat> format_;
    std::string buffer_;
    int fd_ = -1;
    std::string path_;
    std::int64_t opened_ns_ = 0;
    std::uint64_t file_bytes_ = 0, total_bytes_ = 0, sequence_ = 0;
    bool file_records_ = false;  // the open file holds records, not just its preamble
    bool failing_ = false;
    std::string last_error_;
};

}  // namespace
}  // namespace sonde::file_sink

SONDE_SINK_PLUGIN(sonde::file_sink::FileSink, "file", "0.2.0",
                  "Records as JSON lines or compact binary in rotating files under a disk budget")
