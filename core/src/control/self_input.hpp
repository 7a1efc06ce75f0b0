// The `self` input: the agent's self-metrics as records, so they reach OTLP,
// files or any other sink like the records of every other input
// (README-self.md). A built-in plugin: written against the public SDK as any
// plugin is, compiled into sonde and registered without a shared object.
#pragma once

#include "control/self_metrics.hpp"

#include <sonde/plugin_api.h>

#include <functional>
#include <string>
#include <vector>

namespace sonde::core {

// The agent's current self-metric families, as /metrics renders them.
using SelfMetricsProvider = std::function<std::vector<SelfFamily>()>;

// Sets the process-wide provider the `self` input asks (an empty function
// clears it). Process-wide because a plugin instance reaches its host only
// through the C ABI, which has no way to hand it an object of the agent; one
// agent runs per process. The agent sets it before creating instances and
// clears it before what the provider captures dies; the input calls the
// provider under the provider's lock, so clearing waits for a call in
// progress: never call this while holding a lock the provider takes.
void set_self_metrics_provider(SelfMetricsProvider provider);

// The families now, or none without a provider. Any thread.
std::vector<SelfFamily> current_self_families();

// The built-in `self` input's descriptor (static lifetime), for the registry.
const sonde_plugin_descriptor *self_input_descriptor();

// How a family becomes a record (README-self.md): the unit suffix leaves the
// name and becomes a UCUM unit, underscores become dots, an info family gets
// `.info`: `sonde_export_duration_seconds` -> `sonde.export.duration` in "s",
// `sonde_build` (info) -> `sonde.build.info`. The Prometheus sink turns each
// record name back into the family's name on /metrics.
std::string self_record_name(const SelfFamily &family);
std::string self_record_unit(const SelfFamily &family);

}  // namespace sonde::core
