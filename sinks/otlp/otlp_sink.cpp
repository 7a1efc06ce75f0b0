// otlp sink: OTLP/HTTP exporter. Records are batched into
// ExportMetricsServiceRequest / ExportLogsServiceRequest (protobuf, or JSON
// by option), gzip-compressed, and POSTed to /v1/metrics and /v1/logs, one
// request at a time, with exponential backoff and jitter on retryable
// failures. See README.md.
#include "http_client.hpp"
#include "otlp_encoding.hpp"

#include "records/gzip.hpp"
#include <sonde/sdk.hpp>

#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <random>

namespace sonde::otlp {
namespace {

bool retryable(const HttpResult &r) {
    return r.status == 0 || r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504;
}

// One request ready to send.
struct Export {
    std::string path;  // /v1/metrics or /v1/logs
    std::string body;
    std::size_t records = 0;
    bool metrics = true;
};

// Delivered (docs/accounting.md): the receiver answered 2xx and did not list
// the record among the rejected ones of a partial success.
class OtlpSink final : public SinkPlugin {
public:
    static constexpr bool reports_delivery = true;

    explicit OtlpSink(Context &ctx)
        : SinkPlugin(ctx),
          endpoint_(ctx.config().get_string("endpoint", "http://127.0.0.1:4318")),
          json_(parse_encoding(ctx.config().get_string("encoding", "protobuf"))),
          compress_(ctx.config().get_bool("gzip", true)),
          max_batch_size_(static_cast<std::size_t>(ctx.config().get_int("max_batch_size", 8192, 1, 1 << 20))),
          max_batch_age_ns_(ctx.config().get_duration_ns("max_batch_age", 1'000'000'000, 1'000'000, 3600'000'000'000)),
          timeout_ns_(ctx.config().get_duration_ns("timeout", 10'000'000'000, 1'000'000, 3600'000'000'000)),
          max_backoff_ns_(ctx.config().get_duration_ns("max_backoff", 30'000'000'000, 1'000'000, 86400'000'000'000)),
          resource_(resource_from(ctx.config())),
          builder_(resource_) {
        Config headers = ctx.config().get_table("headers");
        for (const auto &name : headers.keys()) headers_.emplace_back(name, headers.get_string(name, ""));
        headers.finish();
        endpoint_address_ = resolve_endpoint(endpoint_);
        TlsOptions tls = tls_options(ctx.config());
        if (endpoint_address_.tls) tls_ = std::make_unique<TlsContext>(tls, endpoint_address_.host);
        else if (!tls.ca_file.empty() || !tls.cert_file.empty() || !tls.server_name.empty() || tls.insecure_skip_verify)
            throw ConfigError("tls", "TLS settings need an https:// endpoint");
        headers_.emplace_back("Content-Type", json_ ? "application/json" : "application/x-protobuf");
        if (compress_) headers_.emplace_back("Content-Encoding", "gzip");
    }

    void start() override {
        client_ = std::make_unique<HttpClient>(ctx_, endpoint_address_, tls_.get(), timeout_ns_);
        batch_started_ns_ = now_ns();
        ctx_.every(100'000'000, [this] { tick(); });
        ctx_.info("exporting to " + endpoint_ + " (" + (json_ ? "JSON" : "protobuf") + (compress_ ? ", gzip)" : ")"));
    }

    // The host drained first (within agent.shutdown_timeout); what is left
    // now is dropped: a request still in flight under its own reason, since
    // the receiver may have it (its answer never came).
    void stop() override {
        seal();
        std::size_t in_flight = 0, unsent = 0;
        for (const Export &e : ready_) (&e == &ready_.front() && client_->busy() ? in_flight : unsent) += e.records;
        if (in_flight) ctx_.count_drop("in_flight_at_stop", in_flight);
        if (unsent) ctx_.count_drop("unsent_at_stop", unsent);
        if (in_flight + unsent)
            ctx_.error("stopped with " + std::to_string(in_flight + unsent) + " records not acknowledged by " + endpoint_ +
                       " (" + std::to_string(in_flight) + " of them in a request whose answer did not come)");
        ready_.clear();
        client_.reset();
    }

    sonde_status consume(const sonde_batch &batch) override {
        // Two requests waiting already: the receiver is slow or down. The host
        // keeps the batch; past its queue capacity the overflow policy counts drops.
        if (ready_.size() >= max_ready) return SONDE_RETRY;
        builder_.add(batch, now_ns());
        if (builder_.metric_points() + builder_.log_records() >= max_batch_size_) {
            seal();
            send_next();
        }
        return SONDE_OK;
    }

    void flush() override {
        seal();
        send_next();
    }

private:
    static constexpr std::size_t max_ready = 2;

    static bool parse_encoding(const std::string &e) {
        if (e == "protobuf") return false;
        if (e == "json") return true;
        throw ConfigError("encoding", "expected \"protobuf\" or \"json\"");
    }
    // The default resource plus the `resource` table's string attributes.
    static ResourceAttributes resource_from(Config &config) {
        ResourceAttributes out = default_resource(SONDE_VERSION);
        Config extra = config.get_table("resource");
        for (const auto &key : extra.keys()) out.emplace_back(key, extra.get_string(key, ""));
        extra.finish();
        return out;
    }

    // Turns what the builder holds into requests ready to send.
    void seal() {
        batch_started_ns_ = now_ns();
        if (builder_.empty()) return;
        const std::size_t points = builder_.metric_points(), records = builder_.log_records();
        auto [metrics, logs] = builder_.take();
        if (points) ready_.push_back(encode(metrics, "/v1/metrics", points, true));
        if (records) ready_.push_back(encode(logs, "/v1/logs", records, false));
    }

    template <typename Message>
    Export encode(const Message &message, const char *path, std::size_t records, bool metrics) {
        std::string plain;
        if (json_) {
            google::protobuf::util::JsonPrintOptions options;
            options.always_print_enums_as_ints = true;  // OTLP/JSON wants enum numbers
            (void)google::protobuf::util::MessageToJsonString(message, &plain, options);
        } else {
            message.SerializeToString(&plain);
        }
        Export e{path, {}, records, metrics};
        // Fastest level: twice the throughput of the default for 3% more bytes (docs/benchmarks.md).
        if (!compress_ || !gzip(plain, e.body, Z_BEST_SPEED)) e.body = std::move(plain);
        return e;
    }

    void tick() {
        client_->tick();
        const std::int64_t now = now_ns();
        if (!builder_.empty() && static_cast<std::uint64_t>(now - batch_started_ns_) >= max_batch_age_ns_) seal();
        send_next();
    }

    // Starts the oldest ready request unless one is in flight or a backoff runs.
    void send_next() {
        if (ready_.empty() || client_->busy() || now_ns() < next_attempt_ns_) return;
        const Export &e = ready_.front();
        request_started_ = std::chrono::steady_clock::now();
        client_->post(e.path, headers_, e.body, [this](HttpResult r) { answered(std::move(r)); });
    }

    void answered(HttpResult r) {
        Export &e = ready_.front();
        // Every attempt is one export request for the self-metrics, answered or not.
        const auto elapsed = std::chrono::steady_clock::now() - request_started_;
        ctx_.record_export(e.records, static_cast<std::uint64_t>(std::chrono::nanoseconds(elapsed).count()),
                           r.status >= 200 && r.status < 300);
        if (r.status >= 200 && r.status < 300) {
            const std::uint64_t rejected = std::min<std::uint64_t>(rejected_records(r.body, e.metrics), e.records);
            if (rejected) ctx_.count_drop("partial_success", rejected);
            ctx_.count_delivered(e.records - rejected);
            ready_.pop_front();
            failures_ = 0;
            if (failing_) ctx_.info("exporting to " + endpoint_ + " again");
            failing_ = false;
            send_next();  // the next one now, not at the next tick
            return;
        }
        const std::string what = r.status ? "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200) : r.error;
        if (!retryable(r)) {
            ctx_.count_drop("rejected", e.records);
            ctx_.warn(endpoint_ + e.path + " rejected " + std::to_string(e.records) + " records: " + what);
            ready_.pop_front();
            send_next();
            return;
        }
        // Backoff: 250 ms doubling to max_backoff, with 50-150% jitter; Retry-After wins.
        ++failures_;
        double base = 250e6 * static_cast<double>(1ull << std::min<std::uint64_t>(failures_ - 1, 16));
        double delay = std::min(base, static_cast<double>(max_backoff_ns_)) * std::uniform_real_distribution(0.5, 1.5)(random_);
        if (!r.retry_after.empty()) {  // delay-seconds; bounded by max_backoff (a huge or odd value is the receiver's)
            char *end = nullptr;
            double seconds = std::strtod(r.retry_after.c_str(), &end);
            if (end != r.retry_after.c_str() && seconds >= 0 && std::isfinite(seconds))
                delay = std::min(seconds * 1e9, static_cast<double>(max_backoff_ns_));
        }
        next_attempt_ns_ = now_ns() + static_cast<std::int64_t>(delay);
        if (!failing_) ctx_.warn(endpoint_ + e.path + ": " + what + "; retrying with backoff");
        failing_ = true;
    }

    // How many records a 2xx answer's partial_success rejects (0 when the
    // answer is empty or not an answer in the request's encoding).
    std::uint64_t rejected_records(const std::string &body, bool metrics) {
        if (body.empty()) return 0;
        PartialSuccess answer = parse_partial_success(body, json_, metrics);
        if (answer.rejected) ctx_.warn("receiver rejected " + std::to_string(answer.rejected) + " records: " + answer.message);
        return answer.rejected;
    }

    std::string endpoint_;
    bool json_, compress_;
    std::size_t max_batch_size_;
    std::uint64_t max_batch_age_ns_, timeout_ns_, max_backoff_ns_;
    std::vector<std::pair<std::string, std::string>> headers_;
    ResourceAttributes resource_;
    RequestBuilder builder_;
    Endpoint endpoint_address_;
    std::unique_ptr<TlsContext> tls_;  // https only; before client_, so it outlives it
    std::unique_ptr<HttpClient> client_;
    std::deque<Export> ready_;
    std::int64_t batch_started_ns_ = 0, next_attempt_ns_ = 0;
    std::chrono::steady_clock::time_point request_started_{};  // of the request in flight
    std::uint64_t failures_ = 0;
    bool failing_ = false;
    std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace
}  // namespace sonde::otlp

SONDE_SINK_PLUGIN(sonde::otlp::OtlpSink, "otlp", "0.1.0", "OTLP/HTTP exporter: metrics and events as logs")
