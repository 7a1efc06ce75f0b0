// Records per second from an input through the router to a sink, on one io
// thread: the generator plugin against the discard, stdout (redirect it to
// /dev/null), file (JSON lines, then binary, into a temporary directory) and prometheus
// (snapshot updates, no scrapes) sinks. Prints one line per sink.
#include "agent.hpp"
#include "plugin_library.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

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
}
