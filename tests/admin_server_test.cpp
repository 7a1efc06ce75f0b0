// The admin listener on real sockets, with a real io_context thread: the
// request policy per listener, the Unix socket's file, deferred answers,
// startup failures, and clients that misbehave.
#include "admin_server_client.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>

using namespace admin_test;
using sonde::core::AdminOptionsError;
using sonde::core::AdminRequest;
using sonde::core::AdminServer;
using sonde::core::AdminServerOptions;
using sonde::http::HttpResponse;

namespace {

// Answers at once with what it was asked and by whom; keeps "/later" to
// answer when the test says; never answers "/hang".
struct EchoHandler {
    std::mutex mutex;
    std::vector<std::function<void(HttpResponse)>> later;
    std::atomic<int> calls{0};

    sonde::core::AdminHandler handler() {
        return [this](AdminRequest request) {
            ++calls;
            if (request.target == "/hang") return;
            if (request.target == "/later") {
                std::lock_guard lock(mutex);
                later.push_back(request.respond);
                return;
            }
            HttpResponse response;
            response.body = request.listener + "|" + request.peer + "|" + request.method + " " + request.target + "|" +
                            request.content_type + "|" + request.body;
            request.respond(response);
        };
    }
    std::size_t waiting() {
        std::lock_guard lock(mutex);
        return later.size();
    }
};

AdminServerOptions tcp_only() {
    AdminServerOptions options;
    options.listen = "127.0.0.1:0";
    return options;
}

}  // namespace

TEST_CASE("GET over TCP and over the Unix socket reaches the handler with the listener and the peer") {
    sonde_test::TempDir dir;
    AdminServerOptions options = tcp_only();
    options.socket_path = (dir.path / "run" / "admin.sock").string();
    EchoHandler echo;
    RunningServer running(options, echo.handler());
    REQUIRE(running.server->startup_errors().empty());
    REQUIRE(running.server->tcp_port() != 0);
    CHECK(running.server->socket_path() == options.socket_path);

    Reply over_tcp = exchange(connect_tcp(running.server->tcp_port()), get("/status?verbose=1"));
    CHECK(over_tcp.status == 200);
    CHECK(over_tcp.body.rfind("tcp|127.0.0.1:", 0) == 0);
    CHECK(over_tcp.body.find("|GET /status?verbose=1||") != std::string::npos);

    Reply over_unix = exchange(connect_unix(options.socket_path), get("/healthz"));
    CHECK(over_unix.status == 200);
    CHECK(over_unix.body == "unix|uid " + std::to_string(::geteuid()) + " pid " + std::to_string(::getpid()) +
                                "|GET /healthz||");
    CHECK(running.server->counters().accepted == 2);
}

TEST_CASE("the Unix socket is mode 0600 in a 0755 directory made for it, and removed with the server") {
    sonde_test::TempDir dir;
    AdminServerOptions options;
    options.listen = "";
    options.socket_path = (dir.path / "made" / "for" / "it.sock").string();
    EchoHandler echo;
    {
        RunningServer running(options, echo.handler());
        REQUIRE(running.server->startup_errors().empty());
        CHECK(running.server->tcp_port() == 0);
        struct stat socket_stat {};
        REQUIRE(::stat(options.socket_path.c_str(), &socket_stat) == 0);
        CHECK(S_ISSOCK(socket_stat.st_mode));
        CHECK((socket_stat.st_mode & 07777) == 0600);
        struct stat dir_stat {};
        REQUIRE(::stat((dir.path / "made" / "for").c_str(), &dir_stat) == 0);
        CHECK((dir_stat.st_mode & 07777) == 0755);
    }
    CHECK_FALSE(std::filesystem::exists(options.socket_path));
}

TEST_CASE("changes over TCP: refused without a configured token (403), with a missing or wrong one (401)") {
    EchoHandler echo;
    {
        RunningServer running(tcp_only(), echo.handler());
        Reply reply = exchange(connect_tcp(running.server->tcp_port()), post("/v1/reload", "{}"));
        CHECK(reply.status == 403);
        CHECK(reply.headers.find("Content-Type: application/json") != std::string::npos);
        CHECK(reply.body.find("changes over TCP need [admin] token_file") != std::string::npos);
        reply = exchange(connect_tcp(running.server->tcp_port()),
                         post("/v1/reload", "{}", "Authorization: Bearer anything\r\n"));
        CHECK(reply.status == 403);  // no token configured: none is right
        CHECK(running.server->counters().forbidden == 2);
    }
    CHECK(echo.calls == 0);

    AdminServerOptions options = tcp_only();
    options.token = "correct-horse-battery-staple";
    RunningServer running(options, echo.handler());
    const std::uint16_t port = running.server->tcp_port();
    Reply missing = exchange(connect_tcp(port), post("/v1/reload", "{}"));
    CHECK(missing.status == 401);
    CHECK(missing.headers.find("WWW-Authenticate: Bearer") != std::string::npos);
    for (const char *wrong : {"Bearer correct-horse-battery-stapl", "Bearer correct-horse-battery-staple!",
                                     "Basic Y29ycmVjdA==", "Bearer ", "correct-horse-battery-staple"}) {
        CAPTURE(wrong);
        Reply reply = exchange(connect_tcp(port), post("/v1/reload", "{}", std::string("Authorization: ") + wrong + "\r\n"));
        CHECK(reply.status == 401);
        CHECK(reply.headers.find("WWW-Authenticate: Bearer") != std::string::npos);
    }
    CHECK(echo.calls == 0);
    CHECK(running.server->counters().unauthorized == 6);

    Reply accepted = exchange(connect_tcp(port), post("/v1/enable", "{\"name\":\"syscall\"}",
                                                      "Authorization: bearer correct-horse-battery-staple\r\n"));
    CHECK(accepted.status == 200);
    CHECK(accepted.body.find("|POST /v1/enable|application/json|{\"name\":\"syscall\"}") != std::string::npos);
    CHECK(echo.calls == 1);
    Reply read_only = exchange(connect_tcp(port), get("/metrics"));  // GET needs no token
    CHECK(read_only.status == 200);
}

TEST_CASE("a change over the Unix socket from another uid is refused with 403 naming the uid") {
    REQUIRE_MESSAGE(::geteuid() == 0, "this test needs root (it connects as uid 65534); the CI machines run as root");
    sonde_test::TempDir dir;
    AdminServerOptions options;
    options.listen = "";
    options.socket_path = (dir.path / "admin.sock").string();
    EchoHandler echo;
    RunningServer running(options, echo.handler());
    REQUIRE(running.server->startup_errors().empty());
    // Root's own change is accepted.
    CHECK(exchange(connect_unix(options.socket_path), post("/v1/reload", "{}")).status == 200);
    REQUIRE(::chmod(options.socket_path.c_str(), 0666) == 0);  // let the other uid connect at all

    // The child only makes system calls: it is forked from a threaded process.
    const std::string request = post("/v1/reload", "{}") + get("/status");
    const std::string path = options.socket_path;
    int report[2];
    REQUIRE(::pipe(report) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(report[0]);
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path, path.data(), path.size());
        if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) ::_exit(11);
        if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) ::_exit(12);
        char buffer[8192];
        for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
            if (::write(report[1], buffer, static_cast<std::size_t>(n)) != n) ::_exit(13);
        ::_exit(0);
    }
    ::close(report[1]);
    std::string answers, pending;
    char buffer[8192];
    // Two answers, then the child's connection idles; read what arrives.
    while (answers.find("unix|uid 65534") == std::string::npos && readable_within(report[0], 5000)) {
        ssize_t n = ::read(report[0], buffer, sizeof buffer);
        if (n <= 0) break;
        answers.append(buffer, static_cast<std::size_t>(n));
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(report[0]);
    CAPTURE(answers);
    CHECK((WIFSIGNALED(status) || WEXITSTATUS(status) == 0));
    CHECK(answers.rfind("HTTP/1.1 403 Forbidden\r\n", 0) == 0);
    CHECK(answers.find("uid 65534 may not change the agent") != std::string::npos);
    CHECK(answers.find("HTTP/1.1 200 OK") != std::string::npos);  // reading is allowed to whoever connects
    CHECK(answers.find("unix|uid 65534 pid " + std::to_string(child) + "|GET /status") != std::string::npos);
    CHECK(echo.calls == 2);  // root's POST and the GET; never the refused POST
    CHECK(running.server->counters().forbidden == 1);
}

TEST_CASE("a non-loopback listen address is refused unless allowed") {
    AdminServerOptions options;
    options.listen = "0.0.0.0:0";
    CHECK_THROWS_WITH_AS(AdminServer::check(options),
                         doctest::Contains("\"0.0.0.0:0\" (0.0.0.0:0) is not a loopback address"), AdminOptionsError);
    EchoHandler echo;
    CHECK_THROWS_AS(RunningServer(options, echo.handler()), AdminOptionsError);
    options.listen = "[::]:0";
    CHECK_THROWS_AS(AdminServer::check(options), AdminOptionsError);
    options.listen = "127.0.0.1";
    CHECK_THROWS_WITH_AS(AdminServer::check(options), doctest::Contains("[admin] listen: \"127.0.0.1\": no port"),
                         AdminOptionsError);
    options.listen = "";
    options.socket_path = "relative/admin.sock";
    CHECK_THROWS_WITH_AS(AdminServer::check(options), doctest::Contains("not an absolute path"), AdminOptionsError);

    options.listen = "0.0.0.0:0";
    options.socket_path = "";
    options.allow_non_loopback = true;
    RunningServer running(options, echo.handler());
    CHECK(running.server->startup_errors().empty());
    CHECK(exchange(connect_tcp(running.server->tcp_port()), get("/healthz")).status == 200);
}

TEST_CASE("a deferred answer arrives after the handler returned; a request pipelined behind it waits") {
    sonde_test::TempDir dir;
    AdminServerOptions options;
    options.listen = "";
    options.socket_path = (dir.path / "admin.sock").string();
    EchoHandler echo;
    RunningServer running(options, echo.handler());
    int fd = connect_unix(options.socket_path);
    send_all(fd, post("/later", "{\"name\":\"syscall\"}") + get("/after"));
    for (int i = 0; i < 100 && echo.waiting() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(echo.waiting() == 1);
    CHECK_FALSE(readable_within(fd, 300));  // the handler has returned; no answer yet
    CHECK(echo.calls == 1);                 // and the GET behind it waits

    std::thread other([&echo] {  // any thread may answer
        HttpResponse enabled;
        enabled.status = 202;
        enabled.body = "enabled syscall";
        echo.later.front()(enabled);
        echo.later.front()(enabled);  // a second answer to the same request is ignored
    });
    other.join();
    std::string pending;
    Reply first = read_reply(fd, pending);
    CHECK(first.status == 202);
    CHECK(first.body == "enabled syscall");
    Reply second = read_reply(fd, pending);
    CHECK(second.status == 200);
    CHECK(second.body.find("|GET /after|") != std::string::npos);
    CHECK_FALSE(readable_within(fd, 100));  // nothing else: the duplicate answer went nowhere
    ::close(fd);
}

TEST_CASE("a deferred answer not given within answer_timeout: 504, and the connection goes on") {
    AdminServerOptions options = tcp_only();
    options.answer_timeout_ns = 200'000'000;
    EchoHandler echo;
    RunningServer running(options, echo.handler());
    int fd = connect_tcp(running.server->tcp_port());
    send_all(fd, get("/hang"));
    std::string pending;
    Reply reply = read_reply(fd, pending);
    CHECK(reply.status == 504);
    send_all(fd, get("/next"));
    CHECK(read_reply(fd, pending).status == 200);
    ::close(fd);
    CHECK(running.server->counters().answer_timeouts == 1);
}
