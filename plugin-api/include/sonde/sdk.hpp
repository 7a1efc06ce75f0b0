// The header-only C++ SDK over plugin_api.h: what a plugin author includes.
// Plugin authors write one class derived from sonde::InputPlugin or
// sonde::SinkPlugin and one export macro:
//
//     #include <sonde/sdk.hpp>
//
//     class MyInput : public sonde::InputPlugin {
//     public:
//         explicit MyInput(sonde::Context &ctx);  // read config, declare records
//         void start() override;                   // open sources, arm timers
//     };
//     SONDE_INPUT_PLUGIN(MyInput, "my_input", "1.0.0", "What it collects")
//
// Its parts, each usable alone:
//   sonde/sdk/errors.hpp        ConfigError, Unavailable
//   sonde/sdk/values.hpp        sonde_value makers, now_ns(), host_name()
//   sonde/sdk/config.hpp        Config: typed getters, required keys, unknown-key check
//   sonde/sdk/metric_buffer.hpp MetricSpec, MetricBuffer
//   sonde/sdk/event_buffer.hpp  EventSpec, EventBuffer
//   sonde/sdk/context.hpp       Context: declare, emit, log, timers, fd watches
//   sonde/sdk/plugin.hpp        InputPlugin, SinkPlugin
//   sonde/sdk/export.hpp        SONDE_INPUT_PLUGIN, SONDE_SINK_PLUGIN
//
// To load on an older host, define SONDE_TARGET_ABI_MINOR before this
// include (plugin_api.h). Nothing C++ crosses the boundary.
#pragma once

#include <sonde/plugin_api.h>
#include <sonde/sdk/config.hpp>
#include <sonde/sdk/context.hpp>
#include <sonde/sdk/errors.hpp>
#include <sonde/sdk/event_buffer.hpp>
#include <sonde/sdk/export.hpp>
#include <sonde/sdk/metric_buffer.hpp>
#include <sonde/sdk/plugin.hpp>
#include <sonde/sdk/values.hpp>
#include <sonde/units.hpp>
#include <sonde/utf8.hpp>
