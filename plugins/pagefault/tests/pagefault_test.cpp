// The pagefault tracer in the real agent, filtered to this process: touching
// a fresh 64 MiB anonymous mapping page by page must show up as at least
// 16,000 minor write faults; reading a file mapping whose pages were dropped
// from the cache must show major read faults.
#include "agent_process.hpp"
#include "bpf_available.hpp"

#include <fcntl.h>
#include <sys/mman.h>

#include <map>

using namespace sonde_test;

namespace {

using Counts = std::map<std::string, std::uint64_t>;  // "minor/write/user" -> faults

Counts latest_counts(const std::string &stdout_text) {
    Counts c;
    for (const auto &r : json_lines(stdout_text)) {
        if (r["name"] != "page_fault.count") continue;
        const auto &a = r["attributes"];
        c[a["type"].get<std::string>() + "/" + a["access"].get<std::string>() + "/" + a["mode"].get<std::string>()] =
            r["value"].get<std::uint64_t>();
    }
    return c;
}

std::size_t count_lines(const std::string &s) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = s.find("\"page_fault.count\"", at)) != std::string::npos; ++at) ++n;
    return n;
}

// Waits for two more collection cycles (8 count records each).
Counts settle(Process &agent) {
    std::size_t seen = count_lines(agent.stdout_text);
    agent.read_until([&](const std::string &s) { return count_lines(s) >= seen + 16; }, std::chrono::seconds(5));
    return latest_counts(agent.stdout_text);
}

}  // namespace

TEST_CASE("64 MiB of touched anonymous pages are minor write faults; an evicted file mapping gives major faults") {
    require_bpf();
    TempDir conf;
    conf.write("s.toml", "[agent]\ninterval = \"200ms\"\n[inputs.pagefault]\npid = " + std::to_string(getpid()) +
                             "\nsample_interval = \"1ms\"\n[sinks.stdout]\nexclude = [\"page_fault.latency*\"]\n");
    Process agent(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    agent.read_until([](const std::string &s) { return count_lines(s) >= 8; }, std::chrono::seconds(20));
    INFO(agent.stderr_text);
    REQUIRE(agent.stderr_text.find("inputs.pagefault: page faults: entry via tp_btf") != std::string::npos);
    Counts before = settle(agent);

    const std::size_t size = 64 << 20, page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    auto *memory = static_cast<char *>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(memory != MAP_FAILED);
    madvise(memory, size, MADV_NOHUGEPAGE);  // one fault per 4 KiB page, not per 2 MiB
    for (std::size_t off = 0; off < size; off += page) memory[off] = 1;
    Counts touched = settle(agent);
    CHECK(touched["minor/write/user"] - before["minor/write/user"] >= 16000u);

    // A file on the build tree's block device, written, synced and evicted.
    const std::string file = std::string(SONDE_SOURCE_DIR) + "/build-pagefault-test.bin";
    int fd = open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    std::vector<char> chunk(1 << 20, 'x');
    for (int i = 0; i < 8; ++i) REQUIRE(write(fd, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size()));
    fsync(fd);
    REQUIRE(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
    void *file_map = mmap(nullptr, 8 << 20, PROT_READ, MAP_SHARED, fd, 0);
    REQUIRE(file_map != MAP_FAILED);
    auto *mapped = static_cast<const volatile char *>(file_map);
    long sum = 0;
    for (std::size_t off = 0; off < (8u << 20); off += page) sum += mapped[off];
    CHECK(sum == static_cast<long>('x') * static_cast<long>((8u << 20) / page));
    Counts read_back = settle(agent);
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    munmap(file_map, 8 << 20);
    close(fd);
    unlink(file.c_str());

    CHECK(read_back["major/read/user"] - touched["major/read/user"] >= 1u);
    // Sampled events carry our addresses.
    bool sampled_ours = false;
    for (const auto &r : json_lines(agent.stdout_text)) {
        if (r["name"] != "page_fault.sampled" || r["attributes"]["pid"] != getpid()) continue;
        auto address = r["attributes"]["address"].get<std::uint64_t>();
        if (address >= reinterpret_cast<std::uintptr_t>(memory) && address < reinterpret_cast<std::uintptr_t>(memory) + size) {
            sampled_ours = true;
            CHECK(r["attributes"]["type"] == "minor");
            CHECK(r["attributes"]["access"] == "write");
            CHECK(r["attributes"]["latency_ns"].get<std::uint64_t>() > 0);
        }
    }
    CHECK(sampled_ours);
    munmap(memory, size);
}
