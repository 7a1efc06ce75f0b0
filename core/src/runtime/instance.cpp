#include "runtime/instance.hpp"

#include "runtime/agent.hpp"
#include "runtime/host_api.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <sonde/sdk.hpp>
#include <sonde/utf8.hpp>

#include <algorithm>
#include <cstring>

namespace sonde::core {

namespace asio = boost::asio;

std::uint64_t InstanceCounters::dropped_total() {
    std::uint64_t total = 0;
    for (const auto &d : dropped) total += d.load(std::memory_order_relaxed);
    std::lock_guard lock(plugin_drops_mutex);
    for (const auto &[reason, n] : plugin_drops) total += n;
    return total;
}

bool LogLimiter::allow(std::uint64_t &suppressed) {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (last_ != std::chrono::steady_clock::time_point{} && now - last_ < std::chrono::seconds(10)) {
        ++held_back_;
        return false;
    }
    last_ = now;
    suppressed = std::exchange(held_back_, 0);
    return true;
}

// A timer or an fd watch armed by the plugin.
struct Instance::Handle {
    std::uint64_t id = 0;
    bool cancelled = false;
    std::unique_ptr<asio::steady_timer> timer;
    std::unique_ptr<asio::posix::stream_descriptor> descriptor;
    sonde_timer_fn timer_fn = nullptr;
    sonde_fd_ready_fn fd_fn = nullptr;
    sonde_fd_events_fn once_fn = nullptr;  // one-shot watch
    void *user_data = nullptr;
    std::chrono::nanoseconds period{0};
    std::chrono::steady_clock::time_point next{};
};

Instance::Instance(Agent &agent, InstanceConfig config, std::shared_ptr<PluginLibrary> library)
    : agent_(agent), library_(std::move(library)), config_(std::move(config)), strand_(agent.io().get_executor()) {}

Instance::~Instance() {
    if (plugin_instance_) library_->ops().destroy(plugin_instance_);
}

sonde_error Instance::error_buffer(char *message, std::size_t message_size, char *key, std::size_t key_size) {
    message[0] = key[0] = '\0';
    return sonde_error{sizeof(sonde_error), 0, message, message_size, key, key_size};
}

sonde_instance_info Instance::instance_info(const std::string &config_json) {
    sonde_instance_info info{};
    info.struct_size = sizeof info;
    info.instance_name = config_.name.c_str();
    info.config_json = config_json.data();
    info.config_json_size = config_json.size();
    info.interval_ns = config_.interval_ns;
    info.host = &host_api();
    info.ctx = &context_;
    return info;
}

bool Instance::create(PluginFailure &failure) {
    const std::string json = config_.plugin_config.dump();
    const sonde_instance_info info = instance_info(json);
    return call_plugin(failure, [&](sonde_error &error) {
        sonde_status status = library_->ops().create(&info, &plugin_instance_, &error);
        if (status == SONDE_OK && !plugin_instance_) {
            std::snprintf(error.message, error.message_capacity, "create returned no instance");
            return SONDE_ERR_INTERNAL;
        }
        return status;
    });
}

bool Instance::describe(PluginFailure &failure) {
    auto describe_function = library_->describe_function();
    if (!describe_function) {
        if (create(failure)) return true;
        const sonde_plugin_descriptor &d = library_->descriptor();
        failure.message += " (plugin ABI " + std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor) +
                           " has no describe, so it is described by creating an instance with an empty table)";
        return false;
    }
    const std::string json = "{}";
    const sonde_instance_info info = instance_info(json);
    return call_plugin(failure, [&](sonde_error &error) { return describe_function(&info, &error); });
}

bool Instance::call_plugin(PluginFailure &failure, const std::function<sonde_status(sonde_error &)> &call) {
    char message[1024], key[256];
    sonde_error error = error_buffer(message, sizeof message, key, sizeof key);
    try {
        failure.status = call(error);
    } catch (...) {  // a plugin not built with the SDK let an exception escape
        failure.status = SONDE_ERR_INTERNAL;
        std::snprintf(message, sizeof message, "exception escaped the plugin ABI");
    }
    if (failure.status != SONDE_OK) {
        plugin_instance_ = nullptr;
        failure.message = message[0] ? message : "failed without a message";
        failure.key = key;
        return false;
    }
    return true;
}

void Instance::start(std::function<void(bool)> on_started) {
    asio::post(strand_, [self = shared_from_this(), on_started = std::move(on_started)] {
        self->state_ = State::starting;
        self->start_time_ns_ = now_ns();
        char message[1024], key[256];
        sonde_error error = self->error_buffer(message, sizeof message, key, sizeof key);
        sonde_status status;
        try {
            status = self->library_->ops().start(self->plugin_instance_, &error);
        } catch (...) {
            status = SONDE_ERR_INTERNAL;
            std::snprintf(message, sizeof message, "exception escaped the plugin ABI");
        }
        bool ok = status == SONDE_OK;
        if (ok) {
            self->state_ = State::running;
        } else {
            self->state_ = State::failed;
            self->cancel_all();
            self->counters_.errors.fetch_add(1, std::memory_order_relaxed);
            {
                std::lock_guard lock(self->failure_mutex_);
                self->failure_ = message[0] ? message : "start failed without a message";
            }
            self->agent_.logger().error("{}: cannot start: {}", self->config_.qualified_name(), self->failure());
        }
        if (on_started) on_started(ok);
    });
}

const char *Instance::state_name() const {
    switch (state_.load()) {
        case State::created: return "created";
        case State::starting: return "starting";
        case State::running: return "running";
        case State::stopped: return "stopped";
        case State::failed: return "failed";
    }
    return "?";
}

std::string Instance::failure() const {
    std::lock_guard lock(failure_mutex_);
    return failure_;
}

void Instance::stop(std::function<void()> done) {
    asio::post(strand_, [self = shared_from_this(), done = std::move(done)] {
        State was = self->state_.exchange(State::stopped);
        self->cancel_all();
        if (was == State::running) {
            self->before_stop();
            try {
                self->library_->ops().stop(self->plugin_instance_);
            } catch (...) {
                self->counters_.errors.fetch_add(1, std::memory_order_relaxed);
            }
        }
        self->after_stop();
        if (done) done();
    });
}

sonde_status Instance::declare(const sonde_record_decl &, std::uint32_t &) { return SONDE_ERR_ARGUMENT; }
sonde_status Instance::emit_metrics(std::uint32_t, const sonde_metric_point *, std::size_t) {
    return SONDE_ERR_ARGUMENT;
}
sonde_status Instance::emit_events(std::uint32_t, const sonde_event *, std::size_t) { return SONDE_ERR_ARGUMENT; }

void Instance::log(sonde_log_level level, std::string_view message) {
    auto spd = level >= SONDE_LOG_ERROR  ? spdlog::level::err
               : level == SONDE_LOG_WARN ? spdlog::level::warn
               : level == SONDE_LOG_INFO ? spdlog::level::info
                                         : spdlog::level::debug;
    agent_.logger().log(spd, "{}: {}", config_.qualified_name(), message);
}

void Instance::log_limited(LogLimiter &limiter, spdlog::level::level_enum level, const std::string &message) {
    std::uint64_t suppressed = 0;
    if (!limiter.allow(suppressed)) return;
    if (suppressed)
        agent_.logger().log(level, "{}: {} ({} similar messages suppressed)", config_.qualified_name(), message,
                            suppressed);
    else
        agent_.logger().log(level, "{}: {}", config_.qualified_name(), message);
}

void Instance::warn_limited(const std::string &message) { log_limited(limiter_, spdlog::level::warn, message); }

void Instance::log_drop(const std::string &message) { log_limited(drop_limiter_, spdlog::level::err, message); }

void Instance::count_drop(const char *reason, std::uint64_t count) {
    const char *token = reason && *reason ? reason : "unspecified";
    {
        std::lock_guard lock(counters_.plugin_drops_mutex);
        counters_.plugin_drops[token] += count;
    }
    log_drop("dropped " + std::to_string(count) + " records (" + token + ")");
}

void Instance::count_delivered(std::uint64_t) { warn_limited("count_delivered is for sinks: ignored"); }

namespace {
constexpr std::size_t max_fact_key_bytes = 64, max_fact_value_bytes = 256;

bool valid_fact_key(const char *key) {
    if (!key) return false;
    std::size_t n = ::strnlen(key, max_fact_key_bytes + 1);
    if (n == 0 || n > max_fact_key_bytes) return false;
    return std::all_of(key, key + n, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'; });
}

// The value repaired as UTF-8, then cut to max_fact_value_bytes at a
// character boundary. Output is never shorter than the input it came from,
// so the first bytes of input (plus one sequence) decide the kept part.
std::string bounded_fact_value(std::string_view value) {
    std::string out = utf8::repaired(value.substr(0, max_fact_value_bytes + 4));
    if (out.size() > max_fact_value_bytes) {
        std::size_t cut = max_fact_value_bytes;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
        out.resize(cut);
    }
    return out;
}
}  // namespace

void Instance::set_fact(const char *key, std::string_view value) {
    if (!valid_fact_key(key)) {
        warn_limited("set_fact with a key that is not a short token ([a-z0-9_.], at most 64 bytes): ignored");
        return;
    }
    std::string kept = bounded_fact_value(value);
    {
        std::lock_guard lock(facts_mutex_);
        std::string &current = facts_[key];
        if (current == kept && !kept.empty()) return;
        current = kept;
    }
    agent_.logger().info("{}: {} = {}", config_.qualified_name(), key, kept);
}

std::map<std::string, std::string> Instance::facts() const {
    std::lock_guard lock(facts_mutex_);
    return facts_;
}

void Instance::record_export(std::uint64_t records, std::uint64_t duration_ns, bool ok) {
    export_stats_.record(records, duration_ns, ok);
}

sonde_status Instance::add_timer(std::uint64_t period_ns, sonde_timer_fn fn, void *user_data,
                                 std::uint64_t &out_handle) {
    State s = state_.load();
    // Periods above max_duration_ns would overflow the timer's arithmetic.
    if (!fn || period_ns == 0 || period_ns > max_duration_ns || !on_strand() ||
        (s != State::starting && s != State::running))
        return SONDE_ERR_ARGUMENT;
    auto handle = std::make_shared<Handle>();
    handle->id = next_handle_++;
    handle->timer = std::make_unique<asio::steady_timer>(strand_);
    handle->timer_fn = fn;
    handle->user_data = user_data;
    handle->period = std::chrono::nanoseconds(period_ns);
    handle->next = std::chrono::steady_clock::now();
    handles_[handle->id] = handle;
    out_handle = handle->id;
    arm_timer(handle);
    return SONDE_OK;
}

void Instance::arm_timer(const std::shared_ptr<Handle> &handle) {
    auto now = std::chrono::steady_clock::now();
    handle->next += handle->period;
    if (handle->next < now) handle->next = now + handle->period;  // fell behind: skip, don't burst
    handle->timer->expires_at(handle->next);
    handle->timer->async_wait(
        asio::bind_executor(strand_, [self = shared_from_this(), handle](const boost::system::error_code &ec) {
            if (ec || handle->cancelled || !self->running()) return;
            if (self->throttled()) {
                self->counters_.skipped_ticks.fetch_add(1, std::memory_order_relaxed);
            } else {
                try {
                    handle->timer_fn(handle->user_data);
                } catch (...) {
                    self->counters_.errors.fetch_add(1, std::memory_order_relaxed);
                }
            }
            if (!handle->cancelled) self->arm_timer(handle);
        }));
}

std::shared_ptr<Instance::Handle> Instance::fd_handle(int fd, void *user_data) {
    State s = state_.load();
    if (fd < 0 || !on_strand() || (s != State::starting && s != State::running)) return nullptr;
    auto handle = std::make_shared<Handle>();
    handle->descriptor = std::make_unique<asio::posix::stream_descriptor>(strand_);
    boost::system::error_code ec;
    handle->descriptor->assign(fd, ec);
    if (ec) return nullptr;
    handle->id = next_handle_++;
    handle->user_data = user_data;
    handles_[handle->id] = handle;
    return handle;
}

sonde_status Instance::watch_fd(int fd, sonde_fd_ready_fn fn, void *user_data, std::uint64_t &out_handle) {
    auto handle = fn ? fd_handle(fd, user_data) : nullptr;
    if (!handle) return SONDE_ERR_ARGUMENT;
    handle->fd_fn = fn;
    out_handle = handle->id;
    arm_watch(handle);
    return SONDE_OK;
}

void Instance::arm_watch(const std::shared_ptr<Handle> &handle) {
    handle->descriptor->async_wait(
        asio::posix::stream_descriptor::wait_read,
        asio::bind_executor(strand_, [self = shared_from_this(), handle](const boost::system::error_code &ec) {
            if (ec || handle->cancelled || !self->running()) return;
            try {
                handle->fd_fn(handle->user_data, handle->descriptor->native_handle());
            } catch (...) {
                self->counters_.errors.fetch_add(1, std::memory_order_relaxed);
            }
            if (!handle->cancelled) self->arm_watch(handle);
        }));
}

sonde_status Instance::watch_fd_once(int fd, std::uint32_t events, sonde_fd_events_fn fn, void *user_data,
                                     std::uint64_t &out_handle) {
    const std::uint32_t known = SONDE_FD_READABLE | SONDE_FD_WRITABLE;
    if (!fn || (events & known) == 0 || (events & ~known)) return SONDE_ERR_ARGUMENT;
    auto handle = fd_handle(fd, user_data);
    if (!handle) return SONDE_ERR_ARGUMENT;
    handle->once_fn = fn;
    out_handle = handle->id;
    // Readable and writable waits race; the first to complete wins and ends the watch.
    for (std::uint32_t which : {SONDE_FD_READABLE, SONDE_FD_WRITABLE}) {
        if (!(events & which)) continue;
        auto wait = which == SONDE_FD_READABLE ? asio::posix::stream_descriptor::wait_read
                                               : asio::posix::stream_descriptor::wait_write;
        handle->descriptor->async_wait(
            wait, asio::bind_executor(strand_, [self = shared_from_this(), handle, which](const boost::system::error_code &ec) {
                if (ec || handle->cancelled || !self->running()) return;
                int fd = handle->descriptor->native_handle();
                self->cancel(handle->id);  // one shot: release before the plugin may close or re-watch fd
                try {
                    handle->once_fn(handle->user_data, fd, which);
                } catch (...) {
                    self->counters_.errors.fetch_add(1, std::memory_order_relaxed);
                }
            }));
    }
    return SONDE_OK;
}

void Instance::cancel(std::uint64_t id) {
    if (!on_strand()) return;
    auto it = handles_.find(id);
    if (it == handles_.end()) return;
    Handle &h = *it->second;
    h.cancelled = true;
    if (h.timer) h.timer->cancel();
    if (h.descriptor) {
        h.descriptor->cancel();
        h.descriptor->release();  // the fd stays the plugin's
    }
    handles_.erase(it);
}

void Instance::cancel_all() {
    while (!handles_.empty()) cancel(handles_.begin()->first);
}

}  // namespace sonde::core
