// A sink that accepts and discards every batch: the host's counters say what
// it received. Used by the ABI tests and as the null sink of the benchmarks.
#include <sonde/sdk.hpp>

class DiscardSink final : public sonde::SinkPlugin {
public:
    using SinkPlugin::SinkPlugin;
    sonde_status consume(const sonde_batch &) override { return SONDE_OK; }
};

SONDE_SINK_PLUGIN(DiscardSink, "discard", "1.0.0", "Test sink that discards records")
