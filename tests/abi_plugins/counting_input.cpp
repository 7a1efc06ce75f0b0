// A well-behaved input for the ABI tests: emits `test.ticks` (a counter)
// every interval, and `test.event` once per tick.
#include <sonde/sdk.hpp>

class CountingInput final : public sonde::InputPlugin {
public:
    explicit CountingInput(sonde::Context &ctx)
        : InputPlugin(ctx),
          ticks_(ctx.declare(sonde::MetricSpec{"test.ticks", SONDE_METRIC_COUNTER, "{tick}", "ticks so far", {"source"}})),
          event_(ctx.declare(sonde::EventSpec{"test.event", "one per tick", {"sequence", "ok"}})) {}

    void start() override {
        ctx_.every(ctx_.interval_ns(), [this] {
            ++count_;
            ticks_.add(sonde::uint_value(count_), {sonde::str("counting")});
            ticks_.emit(ctx_);
            sonde_value attributes[] = {sonde::uint_value(count_), sonde::bool_value(true)};
            sonde_event e{sizeof(sonde_event), 2, attributes, 0};
            ctx_.emit(event_, &e, 1);
        });
    }

private:
    sonde::MetricBuffer ticks_;
    std::uint32_t event_;
    std::uint64_t count_ = 0;
};

SONDE_INPUT_PLUGIN(CountingInput, "counting", "1.2.3", "Test input that counts ticks")
