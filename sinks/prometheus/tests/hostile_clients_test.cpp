// The prometheus sink in the real agent against hostile local clients: a
// flood of pipelined requests, connections that send nothing or half a
// request, a client that never reads, a flood of connections; and listen
// addresses that check-config must refuse exactly when run would.
#include "http_get.hpp"
#include "serving_agent.hpp"

#include <fcntl.h>
#include <poll.h>

#include <iterator>
#include <sstream>
#include <thread>

using namespace sonde_test;

namespace {

std::string config(std::uint16_t port, const std::string &extra = "") {
    return "[agent]\ninterval = \"100ms\"\n[inputs.counting]\n[sinks.prometheus]\nlisten = \"127.0.0.1:" +
           std::to_string(port) + "\"\n" + extra;
}

// A loopback TCP client socket, connected, with receive and send timeouts.
int connect_to(std::uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
    return fd;
}

// Waits until the server closes fd (EOF or reset); false after `limit`.
bool closed_by_server(int fd, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    char buffer[65536];
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
    }
    return false;
}

long rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

double cpu_seconds(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i)
        if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

bool alive(const Process &agent) { return kill(agent.pid, 0) == 0 && waitpid(agent.pid, nullptr, WNOHANG) == 0; }

}  // namespace

TEST_CASE("100,000 pipelined requests on one connection: every one answered, the agent lives") {
    const std::uint16_t port = free_port();
    TempDir conf;
    conf.write("s.toml", config(port));
    Process agent = start_serving_agent(conf);

    const std::size_t total = 100'000;
    int fd = connect_to(port);
    std::thread writer([fd] {
        std::string requests;
        for (std::size_t i = 0; i < total; ++i) requests += "GET / HTTP/1.1\r\n\r\n";
        for (std::size_t sent = 0; sent < requests.size();) {
            ssize_t n = send(fd, requests.data() + sent, requests.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return;
            sent += static_cast<std::size_t>(n);
        }
    });
    // Count status lines across reads (one may be split between two).
    const std::string status = "HTTP/1.1 404 ";
    std::size_t answers = 0;
    std::string tail;
    char buffer[65536];
    while (answers < total) {
        ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        tail.append(buffer, static_cast<std::size_t>(n));
        std::size_t at = 0;
        for (std::size_t found; (found = tail.find(status, at)) != std::string::npos; at = found + status.size()) ++answers;
        tail.erase(0, tail.size() > status.size() ? std::max(at, tail.size() - status.size()) : 0);
    }
    shutdown(fd, SHUT_RDWR);
    writer.join();
    close(fd);
    CHECK(answers == total);
    REQUIRE(alive(agent));
    CHECK(http_get(port, "/metrics").status == 200);
    kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
}

TEST_CASE("connections that send nothing or half a request cannot starve scrapers; they are cut and logged") {
    const std::uint16_t port = free_port();
    TempDir conf;
    conf.write("s.toml", config(port, "max_connections = 8\nrequest_timeout = \"500ms\"\nidle_timeout = \"1s\"\n"));
    Process agent = start_serving_agent(conf);

    std::vector<int> silent, half;
    for (int i = 0; i < 8; ++i) silent.push_back(connect_to(port));
    for (int i = 0; i < 8; ++i) {
        half.push_back(connect_to(port));
        send(half.back(), "GET /metrics HTTP/1.1\r\nHost: x\r\n", 33, MSG_NOSIGNAL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // The cap is full of idle and stalled connections: a scrape still gets in.
    for (int i = 0; i < 3; ++i) CHECK(http_get(port, "/metrics").status == 200);

    // Half requests end within request_timeout (and the sweep), with a 408.
    for (int fd : half) {
        CHECK(closed_by_server(fd, std::chrono::milliseconds(3000)));
        close(fd);
    }
    for (int fd : silent) {
        CHECK(closed_by_server(fd, std::chrono::milliseconds(3000)));
        close(fd);
    }
    agent.read_until([&](const std::string &) { return agent.stderr_text.find("request_timeout") != std::string::npos; },
                     std::chrono::seconds(3));
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find("connection from 127.0.0.1:") != std::string::npos);
    CHECK(agent.stderr_text.find("closed to admit a new connection, at max_connections") != std::string::npos);
    kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find("request timeouts ") != std::string::npos);
}

TEST_CASE("a half request gets 408 when request_timeout passes") {
    const std::uint16_t port = free_port();
    TempDir conf;
    conf.write("s.toml", config(port, "request_timeout = \"200ms\"\n"));
    Process agent = start_serving_agent(conf);
    int fd = connect_to(port);
    send(fd, "GET /metrics HT", 15, MSG_NOSIGNAL);
    char buffer[256] = {};
    ssize_t n = recv(fd, buffer, sizeof buffer - 1, 0);
    close(fd);
    CHECK(std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0).rfind("HTTP/1.1 408 Request Timeout\r\n", 0) == 0);
    kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
}

TEST_CASE("a client that pipelines scrapes and never reads is cut after write_timeout; others are served") {
    const std::uint16_t port = free_port();
    TempDir conf;
    conf.write("s.toml", config(port, "write_timeout = \"500ms\"\n"));
    Process agent = start_serving_agent(conf);
    int fd = connect_to(port);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    std::string requests;
    for (int i = 0; i < 200000; ++i) requests += "GET /metrics HTTP/1.1\r\n\r\n";
    // Sends until the server stops reading (answers pile up unread), or cuts it.
    fcntl(fd, F_SETFL, O_NONBLOCK);
    std::size_t sent = 0;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (sent < requests.size() && std::chrono::steady_clock::now() < until) {
        ssize_t n = send(fd, requests.data() + sent, requests.size() - sent, MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<std::size_t>(n);
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;  // cut: reset
        else std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(rss_kib(agent.pid) < 100 * 1024);  // the answers it could not send were not piled up
    CHECK(http_get(port, "/metrics").status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    agent.read_until([&](const std::string &) { return agent.stderr_text.find("write_timeout") != std::string::npos; },
                     std::chrono::seconds(3));
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find("answer not taken within write_timeout") != std::string::npos);
    close(fd);
    kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
}

TEST_CASE("a flood of 300 connections: scrapes still answered, nothing refused while some are idle") {
    const std::uint16_t port = free_port();
    TempDir conf;
    conf.write("s.toml", config(port));
    Process agent = start_serving_agent(conf);
    std::vector<int> flood;
    for (int i = 0; i < 300; ++i) flood.push_back(connect_to(port));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (int i = 0; i < 5; ++i) CHECK(http_get(port, "/metrics").status == 200);
    for (int fd : flood) close(fd);
    REQUIRE(alive(agent));
    kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find("evicted ") != std::string::npos);
}

TEST_CASE("out of file descriptors: no busy loop, an idle connection makes room for a scrape") {
    const std::uint16_t port = free_port();
    TempDir conf;
    conf.write("s.toml", config(port, "max_connections = 1000\n"));
    Process agent({"/usr/bin/prlimit", "--nofile=64", SONDE_BINARY, "run", "--config-dir", conf.path.string(), "--plugin-dir",
                   SONDE_PLUGIN_DIR, "--plugin-dir", ABI_PLUGIN_DIR});
    agent.read_until([&](const std::string &) { return agent.stderr_text.find("sinks.prometheus: serving") != std::string::npos; },
                     std::chrono::seconds(10));
    REQUIRE(agent.stderr_text.find("sinks.prometheus: serving") != std::string::npos);
    std::vector<int> flood;
    for (int i = 0; i < 90; ++i) flood.push_back(connect_to(port));  // the backlog takes what accept cannot
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const double cpu_before = cpu_seconds(agent.pid);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const double cpu = cpu_seconds(agent.pid) - cpu_before;
    CHECK(cpu < 0.5);  // before: accept() failing with EMFILE, retried at once, forever (2 s of CPU in 2 s)
    CHECK(http_get(port, "/metrics").status == 200);
    for (int fd : flood) close(fd);
    REQUIRE(alive(agent));
    kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find("out of file descriptors") != std::string::npos);
}

TEST_CASE("check-config refuses every listen address and option run would refuse, at file:line") {
    for (const std::string bad : {"listen = \"127.0.0.1:99999\"", "listen = \"\"", "listen = \"127.0.0.1\"",
                                   "listen = \"127.0.0.1:\"", "listen = \":9464\"", "listen = \"::1:9464\"",
                                   "listen = \"[::1\"", "listen = \"127.0.0.1:+80\"", "listen = \"no-such-host.invalid:9464\"",
                                   "max_connections = 0", "max_connections = -1", "max_connections = 1000000000",
                                   "idle_timeout = \"0s\"", "request_timeout = \"0s\"", "write_timeout = \"0s\"",
                                   "expire_after = \"0s\"", "path = \"/a b\"", "path = \"/metrics?x\"", "path = \"metrics\""}) {
        CAPTURE(bad);
        TempDir conf;
        conf.write("s.toml", "[sinks.prometheus]\n" + bad + "\n");
        Process check(sonde({"check-config", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
        CHECK(check.wait() != 0);
        CAPTURE(check.stderr_text);
        CHECK(check.stderr_text.find("s.toml:2") != std::string::npos);
        CHECK(check.stderr_text.find(bad.substr(0, bad.find(' '))) != std::string::npos);
    }
}

TEST_CASE("listen = \"localhost:PORT\" passes check-config and serves") {
    const std::uint16_t port = free_port();
    TempDir conf;
    conf.write("s.toml", "[inputs.counting]\n[sinks.prometheus]\nlisten = \"localhost:" + std::to_string(port) + "\"\n");
    Process check(sonde({"check-config", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR, "--plugin-dir", ABI_PLUGIN_DIR}));
    CHECK(check.wait() == 0);
    Process agent = start_serving_agent(conf);
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find("on 127.0.0.1:" + std::to_string(port)) != std::string::npos);
    CHECK(http_get(port, "/metrics").status == 200);
    kill(agent.pid, SIGTERM);
    CHECK(agent.wait() == 0);
}
