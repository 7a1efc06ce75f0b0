// Benchmark input: every tick emits `points_per_tick` gauge points with two
// attributes, in emits of `points_per_emit`, as fast as the host takes them.
#include <sonde/sdk.hpp>

class GeneratorInput final : public sonde::InputPlugin {
public:
    explicit GeneratorInput(sonde::Context &ctx)
        : InputPlugin(ctx),
          per_tick_(static_cast<std::uint64_t>(ctx.config().get_int("points_per_tick", 20000))),
          per_emit_(static_cast<std::uint64_t>(ctx.config().get_int("points_per_emit", 100))),
          metric_(ctx.declare(sonde::MetricSpec{"bench.value", SONDE_METRIC_GAUGE, "1", "benchmark load", {"cpu", "index"}})) {}

    void start() override {
        ctx_.every(ctx_.interval_ns(), [this] {
            for (std::uint64_t sent = 0; sent < per_tick_; sent += per_emit_) {
                for (std::uint64_t i = 0; i < per_emit_; ++i)
                    metric_.add(sonde::double_value(static_cast<double>(i) * 0.5),
                                {sonde::str("cpu0"), sonde::uint_value(i)});
                metric_.emit(ctx_);
            }
        });
    }

private:
    std::uint64_t per_tick_, per_emit_;
    sonde::MetricBuffer metric_;
};

SONDE_INPUT_PLUGIN(GeneratorInput, "generator", "1.0.0", "Benchmark load generator")
