// dircount: how many entries a directory holds, as a gauge every interval,
// and an event each time the number changes.
//
//   [inputs.dircount]
//   path = "/var/spool/postfix/deferred"   # required
//   hidden = false                          # count names starting with "."
#include <sonde/sdk.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

class DirCount final : public sonde::InputPlugin {
public:
    explicit DirCount(sonde::Context &ctx)
        : InputPlugin(ctx),
          path_(ctx.config().required<std::string>("path")),
          hidden_(ctx.config().get_bool("hidden", false)),
          entries_(ctx.declare(sonde::MetricSpec{
              "directory.entries", SONDE_METRIC_GAUGE, "{entry}", "Entries in the directory", {"path"}})),
          changed_(ctx.declare(sonde::EventSpec{
              "directory.changed", "The number of entries changed", {"path", "before", "after"}})) {}

    void start() override {
        ctx_.every(ctx_.interval_ns(), [this] { collect(); });
    }

private:
    void collect() {
        std::uint64_t count = 0;
        std::error_code ec;
        for (std::filesystem::directory_iterator it(path_, ec), end; !ec && it != end; it.increment(ec))
            if (hidden_ || it->path().filename().string().front() != '.') ++count;
        if (ec)  // the SDK logs it under the instance's name; the timer keeps running
            throw std::runtime_error("cannot list " + path_ + ": " + ec.message());

        entries_.add(count, {sonde::str(path_)});
        entries_.emit(ctx_);
        if (last_ && *last_ != count) {
            changed_.add({sonde::str(path_), sonde::uint_value(*last_), sonde::uint_value(count)});
            changed_.emit(ctx_);
        }
        last_ = count;
    }

    std::string path_;
    bool hidden_;
    sonde::MetricBuffer entries_;
    sonde::EventBuffer changed_;
    std::optional<std::uint64_t> last_;
};

SONDE_INPUT_PLUGIN(DirCount, "dircount", "1.0.0", "Entries in a directory, and when their number changes")
