// sonde::Context: an instance's view of the host — its configuration,
// declarations, emits, logging, timers and fd watches.
#pragma once

#include <sonde/plugin_api.h>
#include <sonde/sdk/config.hpp>
#include <sonde/sdk/errors.hpp>
#include <sonde/sdk/event_buffer.hpp>
#include <sonde/sdk/metric_buffer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace sonde {

// Made by the export glue, one per instance (or per describe call), and
// handed to the plugin's constructor. Functions say which threads may call
// them; the rest only from the constructor, start(), stop() or a callback.
class Context {
public:
    // Why the context exists: for an instance, or only to describe the
    // plugin (no instance: nothing but declare and log may be called).
    using Purpose = Config::Purpose;

    explicit Context(const sonde_instance_info &info, Purpose purpose = Purpose::run)
        : host_(*info.host),
          ctx_(info.ctx),
          name_(info.instance_name),
          interval_ns_(info.interval_ns),
          config_(std::string_view(info.config_json, info.config_json_size), {}, purpose) {}

    // The instance's name ("procfs", "net_lo"); the plugin's when describing.
    const std::string &instance_name() const noexcept { return name_; }
    // Inputs: the collection interval (host key `interval`).
    std::uint64_t interval_ns() const noexcept { return interval_ns_; }
    // The instance's table; read it in the constructor.
    Config &config() noexcept { return config_; }
    // True when the plugin is only being described (`sonde plugins
    // --describe`, ABI 1.4): declare every record, skip checks that need a
    // real configuration; start() is never called.
    bool describing() const noexcept { return config_.describing(); }

    // Declares a metric; returns the buffer that emits its points. From the
    // constructor or start(). Throws when the host refuses the declaration.
    MetricBuffer declare(const MetricSpec &spec) {
        sonde_record_decl d{};
        d.struct_size = sizeof d;
        d.record_kind = SONDE_RECORD_METRIC;
        d.metric_kind = spec.kind;
        d.name = spec.name;
        d.unit = spec.unit;
        d.description = spec.description;
        d.attribute_keys = spec.attribute_keys.data();
        d.attribute_count = static_cast<std::uint32_t>(spec.attribute_keys.size());
        return MetricBuffer(declare_raw(d), d.attribute_count);
    }
    // Declares an event record; returns the buffer that emits its events.
    EventBuffer declare(const EventSpec &spec) {
        sonde_record_decl d{};
        d.struct_size = sizeof d;
        d.record_kind = SONDE_RECORD_EVENT;
        d.name = spec.name;
        d.description = spec.description;
        d.attribute_keys = spec.attribute_keys.data();
        d.attribute_count = static_cast<std::uint32_t>(spec.attribute_keys.size());
        return EventBuffer(declare_raw(d), d.attribute_count);
    }

    // Emits points or events of one declared record; they are borrowed for
    // the call. Returns the host's status: SONDE_OK once the routing table
    // took them (delivered to subscribed sinks, or to none), or
    // SONDE_ERR_ARGUMENT when the host refused them (an unknown id, an
    // attribute count or value type that does not match the declaration; the
    // host counts and logs it). Any thread.
    sonde_status emit(std::uint32_t record_id, const sonde_metric_point *points, std::size_t count) {
        return host_.emit_metrics(ctx_, record_id, points, count);
    }
    sonde_status emit(std::uint32_t record_id, const sonde_event *events, std::size_t count) {
        return host_.emit_events(ctx_, record_id, events, count);
    }

    // Logs under the instance's name. Any thread.
    void log(sonde_log_level level, std::string_view message) {
        host_.log(ctx_, level, sonde_str{message.data(), message.size()});
    }
    void info(std::string_view m) { log(SONDE_LOG_INFO, m); }
    void warn(std::string_view m) { log(SONDE_LOG_WARN, m); }
    void error(std::string_view m) { log(SONDE_LOG_ERROR, m); }
    // Records the plugin had to drop; `reason` is a short static token
    // ("ringbuf_full"). The host logs every drop. Any thread.
    void count_drop(const char *reason, std::uint64_t count) { host_.count_drop(ctx_, reason, count); }
#if SONDE_TARGET_ABI_MINOR >= 2
    // Sinks with `reports_delivery`: records accepted earlier reached their
    // destination. Any thread. Does nothing on a host older than 1.2.
    void count_delivered(std::uint64_t count) {
        if (offers(offsetof(sonde_host_api, count_delivered)) && host_.count_delivered)
            host_.count_delivered(ctx_, count);
    }
#endif
#if SONDE_TARGET_ABI_MINOR >= 3
    // A fact about this instance for `sonde status` ("hook" = "tp_btf"); a
    // later value of the key replaces it. `key` is a short token
    // ([a-z0-9_.]+). Any thread. Does nothing on a host older than 1.3.
    void set_fact(const char *key, std::string_view value) {
        if (offers(offsetof(sonde_host_api, set_fact)) && host_.set_fact)
            host_.set_fact(ctx_, key, sonde_str{value.data(), value.size()});
    }
    // Sinks that send requests: one request of `records` records ended after
    // `duration_ns`, accepted (ok) or not. Each attempt counts. Any thread.
    // Does nothing on a host older than 1.3.
    void record_export(std::uint64_t records, std::uint64_t duration_ns, bool ok) {
        if (offers(offsetof(sonde_host_api, record_export)) && host_.record_export)
            host_.record_export(ctx_, records, duration_ns, ok ? 1 : 0);
    }
#endif

    // Calls fn every period on the instance's serialized context, first after
    // one period. An exception fn throws is caught here and logged at error
    // level under the instance's name ("timer callback failed: WHAT"; at most
    // one line per 10 s for each callback, with the number held back); the
    // timer keeps running. Throws when the host
    // refuses the timer.
    std::uint64_t every(std::uint64_t period_ns, std::function<void()> fn) {
        callbacks_.push_back({this, "timer", std::move(fn)});
        std::uint64_t handle = 0;
        check(host_.add_timer(ctx_, period_ns, &Context::run_timer, &callbacks_.back(), &handle), "add_timer");
        return handle;
    }
    // Calls fn each time fd is readable; fd stays the plugin's. Exceptions
    // from fn are caught and logged as for every().
    std::uint64_t when_readable(int fd, std::function<void()> fn) {
        callbacks_.push_back({this, "fd watch", std::move(fn)});
        std::uint64_t handle = 0;
        check(host_.watch_fd(ctx_, fd, &Context::run_fd, &callbacks_.back(), &handle), "watch_fd");
        return handle;
    }
    // Cancels a timer or watch of every() or when_readable().
    void cancel(std::uint64_t handle) { host_.cancel(ctx_, handle); }

#if SONDE_TARGET_ABI_MINOR >= 1
    // Calls fn(ready_events) once when fd is readable and/or writable, as
    // `events` (SONDE_FD_READABLE | SONDE_FD_WRITABLE) asks. Exceptions from
    // fn are caught and logged as for every(). Needs a 1.1 host: throws
    // Unavailable on an older one.
    std::uint64_t when_ready_once(int fd, std::uint32_t events, std::function<void(std::uint32_t)> fn) {
        if (!offers(offsetof(sonde_host_api, watch_fd_once)) || !host_.watch_fd_once)
            throw Unavailable("the host does not offer watch_fd_once (plugin ABI 1.1)");
        auto watch = std::make_unique<OnceWatch>(OnceWatch{this, 0, std::move(fn)});
        check(host_.watch_fd_once(ctx_, fd, events, &Context::run_once, watch.get(), &watch->handle), "watch_fd_once");
        std::uint64_t handle = watch->handle;
        once_watches_[handle] = std::move(watch);
        return handle;
    }
    // Cancels a when_ready_once watch that has not fired yet.
    void cancel_once(std::uint64_t handle) {
        host_.cancel(ctx_, handle);
        once_watches_.erase(handle);
    }
#endif

    // Called by the export glue after the host has cancelled every timer.
    void forget_callbacks() {
        callbacks_.clear();
        once_watches_.clear();
    }

private:
    // How often one callback's failures were logged: at most a line per 10 s.
    struct FailureLog {
        bool logged = false;
        std::chrono::steady_clock::time_point last{};
        std::uint64_t held_back = 0;
    };
    // An exception a callback threw: logged at error level under the
    // instance's name, unless this callback's last line is under 10 s old.
    void report_callback_failure(FailureLog &log, const char *kind, const char *what) noexcept {
        try {
            auto now = std::chrono::steady_clock::now();
            if (log.logged && now - log.last < std::chrono::seconds(10)) {
                ++log.held_back;
                return;
            }
            std::string line = std::string(kind) + " callback failed: " + what;
            if (log.held_back) line += " (" + std::to_string(log.held_back) + " more failures held back)";
            error(line);
            log = {true, now, 0};
        } catch (...) {  // out of memory while logging: nothing more to do
        }
    }
    // Whether the host's table (of whatever minor) reaches the function at `offset`.
    bool offers(std::size_t offset) const noexcept { return host_.struct_size >= offset + sizeof(void *); }
    std::uint32_t declare_raw(const sonde_record_decl &d) {
        std::uint32_t id = 0;
        check(host_.declare_record(ctx_, &d, &id), std::string("the declaration of ") + d.name);
        return id;
    }
    // Throws for a host function's refusal, naming the call and the status
    // (SONDE_ERR_ARGUMENT: a bad argument, or a call not allowed at this point).
    static void check(sonde_status status, const std::string &what) {
        if (status != SONDE_OK)
            throw std::runtime_error("host refused " + what + " (status " + std::to_string(status) + ")");
    }

    // What a timer or fd watch calls back: the plugin's function, guarded.
    struct Callback {
        Context *context;
        const char *kind;  // "timer", "fd watch"
        std::function<void()> fn;
        FailureLog failures{};
    };
    static void run_guarded(Context &context, FailureLog &failures, const char *kind,
                            const std::function<void()> &fn) noexcept {
        try {
            fn();
        } catch (const std::exception &e) {
            context.report_callback_failure(failures, kind, e.what());
        } catch (...) {
            context.report_callback_failure(failures, kind, "unknown exception");
        }
    }
    static void run_timer(void *user_data) {
        auto *callback = static_cast<Callback *>(user_data);
        run_guarded(*callback->context, callback->failures, callback->kind, callback->fn);
    }
    static void run_fd(void *user_data, int) { run_timer(user_data); }
    struct OnceWatch {
        Context *context;
        std::uint64_t handle;
        std::function<void(std::uint32_t)> fn;
    };
    static void run_once(void *user_data, int, std::uint32_t ready) {
        auto *watch = static_cast<OnceWatch *>(user_data);
        Context &context = *watch->context;
        std::function<void(std::uint32_t)> fn = std::move(watch->fn);
        context.once_watches_.erase(watch->handle);  // the watch is over; fn may start another
        FailureLog once;  // fires once: nothing to hold back
        run_guarded(context, once, "fd watch", [&] { fn(ready); });
    }

    const sonde_host_api &host_;
    sonde_host_context *ctx_;
    std::string name_;
    std::uint64_t interval_ns_;
    Config config_;
    std::deque<Callback> callbacks_;  // stable addresses for user_data
    std::map<std::uint64_t, std::unique_ptr<OnceWatch>> once_watches_;
};

inline sonde_status MetricBuffer::emit(Context &ctx) {
    if (points_.empty()) return SONDE_OK;
    for (std::size_t i = 0; i < points_.size(); ++i)
        points_[i].attributes = attribute_count_ ? &attributes_[i * attribute_count_] : nullptr;
    sonde_status status = ctx.emit(record_id_, points_.data(), points_.size());
    points_.clear();
    attributes_.clear();
    return status;
}

inline sonde_status EventBuffer::emit(Context &ctx) {
    if (events_.empty()) return SONDE_OK;
    for (std::size_t i = 0; i < events_.size(); ++i)
        events_[i].attributes = attribute_count_ ? &attributes_[i * attribute_count_] : nullptr;
    sonde_status status = ctx.emit(record_id_, events_.data(), events_.size());
    events_.clear();
    attributes_.clear();
    return status;
}

}  // namespace sonde
