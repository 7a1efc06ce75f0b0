// Header-only C++ SDK over plugin_api.h. Plugin authors write one class
// derived from sonde::InputPlugin or sonde::SinkPlugin and one export macro:
//
//     class MyInput : public sonde::InputPlugin {
//     public:
//         explicit MyInput(sonde::Context &ctx);  // read config, declare records
//         void start() override;                   // open sources, arm timers
//     };
//     SONDE_INPUT_PLUGIN(MyInput, "my_input", "1.0.0", "What it collects")
//
// Every exception is caught at the C boundary: sonde::ConfigError becomes
// SONDE_ERR_CONFIG (with the key), sonde::Unavailable SONDE_ERR_UNAVAILABLE,
// anything else SONDE_ERR_INTERNAL. Nothing C++ crosses the boundary.
#pragma once

#include <sonde/plugin_api.h>
#include <sonde/units.hpp>
#include <sonde/utf8.hpp>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstring>
#include <ctime>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sonde {

// ---------------------------------------------------------------------------
// Errors a plugin throws; the export macro turns them into status codes.

// The instance's configuration is wrong. `key` is the dotted path inside the
// instance's table ("devices.include"), or empty for the table as a whole.
class ConfigError : public std::runtime_error {
public:
    ConfigError(std::string key, const std::string &message)
        : std::runtime_error(message), key_(std::move(key)) {}
    const std::string &key() const noexcept { return key_; }

private:
    std::string key_;
};

// The source, privilege or kernel feature the instance needs is missing.
class Unavailable : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------
// Values

inline sonde_value str(std::string_view s) noexcept {
    sonde_value v{};
    v.type = SONDE_VALUE_STRING;
    v.as.s = {s.data(), s.size()};
    return v;
}
inline sonde_value int_value(std::int64_t i) noexcept {
    sonde_value v{};
    v.type = SONDE_VALUE_INT;
    v.as.i = i;
    return v;
}
inline sonde_value uint_value(std::uint64_t u) noexcept {
    sonde_value v{};
    v.type = SONDE_VALUE_UINT;
    v.as.u = u;
    return v;
}
inline sonde_value double_value(double d) noexcept {
    sonde_value v{};
    v.type = SONDE_VALUE_DOUBLE;
    v.as.d = d;
    return v;
}
inline sonde_value bool_value(bool b) noexcept {
    sonde_value v{};
    v.type = SONDE_VALUE_BOOL;
    v.as.b = b ? 1 : 0;
    return v;
}

inline std::string_view view(const sonde_str &s) noexcept { return {s.data, s.size}; }

// Wall-clock time in unix nanoseconds, as records carry it.
inline std::int64_t now_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// This machine's host name, as sinks report it ("unknown" if it has none).
// Root can set any bytes with sethostname(2): invalid UTF-8 is replaced with
// U+FFFD (sonde/utf8.hpp), since every output format needs UTF-8.
inline std::string host_name() {
    char name[256] = {};
    return ::gethostname(name, sizeof name - 1) == 0 && name[0] ? utf8::repaired(name) : "unknown";
}

// ---------------------------------------------------------------------------
// Configuration

// Reads an instance's JSON configuration. Every key a plugin reads is
// remembered; finish() rejects any key that was not read, so a typo is an
// error instead of a silently ignored setting.
class Config {
public:
    explicit Config(std::string_view json_text, std::string prefix = {})
        : prefix_(std::move(prefix)) {
        json_ = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
        if (json_.is_discarded() || !json_.is_object())
            throw ConfigError(prefix_, "configuration is not a JSON object");
    }

    bool has(const std::string &key) const { return json_.contains(key); }
    // Every key of this table (for free-form tables such as HTTP headers).
    std::vector<std::string> keys() const {
        std::vector<std::string> out;
        for (const auto &[key, value] : json_.items()) out.push_back(key);
        return out;
    }

    bool get_bool(const std::string &key, bool fallback) {
        return get<bool>(key, fallback, "a boolean", &nlohmann::json::is_boolean);
    }
    std::int64_t get_int(const std::string &key, std::int64_t fallback) {
        return get<std::int64_t>(key, fallback, "an integer", &nlohmann::json::is_number_integer);
    }
    // An integer in [min, max] (inclusive); outside it is a ConfigError that
    // names the range. Use it for every count that sizes or indexes something:
    // `max_batch_size = -1` must be refused, not cast to SIZE_MAX.
    std::int64_t get_int(const std::string &key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
        std::int64_t value = get_int(key, fallback);
        if (has(key) && (value < min || value > max))
            throw ConfigError(path(key), std::to_string(value) + " is out of range [" + std::to_string(min) + ", " +
                                             std::to_string(max) + "]");
        return value;
    }
    double get_double(const std::string &key, double fallback) {
        return get<double>(key, fallback, "a number", &nlohmann::json::is_number);
    }
    std::string get_string(const std::string &key, std::string fallback) {
        return get<std::string>(key, std::move(fallback), "a string", &nlohmann::json::is_string);
    }
    std::vector<std::string> get_strings(const std::string &key, std::vector<std::string> fallback) {
        const nlohmann::json *node = find(key);
        if (!node) return fallback;
        if (!node->is_array()) throw ConfigError(path(key), "expected an array of strings");
        std::vector<std::string> out;
        for (const auto &item : *node) {
            if (!item.is_string()) throw ConfigError(path(key), "expected an array of strings");
            out.push_back(item.get<std::string>());
        }
        return out;
    }
    // "250ms" -> nanoseconds, at most sonde::max_duration_ns (about ten years).
    std::uint64_t get_duration_ns(const std::string &key, std::uint64_t fallback) {
        return get_duration_ns(key, fallback, 0, max_duration_ns);
    }
    // A duration in [min_ns, max_ns] (inclusive); outside it is a ConfigError
    // that names the range ("flush_interval: 0ns is out of range [1ms, 1h]").
    std::uint64_t get_duration_ns(const std::string &key, std::uint64_t fallback, std::uint64_t min_ns,
                                  std::uint64_t max_ns) {
        const nlohmann::json *node = find(key);
        if (!node) return fallback;
        ParsedQuantity parsed = node->is_string() ? parse_duration(node->get<std::string>()) : ParsedQuantity{};
        if (parsed.status == ParsedQuantity::Status::syntax)
            throw ConfigError(path(key), "expected a duration such as \"250ms\" or \"10s\"");
        if (!parsed.ok() || parsed.value < min_ns || parsed.value > max_ns)
            throw ConfigError(path(key), "\"" + node->get<std::string>() + "\" is out of range [" +
                                             format_duration(min_ns) + ", " + format_duration(max_ns) + "]");
        return parsed.value;
    }
    // "64MiB" (or a non-negative integer of bytes) -> bytes, at most
    // sonde::max_size_bytes (1 PiB).
    std::uint64_t get_size_bytes(const std::string &key, std::uint64_t fallback) {
        return get_size_bytes(key, fallback, 0, max_size_bytes);
    }
    // A size in [min_bytes, max_bytes] (inclusive); outside it is a ConfigError
    // that names the range ("max_buffer: 0B is out of range [4KiB, 1GiB]").
    std::uint64_t get_size_bytes(const std::string &key, std::uint64_t fallback, std::uint64_t min_bytes,
                                 std::uint64_t max_bytes) {
        const nlohmann::json *node = find(key);
        if (!node) return fallback;
        ParsedQuantity parsed;
        std::string shown;
        if (node->is_number_integer()) {
            // A plain integer is bytes; a negative one is out of range.
            bool negative = node->is_number_unsigned() ? false : node->get<std::int64_t>() < 0;
            std::uint64_t bytes = negative ? 0 : node->get<std::uint64_t>();
            parsed = negative || bytes > max_size_bytes ? ParsedQuantity{ParsedQuantity::Status::out_of_range, 0}
                                                        : ParsedQuantity{ParsedQuantity::Status::ok, bytes};
            shown = node->dump();
        } else if (node->is_string()) {
            parsed = parse_size(node->get<std::string>());
            shown = "\"" + node->get<std::string>() + "\"";
        }
        if (parsed.status == ParsedQuantity::Status::syntax)
            throw ConfigError(path(key), "expected a size such as \"64MiB\"");
        if (!parsed.ok() || parsed.value < min_bytes || parsed.value > max_bytes)
            throw ConfigError(path(key), shown + " is out of range [" + format_size(min_bytes) + ", " +
                                             format_size(max_bytes) + "]");
        return parsed.value;
    }
    // A nested table, read with the same rules.
    Config get_table(const std::string &key) {
        const nlohmann::json *node = find(key);
        if (!node) return Config("{}", path(key));
        if (!node->is_object()) throw ConfigError(path(key), "expected a table");
        return Config(node->dump(), path(key));
    }

    // Throws ConfigError for the first key that was never read.
    void finish() const {
        for (const auto &[key, value] : json_.items())
            if (!read_.count(key)) throw ConfigError(path(key), "unknown key");
    }

private:
    const nlohmann::json *find(const std::string &key) {
        read_.insert(key);
        auto it = json_.find(key);
        return it == json_.end() ? nullptr : &*it;
    }
    template <typename T>
    T get(const std::string &key, T fallback, const char *expected,
          bool (nlohmann::json::*check)() const noexcept) {
        const nlohmann::json *node = find(key);
        if (!node) return fallback;
        if (!(node->*check)()) throw ConfigError(path(key), std::string("expected ") + expected);
        return node->get<T>();
    }
    std::string path(const std::string &key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

    nlohmann::json json_;
    std::string prefix_;
    std::set<std::string> read_;
};

// ---------------------------------------------------------------------------
// Records

// A declaration, as the plugin writes it once, e.g. in a static table.
struct MetricSpec {
    const char *name;
    sonde_metric_kind kind;
    const char *unit;
    const char *description;
    std::vector<const char *> attribute_keys;
};

struct EventSpec {
    const char *name;
    const char *description;
    std::vector<const char *> attribute_keys;
};

class Context;

// Collects the points of one declared metric during a collection cycle and
// emits them in one host call. Reuses its buffers: no allocation once warm.
class MetricBuffer {
public:
    MetricBuffer() = default;
    MetricBuffer(std::uint32_t record_id, std::uint32_t attribute_count)
        : record_id_(record_id), attribute_count_(attribute_count) {}

    void add(sonde_value value, std::initializer_list<sonde_value> attributes, std::int64_t time_ns = 0) {
        add(value, attributes.begin(), attributes.size(), time_ns);
    }
    void add(sonde_value value, const sonde_value *attributes, std::size_t count, std::int64_t time_ns = 0) {
        if (count != attribute_count_) throw std::logic_error("attribute count differs from declaration");
        sonde_metric_point p{};
        p.struct_size = sizeof p;
        p.attribute_count = attribute_count_;
        p.time_ns = time_ns;
        p.start_time_ns = start_time_ns_;
        p.value = value;
        points_.push_back(p);
        attributes_.insert(attributes_.end(), attributes, attributes + count);
    }
    void add(double value, std::initializer_list<sonde_value> attributes = {}, std::int64_t time_ns = 0) {
        add(double_value(value), attributes, time_ns);
    }
    void add(std::uint64_t value, std::initializer_list<sonde_value> attributes = {}, std::int64_t time_ns = 0) {
        add(uint_value(value), attributes, time_ns);
    }
    // Histogram point: the histogram is borrowed until emit().
    void add_histogram(const sonde_histogram &histogram, std::initializer_list<sonde_value> attributes,
                       std::int64_t time_ns = 0) {
        add_histogram(histogram, attributes.begin(), attributes.size(), time_ns);
    }
    void add_histogram(const sonde_histogram &histogram, const sonde_value *attributes, std::size_t count,
                       std::int64_t time_ns = 0) {
        add(sonde_value{}, attributes, count, time_ns);
        points_.back().histogram = &histogram;
    }

    // Counters and histograms: when accumulation began (unix ns) for the
    // points added from now on; 0 (the default) means the instance's start.
    void start_time_ns(std::int64_t start_ns) noexcept { start_time_ns_ = start_ns; }

    // Sends everything collected to the host and clears the buffer.
    inline void emit(Context &ctx);

private:
    std::uint32_t record_id_ = 0;
    std::uint32_t attribute_count_ = 0;
    std::int64_t start_time_ns_ = 0;
    std::vector<sonde_metric_point> points_;
    std::vector<sonde_value> attributes_;
};

// The instance's view of the host: declarations, emits, logging, timers.
class Context {
public:
    explicit Context(const sonde_instance_info &info)
        : host_(*info.host),
          ctx_(info.ctx),
          name_(info.instance_name),
          interval_ns_(info.interval_ns),
          config_(std::string_view(info.config_json, info.config_json_size)) {}

    const std::string &instance_name() const noexcept { return name_; }
    std::uint64_t interval_ns() const noexcept { return interval_ns_; }
    Config &config() noexcept { return config_; }

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
    std::uint32_t declare(const EventSpec &spec) {
        sonde_record_decl d{};
        d.struct_size = sizeof d;
        d.record_kind = SONDE_RECORD_EVENT;
        d.name = spec.name;
        d.description = spec.description;
        d.attribute_keys = spec.attribute_keys.data();
        d.attribute_count = static_cast<std::uint32_t>(spec.attribute_keys.size());
        return declare_raw(d);
    }

    void emit(std::uint32_t record_id, const sonde_metric_point *points, std::size_t count) {
        host_.emit_metrics(ctx_, record_id, points, count);
    }
    void emit(std::uint32_t record_id, const sonde_event *events, std::size_t count) {
        host_.emit_events(ctx_, record_id, events, count);
    }

    void log(sonde_log_level level, std::string_view message) {
        host_.log(ctx_, level, sonde_str{message.data(), message.size()});
    }
    void info(std::string_view m) { log(SONDE_LOG_INFO, m); }
    void warn(std::string_view m) { log(SONDE_LOG_WARN, m); }
    void error(std::string_view m) { log(SONDE_LOG_ERROR, m); }
    void count_drop(const char *reason, std::uint64_t count) { host_.count_drop(ctx_, reason, count); }
    // Sinks with `reports_delivery`: records accepted earlier reached their destination.
    void count_delivered(std::uint64_t count) {
        if (offers(offsetof(sonde_host_api, count_delivered)) && host_.count_delivered)
            host_.count_delivered(ctx_, count);
    }
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

    // Calls fn every period on the instance's serialized context.
    std::uint64_t every(std::uint64_t period_ns, std::function<void()> fn) {
        callbacks_.push_back(std::move(fn));
        std::uint64_t handle = 0;
        check(host_.add_timer(ctx_, period_ns, &Context::run_timer, &callbacks_.back(), &handle), "add_timer");
        return handle;
    }
    // Calls fn each time fd is readable; fd stays the plugin's.
    std::uint64_t when_readable(int fd, std::function<void()> fn) {
        callbacks_.push_back(std::move(fn));
        std::uint64_t handle = 0;
        check(host_.watch_fd(ctx_, fd, &Context::run_fd, &callbacks_.back(), &handle), "watch_fd");
        return handle;
    }
    void cancel(std::uint64_t handle) { host_.cancel(ctx_, handle); }

    // Calls fn(ready_events) once when fd is readable and/or writable, as
    // `events` (SONDE_FD_READABLE | SONDE_FD_WRITABLE) asks. Needs a 1.1 host.
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

    // Called by the export glue after the host has cancelled every timer.
    void forget_callbacks() {
        callbacks_.clear();
        once_watches_.clear();
    }

private:
    // Whether the host's table (of whatever minor) reaches the function at `offset`.
    bool offers(std::size_t offset) const noexcept { return host_.struct_size >= offset + sizeof(void *); }
    std::uint32_t declare_raw(const sonde_record_decl &d) {
        std::uint32_t id = 0;
        check(host_.declare_record(ctx_, &d, &id), d.name);
        return id;
    }
    static void check(sonde_status status, const char *what) {
        if (status != SONDE_OK) throw std::runtime_error(std::string("host refused ") + what);
    }
    static void run_timer(void *fn) { (*static_cast<std::function<void()> *>(fn))(); }
    static void run_fd(void *fn, int) { (*static_cast<std::function<void()> *>(fn))(); }
    struct OnceWatch {
        Context *context;
        std::uint64_t handle;
        std::function<void(std::uint32_t)> fn;
    };
    static void run_once(void *user_data, int, std::uint32_t ready) {
        auto *watch = static_cast<OnceWatch *>(user_data);
        std::function<void(std::uint32_t)> fn = std::move(watch->fn);
        watch->context->once_watches_.erase(watch->handle);  // the watch is over; fn may start another
        fn(ready);
    }

    const sonde_host_api &host_;
    sonde_host_context *ctx_;
    std::string name_;
    std::uint64_t interval_ns_;
    Config config_;
    std::deque<std::function<void()>> callbacks_;  // stable addresses for user_data
    std::map<std::uint64_t, std::unique_ptr<OnceWatch>> once_watches_;
};

inline void MetricBuffer::emit(Context &ctx) {
    if (points_.empty()) return;
    for (std::size_t i = 0; i < points_.size(); ++i)
        points_[i].attributes = attribute_count_ ? &attributes_[i * attribute_count_] : nullptr;
    ctx.emit(record_id_, points_.data(), points_.size());
    points_.clear();
    attributes_.clear();
}

// ---------------------------------------------------------------------------
// Plugin base classes

// An input: the constructor reads configuration (through ctx.config()) and
// declares records; start() opens sources and arms timers or fd watches.
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
// A sink that buffers what it accepts sets `reports_delivery` and reports the
// fate of every accepted record: ctx.count_delivered once it reached its
// destination, ctx.count_drop when it cannot (stop() drops what is left).
class SinkPlugin {
public:
    static constexpr bool reports_delivery = false;

    explicit SinkPlugin(Context &ctx) : ctx_(ctx) {}
    virtual ~SinkPlugin() = default;
    virtual void start() {}
    virtual void stop() {}
    virtual sonde_status consume(const sonde_batch &batch) = 0;
    virtual void flush() {}
    // The input instance `input_name` stopped; it emits nothing more.
    virtual void on_input_stopped(std::string_view /*input_name*/) {}

protected:
    Context &ctx_;
};

// ---------------------------------------------------------------------------
// Export glue: turns a plugin class into the C descriptor.

namespace detail {

inline void write_error(sonde_error *error, std::string_view message, std::string_view key = {}) {
    if (!error) return;
    auto copy = [](char *dst, std::size_t capacity, std::string_view src) {
        if (!dst || capacity == 0) return;
        std::size_t n = src.size() < capacity - 1 ? src.size() : capacity - 1;
        if (n) std::memcpy(dst, src.data(), n);  // an empty view's data() may be null
        dst[n] = '\0';
    };
    copy(error->message, error->message_capacity, message);
    if (error->struct_size >= offsetof(sonde_error, key_capacity) + sizeof(std::size_t))
        copy(error->key, error->key_capacity, key);
}

// Runs fn, mapping exceptions to status codes; never lets one escape.
template <typename Fn>
sonde_status guarded(sonde_error *error, Fn &&fn) noexcept {
    try {
        return fn();
    } catch (const ConfigError &e) {
        write_error(error, e.what(), e.key());
        return SONDE_ERR_CONFIG;
    } catch (const Unavailable &e) {
        write_error(error, e.what());
        return SONDE_ERR_UNAVAILABLE;
    } catch (const std::exception &e) {
        write_error(error, e.what());
        return SONDE_ERR_INTERNAL;
    } catch (...) {
        write_error(error, "unknown exception");
        return SONDE_ERR_INTERNAL;
    }
}

// What the host holds as sonde_instance*: the context and the plugin object.
template <typename Plugin>
struct Holder {
    explicit Holder(const sonde_instance_info &info) : context(info), plugin(context) {
        context.config().finish();
    }
    Context context;
    Plugin plugin;
};

template <typename Plugin>
Holder<Plugin> *holder(sonde_instance *instance) {
    return reinterpret_cast<Holder<Plugin> *>(instance);
}

template <typename Plugin>
struct Glue {
    static sonde_status create(const sonde_instance_info *info, sonde_instance **out, sonde_error *error) noexcept {
        return guarded(error, [&] {
            *out = reinterpret_cast<sonde_instance *>(new Holder<Plugin>(*info));
            return SONDE_OK;
        });
    }
    static sonde_status start(sonde_instance *instance, sonde_error *error) noexcept {
        return guarded(error, [&] {
            holder<Plugin>(instance)->plugin.start();
            return SONDE_OK;
        });
    }
    static void stop(sonde_instance *instance) noexcept {
        auto *h = holder<Plugin>(instance);
        guarded(nullptr, [&] {
            h->plugin.stop();
            return SONDE_OK;
        });
        h->context.forget_callbacks();
    }
    static void destroy(sonde_instance *instance) noexcept { delete holder<Plugin>(instance); }
    static sonde_status consume(sonde_instance *instance, const sonde_batch *batch, sonde_error *error) noexcept {
        if constexpr (std::is_base_of_v<SinkPlugin, Plugin>)
            return guarded(error, [&] { return holder<Plugin>(instance)->plugin.consume(*batch); });
        else
            return SONDE_ERR_INTERNAL;
    }
    static sonde_status flush(sonde_instance *instance, sonde_error *error) noexcept {
        if constexpr (std::is_base_of_v<SinkPlugin, Plugin>)
            return guarded(error, [&] {
                holder<Plugin>(instance)->plugin.flush();
                return SONDE_OK;
            });
        else
            return SONDE_ERR_INTERNAL;
    }

    static void input_stopped(sonde_instance *instance, const char *input_name) noexcept {
        if constexpr (std::is_base_of_v<SinkPlugin, Plugin>)
            guarded(nullptr, [&] {
                holder<Plugin>(instance)->plugin.on_input_stopped(input_name);
                return SONDE_OK;
            });
    }

    static constexpr sonde_plugin_ops ops() {
        constexpr bool sink = std::is_base_of_v<SinkPlugin, Plugin>;
        std::uint64_t flags = 0;
        if constexpr (sink)
            if (Plugin::reports_delivery) flags |= SONDE_SINK_REPORTS_DELIVERY;
        return sonde_plugin_ops{sizeof(sonde_plugin_ops),       0, &create, &start, &stop, &destroy,
                                sink ? &consume : nullptr,      sink ? &flush : nullptr,
                                sink ? &input_stopped : nullptr, flags};
    }
};

template <typename Plugin, sonde_plugin_kind Kind>
constexpr void check_plugin_class() {
    if constexpr (Kind == SONDE_PLUGIN_INPUT)
        static_assert(std::is_base_of_v<InputPlugin, Plugin>,
                      "SONDE_INPUT_PLUGIN needs a class derived from sonde::InputPlugin");
    else
        static_assert(std::is_base_of_v<SinkPlugin, Plugin>,
                      "SONDE_SINK_PLUGIN needs a class derived from sonde::SinkPlugin");
    static_assert(std::is_constructible_v<Plugin, Context &>,
                  "a plugin class needs a constructor taking (sonde::Context &)");
    static_assert(!std::is_abstract_v<Plugin>, "a plugin class must implement every pure virtual member");
}

}  // namespace detail
}  // namespace sonde

#define SONDE_EXPORT_ extern "C" __attribute__((visibility("default")))

// The body of a function returning the class's descriptor (static lifetime).
#define SONDE_DESCRIPTOR_BODY_(Class, Kind, Name, Version, Description)                           \
    static constexpr sonde_plugin_ops ops = sonde::detail::Glue<Class>::ops();                     \
    static constexpr sonde_plugin_descriptor descriptor = {                                        \
        sizeof(sonde_plugin_descriptor), SONDE_ABI_MAJOR, SONDE_ABI_MINOR, Kind, Name, Version,     \
        Description, &ops};                                                                        \
    return &descriptor;

#define SONDE_PLUGIN_(Class, Kind, Name, Version, Description)                                   \
    static_assert((sonde::detail::check_plugin_class<Class, Kind>(), true));                      \
    SONDE_EXPORT_ const struct sonde_abi_version sonde_plugin_abi = {SONDE_ABI_MAJOR,             \
                                                                     SONDE_ABI_MINOR};            \
    SONDE_EXPORT_ const sonde_plugin_descriptor *sonde_plugin_entry_v1(void) {                    \
        SONDE_DESCRIPTOR_BODY_(Class, Kind, Name, Version, Description)                            \
    }

// Export an input plugin class under a unique name.
#define SONDE_INPUT_PLUGIN(Class, Name, Version, Description) \
    SONDE_PLUGIN_(Class, SONDE_PLUGIN_INPUT, Name, Version, Description)

// Export a sink plugin class under a unique name.
#define SONDE_SINK_PLUGIN(Class, Name, Version, Description) \
    SONDE_PLUGIN_(Class, SONDE_PLUGIN_SINK, Name, Version, Description)

// For a plugin compiled into the host itself (sonde's `self` input): defines
// `const sonde_plugin_descriptor *Function()` instead of exporting the entry
// symbol, for the host to register without loading a shared object. A
// third-party plugin never needs it.
#define SONDE_BUILTIN_INPUT_PLUGIN(Function, Class, Name, Version, Description)                  \
    static_assert((sonde::detail::check_plugin_class<Class, SONDE_PLUGIN_INPUT>(), true));        \
    const sonde_plugin_descriptor *Function() { SONDE_DESCRIPTOR_BODY_(Class, SONDE_PLUGIN_INPUT, Name, Version, Description) }
