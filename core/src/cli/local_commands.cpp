// sonde command line: run, check-config, plugins, --version.
#include "runtime/agent.hpp"
#include "config/config.hpp"
#include "loading/plugin_library.hpp"
#include "trace/trace.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace sonde::core;

namespace {

const char *usage = R"(usage:
  sonde run [--config-dir DIR] [--plugin-dir DIR]... [--allow-insecure-plugins]
  sonde check-config [--config-dir DIR] [--plugin-dir DIR]... [--allow-insecure-plugins]
  sonde plugins [--plugin-dir DIR]... [--describe NAME] [--allow-insecure-plugins]
  sonde trace dump FILE...       records of the file sink's JSON-lines files
  sonde trace summary FILE...    time range, counts, rates, latency quantiles
  sonde --version

Defaults: in a build tree, the build's plugins/ and the source tree's conf.d/;
installed, )" SONDE_INSTALL_PLUGIN_DIR R"( beside the binary's prefix and )" SONDE_INSTALL_CONF_DIR R"(.
)";

struct Options {
    std::string command;
    fs::path config_dir;
    std::vector<fs::path> plugin_dirs;
    std::string describe;
    bool allow_insecure_plugins = false;  // as root, load plugins not owned by root or writable by others
};

fs::path executable_dir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::current_path() : exe.parent_path();
}

// A build tree has plugins/ beside the binary; an installed layout keeps
// them under <prefix>/lib/.../sonde/plugins.
void apply_defaults(Options &o) {
    fs::path here = executable_dir();
    bool build_tree = fs::is_directory(here / "plugins") && fs::exists(here / "CMakeCache.txt");
    if (o.plugin_dirs.empty())
        o.plugin_dirs.push_back(build_tree ? here / "plugins" : here.parent_path() / SONDE_INSTALL_PLUGIN_DIR);
    if (o.config_dir.empty()) o.config_dir = build_tree ? fs::path(SONDE_SOURCE_CONF_DIR) : fs::path(SONDE_INSTALL_CONF_DIR);
}

bool parse(int argc, char **argv, Options &o) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) return false;
    o.command = args[0];
    for (std::size_t i = 1; i < args.size(); ++i) {
        auto value = [&](fs::path &out) {
            if (i + 1 >= args.size()) return false;
            out = args[++i];
            return true;
        };
        fs::path p;
        if (args[i] == "--config-dir" && value(p)) o.config_dir = p;
        else if (args[i] == "--plugin-dir" && value(p)) o.plugin_dirs.push_back(p);
        else if (args[i] == "--describe" && value(p)) o.describe = p.string();
        else if (args[i] == "--allow-insecure-plugins") o.allow_insecure_plugins = true;
        else {
            std::fprintf(stderr, "sonde: unknown or incomplete argument '%s'\n", args[i].c_str());
            return false;
        }
    }
    apply_defaults(o);
    return true;
}

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

ConfigLoad load_or_report(const Options &o) {
    ConfigLoad load = load_config_dir(o.config_dir);
    for (const auto &e : load.errors) std::fprintf(stderr, "%s\n", e.format().c_str());
    return load;
}

int run(const Options &o) {
    ConfigLoad load = load_or_report(o);
    if (!load.ok()) return 1;
    auto logger = make_logger(load.config.log_level);
    PluginRegistry registry(plugin_trust(o, &load.config));
    scan_plugins(o, [&](const std::string &line) { logger->warn("{}", line); }, registry, &load.config);
    Agent agent(load.config, registry, logger);
    agent.catch_signals();
    std::size_t sinks = 0;
    for (const auto *list : {&load.config.sinks, &load.config.inputs}) {
        for (const InstanceConfig &instance : *list) {
            if (!instance.enabled) continue;
            std::string error;
            if (!agent.add(instance, error)) logger->error("{}", error);
            else if (instance.role == InstanceRole::sink) ++sinks;
        }
    }
    if (sinks == 0) logger->warn("no sink is running: records go nowhere");
    for (const ConfigError &w : agent.routing_warnings()) logger->warn("{}", w.format());
    logger->info("sonde {} running with config {} and plugins from {}", SONDE_VERSION, o.config_dir.string(),
                 o.plugin_dirs.front().string());
    return agent.run();
}

int check_config(const Options &o) {
    ConfigLoad load = load_or_report(o);
    if (!load.ok()) return 1;
    PluginRegistry registry(plugin_trust(o, &load.config));
    scan_plugins(o, [](const std::string &line) { std::fprintf(stderr, "warning: %s\n", line.c_str()); }, registry,
                 &load.config);
    auto logger = make_logger("off");
    Agent agent(load.config, registry, logger);
    int errors = 0;
    std::vector<RoutedInput> inputs;
    std::vector<const InstanceConfig *> sinks;
    std::vector<std::shared_ptr<Instance>> created;  // keeps declarations alive
    for (const auto *list : {&load.config.inputs, &load.config.sinks}) {
        for (const InstanceConfig &instance : *list) {
            if (!instance.enabled) continue;
            std::string error;
            std::shared_ptr<Instance> made = agent.create(instance, error);
            if (!made) {
                std::fprintf(stderr, "%s\n", error.c_str());
                ++errors;
                continue;
            }
            created.push_back(made);
            if (auto input = std::dynamic_pointer_cast<InputInstance>(made))
                inputs.push_back({input->slot(), input->name(), input->declarations(), instance.location});
            else
                sinks.push_back(&instance);
        }
    }
    if (errors) return 1;
    for (const ConfigError &w : routing_warnings(inputs, sinks))
        std::fprintf(stderr, "warning: %s\n", w.format().c_str());
    std::printf("%s: OK (%zu files, %zu inputs, %zu sinks)\n", o.config_dir.c_str(), load.files.size(),
                load.config.inputs.size(), load.config.sinks.size());
    return 0;
}

const char *metric_kind_name(std::uint32_t kind) {
    switch (kind) {
        case SONDE_METRIC_GAUGE: return "gauge";
        case SONDE_METRIC_COUNTER: return "counter";
        case SONDE_METRIC_HISTOGRAM: return "histogram";
        default: return "?";
    }
}

int describe(const Options &o, const PluginRegistry &registry) {
    auto library = registry.find(o.describe);
    if (!library) {
        std::fprintf(stderr, "sonde: no loadable plugin named '%s'\n", o.describe.c_str());
        return 1;
    }
    std::printf("%s %s (%s): %s\n", library->name().c_str(), library->descriptor().version,
                library->is_sink() ? "sink" : "input", library->descriptor().description);
    if (library->is_sink()) return 0;
    InstanceConfig config;
    config.name = config.plugin = o.describe;
    config.interval_ns = AgentConfig{}.interval_ns;
    Agent agent(AgentConfig{}, registry, make_logger("off"));
    std::string error;
    auto instance = std::dynamic_pointer_cast<InputInstance>(agent.create(config, error));
    if (!instance) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 1;
    }
    for (const RecordDeclaration *d : instance->declarations()) {
        std::string attributes;
        for (const auto &k : d->attribute_keys) attributes += (attributes.empty() ? "" : ",") + k;
        std::printf("  %-6s %-44s %-9s %-14s [%s] %s\n", d->is_metric() ? "metric" : "event", d->name.c_str(),
                    d->is_metric() ? metric_kind_name(d->info.metric_kind) : "-",
                    d->unit.empty() ? "-" : d->unit.c_str(), attributes.c_str(), d->description.c_str());
    }
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

}  // namespace

int main(int argc, char **argv) {
    // A closed pipe (the stdout sink ends the agent in order on EPIPE) and a
    // file over RLIMIT_FSIZE (EFBIG) are errors of the write, not reasons to die.
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN);
    if (argc == 2 && std::string(argv[1]) == "--version") {
        std::printf("sonde %s (plugin ABI %d.%d)\n", SONDE_VERSION, SONDE_ABI_MAJOR, SONDE_ABI_MINOR);
        return 0;
    }
    if (argc >= 3 && std::string(argv[1]) == "trace") {
        std::vector<std::string> files(argv + 3, argv + argc);
        std::string what = argv[2];
        if (files.empty() || (what != "dump" && what != "summary")) {
            std::fputs(usage, stderr);
            return 2;
        }
        return what == "dump" ? trace_dump(files, std::cout, std::cerr) : trace_summary(files, std::cout, std::cerr);
    }
    Options options;
    if (!parse(argc, argv, options)) {
        std::fputs(usage, argc == 2 && std::string(argv[1]) == "--help" ? stdout : stderr);
        return argc == 2 && std::string(argv[1]) == "--help" ? 0 : 2;
    }
    try {
        if (options.command == "run") return run(options);
        if (options.command == "check-config") return check_config(options);
        if (options.command == "plugins") return plugins(options);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "sonde: %s\n", e.what());
        return 1;
    }
    std::fputs(usage, stderr);
    return 2;
}
