// An input pinned to plugin ABI 1.0, as a plugin that must load on a 1.0 host
// is built against newer headers: it declares 1.0, its ops table ends where
// 1.0's did, and the SDK leaves out what needs a newer host.
#define SONDE_TARGET_ABI_MINOR 0
#include <sonde/sdk.hpp>

// What needs a newer host is not there to call (a compile error, not a
// run-time surprise on a 1.0 host).
template <typename C>
concept offers_set_fact = requires(C &c) { c.set_fact("k", "v"); };
template <typename C>
concept offers_record_export = requires(C &c) { c.record_export(1, 1, true); };
template <typename C>
concept offers_count_delivered = requires(C &c) { c.count_delivered(1); };
template <typename C>
concept offers_when_ready_once = requires(C &c) { c.when_ready_once(0, SONDE_FD_READABLE, [](std::uint32_t) {}); };
static_assert(!offers_set_fact<sonde::Context>, "set_fact needs ABI 1.3");
static_assert(!offers_record_export<sonde::Context>, "record_export needs ABI 1.3");
static_assert(!offers_count_delivered<sonde::Context>, "count_delivered needs ABI 1.2");
static_assert(!offers_when_ready_once<sonde::Context>, "when_ready_once needs ABI 1.1");


class PinnedInput final : public sonde::InputPlugin {
public:
    explicit PinnedInput(sonde::Context &ctx)
        : InputPlugin(ctx),
          ticks_(ctx.declare(sonde::MetricSpec{"test.pinned.ticks", SONDE_METRIC_COUNTER, "{tick}", "ticks", {}})) {}
    void start() override {
        ctx_.every(ctx_.interval_ns(), [this] {
            ticks_.add(++count_);
            ticks_.emit(ctx_);
        });
    }

private:
    sonde::MetricBuffer ticks_;
    std::uint64_t count_ = 0;
};

// The ops table the host reads is as long as 1.0's.
static_assert(sonde::detail::Glue<PinnedInput>::ops().struct_size == SONDE_PLUGIN_OPS_SIZE_1_0);

SONDE_INPUT_PLUGIN(PinnedInput, "pinned_1_0", "0.0.1", "Test input built for plugin ABI 1.0")
