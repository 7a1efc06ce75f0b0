// Runtime enables and disables (`sonde enable`, `sonde disable`): changes
// of the runtime overlay (control/runtime_overlay.hpp), applied like a
// reload, undone when refused, and expired by a timer.
#include "control/control_plane.hpp"

#include "runtime/agent.hpp"

#include <sonde/units.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace sonde::core {

bool ControlPlane::resolve(const std::string &name, InstanceRole &role, std::string &bare, std::string &error) {
    std::shared_ptr<const AppliedConfig> applied;
    {
        std::lock_guard lock(state_mutex_);
        applied = applied_;
    }
    bool as_input = false, as_sink = false;
    bare = name;
    if (name.rfind("inputs.", 0) == 0) bare = name.substr(7), as_input = true;
    else if (name.rfind("sinks.", 0) == 0) bare = name.substr(6), as_sink = true;
    bool is_input = false, is_sink = false;
    if (applied) {
        for (const auto &c : applied->load.config.inputs) is_input |= c.name == bare;
        for (const auto &c : applied->load.config.sinks) is_sink |= c.name == bare;
    }
    if (as_input ? is_input : as_sink ? is_sink : (is_input != is_sink)) {
        role = (as_input || (!as_sink && is_input)) ? InstanceRole::input : InstanceRole::sink;
        return true;
    }
    error = (is_input && is_sink) ? "'" + name + "' names an input and a sink: say inputs." + bare + " or sinks." + bare
                                  : "no instance named '" + name + "' in the configuration (sonde status lists them; "
                                    "--plugin P starts a new instance of a plugin)";
    return false;
}

namespace {

ControlResult refusal(int status, std::string message) {
    ControlResult r;
    r.status = status;
    r.message = std::move(message);
    return r;
}

// `--for D`: sets the change's expiry; false with `error` for a malformed D.
bool set_expiry(const std::string &duration, RuntimeChange &change, std::string &error) {
    if (duration.empty()) return true;
    auto ns = parse_duration_ns(duration);
    if (!ns || *ns == 0) {
        error = "--for " + duration + ": expected a duration such as 30m";
        return false;
    }
    change.expires = std::chrono::system_clock::now() + std::chrono::nanoseconds(*ns);
    return true;
}

}  // namespace

void ControlPlane::apply_runtime_change(RuntimeChange change, bool forget, const std::string &origin,
                                        std::function<void(ControlResult &)> describe, ControlDone done,
                                        std::function<void()> finished) {
    const std::string name = change.qualified_name();
    std::optional<RuntimeChange> previous;
    std::vector<std::pair<std::string, std::string>> documents;
    {
        std::lock_guard lock(state_mutex_);
        if (auto *p = overlay_.find(name)) previous = *p;
        if (forget) overlay_.erase(name);
        else overlay_.set(change);
        if (applied_) documents = applied_->conf_documents;
    }
    apply(documents, origin, true, [=, this](ControlResult r) {
        if (!r.ok()) {
            std::lock_guard lock(state_mutex_);
            overlay_.erase(name);
            if (previous) overlay_.set(*previous);
        } else {
            describe(r);
            if (change.expires) r.message += " until " + format_time(*change.expires);
            r.detail["instance"] = status_of(name);
            logger_->info("{}: {}", origin, r.message);
            arm_expiry();
        }
        done(r);
        finished();
    });
}

void ControlPlane::enable(EnableRequest request, ControlDone done) {
    enqueue([this, request, done](std::function<void()> finished) {
        auto fail = [&](int status, std::string message) {
            done(refusal(status, std::move(message)));
            finished();
        };
        RuntimeChange change;
        change.plugin = request.plugin;
        std::string error;
        if (!resolve(request.name, change.role, change.name, error)) {
            if (request.plugin.empty()) return fail(404, error);
            registry_.scan_for(options_.plugin_dirs, {request.plugin});
            auto library = registry_.find(request.plugin);
            if (!library) return fail(404, "no plugin named '" + request.plugin + "' in the plugin directories");
            change.role = library->is_sink() ? InstanceRole::sink : InstanceRole::input;
            if (change.name.empty()) change.name = request.plugin;
        }
        for (const auto &text : request.settings) {
            Setting setting;
            if (!parse_setting(text, setting, error)) return fail(400, error);
            change.settings.push_back(setting);
        }
        if (!set_expiry(request.duration, change, error)) return fail(400, error);
        const std::string name = change.qualified_name();
        apply_runtime_change(change, false, "runtime enable", [this, name](ControlResult &r) {
            auto instance = agent_.find(name);
            std::string state = instance ? instance->state_name() : "not running";
            r.message = name + ": " + state;
            if (instance && state == "failed") {
                r.status = 500;
                r.message += ": " + instance->failure();
            }
        }, done, finished);
    });
}

void ControlPlane::disable(std::string name, std::string duration, ControlDone done) {
    enqueue([this, name, duration, done](std::function<void()> finished) {
        RuntimeChange change;
        change.enable = false;
        std::string error;
        if (!resolve(name, change.role, change.name, error) || !set_expiry(duration, change, error)) {
            done(refusal(error.rfind("--for", 0) == 0 ? 400 : 404, error));
            return finished();
        }
        // A new instance started at run time is forgotten; anything else is
        // held disabled until the change expires or is undone.
        bool forget;
        {
            std::lock_guard lock(state_mutex_);
            const RuntimeChange *previous = overlay_.find(change.qualified_name());
            forget = previous && previous->enable && !previous->plugin.empty();
        }
        const std::string qualified = change.qualified_name();
        apply_runtime_change(change, forget, "runtime disable",
                             [qualified](ControlResult &r) { r.message = qualified + ": disabled"; }, done, finished);
    });
}

void ControlPlane::arm_expiry() {
    std::optional<std::chrono::system_clock::time_point> first;
    {
        std::lock_guard lock(state_mutex_);
        for (const auto &c : overlay_.changes())
            if (c.expires && (!first || *c.expires < *first)) first = c.expires;
    }
    expiry_timer_.cancel();
    if (!first) return;
    auto wait = std::max(std::chrono::system_clock::duration::zero(), *first - std::chrono::system_clock::now());
    expiry_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait));
    expiry_timer_.async_wait([this](const boost::system::error_code &ec) {
        if (ec) return;
        enqueue([this](std::function<void()> finished) {
            std::vector<std::string> expired;
            std::vector<std::pair<std::string, std::string>> documents;
            {
                std::lock_guard lock(state_mutex_);
                expired = overlay_.expire(std::chrono::system_clock::now());
                if (applied_) documents = applied_->conf_documents;
            }
            if (expired.empty()) {
                arm_expiry();
                return finished();
            }
            std::string names;
            for (const auto &n : expired) names += (names.empty() ? "" : ", ") + n;
            apply(documents, "runtime change expired (" + names + ")", false,
                  [this, finished](const ControlResult &r) {
                      logger_->info("{}", r.message);
                      for (const auto &e : r.errors) logger_->error("{}", e);
                      arm_expiry();
                      finished();
                  });
        });
    });
}

}  // namespace sonde::core
