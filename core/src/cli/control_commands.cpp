// The control subcommands: they talk to the running agent over its control
// socket and print what it answered. Exit status: 0 done, 1 refused or
// failed (the reasons printed), 3 no agent answered.
#include "cli/commands.hpp"

#include "config/config_dirs.hpp"
#include "control/control_client.hpp"
#include "control/control_socket.hpp"

#include <cstdio>

using namespace sonde::core;

namespace sonde::cli {

namespace {

// --socket, else [admin] socket of conf.d (when it reads), else the default.
std::string socket_of(const Options &o) {
    if (!o.socket.empty()) return o.socket;
    ConfigLoad load = load_config_dirs(o.config_sources);
    return socket_path_for(load.ok() ? load.config.admin.socket : "");
}

std::string text(const nlohmann::json &j, const char *key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

// Prints a change's answer: its message, errors and warnings, and the diff.
int print_result(const ControlReply &reply) {
    if (reply.status == 0) {
        std::fprintf(stderr, "sonde: %s\n", reply.error.c_str());
        return 3;
    }
    if (!reply.body.is_object()) {
        std::fprintf(stderr, "sonde: the agent answered %d: %s\n", reply.status, reply.text.c_str());
        return 1;
    }
    const auto &b = reply.body;
    std::FILE *out = reply.status == 200 ? stdout : stderr;
    std::fprintf(out, "%s\n", text(b, "message").c_str());
    if (auto it = b.find("errors"); it != b.end())
        for (const auto &e : *it) std::fprintf(stderr, "%s\n", e.get<std::string>().c_str());
    if (auto it = b.find("warnings"); it != b.end())
        for (const auto &w : *it) std::fprintf(stderr, "warning: %s\n", w.get<std::string>().c_str());
    if (auto d = b.find("detail"); d != b.end() && d->is_object())
        for (const char *key : {"added", "changed", "removed", "resubscribed"})
            if (auto it = d->find(key); it != d->end() && !it->empty()) {
                std::string names;
                for (const auto &n : *it) names += (names.empty() ? "" : ", ") + n.get<std::string>();
                std::fprintf(out, "  %s: %s\n", key, names.c_str());
            }
    return reply.status == 200 ? 0 : 1;
}

std::string counters_line(const nlohmann::json &c) {
    std::string line;
    for (const char *key : {"emitted", "routed", "delivered", "dropped", "queued", "retried", "errors"})
        if (auto it = c.find(key); it != c.end()) line += std::string(line.empty() ? "" : " ") + key + "=" + it->dump();
    return line;
}

}  // namespace

int status(const Options &o) {
    ControlReply reply = control_request(socket_of(o), "GET", "/status");
    if (reply.status == 0) {
        std::fprintf(stderr, "sonde: %s\n", reply.error.c_str());
        return 3;
    }
    if (reply.status != 200 || !reply.body.is_object()) return print_result(reply);
    const auto &s = reply.body;
    if (o.json) {
        std::printf("%s\n", s.dump(2).c_str());
        return 0;
    }
    std::printf("sonde %s, pid %s, up %.0f s, %s\n", text(s, "version").c_str(), text(s, "pid").c_str(),
                s.value("uptime_seconds", 0.0), s.value("ready", false) ? "ready" : "not ready");
    std::printf("config %s (hash %s)\n", text(s, "config_dir").c_str(), text(s, "config_hash").c_str());
    const auto &reload = s["reload"];
    if (!reload.value("successful", true)) {
        std::printf("last reload FAILED at %s; still running the previous configuration:\n",
                    text(reload, "time").c_str());
        for (const auto &e : reload["errors"]) std::printf("  %s\n", e.get<std::string>().c_str());
    }
    std::printf("%-24s %-12s %-9s %s\n", "INSTANCE", "PLUGIN", "STATE", "DETAIL");
    for (const auto &i : s["instances"]) {
        std::string detail = text(i, "reason");
        if (auto f = i.find("facts"); f != i.end())
            if (auto hook = f->find("hook"); hook != f->end())
                detail += (detail.empty() ? "" : "; ") + std::string("hook ") + hook->get<std::string>();
        if (auto r = i.find("runtime"); r != i.end())
            detail += (detail.empty() ? "" : "; ") + std::string("runtime ") +
                      ((*r)["enable"].get<bool>() ? "enable" : "disable") +
                      (r->contains("expires") ? " until " + text(*r, "expires") : "");
        if (auto c = i.find("counters"); c != i.end())
            detail += (detail.empty() ? "" : "; ") + counters_line(*c);
        std::printf("%-24s %-12s %-9s %s\n", text(i, "name").c_str(), text(i, "plugin").c_str(),
                    text(i, "state").c_str(), detail.c_str());
    }
    return 0;
}

int enable(const Options &o, const EnableArguments &a) {
    nlohmann::json body{{"name", a.name}, {"set", a.settings}};
    if (!a.plugin.empty()) body["plugin"] = a.plugin;
    if (!a.duration.empty()) body["for"] = a.duration;
    return print_result(control_request(socket_of(o), "POST", "/v1/enable", body));
}

int disable(const Options &o, const std::string &name, const std::string &duration) {
    nlohmann::json body{{"name", name}};
    if (!duration.empty()) body["for"] = duration;
    return print_result(control_request(socket_of(o), "POST", "/v1/disable", body));
}

int reload(const Options &o) {
    return print_result(control_request(socket_of(o), "POST", "/v1/reload", nlohmann::json::object()));
}

int log_level(const Options &o, const std::string &level) {
    return print_result(control_request(socket_of(o), "POST", "/v1/log-level", {{"level", level}}));
}

}  // namespace sonde::cli
