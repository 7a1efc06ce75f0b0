// `sonde trace dump|summary FILE...`: reading back what the file sink wrote,
// JSON lines (docs/json-schema.md) or binary (docs/binary-format.md), told
// apart by the first bytes. A torn or corrupt file is reported with the
// place where the damage starts; everything before it is read.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace sonde::core {

// Prints every complete record as a JSON line to out. Returns 0, or 1 when
// some file was damaged (reported on err).
int trace_dump(const std::vector<std::string> &files, std::ostream &out, std::ostream &err);

// Prints where each binary file comes from, the time range, counts and rates
// per record name, and p50/p95/p99/max of events carrying `latency_ns` and of
// histograms.
int trace_summary(const std::vector<std::string> &files, std::ostream &out, std::ostream &err);

}  // namespace sonde::core
