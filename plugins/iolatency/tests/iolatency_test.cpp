// The iolatency tracer in the real agent: N O_DIRECT 4 KiB reads of a file on
// the build tree's block device must show up as N read completions (give or
// take merges and other readers) on that device, with latency above zero.
#include "agent_process.hpp"
#include "bpf_available.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdlib>
#include <random>

using namespace sonde_test;

namespace {

// The disk holding `path`, by its kernel name ("vda", "nvme0n1").
std::string disk_of(const std::string &path) {
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    fs::path sys = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
    if (!fs::exists(sys)) return "";
    fs::path real = fs::canonical(sys);
    return fs::exists(real / "partition") ? real.parent_path().filename().string() : real.filename().string();
}

struct ReadTotals {
    std::uint64_t operations = 0, bytes = 0;
    double latency_sum = 0;
};

ReadTotals latest_reads(const std::string &stdout_text, const std::string &disk) {
    ReadTotals t;
    for (const auto &r : json_lines(stdout_text)) {
        const auto &a = r["attributes"];
        if (!a.contains("device") || a["device"] != disk || a["operation"] != "read") continue;
        if (r["name"] == "block.io.operations") t.operations = r["value"];
        if (r["name"] == "block.io.bytes") t.bytes = r["value"];
        if (r["name"] == "block.io.latency") t.latency_sum = r["histogram"]["sum"];
    }
    return t;
}

std::size_t cycles(const std::string &s) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = s.find("\"block.io.dropped\"", at)) != std::string::npos; ++at) ++n;
    return n;
}

ReadTotals settle(Process &agent, const std::string &disk) {
    std::size_t seen = cycles(agent.stdout_text);
    agent.read_until([&](const std::string &s) { return cycles(s) >= seen + 2; }, std::chrono::seconds(5));
    return latest_reads(agent.stdout_text, disk);
}

}  // namespace

TEST_CASE("N O_DIRECT 4 KiB reads are N read completions on the file's disk") {
    require_bpf();
    const std::string file = std::string(SONDE_SOURCE_DIR) + "/build-iolatency-test.bin";
    const std::string disk = disk_of(SONDE_SOURCE_DIR);
    REQUIRE_MESSAGE(!disk.empty(), "the source tree is not on a block device");

    const std::size_t size = 64 << 20;
    int fd = open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    std::vector<char> chunk(1 << 20, 'y');
    for (std::size_t done = 0; done < size; done += chunk.size())
        REQUIRE(write(fd, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size()));
    REQUIRE(fsync(fd) == 0);
    close(fd);

    TempDir conf;
    conf.write("s.toml", "[agent]\ninterval = \"200ms\"\n[inputs.iolatency]\n[sinks.stdout]\n");
    Process agent(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    agent.read_until([](const std::string &s) { return cycles(s) >= 1; }, std::chrono::seconds(20));
    INFO(agent.stderr_text);
    REQUIRE(agent.stderr_text.find("inputs.iolatency: block I/O latency via tp_btf block_rq_issue") != std::string::npos);
    ReadTotals before = settle(agent, disk);

    const int reads = 300;
    fd = open(file.c_str(), O_RDONLY | O_DIRECT);
    REQUIRE(fd >= 0);
    void *buffer = nullptr;
    REQUIRE(posix_memalign(&buffer, 4096, 4096) == 0);
    std::mt19937 random(42);
    std::uniform_int_distribution<std::size_t> block(0, size / 4096 - 1);
    for (int i = 0; i < reads; ++i)
        REQUIRE(pread(fd, buffer, 4096, static_cast<off_t>(block(random) * 4096)) == 4096);
    close(fd);
    std::free(buffer);
    ReadTotals after = settle(agent, disk);
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    unlink(file.c_str());

    const std::uint64_t completed = after.operations - before.operations;
    INFO("disk " << disk << ": " << completed << " read completions, " << (after.bytes - before.bytes) << " bytes");
    CHECK(completed >= reads * 9 / 10);  // random blocks rarely merge
    CHECK(completed <= reads + 100);     // other readers on the host, if any
    CHECK(after.bytes - before.bytes >= static_cast<std::uint64_t>(reads) * 4096 * 9 / 10);
    CHECK(after.latency_sum > before.latency_sum);
}
