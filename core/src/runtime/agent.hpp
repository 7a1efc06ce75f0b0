// The agent: one io_context, the set of running instances, the routing
// table, signal handling and the orderly shutdown.
#pragma once

#include "config/config.hpp"
#include "runtime/input_instance.hpp"
#include "runtime/sink_instance.hpp"
#include "loading/plugin_library.hpp"
#include "runtime/records.hpp"
#include "runtime/router.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace sonde::core {

// A compiled routing table and the sinks its indexes refer to.
struct Routing {
    RouteMap map;
    std::vector<std::shared_ptr<SinkInstance>> sinks;
};

// One step of a reload (control/reload_plan.hpp): what stops, what starts
// and which running sinks change only what they subscribe to. Instances
// not named are untouched.
struct InstanceChanges {
    std::vector<std::string> remove;                 // qualified names
    std::vector<std::shared_ptr<Instance>> add;      // created, not started
    std::vector<std::pair<std::string, Subscription>> resubscribe;  // sink name -> new subscription
    bool empty() const { return remove.empty() && add.empty() && resubscribe.empty(); }
};

class Agent {
public:
    Agent(AgentConfig config, const PluginRegistry &registry, std::shared_ptr<spdlog::logger> logger);
    ~Agent();

    // Creates an instance without starting it. On failure returns null and
    // sets `error` to "file:line:column: inputs.x[.key]: reason".
    std::shared_ptr<Instance> create(const InstanceConfig &config, std::string &error);
    // An instance of `config`'s plugin that has declared every record the
    // plugin can emit (Instance::describe), for `sonde plugins --describe`;
    // never started. On failure returns null and sets `error`.
    std::shared_ptr<Instance> describe(const InstanceConfig &config, std::string &error);
    // Creates, registers and starts an instance; usable while running.
    bool add(const InstanceConfig &config, std::string &error);
    // Stops and forgets one instance while the others keep running.
    void remove(const std::string &name, std::function<void()> done = {});
    // Applies a reload step, the others running on: stops the removed
    // instances (inputs first, so their last records reach sinks that stay,
    // then sinks, each after draining its queue for at most
    // min(shutdown_timeout, max_reload_drain), so a port or file is free
    // before a replacement opens it),
    // then registers the added ones and the new subscriptions in one routing
    // update, and starts the added instances. `done` runs (on an io thread)
    // once every start has finished, failed or not.
    void apply(InstanceChanges changes, std::function<void()> done);
    // Every registered instance, inputs then sinks.
    std::vector<std::shared_ptr<Instance>> instances();
    std::shared_ptr<Instance> find(const std::string &qualified_name);
    void set_shutdown_timeout(std::uint64_t ns) { shutdown_timeout_ns_ = ns; }
    bool shutting_down() const { return shutting_down_.load(); }

    // Runs until SIGTERM, SIGINT or SIGQUIT (or request_shutdown), then stops
    // inputs, drains sinks within agent.shutdown_timeout (their queues, then
    // what reporting sinks hold) and stops them. Returns 0. Other signals:
    // docs/operations.md.
    int run();
    void request_shutdown();
    // Takes over the signals run() handles, from now on (run() does it too):
    // one that arrives before run() is acted upon when it starts.
    void catch_signals();
    // What SIGHUP does (the control plane's reload); without one, SIGHUP is logged and ignored.
    void on_reload_signal(std::function<void()> handler);
    // Runs on the io loop when the orderly shutdown begins, whatever began
    // it (a signal, request_shutdown, a closed output). Set before run().
    void on_shutdown(std::function<void()> handler) { shutdown_handler_ = std::move(handler); }

    // Routes that can carry nothing, given the instances added so far and
    // what they declared (router.hpp routing_warnings).
    std::vector<ConfigError> routing_warnings();

    // One line per instance with its counters: inputs emitted, dropped;
    // sinks routed = delivered + dropped (by reason) + queued.
    std::string summary();

    // For instances.
    boost::asio::io_context &io() { return io_; }
    BatchPool &pool() { return pool_; }
    std::shared_ptr<const Routing> routing() const { return routing_.load(std::memory_order_acquire); }
    spdlog::logger &logger() { return *logger_; }
    bool on_io_thread() const;
    void update_routes();

private:
    // The instance of `config`, after `call` (create or describe) succeeded.
    std::shared_ptr<Instance> make_instance(const InstanceConfig &config, std::string &error,
                                            bool (Instance::*call)(PluginFailure &));
    void wait_for_signal();
    void shutdown();
    // Tells every sink that an input stopped (sinks drop its series).
    void notify_input_stopped(const std::string &name);
    void drain_sinks(std::chrono::steady_clock::time_point deadline);
    // Polls one sink's drain_step every 5 ms until it is idle or the deadline passes, then `then`.
    void drain_one(std::shared_ptr<SinkInstance> sink, std::chrono::steady_clock::time_point deadline,
                   std::function<void()> then);
    static constexpr std::chrono::seconds max_reload_drain{2};
    void finish();

    AgentConfig config_;
    const PluginRegistry &registry_;
    std::shared_ptr<spdlog::logger> logger_;
    BatchPool pool_;  // before io_: queued batches return here
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer shutdown_timer_;
    std::atomic<std::shared_ptr<const Routing>> routing_;

    std::mutex instances_mutex_;
    std::vector<std::shared_ptr<InputInstance>> inputs_;
    std::vector<std::shared_ptr<SinkInstance>> sinks_;
    std::uint32_t next_slot_ = 0;
    std::atomic<bool> shutting_down_{false};
    std::atomic<std::uint64_t> shutdown_timeout_ns_;
    bool catching_signals_ = false;
    std::mutex reload_handler_mutex_;
    std::function<void()> reload_handler_;
    std::function<void()> shutdown_handler_;
};

}  // namespace sonde::core
