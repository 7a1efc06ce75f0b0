// The admin server's life: checking its options, opening the TCP and Unix
// listeners (and telling a stale socket file from a live agent's), closing
// everything again.
#include "control/admin_server_state.hpp"

#include "http/listen_address.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sonde::core {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Whether something accepts connections on the socket file at `path`:
// "live", "stale" (nobody listens: ECONNREFUSED), or an error text.
std::string probe_socket_file(const std::string &path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return "socket(): " + errno_text(errno);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    int rc = ::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address);
    int err = errno;
    ::close(fd);
    if (rc == 0 || err == EAGAIN || err == EINPROGRESS) return "live";  // EAGAIN: its backlog is full
    if (err == ECONNREFUSED) return "stale";
    return "cannot connect to it: " + errno_text(err);
}

}  // namespace

void AdminServer::check(const AdminServerOptions &options) {
    if (!options.listen.empty()) {
        http::ListenAddress address;
        try {
            address = http::resolve_listen(options.listen);
        } catch (const http::ListenAddressError &e) {
            throw AdminOptionsError(std::string("[admin] listen: ") + e.what());
        }
        if (!options.allow_non_loopback && !http::is_loopback(address))
            throw AdminOptionsError("[admin] listen: \"" + options.listen + "\" (" + address.numeric +
                                    ") is not a loopback address; the admin endpoint serves the agent's status "
                                    "to anyone who can reach it: set allow_non_loopback = true to mean it");
    }
    if (options.socket_path.size() >= sizeof(sockaddr_un{}.sun_path))
        throw AdminOptionsError("[admin] socket: \"" + options.socket_path + "\" is longer than " +
                                std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes, the limit of a Unix socket path");
    if (!options.socket_path.empty() && options.socket_path.front() != '/')
        throw AdminOptionsError("[admin] socket: \"" + options.socket_path + "\" is not an absolute path");
    if (options.max_connections == 0) throw AdminOptionsError("[admin] max_connections: must be at least 1");
}

AdminServer::AdminServer(asio::io_context &io, AdminServerOptions options, AdminHandler handler,
                         std::shared_ptr<spdlog::logger> logger) {
    check(options);
    options.limits.keep_body = true;
    if (!logger) logger = spdlog::default_logger();
    state_ = std::make_shared<State>(io, std::move(options), std::move(handler), std::move(logger));
    std::lock_guard lock(state_->mutex);
    if (!state_->options.listen.empty())
        if (std::string error = state_->listen_tcp(tcp_port_); !error.empty()) startup_errors_.push_back(error);
    if (!state_->options.socket_path.empty())
        if (std::string error = state_->listen_unix(socket_path_); !error.empty()) startup_errors_.push_back(error);
    state_->start();
}

AdminServer::~AdminServer() {
    std::lock_guard lock(state_->mutex);
    state_->stop();
}

AdminServerCounters AdminServer::counters() const {
    std::lock_guard lock(state_->mutex);
    return state_->counters;
}

std::string AdminServer::State::listen_tcp(std::uint16_t &bound_port) {
    http::ListenAddress address = http::resolve_listen(options.listen);  // check() accepted it
    asio::ip::tcp::endpoint endpoint;
    std::memcpy(endpoint.data(), &address.address, address.length);
    endpoint.resize(address.length);
    auto &acceptor = tcp_acceptor.emplace(strand);
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) bound_port = acceptor.local_endpoint(ec).port();
    if (!ec) return "";
    tcp_acceptor.reset();
    return "admin: cannot listen on " + address.numeric + ": " + ec.message();
}

// The parent directory is made (0755) when missing. A socket file already
// there is replaced only when nobody accepts on it (an agent that died);
// a file of another kind, or a live agent's socket, is left alone.
//
// The socket has the umask's mode between bind() and chmod(): a client that
// connects in that instant can read, but cannot change anything without the
// uid check.
std::string AdminServer::State::listen_unix(std::string &created_path) {
    const std::string &path = options.socket_path;
    namespace fs = std::filesystem;
    fs::path parent = fs::path(path).parent_path();
    std::error_code fs_error;
    if (!fs::exists(parent, fs_error)) {
        if (!fs::create_directories(parent, fs_error) && fs_error)
            return "admin: cannot create the directory " + parent.string() + " for the socket " + path + ": " +
                   fs_error.message();
        fs::permissions(parent, fs::perms(0755), fs_error);
    }
    struct stat existing {};
    if (::lstat(path.c_str(), &existing) == 0) {
        if (!S_ISSOCK(existing.st_mode))
            return "admin: " + path + " exists and is not a socket; not replacing it";
        std::string state = probe_socket_file(path);
        if (state == "live") return "admin: another agent is listening on " + path;
        if (state != "stale") return "admin: cannot tell whether " + path + " is in use: " + state;
        if (::unlink(path.c_str()) != 0 && errno != ENOENT)
            return "admin: cannot remove the stale socket " + path + ": " + errno_text(errno);
        logger->info("admin: removed the stale socket {} (nobody accepted on it)", path);
    }
    auto &acceptor = unix_acceptor.emplace(strand);
    boost::system::error_code ec;
    std::string step = "bind";
    acceptor.open(asio::local::stream_protocol(), ec);
    if (!ec) acceptor.bind(asio::local::stream_protocol::endpoint(path), ec);
    if (!ec) {
        struct stat made {};
        if (::chmod(path.c_str(), 0600) != 0 || ::stat(path.c_str(), &made) != 0) {
            ec.assign(errno, boost::system::system_category());
            step = "chmod 0600";
        } else {
            socket_file.emplace(made.st_dev, made.st_ino);
            step = "listen";
            acceptor.listen(asio::socket_base::max_listen_connections, ec);
            if (!ec) {
                created_path = path;
                return "";
            }
        }
    }
    unix_acceptor.reset();
    remove_socket_file();
    return "admin: cannot listen on the Unix socket " + path + " (" + step + "): " + ec.message();
}

// Removes the socket file only while it is still the one bind() made: an
// agent started since may own the path now.
void AdminServer::State::remove_socket_file() {
    if (!socket_file) return;
    struct stat now {};
    if (::lstat(options.socket_path.c_str(), &now) == 0 && now.st_dev == socket_file->first &&
        now.st_ino == socket_file->second)
        ::unlink(options.socket_path.c_str());
    socket_file.reset();
}

}  // namespace sonde::core
