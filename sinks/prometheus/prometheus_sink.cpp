// prometheus sink: an HTTP endpoint serving the latest value of every series
// routed to it, in the text exposition format 0.0.4, or OpenMetrics 1.0 when
// the scraper asks for it, gzip-compressed when accepted. A scrape renders
// the stored snapshot; it never collects. See README.md.
#include "exposition.hpp"
#include "http_server.hpp"
#include "http/listen_address.hpp"

#include "records/gzip.hpp"
#include <sonde/sdk.hpp>

#include <memory>

namespace sonde::prometheus {
namespace {

constexpr const char *text_type = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char *openmetrics_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";

// The `listen` option, refused as the SDK's ConfigError on its key.
ListenAddress listen_option(const std::string &listen) {
    try {
        return http::resolve_listen(listen);
    } catch (const http::ListenAddressError &e) {
        throw ConfigError("listen", e.what());
    }
}

class PrometheusSink final : public SinkPlugin {
public:
    // Every option is validated here, so that `sonde check-config` (which
    // creates instances without starting them) refuses what start() would.
    explicit PrometheusSink(Context &ctx)
        : SinkPlugin(ctx),
          listen_(listen_option(ctx.config().get_string("listen", "127.0.0.1:9464"))),
          path_(ctx.config().get_string("path", "/metrics")),
          expire_after_ns_(ctx.config().get_duration_ns("expire_after", 300'000'000'000, 1'000'000, max_duration_ns)),
          store_(ctx.config().get_bool("count_events", false)) {
        if (path_.empty() || path_[0] != '/') throw ConfigError("path", "must start with '/'");
        for (char ch : path_)
            if (ch <= ' ' || ch == 0x7f || ch == '?' || ch == '#' || static_cast<unsigned char>(ch) >= 0x80)
                throw ConfigError("path", "\"" + path_ + "\": only printable ASCII without spaces, '?' or '#'");
        server_options_.max_connections =
            static_cast<std::size_t>(ctx.config().get_int("max_connections", 64, 1, max_connections_limit));
        server_options_.idle_timeout_ns = ctx.config().get_duration_ns("idle_timeout", 120'000'000'000, 10'000'000, 86'400'000'000'000);
        server_options_.request_timeout_ns = ctx.config().get_duration_ns("request_timeout", 10'000'000'000, 10'000'000, 3'600'000'000'000);
        server_options_.write_timeout_ns = ctx.config().get_duration_ns("write_timeout", 10'000'000'000, 10'000'000, 3'600'000'000'000);
    }

    void start() override {
        server_ = std::make_unique<HttpServer>(ctx_, listen_, server_options_,
                                               [this](const HttpRequest &r, HttpResponse &out) { serve(r, out); });
        ctx_.info("serving " + path_ + " on " + listen_.numeric + " (port " + std::to_string(server_->port()) + ")");
    }

    void stop() override { server_.reset(); }

    sonde_status consume(const sonde_batch &batch) override {
        store_.update(batch, now_ns());
        return SONDE_OK;
    }

    void on_input_stopped(std::string_view input) override { store_.drop_input(input); }

private:
    void serve(const HttpRequest &request, HttpResponse &response) {
        std::string_view target = request.target;
        if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
        if (target != path_) {
            response.status = 404;
            response.body = "not found; metrics are at " + path_ + "\n";
            return;
        }
        if (request.method != "GET" && request.method != "HEAD") {
            response.status = 405;
            response.allow = "GET, HEAD";
            response.body = "only GET and HEAD\n";
            return;
        }
        store_.expire(now_ns() - static_cast<std::int64_t>(expire_after_ns_));
        const bool openmetrics = request.accept.find("application/openmetrics-text") != std::string::npos;
        bool zipped = request.accept_encoding.find("gzip") != std::string::npos;
        const Rendering &r = rendering(openmetrics ? Format::openmetrics_1_0 : Format::text_0_0_4, zipped);
        zipped = zipped && !r.gzipped.empty();  // compression failed: send it plain
        response.content_type = openmetrics ? openmetrics_type : text_type;
        if (zipped) response.content_encoding = "gzip";
        response.body = zipped ? r.gzipped : r.plain;  // for HEAD only its length is sent
    }

    // The exposition in one format, rendered (and compressed) again only
    // when the store changed since: scrapes between updates cost no rendering.
    struct Rendering {
        std::uint64_t generation = ~0ull, gzip_generation = ~0ull;
        std::string plain, gzipped;
    };
    const Rendering &rendering(Format format, bool zipped) {
        Rendering &r = format == Format::openmetrics_1_0 ? openmetrics_ : text_;
        if (r.generation != store_.generation()) {
            r.plain.clear();
            store_.render(r.plain, format);
            r.generation = store_.generation();
        }
        if (zipped && r.gzip_generation != r.generation) {
            if (!gzip(r.plain, r.gzipped)) r.gzipped.clear();
            r.gzip_generation = r.generation;
        }
        return r;
    }

    // Each connection holds a descriptor and up to about 100 KiB of buffers.
    static constexpr std::int64_t max_connections_limit = 10'000;

    ListenAddress listen_;
    std::string path_;
    std::uint64_t expire_after_ns_;
    HttpServerOptions server_options_;
    MetricStore store_;
    Rendering text_, openmetrics_;
    std::unique_ptr<HttpServer> server_;
};

}  // namespace
}  // namespace sonde::prometheus

SONDE_SINK_PLUGIN(sonde::prometheus::PrometheusSink, "prometheus", "0.1.0",
                  "Prometheus exposition endpoint (text 0.0.4, OpenMetrics 1.0, gzip)")
