// A sink that tells the host about itself through ABI 1.3, all in create so
// a test sees the outcome without running the agent:
//  - facts: "mode" set to "first" then "second" (replaced), "long" over the
//    host's 256-byte bound with a 2-byte character across it, "broken" with
//    a byte that is not UTF-8, and "Bad Key!" (not a token: ignored);
//  - export requests: 1 record in 0.5 ms ok, 50 in 3 ms ok, 5000 in 2 s
//    failed, 200000 in 20 s failed.
// consume() accepts and discards, reporting each batch as one export of
// `export_ns` (config, default 1 ms) that succeeded.
#include <sonde/sdk.hpp>

#include <string>

class ReportingSink final : public sonde::SinkPlugin {
public:
    explicit ReportingSink(sonde::Context &ctx)
        : SinkPlugin(ctx), export_ns_(ctx.config().get_duration_ns("export_ns", 1'000'000)) {
        ctx.set_fact("mode", "first");
        ctx.set_fact("mode", "second");
        ctx.set_fact("long", std::string(255, 'x') + "\xC3\xA9" + std::string(50, 'y'));
        ctx.set_fact("broken", "a\xFF" "b");
        ctx.set_fact("Bad Key!", "ignored");
        ctx.record_export(1, 500'000, true);
        ctx.record_export(50, 3'000'000, true);
        ctx.record_export(5000, 2'000'000'000, false);
        ctx.record_export(200'000, 20'000'000'000, false);
    }

    sonde_status consume(const sonde_batch &batch) override {
        std::uint64_t records = 0;
        for (std::size_t i = 0; i < batch.group_count; ++i) records += batch.groups[i].count;
        ctx_.record_export(records, export_ns_, true);
        return SONDE_OK;
    }

private:
    std::uint64_t export_ns_;
};

SONDE_SINK_PLUGIN(ReportingSink, "reporting", "1.0.0", "Test sink that sets facts and records exports")
