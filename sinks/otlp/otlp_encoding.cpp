#include "otlp_encoding.hpp"

#include <google/protobuf/util/json_util.h>

#include <sonde/sdk.hpp>

#include <fstream>
#include <limits>

namespace sonde::otlp {

namespace {

void set_value(AnyValue &out, const sonde_value &v) {
    switch (v.type) {
        case SONDE_VALUE_INT: out.set_int_value(v.as.i); break;
        case SONDE_VALUE_UINT:
            if (v.as.u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                out.set_int_value(static_cast<std::int64_t>(v.as.u));
            else
                out.set_double_value(static_cast<double>(v.as.u));
            break;
        case SONDE_VALUE_DOUBLE: out.set_double_value(v.as.d); break;
        case SONDE_VALUE_BOOL: out.set_bool_value(v.as.b != 0); break;
        case SONDE_VALUE_STRING: out.set_string_value(std::string(v.as.s.data, v.as.s.size)); break;
        default: break;
    }
}

template <typename Repeated>
void add_attributes(Repeated &out, const sonde_record_info &info, const sonde_value *values, std::uint32_t count) {
    for (std::uint32_t i = 0; i < count && i < info.attribute_count; ++i) {
        KeyValue *kv = out.Add();
        kv->set_key(info.attribute_keys[i]);
        set_value(*kv->mutable_value(), values[i]);
    }
}

void set_number(NumberDataPoint &p, const sonde_value &v) {
    if (v.type == SONDE_VALUE_DOUBLE) p.set_as_double(v.as.d);
    else if (v.type == SONDE_VALUE_INT) p.set_as_int(v.as.i);
    else if (v.as.u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        p.set_as_int(static_cast<std::int64_t>(v.as.u));
    else p.set_as_double(static_cast<double>(v.as.u));
}

std::string read_first_line(const char *path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

void fill_resource(Resource &r, const ResourceAttributes &attributes) {
    for (const auto &[key, value] : attributes) {
        KeyValue *kv = r.add_attributes();
        kv->set_key(key);
        kv->mutable_value()->set_string_value(value);
    }
}

}  // namespace

ResourceAttributes default_resource(const std::string &service_version) {
    ResourceAttributes out{{"service.name", "sonde"}, {"service.version", service_version}, {"host.name", host_name()},
                           {"os.type", "linux"}};
    std::string id = read_first_line("/etc/machine-id");
    if (!id.empty()) out.emplace_back("host.id", id);
    return out;
}

RequestBuilder::RequestBuilder(const ResourceAttributes &resource) : resource_(resource) { reset(); }

void RequestBuilder::reset() {
    metrics_.Clear();
    logs_.Clear();
    metric_scopes_.clear();
    log_scopes_.clear();
    metric_by_name_.clear();
    metric_points_ = log_records_ = 0;
    fill_resource(*metrics_.add_resource_metrics()->mutable_resource(), resource_);
    fill_resource(*logs_.add_resource_logs()->mutable_resource(), resource_);
}

ScopeMetrics &RequestBuilder::scope_metrics(const std::string &input) {
    auto &slot = metric_scopes_[input];
    if (!slot) {
        slot = metrics_.mutable_resource_metrics(0)->add_scope_metrics();
        slot->mutable_scope()->set_name(input);
    }
    return *slot;
}

ScopeLogs &RequestBuilder::scope_logs(const std::string &input) {
    auto &slot = log_scopes_[input];
    if (!slot) {
        slot = logs_.mutable_resource_logs(0)->add_scope_logs();
        slot->mutable_scope()->set_name(input);
    }
    return *slot;
}

void RequestBuilder::add(const sonde_batch &batch, std::int64_t now_ns) {
    for (std::size_t g = 0; g < batch.group_count; ++g) {
        const sonde_record_group &group = batch.groups[g];
        const sonde_record_info &info = *group.info;
        const std::string input = info.input_name;
        if (info.record_kind == SONDE_RECORD_EVENT) {
            ScopeLogs &scope = scope_logs(input);
            for (std::size_t i = 0; i < group.count; ++i) {
                const sonde_event &e = group.events[i];
                LogRecord *r = scope.add_log_records();
                r->set_time_unix_nano(static_cast<std::uint64_t>(e.time_ns));
                r->set_observed_time_unix_nano(static_cast<std::uint64_t>(now_ns));
                r->set_severity_number(9);  // INFO
                r->set_severity_text("INFO");
                r->mutable_body()->set_string_value(info.name);
                KeyValue *name = r->add_attributes();
                name->set_key("event.name");
                name->mutable_value()->set_string_value(info.name);
                add_attributes(*r->mutable_attributes(), info, e.attributes, e.attribute_count);
            }
            log_records_ += group.count;
            continue;
        }
        Metric *&metric = metric_by_name_[{input, info.name}];
        if (!metric) {
            metric = scope_metrics(input).add_metrics();
            metric->set_name(info.name);
            metric->set_description(info.description);
            metric->set_unit(info.unit);
            if (info.metric_kind == SONDE_METRIC_COUNTER) {
                metric->mutable_sum()->set_aggregation_temporality(AGGREGATION_TEMPORALITY_CUMULATIVE);
                metric->mutable_sum()->set_is_monotonic(true);
            } else if (info.metric_kind == SONDE_METRIC_HISTOGRAM) {
                metric->mutable_histogram()->set_aggregation_temporality(AGGREGATION_TEMPORALITY_CUMULATIVE);
            } else {
                metric->mutable_gauge();
            }
        }
        for (std::size_t i = 0; i < group.count; ++i) {
            const sonde_metric_point &p = group.points[i];
            if (info.metric_kind == SONDE_METRIC_HISTOGRAM) {
                HistogramDataPoint *d = metric->mutable_histogram()->add_data_points();
                d->set_start_time_unix_nano(static_cast<std::uint64_t>(p.start_time_ns));
                d->set_time_unix_nano(static_cast<std::uint64_t>(p.time_ns));
                d->set_count(p.histogram->count);
                d->set_sum(p.histogram->sum);
                for (std::uint32_t b = 0; b < p.histogram->bound_count; ++b)
                    d->add_explicit_bounds(p.histogram->upper_bounds[b]);
                for (std::uint32_t b = 0; b <= p.histogram->bound_count; ++b)
                    d->add_bucket_counts(p.histogram->bucket_counts[b]);
                add_attributes(*d->mutable_attributes(), info, p.attributes, p.attribute_count);
                continue;
            }
            NumberDataPoint *d = info.metric_kind == SONDE_METRIC_COUNTER ? metric->mutable_sum()->add_data_points()
                                                                          : metric->mutable_gauge()->add_data_points();
            if (info.metric_kind == SONDE_METRIC_COUNTER)
                d->set_start_time_unix_nano(static_cast<std::uint64_t>(p.start_time_ns));
            d->set_time_unix_nano(static_cast<std::uint64_t>(p.time_ns));
            set_number(*d, p.value);
            add_attributes(*d->mutable_attributes(), info, p.attributes, p.attribute_count);
        }
        metric_points_ += group.count;
    }
}

std::pair<ExportMetricsServiceRequest, ExportLogsServiceRequest> RequestBuilder::take() {
    std::pair<ExportMetricsServiceRequest, ExportLogsServiceRequest> out{std::move(metrics_), std::move(logs_)};
    reset();
    return out;
}

PartialSuccess parse_partial_success(const std::string &body, bool json, bool metrics) {
    PartialSuccess out;
    if (body.empty()) {
        out.parsed = true;
        return out;
    }
    auto read = [&](auto &response, std::int64_t rejected_field) {
        out.rejected = rejected_field > 0 ? static_cast<std::uint64_t>(rejected_field) : 0;
        out.message = response.partial_success().error_message();
    };
    auto parse = [&](auto &response) {
        if (json) return google::protobuf::util::JsonStringToMessage(body, &response).ok();
        return response.ParseFromString(body);
    };
    if (metrics) {
        ExportMetricsServiceResponse response;
        if (!(out.parsed = parse(response))) return out;
        read(response, response.partial_success().rejected_data_points());
    } else {
        ExportLogsServiceResponse response;
        if (!(out.parsed = parse(response))) return out;
        read(response, response.partial_success().rejected_log_records());
    }
    return out;
}

}  // namespace sonde::otlp
