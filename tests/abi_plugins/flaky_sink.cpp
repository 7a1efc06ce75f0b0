// A sink that misbehaves on purpose: `fail = true` refuses every batch with
// an error; `retries = N` answers SONDE_RETRY to the first N consume calls.
#include <sonde/sdk.hpp>

#include <stdexcept>

class FlakySink final : public sonde::SinkPlugin {
public:
    explicit FlakySink(sonde::Context &ctx)
        : SinkPlugin(ctx), fail_(ctx.config().get_bool("fail", false)), retries_(ctx.config().get_int("retries", 0)) {}

    sonde_status consume(const sonde_batch &) override {
        if (fail_) throw std::runtime_error("destination refused the batch");
        if (retries_ > 0) {
            --retries_;
            return SONDE_RETRY;
        }
        return SONDE_OK;
    }

private:
    bool fail_;
    std::int64_t retries_;
};

SONDE_SINK_PLUGIN(FlakySink, "flaky", "1.0.0", "Test sink that fails or asks for retries")
