// A well-behaved input for the ABI tests: emits `test.ticks` (a counter)
// every interval, and `test.event` once per tick. With `through_fd = true`
// the tick only writes an eventfd and both are emitted from the fd watch,
// which exercises the host's fd readiness path.
#include <sonde/sdk.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

class CountingInput final : public sonde::InputPlugin {
public:
    explicit CountingInput(sonde::Context &ctx)
        : InputPlugin(ctx),
          ticks_(ctx.declare(sonde::MetricSpec{"test.ticks", SONDE_METRIC_COUNTER, "{tick}", "ticks so far", {"source"}})),
          event_(ctx.declare(sonde::EventSpec{"test.event", "one per tick", {"sequence", "ok"}})),
          through_fd_(ctx.config().get_bool("through_fd", false)) {}

    ~CountingInput() override {
        if (fd_ >= 0) close(fd_);
    }

    void start() override {
        if (through_fd_) {
            fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (fd_ < 0) throw sonde::Unavailable("eventfd failed");
            ctx_.when_readable(fd_, [this] {
                std::uint64_t n = 0;
                if (read(fd_, &n, sizeof n) == sizeof n) emit();
            });
        }
        ctx_.every(ctx_.interval_ns(), [this] {
            ++count_;
            if (!through_fd_) {
                emit();
                return;
            }
            std::uint64_t one = 1;
            if (write(fd_, &one, sizeof one) != sizeof one) ctx_.count_drop("eventfd_write", 1);
        });
    }

private:
    void emit() {
        ticks_.add(sonde::uint_value(count_), {sonde::str("counting")});
        ticks_.emit(ctx_);
        event_.add({sonde::uint_value(count_), sonde::bool_value(true)});
        event_.emit(ctx_);
    }

    sonde::MetricBuffer ticks_;
    sonde::EventBuffer event_;
    bool through_fd_;
    int fd_ = -1;
    std::uint64_t count_ = 0;
};

SONDE_INPUT_PLUGIN(CountingInput, "counting", "1.2.3", "Test input that counts ticks")
