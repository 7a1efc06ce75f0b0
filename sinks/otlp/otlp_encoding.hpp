// Turning sonde batches into OTLP protobuf requests: gauge -> Gauge,
// counter -> cumulative monotonic Sum, histogram -> cumulative
// explicit-bucket Histogram, event -> LogRecord with `event.name`. One
// InstrumentationScope per input instance.
#pragma once

#include "otlp.pb.h"

#include <sonde/plugin_api.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sonde::otlp {

// Resource attributes every request carries.
using ResourceAttributes = std::vector<std::pair<std::string, std::string>>;

// host.name, host.id (/etc/machine-id), os.type, service.name, service.version.
ResourceAttributes default_resource(const std::string &service_version);

// What a receiver's answer to an export says it rejected (OTLP partial_success).
struct PartialSuccess {
    bool parsed = false;        // false: the body is not an answer of that kind
    std::uint64_t rejected = 0; // rejected data points or log records; a negative count reads as 0
    std::string message;        // the receiver's error_message
};

// Reads the body of a 2xx answer: protobuf, or OTLP/JSON when json; an
// ExportMetricsServiceResponse when metrics, else ExportLogsServiceResponse.
// An empty body is a full success. The caller bounds `rejected` by what it sent.
PartialSuccess parse_partial_success(const std::string &body, bool json, bool metrics);

// Accumulates records into one metrics request and one logs request.
class RequestBuilder {
public:
    explicit RequestBuilder(const ResourceAttributes &resource);

    // Adds every record of the batch; time for observed_time of log records.
    void add(const sonde_batch &batch, std::int64_t now_ns);

    std::size_t metric_points() const { return metric_points_; }
    std::size_t log_records() const { return log_records_; }
    bool empty() const { return metric_points_ == 0 && log_records_ == 0; }

    // Hands over the requests built so far and starts afresh.
    std::pair<ExportMetricsServiceRequest, ExportLogsServiceRequest> take();

private:
    void reset();
    ScopeMetrics &scope_metrics(const std::string &input);
    ScopeLogs &scope_logs(const std::string &input);

    const ResourceAttributes &resource_;
    ExportMetricsServiceRequest metrics_;
    ExportLogsServiceRequest logs_;
    std::map<std::string, ScopeMetrics *> metric_scopes_;  // by input
    std::map<std::string, ScopeLogs *> log_scopes_;
    std::map<std::pair<std::string, std::string>, Metric *> metric_by_name_;  // (input, name)
    std::size_t metric_points_ = 0, log_records_ = 0;
};

}  // namespace sonde::otlp
