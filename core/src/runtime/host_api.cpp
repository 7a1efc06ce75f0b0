#include "runtime/host_api.hpp"

#include "runtime/instance.hpp"

namespace sonde::core {

namespace {

Instance *owner(sonde_host_context *ctx) { return ctx ? ctx->instance : nullptr; }

// Host functions must never let an exception reach plugin code.
template <typename Fn>
sonde_status guard(Fn &&fn) noexcept {
    try {
        return fn();
    } catch (...) {
        return SONDE_ERR_INTERNAL;
    }
}

sonde_status declare_record(sonde_host_context *ctx, const sonde_record_decl *decl, std::uint32_t *out_id) {
    Instance *i = owner(ctx);
    if (!i || !decl || !out_id) return SONDE_ERR_ARGUMENT;
    return guard([&] { return i->declare(*decl, *out_id); });
}

sonde_status emit_metrics(sonde_host_context *ctx, std::uint32_t id, const sonde_metric_point *points,
                          std::size_t count) {
    Instance *i = owner(ctx);
    if (!i) return SONDE_ERR_ARGUMENT;
    return guard([&] { return i->emit_metrics(id, points, count); });
}

sonde_status emit_events(sonde_host_context *ctx, std::uint32_t id, const sonde_event *events, std::size_t count) {
    Instance *i = owner(ctx);
    if (!i) return SONDE_ERR_ARGUMENT;
    return guard([&] { return i->emit_events(id, events, count); });
}

void log(sonde_host_context *ctx, std::uint32_t level, sonde_str message) {
    Instance *i = owner(ctx);
    if (!i || (message.size && !message.data)) return;
    guard([&] {
        i->log(static_cast<sonde_log_level>(level), std::string_view(message.data, message.size));
        return SONDE_OK;
    });
}

void count_drop(sonde_host_context *ctx, const char *reason, std::uint64_t count) {
    if (Instance *i = owner(ctx))
        guard([&] {
            i->count_drop(reason, count);
            return SONDE_OK;
        });
}

sonde_status add_timer(sonde_host_context *ctx, std::uint64_t period_ns, sonde_timer_fn fn, void *user_data,
                       std::uint64_t *out_handle) {
    Instance *i = owner(ctx);
    if (!i || !out_handle) return SONDE_ERR_ARGUMENT;
    return guard([&] { return i->add_timer(period_ns, fn, user_data, *out_handle); });
}

sonde_status watch_fd(sonde_host_context *ctx, int fd, sonde_fd_ready_fn fn, void *user_data,
                      std::uint64_t *out_handle) {
    Instance *i = owner(ctx);
    if (!i || !out_handle) return SONDE_ERR_ARGUMENT;
    return guard([&] { return i->watch_fd(fd, fn, user_data, *out_handle); });
}

sonde_status watch_fd_once(sonde_host_context *ctx, int fd, std::uint32_t events, sonde_fd_events_fn fn,
                           void *user_data, std::uint64_t *out_handle) {
    Instance *i = owner(ctx);
    if (!i || !out_handle) return SONDE_ERR_ARGUMENT;
    return guard([&] { return i->watch_fd_once(fd, events, fn, user_data, *out_handle); });
}

void cancel(sonde_host_context *ctx, std::uint64_t handle) {
    if (Instance *i = owner(ctx))
        guard([&] {
            i->cancel(handle);
            return SONDE_OK;
        });
}

void count_delivered(sonde_host_context *ctx, std::uint64_t count) {
    if (Instance *i = owner(ctx))
        guard([&] {
            i->count_delivered(count);
            return SONDE_OK;
        });
}

void set_fact(sonde_host_context *ctx, const char *key, sonde_str value) {
    Instance *i = owner(ctx);
    if (!i || (value.size && !value.data)) return;
    guard([&] {
        i->set_fact(key, std::string_view(value.data, value.size));
        return SONDE_OK;
    });
}

void record_export(sonde_host_context *ctx, std::uint64_t records, std::uint64_t duration_ns, int ok) {
    if (Instance *i = owner(ctx))
        guard([&] {
            i->record_export(records, duration_ns, ok != 0);
            return SONDE_OK;
        });
}

constexpr sonde_host_api table{
    sizeof(sonde_host_api), SONDE_ABI_MAJOR, SONDE_ABI_MINOR, 0, &declare_record, &emit_metrics, &emit_events,
    &log, &count_drop, &add_timer, &watch_fd, &cancel, &watch_fd_once, &count_delivered, &set_fact, &record_export,
};

}  // namespace

const sonde_host_api &host_api() { return table; }

}  // namespace sonde::core
