// A running instance of a plugin: the host side of one sonde_instance.
// Every plugin callback of an instance runs on the instance's strand.
#pragma once

#include "config/config.hpp"
#include "loading/plugin_library.hpp"
#include "runtime/histogram.hpp"
#include "runtime/records.hpp"
#include "runtime/router.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/common.h>

namespace sonde::core {
class Instance;
}

// The opaque context of the C ABI is, on the host side, the instance.
struct sonde_host_context {
    sonde::core::Instance *instance;
};

namespace sonde::core {

class Agent;

// Cheap counters, read by the shutdown summary and self-metrics. The rules
// they obey are in docs/accounting.md.
struct InstanceCounters {
    std::atomic<std::uint64_t> emitted{0};    // inputs: records emitted (and routed), metric points and events
    std::atomic<std::uint64_t> emitted_events{0};  // inputs: the events among `emitted`
    std::atomic<std::uint64_t> routed{0};     // sinks: records the routing table sent here
    std::atomic<std::uint64_t> accepted{0};   // sinks: records consume() took
    std::atomic<std::uint64_t> delivered{0};  // sinks: records that reached the destination
    std::atomic<std::uint64_t> retried{0};    // sinks: records consume() handed back with SONDE_RETRY (each time)
    std::atomic<std::uint64_t> errors{0};     // failed calls, rejected emits
    std::atomic<std::uint64_t> skipped_ticks{0};  // inputs throttled by a blocking sink
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(DropReason::count_)> dropped{};
    std::mutex plugin_drops_mutex;
    std::map<std::string, std::uint64_t> plugin_drops;  // reported by the plugin itself

    void drop(DropReason reason, std::uint64_t n) {
        dropped[static_cast<std::size_t>(reason)].fetch_add(n, std::memory_order_relaxed);
    }
    std::uint64_t dropped_total();
};

// Why a plugin call failed: status, message and (for config) the key.
struct PluginFailure {
    sonde_status status = SONDE_OK;
    std::string message;
    std::string key;
};

// Allows one message per interval and says how many were held back.
class LogLimiter {
public:
    // True when a message may be logged now; `suppressed` is how many were not since.
    bool allow(std::uint64_t &suppressed);

private:
    std::mutex mutex_;
    std::chrono::steady_clock::time_point last_{};
    std::uint64_t held_back_ = 0;
};

class Instance : public std::enable_shared_from_this<Instance> {
public:
    Instance(Agent &agent, InstanceConfig config, std::shared_ptr<PluginLibrary> library);
    virtual ~Instance();
    Instance(const Instance &) = delete;
    Instance &operator=(const Instance &) = delete;

    // Calls the plugin's create. Not on the strand: nothing else runs yet.
    bool create(PluginFailure &failure);
    // Has the plugin declare every record it can emit, without a
    // configuration: its ABI 1.4 describe, or, for an older plugin, create
    // with the (empty) table, which a plugin with required keys refuses; the
    // failure then says so. The instance is never started.
    bool describe(PluginFailure &failure);
    // Sinks: tells the plugin an input stopped (on the strand).
    virtual void input_stopped(const std::string &) {}
    // Posts the plugin's start onto the strand; `on_started(ok)` runs there after.
    void start(std::function<void(bool)> on_started);
    // Posts stop onto the strand: cancels timers and watches, calls the
    // plugin's stop (sinks flush first); then `done`.
    void stop(std::function<void()> done);

    const InstanceConfig &config() const { return config_; }
    const std::string &name() const { return config_.name; }
    const PluginLibrary &library() const { return *library_; }
    InstanceCounters &counters() { return counters_; }
    bool running() const { return state_.load() == State::running; }
    // "created", "starting", "running", "stopped" or "failed".
    const char *state_name() const;
    // Why start failed, one line; "" unless the state is "failed".
    std::string failure() const;
    // Sinks: what the sink subscribes to, changed in place by a reload. Only
    // under the agent's instance lock, which the routing compiler holds too.
    void set_subscription(Subscription subscription) { config_.subscription = std::move(subscription); }

    // Facts the plugin set (ABI 1.3 set_fact), by key, for `sonde status`.
    std::map<std::string, std::string> facts() const;
    // Sinks: their export requests (ABI 1.3 record_export).
    const ExportStats &export_stats() const { return export_stats_; }

    // Host services, reached through the C function table.
    virtual sonde_status declare(const sonde_record_decl &decl, std::uint32_t &out_id);
    virtual sonde_status emit_metrics(std::uint32_t id, const sonde_metric_point *points, std::size_t count);
    virtual sonde_status emit_events(std::uint32_t id, const sonde_event *events, std::size_t count);
    void log(sonde_log_level level, std::string_view message);
    void count_drop(const char *reason, std::uint64_t count);
    virtual void count_delivered(std::uint64_t count);
    sonde_status add_timer(std::uint64_t period_ns, sonde_timer_fn fn, void *user_data, std::uint64_t &out_handle);
    sonde_status watch_fd(int fd, sonde_fd_ready_fn fn, void *user_data, std::uint64_t &out_handle);
    sonde_status watch_fd_once(int fd, std::uint32_t events, sonde_fd_events_fn fn, void *user_data,
                               std::uint64_t &out_handle);
    void cancel(std::uint64_t handle);
    // Any thread. An invalid key is ignored; the value is cut to 256 bytes and repaired as UTF-8.
    void set_fact(const char *key, std::string_view value);
    void record_export(std::uint64_t records, std::uint64_t duration_ns, bool ok);

    // Logs a host-side warning about this instance, at most once per 10 s.
    void warn_limited(const std::string &message);
    // Logs records lost without being asked to (error level, rate-limited
    // apart from warnings so a warning never hides a drop).
    void log_drop(const std::string &message);

protected:
    enum class State { created, starting, running, stopped, failed };

    // Called for each timer tick; an input returns true to skip it.
    virtual bool throttled() { return false; }
    virtual void before_stop() {}
    virtual void after_stop() {}
    bool on_strand() const { return strand_.running_in_this_thread(); }
    static sonde_error error_buffer(char *message, std::size_t message_size, char *key, std::size_t key_size);
    // What create and describe tell the plugin; `config_json` must outlive it.
    sonde_instance_info instance_info(const std::string &config_json);
    // Runs one plugin call that fills a sonde_error; false with `failure` set
    // when it does not return SONDE_OK or lets an exception escape.
    bool call_plugin(PluginFailure &failure, const std::function<sonde_status(sonde_error &)> &call);

    Agent &agent_;
    std::shared_ptr<PluginLibrary> library_;  // first member: outlives everything below
    InstanceConfig config_;
    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    sonde_host_context context_{this};
    sonde_instance *plugin_instance_ = nullptr;
    std::atomic<State> state_{State::created};
    std::int64_t start_time_ns_ = 0;
    mutable std::mutex failure_mutex_;
    std::string failure_;
    InstanceCounters counters_;
    ExportStats export_stats_;
    mutable std::mutex facts_mutex_;
    std::map<std::string, std::string> facts_;  // under facts_mutex_
    LogLimiter limiter_;
    LogLimiter drop_limiter_;

private:
    void log_limited(LogLimiter &limiter, spdlog::level::level_enum level, const std::string &message);
    struct Handle;
    // A registered handle watching fd, or null when fd or the state is wrong.
    std::shared_ptr<Handle> fd_handle(int fd, void *user_data);
    void arm_timer(const std::shared_ptr<Handle> &handle);
    void arm_watch(const std::shared_ptr<Handle> &handle);
    void cancel_all();

    std::map<std::uint64_t, std::shared_ptr<Handle>> handles_;  // strand only
    std::uint64_t next_handle_ = 1;
};

}  // namespace sonde::core
