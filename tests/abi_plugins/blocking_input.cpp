// A misbehaving input for the liveness tests: its timer callback, run on the
// io loop, sleeps `block_ms` (default 2000) once, at the first tick
// `after_ms` (default 500) after start(). With agent.threads = 1 that stops
// the whole loop. It logs a line just before and just after the sleep, and
// otherwise emits `test.blocking.ticks` each tick.
#include <sonde/sdk.hpp>

#include <chrono>
#include <string>
#include <thread>

class BlockingInput final : public sonde::InputPlugin {
public:
    explicit BlockingInput(sonde::Context &ctx)
        : InputPlugin(ctx),
          ticks_(ctx.declare(sonde::MetricSpec{"test.blocking.ticks", SONDE_METRIC_COUNTER, "{tick}", "ticks so far", {}})),
          after_(std::chrono::milliseconds(ctx.config().get_int("after_ms", 500, 0, 3'600'000))),
          block_(std::chrono::milliseconds(ctx.config().get_int("block_ms", 2000, 0, 3'600'000))) {}

    void start() override {
        started_ = std::chrono::steady_clock::now();
        ctx_.every(ctx_.interval_ns(), [this] { tick(); });
    }

private:
    void tick() {
        ++count_;
        if (!blocked_ && std::chrono::steady_clock::now() - started_ >= after_) {
            blocked_ = true;
            ctx_.warn("blocking the io loop for " + std::to_string(block_.count()) + " ms");
            std::this_thread::sleep_for(block_);
            ctx_.warn("io loop unblocked");
        }
        ticks_.add(sonde::uint_value(count_), {});
        ticks_.emit(ctx_);
    }

    sonde::MetricBuffer ticks_;
    std::chrono::milliseconds after_, block_;
    std::chrono::steady_clock::time_point started_;
    bool blocked_ = false;
    std::uint64_t count_ = 0;
};

SONDE_INPUT_PLUGIN(BlockingInput, "blocking", "1.0.0", "Test input that blocks the io loop once")
