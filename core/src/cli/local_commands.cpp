// The local subcommands: run, check-config, plugins.
#include "cli/commands.hpp"

#include "config/config.hpp"
#include "config/host_labels.hpp"
#include "control/admin_server.hpp"
#include "control/admin_service.hpp"
#include "control/capabilities.hpp"
#include "control/control_plane.hpp"
#include "control/logging.hpp"
#include "control/self_input.hpp"
#include "control/service_notifier.hpp"
#include "loading/plugin_library.hpp"
#include "runtime/agent.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <set>
#include <string_view>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace sonde::core;

namespace sonde::cli {

namespace {

fs::path executable_dir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::current_path() : exe.parent_path();
}

}  // namespace

// A build tree has plugins/ beside the binary; an installed layout keeps
// them under <prefix>/lib/.../sonde/plugins. The default plugin directory
// comes after those given with --plugin-dir (the first plugin of a name
// wins), unless --no-default-plugin-dir; a directory given twice is
// scanned once.
void apply_defaults(Options &o) {
    fs::path here = executable_dir();
    bool build_tree = fs::is_directory(here / "plugins") && fs::exists(here / "CMakeCache.txt");
    if (o.default_plugin_dir)
        o.plugin_dirs.push_back(build_tree ? here / "plugins" : here.parent_path() / SONDE_INSTALL_PLUGIN_DIR);
    std::vector<fs::path> unique;
    for (const fs::path &dir : o.plugin_dirs) {
        const fs::path normal = fs::absolute(dir).lexically_normal();
        bool seen = false;
        for (const fs::path &kept : unique) seen = seen || fs::absolute(kept).lexically_normal() == normal;
        if (!seen) unique.push_back(dir);
    }
    o.plugin_dirs = std::move(unique);
    for (const fs::path &dir : o.config_dirs) o.config_sources.push_back({dir, false});
    if (o.config_dirs.empty() && build_tree) o.config_sources.push_back({SONDE_SOURCE_CONF_DIR, false});
    if (o.config_dirs.empty() && !build_tree) {
        // GNUInstallDirs' rule: the prefix /usr keeps its configuration in /etc.
        const fs::path prefix = here.parent_path();
        o.config_sources.push_back({prefix / SONDE_INSTALL_VENDOR_CONF_DIR, true});
        o.config_sources.push_back({prefix == "/usr" ? fs::path("/etc/sonde/conf.d") : prefix / "etc/sonde/conf.d", true});
    }
}

namespace {

std::shared_ptr<spdlog::logger> make_logger(const std::string &level) {
    auto logger = spdlog::stderr_color_mt("sonde");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
    logger->set_level(spdlog::level::from_str(level));
    return logger;
}

// Who may own plugin objects (plugin_library.hpp): the flag or the [agent] key relaxes it.
PluginTrust plugin_trust(const Options &o, const AgentConfig *config = nullptr) {
    PluginTrust trust;
    trust.allow_insecure = o.allow_insecure_plugins || (config && config->allow_insecure_plugins);
    return trust;
}

// Every plugin, or with `config` only those its enabled instances use. Each
// directory that gives nothing and each refused object is one line to `report`.
void scan_plugins(const Options &o, const std::function<void(const std::string &)> &report, PluginRegistry &registry,
                  const AgentConfig *config = nullptr) {
    if (config) {
        std::set<std::string> used;
        for (const auto *list : {&config->sinks, &config->inputs})
            for (const InstanceConfig &instance : *list)
                if (instance.enabled) used.insert(instance.plugin);
        registry.scan_for(o.plugin_dirs, used);
    } else {
        registry.scan(o.plugin_dirs);
    }
    for (const auto &problem : registry.directory_problems()) report(problem);
    for (const auto &c : registry.candidates())
        if (!c.library) report("plugin " + c.path.string() + " refused: " + c.refusal);
}

// "a, b, c": every plugin directory, as the start-up line names them.
std::string join_paths(const std::vector<fs::path> &paths) {
    std::string out;
    for (const auto &path : paths) out += (out.empty() ? "" : ", ") + path.string();
    return out.empty() ? "(no directory)" : out;
}

ConfigLoad load_or_report(const Options &o) {
    ConfigLoad load = load_config_dirs(o.config_sources);
    for (const auto &e : load.errors) std::fprintf(stderr, "%s\n", e.format().c_str());
    return load;
}

const char *metric_kind_name(std::uint32_t kind) {
    switch (kind) {
        case SONDE_METRIC_GAUGE: return "gauge";
        case SONDE_METRIC_COUNTER: return "counter";
        case SONDE_METRIC_HISTOGRAM: return "histogram";
        default: return "?";
    }
}

// Drops the capabilities no instance needs (control/capabilities.hpp) and
// says which, once. Before the agent starts a thread: capabilities are per thread.
void drop_capabilities(spdlog::logger &logger) {
    CapabilityDrop drop = drop_unneeded_capabilities();
    auto joined = [](const std::vector<std::string> &names) {
        std::string out;
        for (const auto &n : names) out += (out.empty() ? "" : ",") + n;
        return out.empty() ? std::string("none") : out;
    };
    if (!drop.kept.empty() || !drop.dropped.empty())
        logger.info("capabilities: kept {}; dropped {}", joined(drop.kept), joined(drop.dropped));
    for (const auto &w : drop.warnings) logger.warn("capabilities: {}", w);
    for (const auto &e : drop.errors) logger.error("capabilities: {}", e);
    if (drop.threads > 1)
        logger.error("capabilities: dropped with {} threads running; the others keep theirs", drop.threads);
}

// The unit's STATUS= line once instances have started: how many run, how many failed.
std::string instances_summary(Agent &agent) {
    std::size_t running = 0, failed = 0;
    for (const auto &instance : agent.instances())
        ++(std::string_view(instance->state_name()) == "failed" ? failed : running);
    return std::to_string(running) + " instances running, " + std::to_string(failed) + " failed";
}

// Every record the plugin can emit, without a configuration (Agent::describe).
int describe(const Options &o, const PluginRegistry &registry) {
    auto library = registry.find(o.describe);
    if (!library) {
        const PluginCandidate *refused = registry.refused(o.describe);
        std::fprintf(stderr, "sonde: no loadable plugin named '%s'%s\n", o.describe.c_str(),
                     refused ? (": " + refused->path.string() + ": " + refused->refusal).c_str() : "");
        return 1;
    }
    Agent agent(AgentConfig{}, registry, make_logger("off"));
    std::shared_ptr<InputInstance> instance;  // after the agent: its strand lives on the agent's io_context
    if (!library->is_sink()) {
        InstanceConfig config;
        config.name = config.plugin = o.describe;
        config.interval_ns = AgentConfig{}.interval_ns;
        std::string error;
        instance = std::dynamic_pointer_cast<InputInstance>(agent.describe(config, error));
        if (!instance) {
            std::fprintf(stderr, "sonde: cannot describe %s: %s\n", o.describe.c_str(), error.c_str());
            return 1;
        }
    }
    std::printf("%s %s (%s): %s\n", library->name().c_str(), library->descriptor().version,
                library->is_sink() ? "sink" : "input", library->descriptor().description);
    if (!instance) return 0;
    for (const RecordDeclaration *d : instance->declarations()) {
        std::string attributes;
        for (const auto &k : d->attribute_keys) attributes += (attributes.empty() ? "" : ",") + k;
        std::printf("  %-6s %-44s %-9s %-14s [%s] %s\n", d->is_metric() ? "metric" : "event", d->name.c_str(),
                    d->is_metric() ? metric_kind_name(d->info.metric_kind) : "-",
                    d->unit.empty() ? "-" : d->unit.c_str(), attributes.c_str(), d->description.c_str());
    }
    return 0;
}

}  // namespace

int run(const Options &o) {
    ConfigLoad load = load_or_report(o);
    if (!load.ok()) return 1;
    std::vector<std::string> warnings;
    auto logger = make_agent_logger(load.config.log_format, load.config.log_level, warnings);
    for (const auto &w : warnings) logger->warn("{}", w);
    PluginRegistry registry(plugin_trust(o, &load.config));
    scan_plugins(o, [&](const std::string &line) { logger->warn("{}", line); }, registry, &load.config);
    drop_capabilities(*logger);
    Agent agent(load.config, registry, logger);
    agent.catch_signals();
    ServiceNotifier service(agent.io(), logger);
    service.feed_watchdog();
    agent.on_shutdown([&] { service.stopping("shutting down: draining sinks"); });
    ControlPlane control(agent, registry, {o.config_sources, o.plugin_dirs, host_facts(), SONDE_VERSION}, logger);
    control.observe_reloads([&] { service.reloading("reloading " + describe(o.config_sources)); },
                            [&](const ControlResult &r) {
                                service.ready(r.ok() ? r.message + "; " + instances_summary(agent)
                                                     : r.message + " (the previous configuration runs on)");
                            });
    set_self_metrics_provider([&control] { return control.self_metrics(); });
    AdminConfig admin = load.config.admin;
    control.start(std::move(load), [&] {
        logger->info("sonde {} running with config {} and plugins from {}", SONDE_VERSION, describe(o.config_sources),
                     join_paths(o.plugin_dirs));
        service.ready(instances_summary(agent));
    });
    AdminService admin_service(control, admin, logger);
    int status = agent.run();
    set_self_metrics_provider(nullptr);
    return status;
}

// Validates conf.d as a reload would, and says which instances would run on
// this host (or on the host --label/--host describe).
int check_config(const Options &o) {
    ConfigLoad load = load_or_report(o);
    if (!load.ok()) return 1;
    PluginRegistry registry(plugin_trust(o, &load.config));
    scan_plugins(o, [](const std::string &line) { std::fprintf(stderr, "warning: %s\n", line.c_str()); }, registry,
                 &load.config);
    auto logger = make_logger("off");
    Agent agent(load.config, registry, logger);
    HostLabels labels = merge_labels(host_facts(), load.config.labels);
    for (const auto &[key, value] : o.labels) labels[key] = value;
    ReloadPlan plan = plan_reload(load.config, {}, labels, {});
    int errors = 0;
    std::vector<RoutedInput> inputs;
    std::vector<const InstanceConfig *> sinks;
    std::vector<std::shared_ptr<Instance>> created;  // keeps declarations alive
    std::vector<std::string> lines;
    for (const PlannedInstance &planned : plan.instances) {
        const InstanceConfig &instance = *planned.config;
        const std::string name = instance.qualified_name();
        if (planned.state != PlannedState::run) {
            lines.push_back(name + ": " + to_string(planned.state) + " (" + planned.reason + ")");
            continue;
        }
        std::string error;
        std::shared_ptr<Instance> made = agent.create(instance, error);
        if (!made) {
            std::fprintf(stderr, "%s\n", error.c_str());
            ++errors;
            continue;
        }
        lines.push_back(name + ": runs (plugin " + instance.plugin + ")");
        created.push_back(made);
        if (auto input = std::dynamic_pointer_cast<InputInstance>(made))
            inputs.push_back({input->slot(), input->name(), input->declarations(), instance.location});
        else
            sinks.push_back(&instance);
    }
    if (std::string listen = load.config.admin.listen; !listen.empty()) {
        AdminServerOptions admin;
        admin.listen = listen;
        admin.allow_non_loopback = load.config.admin.allow_non_loopback;
        try {
            AdminServer::check(admin);
        } catch (const AdminOptionsError &e) {
            std::fprintf(stderr, "%s: admin.listen: %s\n", describe(o.config_sources).c_str(), e.what());
            ++errors;
        }
    }
    if (errors) return 1;
    for (const ConfigError &w : routing_warnings(inputs, sinks))
        std::fprintf(stderr, "warning: %s\n", w.format().c_str());
    std::printf("%s: OK (%zu files, %zu inputs, %zu sinks)\n", describe(o.config_sources).c_str(), load.files.size(),
                load.config.inputs.size(), load.config.sinks.size());
    std::printf("on host %s:\n", labels["host.name"].c_str());
    for (const auto &line : lines) std::printf("  %s\n", line.c_str());
    return 0;
}

int plugins(const Options &o) {
    PluginRegistry registry(plugin_trust(o));
    // Refused objects are rows of the table; directories that gave nothing go to stderr.
    scan_plugins(o, [](const std::string &line) {
        if (line.rfind("plugin directory ", 0) == 0) std::fprintf(stderr, "warning: %s\n", line.c_str());
    }, registry);
    if (!o.describe.empty()) return describe(o, registry);
    std::printf("%-12s %-6s %-8s %-5s %-9s %s\n", "NAME", "KIND", "VERSION", "ABI", "STATUS", "PATH");
    for (const auto &c : registry.candidates()) {
        if (c.library) {
            const auto &d = c.library->descriptor();
            std::printf("%-12s %-6s %-8s %u.%-3u %-9s %s\n", d.name, c.library->is_sink() ? "sink" : "input",
                        d.version, d.abi_major, d.abi_minor, "loadable", c.path.c_str());
        } else {
            std::printf("%-12s %-6s %-8s %-5s %-9s %s: %s\n", "-", "-", "-", "-", "refused", c.path.c_str(),
                        c.refusal.c_str());
        }
    }
    return 0;
}


}  // namespace sonde::cli
