#include "control/admin_service.hpp"

#include "control/admin_server.hpp"
#include "control/control_plane.hpp"
#include "control/control_socket.hpp"
#include "control/metrics_text.hpp"

#include <boost/asio/post.hpp>
#include "files/checked_file.hpp"
#include <spdlog/spdlog.h>

namespace sonde::core {

namespace {

http::HttpResponse json_response(int status, const nlohmann::json &body) {
    http::HttpResponse r;
    r.status = status;
    r.content_type = "application/json";
    r.body = body.dump(2) + "\n";
    return r;
}

// The JSON body of a change request; `error` when it is not an object.
bool parse_body(const AdminRequest &request, nlohmann::json &out, std::string &error) {
    out = request.body.empty() ? nlohmann::json::object() : nlohmann::json::parse(request.body, nullptr, false);
    if (out.is_object()) return true;
    error = "the request body must be a JSON object";
    return false;
}

std::string string_field(const nlohmann::json &body, const char *key) {
    auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

void route(ControlPlane &control, AdminRequest request) {
    std::string path = request.target.substr(0, request.target.find('?'));
    auto respond = request.respond;
    auto reply = [respond](const ControlResult &r) { respond(json_response(r.status, r.to_json())); };
    if (request.method == "GET" || request.method == "HEAD") {
        nlohmann::json report;
        if (path == "/healthz") {
            int status = control.live(report);
            return respond(json_response(status, report));
        }
        if (path == "/ready") {
            int status = control.ready(report);
            return respond(json_response(status, report));
        }
        if (path == "/status") return respond(json_response(200, control.status()));
        if (path == "/metrics") {
            Exposition e = render_exposition(request.accept, control.self_metrics());
            http::HttpResponse r;
            r.content_type = std::string(e.content_type);
            r.body = std::move(e.body);
            return respond(r);
        }
        if (path == "/") {
            return respond(json_response(200, {{"endpoints", {"/healthz", "/ready", "/metrics", "/status"}},
                                               {"changes", {"/v1/reload", "/v1/enable", "/v1/disable",
                                                            "/v1/log-level"}}}));
        }
        return respond(json_response(404, {{"error", "no such endpoint: " + path}}));
    }
    if (request.method != "POST") {
        http::HttpResponse r = json_response(405, {{"error", request.method + " is not allowed"}});
        r.allow = "GET, HEAD, POST";
        return respond(r);
    }
    nlohmann::json body;
    std::string error;
    if (!parse_body(request, body, error)) return respond(json_response(400, {{"ok", false}, {"message", error}}));
    if (path == "/v1/reload") return control.reload(reply);
    if (path == "/v1/log-level") return control.set_log_level(string_field(body, "level"), reply);
    if (path == "/v1/enable") {
        EnableRequest e{string_field(body, "name"), string_field(body, "plugin"), {}, string_field(body, "for")};
        if (auto it = body.find("set"); it != body.end() && it->is_array())
            for (const auto &s : *it)
                if (s.is_string()) e.settings.push_back(s.get<std::string>());
        if (e.name.empty() && e.plugin.empty())
            return respond(json_response(400, {{"ok", false}, {"message", "enable: name or plugin is required"}}));
        return control.enable(std::move(e), reply);
    }
    if (path == "/v1/disable") {
        std::string name = string_field(body, "name");
        if (name.empty()) return respond(json_response(400, {{"ok", false}, {"message", "disable: name is required"}}));
        return control.disable(name, string_field(body, "for"), reply);
    }
    respond(json_response(404, {{"ok", false}, {"message", "no such endpoint: " + path}}));
}

}  // namespace

bool read_token_file(const std::string &path, std::string &token, std::string &error) {
    auto text = read_checked_file(path, {4096, "a token file"}, error);
    if (!text) return false;
    token = text->substr(0, text->find('\n'));
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    if (token.empty()) {
        error = path + ": the token is empty";
        return false;
    }
    return true;
}

AdminService::AdminService(ControlPlane &control, const AdminConfig &config, std::shared_ptr<spdlog::logger> logger)
    : control_(control), logger_(std::move(logger)) {
    AdminServerOptions options;
    options.listen = config.listen;
    options.allow_non_loopback = config.allow_non_loopback;
    options.socket_path = socket_path_for(config.socket);
    if (!config.token_file.empty()) {
        std::string error;
        if (!read_token_file(config.token_file, options.token, error))
            logger_->error("admin.token_file: {}; changes over TCP are refused", error);
    }
    // A `listen` no start could use costs the TCP listener, never the
    // control socket: the CLI keeps its way in.
    try {
        AdminServerOptions tcp_only = options;
        tcp_only.socket_path.clear();
        AdminServer::check(tcp_only);
    } catch (const AdminOptionsError &e) {
        logger_->error("admin.listen: {}; no TCP listener (check-config refuses this)", e.what());
        options.listen.clear();
    }
    try {
        server_ = std::make_unique<AdminServer>(
            io_, options, [this](AdminRequest request) { route(control_, std::move(request)); }, logger_);
    } catch (const AdminOptionsError &e) {
        logger_->error("admin endpoint not started: {}", e.what());
        return;
    }
    for (const auto &error : server_->startup_errors()) logger_->error("admin endpoint: {}", error);
    if (server_->tcp_port())
        logger_->info("admin endpoint on http://{}:{} (/metrics, /healthz, /ready, /status)",
                      options.listen.substr(0, options.listen.rfind(':')), server_->tcp_port());
    if (!server_->socket_path().empty()) logger_->info("control socket {}", server_->socket_path());
    thread_ = std::thread([this] { io_.run(); });
}

AdminService::~AdminService() {
    if (!thread_.joinable()) return;
    // The server is destroyed on its own thread, between two handlers.
    boost::asio::post(io_, [this] { server_.reset(); });
    thread_.join();
}

std::uint16_t AdminService::tcp_port() const { return server_ ? server_->tcp_port() : 0; }
std::string AdminService::socket_path() const { return server_ ? server_->socket_path() : ""; }

}  // namespace sonde::core
