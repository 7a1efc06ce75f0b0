// The agent's control plane: applies configurations to the running agent
// (the first one, `sonde reload`/SIGHUP, and the runtime overlay of `sonde
// enable`/`disable`), and answers what the admin endpoint asks (status,
// readiness, liveness, self-metrics).
//
// Changes are queued and applied one at a time on the agent's io loop. A
// reload validates everything first: the configuration's rules, then every
// new or changed instance is created (which is where plugins validate their
// tables); if anything is wrong nothing changes. Otherwise only the diff is
// applied (control/reload_plan.hpp, Agent::apply).
#pragma once

#include "config/config.hpp"
#include "config/config_dirs.hpp"
#include "config/host_labels.hpp"
#include "control/reload_plan.hpp"
#include "control/retired_counters.hpp"
#include "control/runtime_overlay.hpp"
#include "control/self_metrics.hpp"
#include "loading/plugin_library.hpp"

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace sonde::core {

class Agent;

// The configuration in force: conf.d's documents, and conf.d with the
// runtime overlay validated and planned. `plan` points into `load.config`:
// built in place, never copied.
struct AppliedConfig {
    std::vector<std::pair<std::string, std::string>> conf_documents;  // conf.d alone
    ConfigLoad load;
    ReloadPlan plan;
    std::string hash;  // of conf_documents (ConfigLoad::content_hash)
};

// "2026-12-02T09:16:37Z"
std::string format_time(std::chrono::system_clock::time_point t);

// The outcome of a control request, as the CLI prints it and /v1/* return it.
struct ControlResult {
    int status = 200;  // 200 done; 400 a malformed request; 404 no such instance; 422 an invalid configuration
    std::string message;              // one line saying what happened
    std::vector<std::string> errors;  // file:line:column: reason
    std::vector<std::string> warnings;
    nlohmann::json detail = nlohmann::json::object();
    bool ok() const { return status == 200; }
    nlohmann::json to_json() const;
};
using ControlDone = std::function<void(ControlResult)>;

struct EnableRequest {
    std::string name;                   // an instance name, or inputs.NAME / sinks.NAME
    std::string plugin;                 // a new instance of this plugin; "" = as configured
    std::vector<std::string> settings;  // key=value
    std::string duration;               // "30m": disabled again after that; "" = until undone
};

struct ControlOptions {
    std::vector<ConfigDir> config_dirs;  // conf.d, layered (config/config_dirs.hpp)
    std::vector<std::filesystem::path> plugin_dirs;
    HostLabels facts = host_facts();
    std::string version;
};

class ControlPlane {
public:
    ControlPlane(Agent &agent, PluginRegistry &registry, ControlOptions options,
                 std::shared_ptr<spdlog::logger> logger);
    ~ControlPlane();
    ControlPlane(const ControlPlane &) = delete;
    ControlPlane &operator=(const ControlPlane &) = delete;

    // Applies the configuration the agent starts with: an instance whose
    // create fails is reported (log, status) and the rest run. `started`
    // runs on the io loop once every instance has started or failed.
    void start(ConfigLoad load, std::function<void()> started);

    // Told on the io loop when a reload (sonde reload, SIGHUP, /v1/reload)
    // begins and when it has been applied or refused: the service manager's
    // RELOADING=1 and READY=1. Set before start().
    void observe_reloads(std::function<void()> begins, std::function<void(const ControlResult &)> ended) {
        reload_begins_ = std::move(begins);
        reload_ended_ = std::move(ended);
    }

    // Queued; `done` runs on an io thread once the change has taken effect.
    void reload(ControlDone done);
    void enable(EnableRequest request, ControlDone done);
    void disable(std::string name, std::string duration, ControlDone done);
    void set_log_level(std::string level, ControlDone done);

    // Any thread.
    nlohmann::json status();
    // 200 when ready; else 503, and `report` names each failing check.
    int ready(nlohmann::json &report);
    // 200 while the io loop turns; 503 when it has not within liveness_timeout.
    int live(nlohmann::json &report);
    std::vector<SelfFamily> self_metrics();

private:
    struct CreateFailure {
        std::string error;
        std::string plugin;
        InstanceRole role;
    };
    using Operation = std::function<void(std::function<void()> finished)>;

    void enqueue(Operation op);
    void run_next();
    // Validates `documents` (+ the overlay) and applies the diff. strict: any
    // error changes nothing; else failing instances are reported and skipped.
    void apply(std::vector<std::pair<std::string, std::string>> documents, const std::string &origin, bool strict,
               ControlDone done);
    void record_reload(bool ok, const std::vector<std::string> &errors);
    // Puts `change` into the overlay (or, with `forget`, takes the
    // instance's change out) and applies; a refusal puts back what was
    // there. `describe` writes the message of a success.
    void apply_runtime_change(RuntimeChange change, bool forget, const std::string &origin,
                              std::function<void(ControlResult &)> describe, ControlDone done,
                              std::function<void()> finished);
    void arm_expiry();
    void heartbeat();
    static std::int64_t steady_ns() {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }
    void sample_delivery();
    // Resolves NAME (or inputs.NAME / sinks.NAME) against the configuration in force.
    bool resolve(const std::string &name, InstanceRole &role, std::string &bare, std::string &error);
    // One instance as `sonde status` shows it.
    nlohmann::json status_of(const std::string &qualified_name);

    Agent &agent_;
    PluginRegistry &registry_;
    ControlOptions options_;
    std::shared_ptr<spdlog::logger> logger_;
    AdminConfig admin_;
    const std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();

    std::mutex ops_mutex_;
    std::deque<Operation> ops_;
    bool op_running_ = false;

    // Guarded by state_mutex_: read by the admin endpoint's thread.
    mutable std::mutex state_mutex_;
    std::shared_ptr<const AppliedConfig> applied_;
    RuntimeOverlay overlay_;
    std::string runtime_log_level_;  // sonde log-level's, kept across reloads
    RetiredCounters retired_;
    std::map<std::string, CreateFailure> create_failures_;
    bool started_up_ = false;
    std::uint64_t reloads_ok_ = 0, reloads_failed_ = 0;
    std::uint64_t plugin_refusals_ = 0;
    bool last_reload_ok_ = true;
    double last_reload_success_time_ = 0;
    std::vector<std::string> last_reload_errors_;
    std::string last_reload_time_;
    struct DeliveryProgress {
        std::uint64_t delivered = 0;
        std::chrono::steady_clock::time_point since;
    };
    std::map<std::string, DeliveryProgress> delivery_;

    std::function<void()> reload_begins_;
    std::function<void(const ControlResult &)> reload_ended_;

    boost::asio::steady_timer expiry_timer_;
    boost::asio::steady_timer heartbeat_timer_;
    std::atomic<std::int64_t> last_turn_ns_;
    unsigned heartbeats_ = 0;
};

}  // namespace sonde::core
