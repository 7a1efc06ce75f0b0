// The base classes a plugin derives from: sonde::InputPlugin and
// sonde::SinkPlugin. The export macros (sonde/sdk/export.hpp) turn a derived
// class into the C descriptor.
#pragma once

#include <sonde/plugin_api.h>
#include <sonde/sdk/context.hpp>

#include <string_view>

namespace sonde {

// An input: the constructor reads configuration (through ctx.config()) and
// declares records, without I/O (the host also constructs it only to describe
// the plugin or check a configuration); start() opens sources and arms timers
// or fd watches; stop() releases what start() acquired.
class InputPlugin {
public:
    explicit InputPlugin(Context &ctx) : ctx_(ctx) {}
    virtual ~InputPlugin() = default;
    virtual void start() = 0;
    virtual void stop() {}

protected:
    Context &ctx_;
};

// A sink: consume() gets every batch routed to it. Return SONDE_RETRY to be
// offered the same batch again later; throw for a failure that drops it.
// A sink that buffers what it accepts sets `reports_delivery` (ABI 1.2) and
// reports the fate of every accepted record: ctx.count_delivered once it
// reached its destination, ctx.count_drop when it cannot (stop() drops what
// is left).
class SinkPlugin {
public:
    static constexpr bool reports_delivery = false;

    explicit SinkPlugin(Context &ctx) : ctx_(ctx) {}
    virtual ~SinkPlugin() = default;
    virtual void start() {}
    virtual void stop() {}
    virtual sonde_status consume(const sonde_batch &batch) = 0;
    // Write out (or start sending) anything buffered: at shutdown once the
    // queue is empty, and before stop().
    virtual void flush() {}
    // The input instance `input_name` stopped; it emits nothing more (ABI 1.1).
    virtual void on_input_stopped(std::string_view /*input_name*/) {}

protected:
    Context &ctx_;
};

}  // namespace sonde
