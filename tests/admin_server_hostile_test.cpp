// The admin listener at start (a busy port, a stale or live socket file) and
// against clients that misbehave (garbage, silence, too many connections).
#include "admin_server_client.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

using namespace admin_test;
using sonde::core::AdminRequest;
using sonde::core::AdminServerOptions;
using sonde::http::HttpResponse;

namespace {

// Answers every request at once, except "/hang", which it never answers.
sonde::core::AdminHandler answer_all_but_hang() {
    return [](AdminRequest request) {
        if (request.target == "/hang") return;
        HttpResponse response;
        response.body = "ok\n";
        request.respond(response);
    };
}

AdminServerOptions unix_only(const sonde_test::TempDir &dir) {
    AdminServerOptions options;
    options.listen = "";
    options.socket_path = (dir.path / "admin.sock").string();
    return options;
}

bool contains(const std::vector<std::string> &errors, const std::string &text) {
    for (const auto &error : errors)
        if (error.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("a busy TCP port is a startup error naming the address; the Unix socket still serves") {
    AdminServerOptions first_options;
    first_options.listen = "127.0.0.1:0";
    RunningServer first(first_options, answer_all_but_hang());
    const std::string taken = "127.0.0.1:" + std::to_string(first.server->tcp_port());

    sonde_test::TempDir dir;
    AdminServerOptions options = unix_only(dir);
    options.listen = taken;
    RunningServer second(options, answer_all_but_hang());
    CAPTURE(second.server->startup_errors());
    REQUIRE(second.server->startup_errors().size() == 1);
    CHECK(second.server->startup_errors()[0] == "admin: cannot listen on " + taken + ": Address already in use");
    CHECK(second.server->tcp_port() == 0);
    CHECK(exchange(connect_unix(options.socket_path), get("/healthz")).status == 200);
}

TEST_CASE("a stale socket file is replaced; a live agent's socket is not taken over, nor removed") {
    sonde_test::TempDir dir;
    AdminServerOptions options = unix_only(dir);
    {  // an agent that died: its socket file stays, nobody accepts on it
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, options.socket_path.c_str(), sizeof address.sun_path - 1);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
        ::close(fd);
        REQUIRE(std::filesystem::is_socket(options.socket_path));
    }
    RunningServer live(options, answer_all_but_hang());
    CHECK(live.server->startup_errors().empty());
    CHECK(exchange(connect_unix(options.socket_path), get("/healthz")).status == 200);

    {
        RunningServer intruder(options, answer_all_but_hang());
        CHECK(intruder.server->startup_errors() ==
              std::vector<std::string>{"admin: another agent is listening on " + options.socket_path});
        CHECK(intruder.server->socket_path().empty());
    }
    CHECK(exchange(connect_unix(options.socket_path), get("/healthz")).status == 200);  // still the first one's

    sonde_test::TempDir other;
    AdminServerOptions not_a_socket = unix_only(other);
    other.write("admin.sock", "precious\n");
    RunningServer refused(not_a_socket, answer_all_but_hang());
    CHECK(contains(refused.server->startup_errors(), "exists and is not a socket; not replacing it"));
    CHECK(std::filesystem::is_regular_file(not_a_socket.socket_path));
}

TEST_CASE("a socket directory that cannot be made is a startup error naming the path") {
    sonde_test::TempDir dir;
    dir.write("file", "");
    AdminServerOptions options;
    options.listen = "";
    options.socket_path = (dir.path / "file" / "admin.sock").string();
    RunningServer running(options, answer_all_but_hang());
    CAPTURE(running.server->startup_errors());
    REQUIRE(running.server->startup_errors().size() == 1);
    CHECK(running.server->startup_errors()[0].find("admin: ") == 0);
    CHECK(running.server->startup_errors()[0].find(options.socket_path) != std::string::npos);
}

TEST_CASE("garbage gets 400 and the connection closes") {
    AdminServerOptions options;
    options.listen = "127.0.0.1:0";
    RunningServer running(options, answer_all_but_hang());
    int fd = connect_tcp(running.server->tcp_port());
    const char tls_hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n";
    send_all(fd, std::string(tls_hello, sizeof tls_hello - 1));
    std::string pending;
    Reply reply = read_reply(fd, pending);
    CHECK(reply.status == 400);
    CHECK(reply.headers.find("Connection: close") != std::string::npos);
    CHECK(closed_within(fd, 2000));
    ::close(fd);
    CHECK(running.server->counters().rejected == 1);
}

TEST_CASE("an idle connection is closed after idle_timeout; a silent partial request after request_timeout (408)") {
    AdminServerOptions options;
    options.listen = "127.0.0.1:0";
    options.idle_timeout_ns = 150'000'000;
    options.request_timeout_ns = 150'000'000;
    RunningServer running(options, answer_all_but_hang());
    const auto start = std::chrono::steady_clock::now();
    int idle = connect_tcp(running.server->tcp_port());
    int partial = connect_tcp(running.server->tcp_port());
    send_all(partial, "GET /status HTTP/1.1\r\nHost: so");
    CHECK(closed_within(idle, 3000));
    std::string pending;
    CHECK(read_reply(partial, pending).status == 408);
    CHECK(closed_within(partial, 3000));
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(150));
    ::close(idle);
    ::close(partial);
    auto counters = running.server->counters();
    CHECK(counters.idle_timeouts == 1);
    CHECK(counters.request_timeouts == 1);
}

TEST_CASE("the connection cap holds: an idle connection makes room, busy ones get a new one refused with 503") {
    AdminServerOptions options;
    options.listen = "127.0.0.1:0";
    options.max_connections = 2;
    RunningServer running(options, answer_all_but_hang());
    const std::uint16_t port = running.server->tcp_port();

    // Two idle connections: a third is served, the longest-idle one closed.
    int idle_first = connect_tcp(port);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    int idle_second = connect_tcp(port);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(exchange(connect_tcp(port), get("/healthz")).status == 200);
    CHECK(closed_within(idle_first, 2000));
    CHECK_FALSE(readable_within(idle_second, 100));
    ::close(idle_first);
    ::close(idle_second);
    CHECK(running.server->counters().evicted == 1);

    // Two connections waiting for an answer are busy: a third is refused.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the server saw both close
    int busy_first = connect_tcp(port);
    int busy_second = connect_tcp(port);
    send_all(busy_first, get("/hang"));
    send_all(busy_second, get("/hang"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Reply refused = exchange(connect_tcp(port), get("/healthz"));
    CHECK(refused.status == 503);
    CHECK(running.server->counters().refused == 1);
    CHECK_FALSE(readable_within(busy_first, 100));  // still waiting, not cut
    ::close(busy_first);
    ::close(busy_second);
}

TEST_CASE("three io threads, eight clients on both listeners, answers given from another thread: every answer arrives, in order") {
    sonde_test::TempDir dir;
    AdminServerOptions options = unix_only(dir);
    options.listen = "127.0.0.1:0";
    options.token = "t0ken";
    boost::asio::io_context io;
    auto work = boost::asio::make_work_guard(io);
    std::mutex mutex;
    std::vector<std::pair<std::function<void(HttpResponse)>, std::string>> queue;  // answered by `answerer`
    auto server = std::make_unique<sonde::core::AdminServer>(io, options, [&](AdminRequest request) {
        HttpResponse response;
        response.body = request.target;
        if (request.method == "GET") return request.respond(response);
        std::lock_guard lock(mutex);
        queue.emplace_back(request.respond, request.target);
    });
    std::vector<std::thread> loop;
    for (int i = 0; i < 3; ++i) loop.emplace_back([&io] { io.run(); });
    std::atomic<bool> done{false};
    std::thread answerer([&] {
        while (!done) {
            std::vector<std::pair<std::function<void(HttpResponse)>, std::string>> batch;
            {
                std::lock_guard lock(mutex);
                batch.swap(queue);
            }
            for (auto &[respond, target] : batch) {
                HttpResponse response;
                response.status = 202;
                response.body = target;
                respond(response);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    });

    std::atomic<int> right{0};
    std::vector<std::thread> clients;
    for (int client = 0; client < 8; ++client)
        clients.emplace_back([&, client] {
            int fd = client % 2 ? connect_unix(options.socket_path) : connect_tcp(server->tcp_port());
            std::string requests, pending;
            for (int i = 0; i < 20; ++i) {
                std::string target = "/c" + std::to_string(client) + "/" + std::to_string(i);
                requests += i % 3 ? get(target) : post(target, "{}", "Authorization: Bearer t0ken\r\n");
            }
            send_all(fd, requests);  // all pipelined: answers must keep their order
            for (int i = 0; i < 20; ++i) {
                Reply reply = read_reply(fd, pending);
                if (reply.body == "/c" + std::to_string(client) + "/" + std::to_string(i) &&
                    reply.status == (i % 3 ? 200 : 202))
                    ++right;
            }
            ::close(fd);
        });
    for (auto &c : clients) c.join();
    done = true;
    answerer.join();
    server.reset();
    work.reset();
    for (auto &t : loop) t.join();
    CHECK(right == 8 * 20);
}
