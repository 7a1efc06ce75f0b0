#include "runtime/agent.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <sstream>
#include <thread>

namespace sonde::core {

namespace asio = boost::asio;

namespace {
thread_local bool io_thread = false;

std::string join(const std::vector<std::string> &items) {
    std::string out;
    for (const auto &s : items) out += (out.empty() ? "" : ", ") + s;
    return out.empty() ? "none" : out;
}
}  // namespace

Agent::Agent(AgentConfig config, const PluginRegistry &registry, std::shared_ptr<spdlog::logger> logger)
    : config_(std::move(config)),
      registry_(registry),
      logger_(std::move(logger)),
      work_(io_.get_executor()),
      signals_(io_),
      shutdown_timer_(io_),
      routing_(std::make_shared<const Routing>()),
      shutdown_timeout_ns_(config_.shutdown_timeout_ns) {}

Agent::~Agent() {
    io_.stop();
    std::lock_guard lock(instances_mutex_);
    inputs_.clear();
    sinks_.clear();
    routing_.store(std::make_shared<const Routing>());
}

bool Agent::on_io_thread() const { return io_thread; }

std::shared_ptr<Instance> Agent::create(const InstanceConfig &config, std::string &error) {
    return make_instance(config, error, &Instance::create);
}

std::shared_ptr<Instance> Agent::describe(const InstanceConfig &config, std::string &error) {
    return make_instance(config, error, &Instance::describe);
}

std::shared_ptr<Instance> Agent::make_instance(const InstanceConfig &config, std::string &error,
                                               bool (Instance::*call)(PluginFailure &)) {
    auto fail = [&](const SourceLocation &where, const std::string &message) {
        // An instance made up by the command line (plugins --describe) has no file.
        error = where.file.empty() ? message : ConfigError{where, message}.format();
        return nullptr;
    };
    const std::string qualified = config.qualified_name();
    std::shared_ptr<PluginLibrary> library = registry_.find(config.plugin);
    if (!library) {
        if (const PluginCandidate *refused = registry_.refused(config.plugin))
            return fail(config.location, qualified + ": plugin '" + config.plugin + "' could not be loaded: " +
                                             refused->path.string() + ": " + refused->refusal);
        return fail(config.location, qualified + ": no plugin named '" + config.plugin +
                                         "' (available: " + join(registry_.names()) + ")");
    }
    const bool want_sink = config.role == InstanceRole::sink;
    if (library->is_sink() != want_sink)
        return fail(config.location, qualified + ": plugin '" + config.plugin + "' is " +
                                         (library->is_sink() ? "a sink" : "an input") + ", not " +
                                         (want_sink ? "a sink" : "an input"));
    std::shared_ptr<Instance> instance;
    if (want_sink) {
        instance = std::make_shared<SinkInstance>(*this, config, library);
    } else {
        std::lock_guard lock(instances_mutex_);
        instance = std::make_shared<InputInstance>(*this, config, library, next_slot_++);
    }
    PluginFailure failure;
    if (!((*instance).*call)(failure)) {
        if (failure.status == SONDE_ERR_CONFIG)
            return fail(config.locate(failure.key),
                        qualified + (failure.key.empty() ? "" : "." + failure.key) + ": " + failure.message);
        const char *verb = call == &Instance::describe ? ": describe failed: " : ": create failed: ";
        return fail(config.location, qualified + verb + failure.message);
    }
    return instance;
}

bool Agent::add(const InstanceConfig &config, std::string &error) {
    std::shared_ptr<Instance> instance = create(config, error);
    if (!instance) return false;
    InstanceChanges changes;
    changes.add.push_back(std::move(instance));
    apply(std::move(changes), [] {});
    return true;
}

void Agent::remove(const std::string &name, std::function<void()> done) {
    std::shared_ptr<Instance> instance;
    {
        std::lock_guard lock(instances_mutex_);
        auto take = [&](auto &list) {
            auto it = std::find_if(list.begin(), list.end(), [&](const auto &i) { return i->name() == name; });
            if (it == list.end()) return;
            instance = *it;
            list.erase(it);
        };
        take(inputs_);
        take(sinks_);
    }
    update_routes();
    if (!instance) {
        if (done) done();
        return;
    }
    bool input = instance->config().role == InstanceRole::input;
    instance->stop([this, input, name, done = std::move(done)] {
        if (input) notify_input_stopped(name);
        if (done) done();
    });
}

void Agent::apply(InstanceChanges changes, std::function<void()> done) {
    // Take the removed instances out of the lists (the routing table still
    // holds them until the update below) and stop inputs before sinks.
    std::vector<std::shared_ptr<Instance>> stopping;
    {
        std::lock_guard lock(instances_mutex_);
        auto take = [&](auto &list) {
            for (auto it = list.begin(); it != list.end();) {
                if (std::find(changes.remove.begin(), changes.remove.end(), (*it)->config().qualified_name()) !=
                    changes.remove.end()) {
                    stopping.push_back(*it);
                    it = list.erase(it);
                } else {
                    ++it;
                }
            }
        };
        take(inputs_);
        take(sinks_);
    }
    auto state = std::make_shared<InstanceChanges>(std::move(changes));
    auto start_added = [this, state, done = std::move(done)] {
        {
            std::lock_guard lock(instances_mutex_);
            for (auto &[name, subscription] : state->resubscribe)
                for (const auto &sink : sinks_)
                    if (sink->config().qualified_name() == name) sink->set_subscription(subscription);
            for (const auto &instance : state->add) {
                if (instance->config().role == InstanceRole::sink)
                    sinks_.push_back(std::static_pointer_cast<SinkInstance>(instance));
                else
                    inputs_.push_back(std::static_pointer_cast<InputInstance>(instance));
            }
        }
        update_routes();
        if (state->add.empty()) return done();
        auto pending = std::make_shared<std::atomic<std::size_t>>(state->add.size());
        for (const auto &instance : state->add)
            instance->start([this, instance, pending, done](bool ok) {
                if (ok)
                    logger_->info("{}: started (plugin {} {})", instance->config().qualified_name(),
                                  instance->library().name(), instance->library().descriptor().version);
                update_routes();  // start may declare records; a running sink now receives
                if (--*pending == 0) done();
            });
    };
    if (stopping.empty()) return start_added();
    update_routes();
    std::stable_partition(stopping.begin(), stopping.end(),
                          [](const auto &i) { return i->config().role == InstanceRole::input; });
    // One at a time, in order: an input's last records are routed before a sink stops.
    auto stop_next = std::make_shared<std::function<void(std::size_t)>>();
    *stop_next = [this, stopping, stop_next, start_added](std::size_t i) {
        if (i == stopping.size()) {
            asio::post(io_, start_added);
            *stop_next = nullptr;  // breaks the self-reference
            return;
        }
        const auto &instance = stopping[i];
        bool input = instance->config().role == InstanceRole::input;
        auto stop = [this, instance, input, stop_next, i] {
            instance->stop([this, input, name = instance->name(), stop_next, i] {
                if (input) notify_input_stopped(name);
                (*stop_next)(i + 1);
            });
        };
        if (input) return stop();
        // A sink leaving first delivers what is queued for it, as at shutdown
        // but for at most max_reload_drain: what is left then is dropped and
        // counted (reason shutdown) when it stops.
        auto deadline = std::chrono::steady_clock::now() +
                        std::min<std::chrono::nanoseconds>(std::chrono::nanoseconds(shutdown_timeout_ns_.load()),
                                                           max_reload_drain);
        drain_one(std::static_pointer_cast<SinkInstance>(instance), deadline, stop);
    };
    (*stop_next)(0);
}

void Agent::drain_one(std::shared_ptr<SinkInstance> sink, std::chrono::steady_clock::time_point deadline,
                      std::function<void()> then) {
    if (sink->drain_step() || std::chrono::steady_clock::now() >= deadline) return then();
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(5));
    timer->async_wait([this, timer, sink, deadline, then](const boost::system::error_code &) {
        drain_one(sink, deadline, then);
    });
}

std::vector<std::shared_ptr<Instance>> Agent::instances() {
    std::lock_guard lock(instances_mutex_);
    std::vector<std::shared_ptr<Instance>> all(inputs_.begin(), inputs_.end());
    all.insert(all.end(), sinks_.begin(), sinks_.end());
    return all;
}

std::shared_ptr<Instance> Agent::find(const std::string &qualified_name) {
    for (auto &instance : instances())
        if (instance->config().qualified_name() == qualified_name) return instance;
    return nullptr;
}

void Agent::notify_input_stopped(const std::string &name) {
    std::lock_guard lock(instances_mutex_);
    for (const auto &sink : sinks_) sink->input_stopped(name);
}

void Agent::update_routes() {
    std::lock_guard lock(instances_mutex_);
    auto routing = std::make_shared<Routing>();
    std::vector<RoutedInput> inputs;
    for (const auto &input : inputs_) inputs.push_back({input->slot(), input->name(), input->declarations()});
    std::vector<Subscription> subscriptions;
    for (const auto &sink : sinks_) {
        if (!sink->running()) continue;
        routing->sinks.push_back(sink);
        subscriptions.push_back(sink->config().subscription);
    }
    routing->map = RouteMap::compile(inputs, subscriptions);
    routing_.store(std::move(routing), std::memory_order_release);
}

namespace {
// What each signal whose default action would end the agent does instead
// (docs/operations.md). SIGPIPE and SIGXFSZ are ignored process-wide in
// main: a closed pipe or a file over its size limit is an error of the write.
enum class SignalAction { shut_down, reload, report, ignore };
struct HandledSignal {
    int number;
    const char *name;
    SignalAction action;
};
constexpr HandledSignal handled_signals[] = {
    {SIGTERM, "SIGTERM", SignalAction::shut_down}, {SIGINT, "SIGINT", SignalAction::shut_down},
    {SIGQUIT, "SIGQUIT", SignalAction::shut_down}, {SIGXCPU, "SIGXCPU", SignalAction::shut_down},
    {SIGHUP, "SIGHUP", SignalAction::reload},      {SIGUSR1, "SIGUSR1", SignalAction::report},
    {SIGUSR2, "SIGUSR2", SignalAction::ignore},    {SIGALRM, "SIGALRM", SignalAction::ignore},
    {SIGVTALRM, "SIGVTALRM", SignalAction::ignore}, {SIGPROF, "SIGPROF", SignalAction::ignore},
    {SIGIO, "SIGIO", SignalAction::ignore},        {SIGPWR, "SIGPWR", SignalAction::ignore},
    {SIGSTKFLT, "SIGSTKFLT", SignalAction::ignore},
};
}  // namespace

void Agent::wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code &ec, int number) {
        if (ec) return;
        const HandledSignal *signal = nullptr;
        for (const auto &s : handled_signals)
            if (s.number == number) signal = &s;
        if (!signal) return wait_for_signal();
        switch (signal->action) {
            case SignalAction::shut_down:
                logger_->info("received {}, shutting down", signal->name);
                return shutdown();
            case SignalAction::reload: {
                std::function<void()> reload;
                {
                    std::lock_guard lock(reload_handler_mutex_);
                    reload = reload_handler_;
                }
                logger_->info("received {}: {}", signal->name, reload ? "reloading the configuration" : "ignored");
                if (reload) reload();
                break;
            }
            case SignalAction::report:
                logger_->info("received {}: {}", signal->name, summary());
                break;
            case SignalAction::ignore:
                logger_->info("received {}: ignored", signal->name);
                break;
        }
        wait_for_signal();
    });
}

void Agent::on_reload_signal(std::function<void()> handler) {
    std::lock_guard lock(reload_handler_mutex_);
    reload_handler_ = std::move(handler);
}

void Agent::catch_signals() {
    if (catching_signals_) return;
    catching_signals_ = true;
    for (const auto &s : handled_signals) signals_.add(s.number);
    wait_for_signal();
}

std::vector<ConfigError> Agent::routing_warnings() {
    std::lock_guard lock(instances_mutex_);
    std::vector<RoutedInput> inputs;
    for (const auto &input : inputs_)
        inputs.push_back({input->slot(), input->name(), input->declarations(), input->config().location});
    std::vector<const InstanceConfig *> sinks;
    for (const auto &sink : sinks_) sinks.push_back(&sink->config());
    return sonde::core::routing_warnings(inputs, sinks);
}

int Agent::run() {
    catch_signals();
    auto worker = [this] {
        io_thread = true;
        io_.run();
        io_thread = false;
    };
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < config_.threads; ++i) threads.emplace_back(worker);
    worker();
    for (auto &t : threads) t.join();
    return 0;
}

void Agent::request_shutdown() {
    asio::post(io_, [this] { shutdown(); });
}

void Agent::shutdown() {
    if (shutting_down_.exchange(true)) return;
    signals_.cancel();
    if (shutdown_handler_) shutdown_handler_();
    std::vector<std::shared_ptr<InputInstance>> inputs;
    {
        std::lock_guard lock(instances_mutex_);
        inputs = inputs_;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(shutdown_timeout_ns_.load());
    auto pending = std::make_shared<std::atomic<std::size_t>>(inputs.size());
    if (inputs.empty()) drain_sinks(deadline);
    for (const auto &input : inputs)
        input->stop([this, pending, deadline, name = input->name()] {
            notify_input_stopped(name);
            if (--*pending == 0) asio::post(io_, [this, deadline] { drain_sinks(deadline); });
        });
}

// Waits (polling the queues every 5 ms) until every sink is idle or the
// deadline passes, then flushes and stops the sinks.
void Agent::drain_sinks(std::chrono::steady_clock::time_point deadline) {
    bool idle = true;
    {
        std::lock_guard lock(instances_mutex_);
        for (const auto &sink : sinks_) idle = sink->drain_step() && idle;  // every sink takes its step
    }
    if (idle || std::chrono::steady_clock::now() >= deadline) {
        finish();
        return;
    }
    shutdown_timer_.expires_after(std::chrono::milliseconds(5));
    shutdown_timer_.async_wait([this, deadline](const boost::system::error_code &) { drain_sinks(deadline); });
}

void Agent::finish() {
    std::vector<std::shared_ptr<SinkInstance>> sinks;
    {
        std::lock_guard lock(instances_mutex_);
        sinks = sinks_;
    }
    auto pending = std::make_shared<std::atomic<std::size_t>>(sinks.size());
    auto all_stopped = [this, sinks] {
        logger_->info("shutdown summary: {}", summary());
        for (const auto &sink : sinks) {
            SinkAccount a = sink->account();
            if (!a.balanced())
                logger_->error("{}: accounting does not add up: routed={} delivered={} dropped={} queued={}",
                               sink->config().qualified_name(), a.routed, a.delivered, a.dropped, a.queued);
        }
        work_.reset();
    };
    if (sinks.empty()) all_stopped();
    for (const auto &sink : sinks) {
        // What is still queued after the timeout is dropped and counted by stop.
        sink->stop([this, pending, all_stopped] {
            if (--*pending == 0) asio::post(io_, all_stopped);
        });
    }
}

namespace {
// " dropped=N" and, when N > 0, the reasons: " dropped=5 (queue_full=5)".
void write_drops(std::ostream &out, InstanceCounters &c) {
    out << " dropped=" << c.dropped_total();
    std::string reasons;
    for (std::size_t r = 0; r < c.dropped.size(); ++r)
        if (auto n = c.dropped[r].load()) reasons += std::string(reasons.empty() ? "" : " ") +
                                                     to_string(static_cast<DropReason>(r)) + "=" + std::to_string(n);
    std::lock_guard lock(c.plugin_drops_mutex);
    for (const auto &[reason, n] : c.plugin_drops)
        reasons += (reasons.empty() ? "" : " ") + reason + "=" + std::to_string(n);
    if (!reasons.empty()) out << " (" << reasons << ")";
}
}  // namespace

std::string Agent::summary() {
    std::lock_guard lock(instances_mutex_);
    std::ostringstream out;
    const char *sep = "";
    for (const auto &i : inputs_) {
        auto &c = i->counters();
        out << sep << i->config().qualified_name() << " emitted=" << c.emitted;
        write_drops(out, c);
        out << " errors=" << c.errors;
        if (c.skipped_ticks) out << " skipped_ticks=" << c.skipped_ticks;
        sep = "; ";
    }
    for (const auto &s : sinks_) {
        auto &c = s->counters();
        SinkAccount a = s->account();
        out << sep << s->config().qualified_name() << " routed=" << a.routed << " delivered=" << a.delivered;
        write_drops(out, c);
        out << " queued=" << a.queued << " errors=" << c.errors;
        sep = "; ";
    }
    return out.str();
}

}  // namespace sonde::core
