// An input with a required key (`path`), as a third-party plugin writes it:
// `sonde plugins --describe` must list its records without a configuration.
// Built twice: as `required_key` (this SDK's minor, with the ABI 1.4
// describe) and, with SONDE_TARGET_ABI_MINOR=3 and REQUIRED_KEY_NAME, as a
// 1.3 plugin the host can only describe by creating an instance.
#include <sonde/sdk.hpp>

#ifndef REQUIRED_KEY_NAME
#define REQUIRED_KEY_NAME "required_key"
#endif

class RequiredKey final : public sonde::InputPlugin {
public:
    explicit RequiredKey(sonde::Context &ctx)
        : InputPlugin(ctx),
          path_(ctx.config().required<std::string>("path")),
          limit_(ctx.config().get_int("limit", 10, 1, 100)),
          reads_(ctx.declare(sonde::MetricSpec{"test.file.reads", SONDE_METRIC_COUNTER, "{read}",
                                               "reads of the configured file", {"path"}})),
          changed_(ctx.declare(sonde::EventSpec{"test.file.changed", "the configured file changed", {"path"}})) {
        // A check of the plugin's own: skipped when only describing, and
        // accepting the empty value a missing required key reads as (the
        // missing key is reported anyway).
        if (!ctx.describing() && !path_.empty() && path_[0] != '/')
            throw sonde::ConfigError("path", "must be absolute");
    }
    void start() override {
        ctx_.every(ctx_.interval_ns(), [this] {
            reads_.add(++count_, {sonde::str(path_)});
            reads_.emit(ctx_);
        });
    }

private:
    std::string path_;
    std::int64_t limit_;
    sonde::MetricBuffer reads_;
    sonde::EventBuffer changed_;
    std::uint64_t count_ = 0;
};

SONDE_INPUT_PLUGIN(RequiredKey, REQUIRED_KEY_NAME, "0.0.1", "Test input with a required key")
