// An input whose timer and fd callbacks throw: the SDK must catch each
// exception at the boundary and log it under the instance's name.
#include <sonde/sdk.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <stdexcept>

class TimerThrows final : public sonde::InputPlugin {
public:
    explicit TimerThrows(sonde::Context &ctx) : InputPlugin(ctx) {}
    ~TimerThrows() override {
        if (fd_ >= 0) close(fd_);
    }
    void start() override {
        fd_ = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);  // readable at once
        if (fd_ < 0) throw sonde::Unavailable("eventfd failed");
        ctx_.when_readable(fd_, [this] {
            std::uint64_t count = 0;
            if (read(fd_, &count, sizeof count) != sizeof count) return;  // readable once: read empties it
            throw std::runtime_error("the fd callback's disk is full");
        });
        ctx_.every(ctx_.interval_ns(), [] { throw std::runtime_error("the timer's frobnicator jammed"); });
    }

private:
    int fd_ = -1;
};

SONDE_INPUT_PLUGIN(TimerThrows, "timer_throws", "0.0.1", "Test input whose callbacks throw")
