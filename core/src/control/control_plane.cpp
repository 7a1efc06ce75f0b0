#include "control/control_plane.hpp"

#include "control/logging.hpp"
#include "runtime/agent.hpp"

#include <boost/asio/post.hpp>
#include <sonde/units.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

namespace sonde::core {

namespace asio = boost::asio;

nlohmann::json ControlResult::to_json() const {
    return {{"ok", ok()}, {"status", status}, {"message", message}, {"errors", errors}, {"warnings", warnings},
            {"detail", detail}};
}

namespace {

std::vector<std::string> names_of(const std::vector<const InstanceConfig *> &configs) {
    std::vector<std::string> out;
    for (const auto *c : configs) out.push_back(c->qualified_name());
    return out;
}

// Settings of [agent] and [admin] a running agent cannot change: a reload
// that changes them says they wait for a restart.
std::vector<std::string> needs_restart(const AgentConfig &now, const AgentConfig &next) {
    std::vector<std::string> out;
    auto check = [&](bool differs, const char *key) {
        if (differs) out.push_back(std::string(key) + " changed: takes effect at the next restart");
    };
    check(now.threads != next.threads, "agent.threads");
    check(now.log_format != next.log_format, "agent.log_format");
    check(now.allow_insecure_plugins != next.allow_insecure_plugins, "agent.allow_insecure_plugins");
    check(now.admin.listen != next.admin.listen, "admin.listen");
    check(now.admin.allow_non_loopback != next.admin.allow_non_loopback, "admin.allow_non_loopback");
    check(now.admin.socket != next.admin.socket, "admin.socket");
    check(now.admin.token_file != next.admin.token_file, "admin.token_file");
    return out;
}

}  // namespace

ControlPlane::ControlPlane(Agent &agent, PluginRegistry &registry, ControlOptions options,
                           std::shared_ptr<spdlog::logger> logger)
    : agent_(agent),
      registry_(registry),
      options_(std::move(options)),
      logger_(std::move(logger)),
      expiry_timer_(agent.io()),
      heartbeat_timer_(agent.io()),
      last_turn_ns_(steady_ns()) {
    agent_.on_reload_signal([this] {
        reload([this](const ControlResult &r) {
            if (r.ok()) logger_->info("SIGHUP: {}", r.message);
        });
    });
    heartbeat();
}

ControlPlane::~ControlPlane() { agent_.on_reload_signal(nullptr); }

// ---------------------------------------------------------------------------
// Queue of changes: one at a time, on the io loop.

void ControlPlane::enqueue(Operation op) {
    {
        std::lock_guard lock(ops_mutex_);
        ops_.push_back(std::move(op));
        if (op_running_) return;
        op_running_ = true;
    }
    asio::post(agent_.io(), [this] { run_next(); });
}

void ControlPlane::run_next() {
    Operation op;
    {
        std::lock_guard lock(ops_mutex_);
        if (ops_.empty()) {
            op_running_ = false;
            return;
        }
        op = std::move(ops_.front());
        ops_.pop_front();
    }
    op([this] { asio::post(agent_.io(), [this] { run_next(); }); });
}

// ---------------------------------------------------------------------------
// Applying a configuration.

void ControlPlane::start(ConfigLoad load, std::function<void()> started) {
    admin_ = load.config.admin;
    enqueue([this, documents = std::move(load.documents), started](std::function<void()> finished) {
        apply(documents, "start", false, [this, finished, started](const ControlResult &r) {
            for (const auto &e : r.errors) logger_->error("{}", e);
            for (const auto &w : r.warnings) logger_->warn("{}", w);
            {
                std::lock_guard lock(state_mutex_);
                started_up_ = true;
                last_reload_success_time_ =
                    std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
            }
            if (r.detail["added"].empty() || std::none_of(r.detail["added"].begin(), r.detail["added"].end(),
                                                          [](const nlohmann::json &n) {
                                                              return n.get<std::string>().rfind("sinks.", 0) == 0;
                                                          }))
                logger_->warn("no sink is running: records go nowhere");
            if (started) started();
            finished();
        });
    });
}

void ControlPlane::apply(std::vector<std::pair<std::string, std::string>> documents, const std::string &origin,
                         bool strict, ControlDone done) {
    auto next = std::make_shared<AppliedConfig>();
    next->conf_documents = std::move(documents);
    ConfigLoad conf_only;
    conf_only.documents = next->conf_documents;
    next->hash = conf_only.content_hash();
    std::vector<std::pair<std::string, std::string>> all = next->conf_documents;
    std::set<std::string> forced;
    std::shared_ptr<const AppliedConfig> previous;
    {
        std::lock_guard lock(state_mutex_);
        if (auto overlay = overlay_.document()) all.push_back(*overlay);
        forced = overlay_.forced();
        previous = applied_;
    }
    next->load = load_config_texts(all);
    ControlResult result;
    if (!next->load.ok()) {
        result.status = 422;
        for (const auto &e : next->load.errors) result.errors.push_back(e.format());
        result.message = origin + " refused: " + std::to_string(result.errors.size()) +
                         " configuration error(s); nothing changed";
        return done(result);
    }
    const AgentConfig &config = next->load.config;
    std::map<std::string, RunningInstance> running;
    for (const auto &instance : agent_.instances())
        running[instance->config().qualified_name()] = {instance->config(),
                                                        std::string(instance->state_name()) == "failed"};
    next->plan = plan_reload(config, running, merge_labels(options_.facts, config.labels), forced);
    const ReloadPlan &plan = next->plan;

    // Plugins not opened so far are opened now; then every new or changed
    // instance is created, which is where its plugin validates its table.
    std::set<std::string> plugins;
    for (const auto *list : {&plan.add, &plan.change})
        for (const auto *c : *list) plugins.insert(c->plugin);
    registry_.scan_for(options_.plugin_dirs, plugins);
    std::uint64_t refusals = 0;
    for (const auto &candidate : registry_.candidates()) refusals += candidate.library ? 0 : 1;
    {
        std::lock_guard lock(state_mutex_);
        plugin_refusals_ = refusals;
    }
    InstanceChanges changes;
    std::map<std::string, CreateFailure> failures;
    for (const auto *list : {&plan.add, &plan.change}) {
        for (const auto *c : *list) {
            std::string error;
            if (auto instance = agent_.create(*c, error)) changes.add.push_back(std::move(instance));
            else {
                result.errors.push_back(error);
                failures[c->qualified_name()] = {error, c->plugin, c->role};
            }
        }
    }
    if (strict && !result.errors.empty()) {
        result.status = 422;
        result.message = origin + " refused: " + std::to_string(result.errors.size()) +
                         " instance(s) refused their configuration; nothing changed";
        return done(result);
    }
    changes.remove = plan.remove;
    for (const auto &name : names_of(plan.change)) changes.remove.push_back(name);
    changes.resubscribe = plan.resubscribe;
    if (previous) result.warnings = needs_restart(previous->load.config, config);
    std::vector<std::shared_ptr<Instance>> leaving;
    for (const auto &name : changes.remove)
        if (auto instance = agent_.find(name)) leaving.push_back(std::move(instance));

    // What a running agent can change in place.
    std::vector<std::string> level_warnings;  // SONDE_LOG_LEVEL's, said once at start
    std::string runtime_level;
    {
        std::lock_guard lock(state_mutex_);
        runtime_level = runtime_log_level_;
    }
    // `sonde log-level` wins until a restart; else SONDE_LOG_LEVEL, else conf.d.
    logger_->set_level(runtime_level.empty()
                           ? resolve_log_level(config.log_level, std::getenv("SONDE_LOG_LEVEL"), level_warnings)
                           : resolve_log_level(runtime_level, nullptr, level_warnings));
    agent_.set_shutdown_timeout(config.shutdown_timeout_ns);

    result.detail = {{"added", names_of(plan.add)},
                     {"changed", names_of(plan.change)},
                     {"removed", plan.remove},
                     {"untouched", plan.untouched},
                     {"resubscribed", nlohmann::json::array()}};
    for (const auto &[name, subscription] : plan.resubscribe) result.detail["resubscribed"].push_back(name);
    result.message = origin + ": " + std::to_string(plan.add.size()) + " added, " +
                     std::to_string(plan.change.size()) + " changed, " + std::to_string(plan.remove.size()) +
                     " removed, " + std::to_string(plan.resubscribe.size()) + " resubscribed, " +
                     std::to_string(plan.untouched.size()) + " untouched";
    agent_.apply(std::move(changes), [this, next, failures, result, done, leaving]() mutable {
        {
            std::lock_guard lock(state_mutex_);
            // Stopped now: their final counts (drops at the stop included)
            // stay in the self-metrics, added to any successor's.
            for (const auto &instance : leaving) retired_.add(*instance);
            applied_ = next;
            create_failures_ = failures;
            admin_.ready_max_undelivered_ns = next->load.config.admin.ready_max_undelivered_ns;
            admin_.liveness_timeout_ns = next->load.config.admin.liveness_timeout_ns;
        }
        for (const ConfigError &w : agent_.routing_warnings()) result.warnings.push_back(w.format());
        done(result);
    });
}

void ControlPlane::record_reload(bool ok, const std::vector<std::string> &errors) {
    std::lock_guard lock(state_mutex_);
    (ok ? reloads_ok_ : reloads_failed_)++;
    last_reload_ok_ = ok;
    last_reload_errors_ = errors;
    auto now = std::chrono::system_clock::now();
    last_reload_time_ = format_time(now);
    if (ok) last_reload_success_time_ = std::chrono::duration<double>(now.time_since_epoch()).count();
}

void ControlPlane::reload(ControlDone done) {
    enqueue([this, done](std::function<void()> finished) {
        if (reload_begins_) reload_begins_();
        ConfigLoad load = load_config_dirs(options_.config_dirs);
        auto report = [this, done, finished](ControlResult r) {
            record_reload(r.ok(), r.errors);
            if (reload_ended_) reload_ended_(r);
            if (r.ok()) {
                logger_->info("{}", r.message);
            } else {
                for (const auto &e : r.errors) logger_->error("{}", e);
                logger_->error("{}", r.message);
            }
            for (const auto &w : r.warnings) logger_->warn("{}", w);
            done(r);
            finished();
        };
        if (!load.ok()) {
            ControlResult r;
            r.status = 422;
            for (const auto &e : load.errors) r.errors.push_back(e.format());
            r.message = "reload refused: " + std::to_string(r.errors.size()) +
                        " configuration error(s) in " + describe(options_.config_dirs) + "; nothing changed";
            return report(r);
        }
        apply(std::move(load.documents), "reload", true, report);
    });
}

void ControlPlane::set_log_level(std::string level, ControlDone done) {
    ControlResult r;
    std::string error;
    if (!sonde::core::set_log_level(*logger_, level, error)) {
        r.status = 400;
        r.message = error;
    } else {
        r.message = "log level: " + level + " (until the next restart)";
        std::lock_guard lock(state_mutex_);
        runtime_log_level_ = level;
        logger_->info("{}", r.message);
    }
    done(r);
}

// ---------------------------------------------------------------------------
// Liveness: a timer on the io loop marks each turn; the admin endpoint,
// on its own thread, judges how long ago the last one was.

void ControlPlane::heartbeat() {
    last_turn_ns_.store(steady_ns(), std::memory_order_relaxed);
    if (++heartbeats_ % 10 == 0) sample_delivery();
    heartbeat_timer_.expires_after(std::chrono::milliseconds(100));
    heartbeat_timer_.async_wait([this](const boost::system::error_code &ec) {
        if (ec) return;
        if (!agent_.shutting_down()) return heartbeat();
        // A pending expiry would keep the io loop from ending after shutdown.
        expiry_timer_.cancel();
    });
}

}  // namespace sonde::core
