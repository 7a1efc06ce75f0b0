// The file sink in the real agent, in both formats: rotation by size and age
// under a disk budget that is never exceeded, files that read whole, binary
// files that dump to the very JSON lines, torn and damaged tails reported, a
// full disk (a small tmpfs this test mounts) and a deleted directory survived.
#include "accounting.hpp"
#include "agent_process.hpp"
#include "read_file.hpp"

#include <sys/mount.h>

#include <sstream>
#include <thread>

using namespace sonde_test;

namespace {

struct DirectoryState {
    std::uintmax_t total = 0, largest = 0;
    std::size_t files = 0;
};

DirectoryState measure(const fs::path &dir) {
    DirectoryState s;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code size_ec;
        auto size = fs::file_size(it->path(), size_ec);
        if (size_ec) continue;  // deleted meanwhile
        s.total += size;
        s.largest = std::max(s.largest, size);
        ++s.files;
    }
    return s;
}

Process start_agent(const TempDir &conf) {
    return Process(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR, "--plugin-dir", ABI_PLUGIN_DIR}));
}

}  // namespace

TEST_CASE("files rotate by size, the total never exceeds the budget, every line is a complete record") {
    TempDir conf, out;
    conf.write("s.toml", "[agent]\ninterval = \"5ms\"\n[inputs.counting]\n[sinks.file]\ndirectory = \"" + out.path.string() +
                             "\"\nmax_file_size = \"4KiB\"\nmax_total_size = \"16KiB\"\nflush_interval = \"20ms\"\n");
    Process agent = start_agent(conf);
    DirectoryState worst;
    std::size_t most_files = 0;
    for (int i = 0; i < 150; ++i) {  // 3 s of samples, every 20 ms
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        DirectoryState s = measure(out.path);
        worst.total = std::max(worst.total, s.total);
        worst.largest = std::max(worst.largest, s.largest);
        most_files = std::max(most_files, s.files);
    }
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    INFO(agent.stderr_text);
    CHECK(worst.total <= 16u * 1024);
    CHECK(worst.largest <= 4u * 1024);
    CHECK(most_files >= 4);  // it did rotate
    std::size_t lines = 0;
    for (const auto &entry : fs::directory_iterator(out.path)) {
        std::string text = read_file(entry.path());
        REQUIRE_FALSE(text.empty());
        CHECK(text.back() == '\n');
        for (const auto &record : json_lines(text)) {
            CHECK(record["input"] == "counting");
            ++lines;
        }
    }
    CHECK(lines > 10);
}

TEST_CASE("a full disk is survived: records wait, the agent runs, writing resumes when space returns") {
    REQUIRE(geteuid() == 0);  // mounting a tmpfs
    for (std::string format : {"jsonl", "binary"}) {
        INFO("format " << format);
        TempDir conf, mountpoint;
        REQUIRE(mount("tmpfs", mountpoint.path.c_str(), "tmpfs", 0, "size=64k") == 0);
        const fs::path dir = mountpoint.path / "records";
        // Fill the filesystem first, leaving no room.
        {
            std::ofstream filler(mountpoint.path / "filler", std::ios::binary);
            std::string block(4096, 'f');
            for (int i = 0; i < 64 && filler; ++i) filler << block;
        }
        conf.write("s.toml", "[agent]\ninterval = \"10ms\"\n[inputs.counting]\n[sinks.file]\nformat = \"" + format +
                                 "\"\ndirectory = \"" + dir.string() +
                                 "\"\nflush_interval = \"20ms\"\nmax_file_size = \"1MiB\"\nmax_total_size = \"8MiB\"\n");
        Process agent = start_agent(conf);
        agent.read_until([&](const std::string &) { return agent.stderr_text.find("No space left on device") != std::string::npos; },
                         std::chrono::seconds(10));
        INFO(agent.stderr_text);
        CHECK(agent.stderr_text.find("No space left on device; keeping records and retrying") != std::string::npos);

        // Space returns: the sink picks up by itself.
        fs::remove(mountpoint.path / "filler");
        REQUIRE(mount("tmpfs", mountpoint.path.c_str(), "tmpfs", MS_REMOUNT, "size=8m") == 0);
        agent.read_until([&](const std::string &) { return agent.stderr_text.find("writing to") != std::string::npos; },
                         std::chrono::seconds(10));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        kill(agent.pid, SIGTERM);
        CHECK(agent.wait() == 0);
        CHECK(agent.stderr_text.find("sinks.file: writing to " + dir.string() + " again") != std::string::npos);
        // Every file reads whole, and the records kept while the disk was full were written: the first tick is there.
        bool first_tick = false;
        for (const auto &entry : fs::directory_iterator(dir)) {
            Process dump(sonde({"trace", "dump", entry.path().string()}));
            CHECK(dump.wait() == 0);
            for (const auto &record : json_lines(dump.stdout_text))
                first_tick |= record["name"] == "test.ticks" && record["value"] == 1;
        }
        CHECK(first_tick);
        umount2(mountpoint.path.c_str(), MNT_DETACH);
    }
}

TEST_CASE("stopped while the disk refuses writes: what is on disk is exactly what is counted delivered, the rest dropped") {
    REQUIRE(geteuid() == 0);  // mounting a tmpfs
    for (std::string format : {"jsonl", "binary"}) {
        INFO("format " << format);
        TempDir conf, mountpoint;
        REQUIRE(mount("tmpfs", mountpoint.path.c_str(), "tmpfs", 0, "size=256k") == 0);
        const fs::path dir = mountpoint.path / "records";
        conf.write("s.toml", "[agent]\ninterval = \"5ms\"\n[inputs.counting]\n[sinks.file]\nformat = \"" + format +
                                 "\"\ndirectory = \"" + dir.string() + "\"\nflush_interval = \"20ms\"\n");
        Process agent = start_agent(conf);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // some records reach the disk
        {
            std::ofstream filler(mountpoint.path / "filler", std::ios::binary);
            std::string block(4096, 'f');
            while (filler << block && filler.flush()) {
            }
        }
        agent.read_until([&](const std::string &) { return agent.stderr_text.find("No space left on device") != std::string::npos; },
                         std::chrono::seconds(10));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // more records wait in memory
        kill(agent.pid, SIGTERM);
        CHECK(agent.wait() == 0);
        INFO(agent.stderr_text);
        Summary counts = parse_summary(agent.stderr_text);
        check_sink_identity(counts, "sinks.file");
        CHECK(counter(counts, "sinks.file", "routed") == counter(counts, "inputs.counting", "emitted"));
        CHECK(counter(counts, "sinks.file", "unwritten_at_stop") > 0);
        CHECK(agent.stderr_text.find("error sinks.file: stopped with") != std::string::npos);
        std::uint64_t on_disk = 0;
        for (const auto &entry : fs::directory_iterator(dir)) {
            Process dump(sonde({"trace", "dump", entry.path().string()}));
            CHECK(dump.wait() == 0);
            on_disk += json_lines(dump.stdout_text).size();
        }
        CHECK(on_disk > 0);
        CHECK(on_disk == counter(counts, "sinks.file", "delivered"));
        umount2(mountpoint.path.c_str(), MNT_DETACH);
    }
}

namespace {

std::vector<fs::path> files_in(const fs::path &dir) {
    std::vector<fs::path> files;
    for (const auto &entry : fs::directory_iterator(dir)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());  // names sort by creation
    return files;
}

}  // namespace

TEST_CASE("binary and JSON lines of the same records: sonde trace dump of the binary files gives the JSON files, byte for byte") {
    TempDir conf, jsonl, binary;
    conf.write("s.toml", "[agent]\ninterval = \"5ms\"\n[inputs.counting]\n"
                         "[sinks.jsonl]\nplugin = \"file\"\ndirectory = \"" + jsonl.path.string() + "\"\n"
                         "flush_interval = \"20ms\"\nmax_file_size = \"32KiB\"\n"
                         "[sinks.binary]\nplugin = \"file\"\nformat = \"binary\"\ndirectory = \"" + binary.path.string() +
                         "\"\nflush_interval = \"30ms\"\nmax_file_size = \"2KiB\"\n");
    Process agent = start_agent(conf);
    // At least 1.5 s, and until the binary sink has rotated twice (a slower,
    // e.g. sanitized, build emits fewer records per second).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    while (files_in(binary.path).size() < 3 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    INFO(agent.stderr_text);
    std::string json_text, dumped;
    for (const auto &file : files_in(jsonl.path)) json_text += read_file(file);
    std::vector<fs::path> binaries = files_in(binary.path);
    CHECK(binaries.size() >= 3);  // rotated: each file must read alone
    std::uintmax_t binary_bytes = 0;
    for (const auto &file : binaries) {
        CHECK(file.extension() == ".sonde");
        binary_bytes += fs::file_size(file);
        Process dump(sonde({"trace", "dump", file.string()}));
        CHECK(dump.wait() == 0);
        CHECK(dump.stderr_text.empty());
        dumped += dump.stdout_text;
    }
    CHECK(json_lines(json_text).size() > 100);
    CHECK(dumped == json_text);
    CHECK(binary_bytes * 4 < json_text.size());

    // The summaries agree too, less the lines naming each binary file's origin.
    std::vector<std::string> summary_of_json{"trace", "summary"}, summary_of_binary{"trace", "summary"};
    for (const auto &file : files_in(jsonl.path)) summary_of_json.push_back(file.string());
    for (const auto &file : binaries) summary_of_binary.push_back(file.string());
    Process from_json(sonde(summary_of_json)), from_binary(sonde(summary_of_binary));
    CHECK(from_json.wait() == 0);
    CHECK(from_binary.wait() == 0);
    std::string binary_summary;
    std::istringstream lines(from_binary.stdout_text);
    for (std::string line; std::getline(lines, line);)
        if (line.find(": binary format 1, host ") == std::string::npos) binary_summary += line + "\n";
    CHECK(binary_summary == from_json.stdout_text);
    CHECK(from_json.stdout_text.find("test.event") != std::string::npos);
}

TEST_CASE("binary files rotate under the budget, and a torn or damaged file is reported with everything before it read") {
    TempDir conf, out;
    conf.write("s.toml", "[agent]\ninterval = \"5ms\"\n[inputs.counting]\n[sinks.file]\nformat = \"binary\"\ndirectory = \"" +
                             out.path.string() + "\"\nmax_file_size = \"1KiB\"\nmax_total_size = \"4KiB\"\nflush_interval = \"20ms\"\n");
    Process agent = start_agent(conf);
    DirectoryState worst;
    for (int i = 0; i < 100; ++i) {  // 2 s of samples, every 20 ms
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        DirectoryState s = measure(out.path);
        worst.total = std::max(worst.total, s.total);
        worst.largest = std::max(worst.largest, s.largest);
    }
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    INFO(agent.stderr_text);
    CHECK(worst.total <= 4u * 1024);
    CHECK(worst.largest <= 1024);
    // A file with a few frames (the newest may hold one, cut short by the stop).
    fs::path file;
    std::string written, whole_text;
    std::size_t records = 0;
    for (const fs::path &candidate : files_in(out.path)) {
        Process whole(sonde({"trace", "dump", candidate.string()}));
        REQUIRE(whole.wait() == 0);
        whole_text = whole.stdout_text;
        records = json_lines(whole_text).size();
        file = candidate;
        written = read_file(file);
        if (records > 2) break;
    }
    REQUIRE(records > 2);

    // A crash mid-write: the last frame is cut short.
    fs::resize_file(file, written.size() - 3);
    Process torn(sonde({"trace", "dump", file.string()}));
    CHECK(torn.wait() == 1);
    CHECK(torn.stderr_text.find(file.string() + ": torn frame (") == 0);
    const std::size_t before = json_lines(torn.stdout_text).size();
    CHECK(before < records);
    CHECK(whole_text.compare(0, torn.stdout_text.size(), torn.stdout_text) == 0);
    CHECK(torn.stderr_text.find("; " + std::to_string(before) + " records read before it") != std::string::npos);

    // A damaged byte inside the last frame: the checksum catches it.
    std::string damaged = written;
    damaged[damaged.size() - 2] ^= 0x01;
    std::ofstream(file, std::ios::binary | std::ios::trunc) << damaged;
    Process corrupt(sonde({"trace", "summary", file.string()}));
    CHECK(corrupt.wait() == 1);
    CHECK(corrupt.stderr_text.find("corrupt frame (checksum mismatch) at byte ") != std::string::npos);
    CHECK(corrupt.stdout_text.find("test.ticks") != std::string::npos);  // what came before is summarized
    CHECK(corrupt.stdout_text.find(file.string() + ": binary format 1, host ") == 0);  // where the file comes from
}

TEST_CASE("the directory deleted while the sink writes: it comes back with a new file that reads on its own") {
    TempDir conf, out;
    conf.write("s.toml", "[agent]\ninterval = \"10ms\"\n[inputs.counting]\n[sinks.file]\nformat = \"binary\"\ndirectory = \"" +
                             out.path.string() + "\"\nflush_interval = \"20ms\"\n");
    Process agent = start_agent(conf);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const std::vector<fs::path> first = files_in(out.path);
    REQUIRE(first.size() == 1);
    fs::remove_all(out.path);
    agent.read_until([&](const std::string &) { return agent.stderr_text.find("was deleted") != std::string::npos; },
                     std::chrono::seconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    INFO(agent.stderr_text);
    CHECK(agent.stderr_text.find(first[0].string() + " was deleted; starting a new file") != std::string::npos);
    const std::vector<fs::path> now = files_in(out.path);
    REQUIRE(now.size() == 1);
    CHECK(now[0] != first[0]);
    Process dump(sonde({"trace", "dump", now[0].string()}));
    CHECK(dump.wait() == 0);  // its preamble defines what its frames use
    CHECK(json_lines(dump.stdout_text).size() > 10);
}

TEST_CASE("files rotate by age, each one complete") {
    TempDir conf, out;
    conf.write("s.toml", "[agent]\ninterval = \"10ms\"\n[inputs.counting]\n[sinks.file]\ndirectory = \"" + out.path.string() +
                             "\"\nmax_file_age = \"300ms\"\nflush_interval = \"50ms\"\n");
    Process agent = start_agent(conf);
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    INFO(agent.stderr_text);
    const std::vector<fs::path> files = files_in(out.path);
    CHECK(files.size() >= 3);  // up to 2 s of records, a new file once one is 300 ms old
    CHECK(files.size() <= 8);
    for (const auto &file : files) {
        const std::string text = read_file(file);
        REQUIRE_FALSE(text.empty());
        CHECK(text.back() == '\n');
        // 300 ms of records at two per 10 ms tick; the newest file was cut short by the stop.
        if (file != files.back()) CHECK(json_lines(text).size() >= 10);
    }
}
