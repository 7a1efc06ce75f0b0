// Records per second from an input through the router to a sink, on one io
// thread: the generator plugin against the discard, stdout (redirect it to
// /dev/null), file (JSON lines, then binary, into a temporary directory),
// prometheus (snapshot updates, no scrapes) and otlp (protobuf + gzip POSTed
// to a loopback server on a thread of this process that answers 200) sinks.
// Prints one line per sink; CPU is the whole process's.
#include "runtime/agent.hpp"
#include "loading/plugin_library.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <unistd.h>

using namespace sonde::core;

namespace {

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

InstanceConfig instance(InstanceRole role, const std::string &name) {
    InstanceConfig c;
    c.role = role;
    c.name = c.plugin = name;
    c.interval_ns = 1'000'000;  // generator: a burst every millisecond
    c.queue_capacity = 1'000'000;
    c.overflow = OverflowPolicy::block;  // measure throughput, not drops
    c.location = {"bench", 0, 0};
    return c;
}

void run(const PluginRegistry &registry, const std::string &sink, std::uint64_t points,
         nlohmann::json sink_config = nlohmann::json::object(), const std::string &label = "") {
    auto logger = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
    Agent agent(AgentConfig{}, registry, logger);
    std::string error;
    InstanceConfig sink_instance = instance(InstanceRole::sink, sink);
    sink_instance.plugin_config = std::move(sink_config);
    if (!agent.add(sink_instance, error) ||
        !agent.add(instance(InstanceRole::input, "generator"), error)) {
        std::fprintf(stderr, "%s\n", error.c_str());
        std::exit(1);
    }
    double cpu_before = cpu_seconds();
    auto start = std::chrono::steady_clock::now();
    std::thread watcher([&] {
        // Stop once the sink has consumed `points` records.
        for (;;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            std::string s = agent.summary();
            auto at = s.find("delivered=");
            if (at != std::string::npos && std::stoull(s.substr(at + 10)) >= points) break;
        }
        agent.request_shutdown();
    });
    agent.run();
    watcher.join();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double cpu = cpu_seconds() - cpu_before;
    std::string s = agent.summary();
    std::uint64_t delivered = std::stoull(s.substr(s.find("delivered=") + 10));
    std::fprintf(stderr, "sink=%-11s points=%llu wall=%.3fs cpu=%.3fs points_per_second=%.0f points_per_cpu_second=%.0f\n",
                 (label.empty() ? sink : label).c_str(), static_cast<unsigned long long>(delivered), seconds, cpu, delivered / seconds,
                 delivered / cpu);
}

// An HTTP/1.1 server on 127.0.0.1 that reads each request (headers and a
// Content-Length body) and answers 200 with an empty body. Returns the port.
std::uint16_t start_ok_server() {
    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener, reinterpret_cast<sockaddr *>(&address), length) != 0 || ::listen(listener, 4) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr *>(&address), &length) != 0) {
        std::perror("ok server");
        std::exit(1);
    }
    std::thread([listener] {
        for (;;) {
            int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            int one = 1;  // as Go's net/http, which most collectors use, does
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            std::thread([fd] {
                std::string in;
                char buffer[65536];
                for (;;) {
                    std::size_t end = in.find("\r\n\r\n");
                    if (end != std::string::npos) {
                        std::size_t at = in.find("Content-Length: ");
                        std::size_t body = at < end ? std::stoul(in.substr(at + 16)) : 0;
                        if (in.size() >= end + 4 + body) {
                            in.erase(0, end + 4 + body);
                            static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                            if (::send(fd, ok, sizeof ok - 1, MSG_NOSIGNAL) < 0) break;
                            continue;
                        }
                    }
                    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
                    if (n <= 0) break;
                    in.append(buffer, static_cast<std::size_t>(n));
                }
                ::close(fd);
            }).detach();
        }
    }).detach();
    return ntohs(address.sin_port);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: pipeline_bench PLUGIN_DIR... -- POINTS\n");
        return 2;
    }
    std::vector<std::filesystem::path> dirs;
    int i = 1;
    for (; i < argc && std::string(argv[i]) != "--"; ++i) dirs.emplace_back(argv[i]);
    std::uint64_t points = i + 1 < argc ? std::stoull(argv[i + 1]) : 5'000'000;
    PluginRegistry registry;
    registry.scan(dirs);
    run(registry, "discard", points);
    run(registry, "stdout", points);
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sonde-bench-" + std::to_string(getpid()));
    run(registry, "file", points, {{"directory", dir.string()}, {"max_total_size", "256MiB"}}, "file-jsonl");
    std::filesystem::remove_all(dir);
    run(registry, "file", points, {{"directory", dir.string()}, {"max_total_size", "256MiB"}, {"format", "binary"}},
        "file-binary");
    std::filesystem::remove_all(dir);
    if (registry.find("prometheus")) run(registry, "prometheus", points, {{"listen", "127.0.0.1:0"}});
    if (registry.find("otlp"))
        run(registry, "otlp", points,
            {{"endpoint", "http://127.0.0.1:" + std::to_string(start_ok_server())}, {"max_batch_age", "50ms"}});
}
