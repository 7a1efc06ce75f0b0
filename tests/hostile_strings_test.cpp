// Strings from the kernel that are not UTF-8, through the real agent: a
// thread's command name (the syscall tracer's `comm`) and an interface name
// (the net input's `device`). Every format must stay valid: JSON lines on
// stdout and in files, the binary files read back by `sonde trace dump`, and
// the Prometheus exposition. The host replaces each invalid sequence with
// U+FFFD (docs/json-schema.md, "Strings").
#include "agent_process.hpp"
#include "bpf_available.hpp"
#include "http_get.hpp"
#include "read_file.hpp"

#include "records/record_binary_writer.hpp"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <thread>

using namespace sonde_test;

namespace {

// The name: two bytes that are never UTF-8, a quote, a control character.
constexpr char hostile_name[] = "\xFF\xFE\"bad\x01";
// What the agent must make of it: each invalid byte becomes U+FFFD.
const std::string repaired_name = "\xEF\xBF\xBD\xEF\xBF\xBD\"bad\x01";

// Every line of `text` parsed as JSON; a line that is not valid JSON (or not
// UTF-8, which nlohmann::json refuses) fails the test, naming the line.
std::vector<nlohmann::json> parse_every_line(const std::string &text, const std::string &where) {
    std::vector<nlohmann::json> out;
    std::size_t start = 0, end, line = 0;
    while ((end = text.find('\n', start)) != std::string::npos) {
        ++line;
        const std::string record = text.substr(start, end - start);
        start = end + 1;
        try {
            out.push_back(nlohmann::json::parse(record));
        } catch (const nlohmann::json::exception &e) {
            FAIL_CHECK(where << ":" << line << ": not valid JSON (" << std::string(e.what()) << ")");
        }
    }
    CHECK_MESSAGE(start == text.size(), where << ": the last line has no newline");
    return out;
}

std::vector<std::string> files_in(const fs::path &directory) {
    std::vector<std::string> out;
    for (const auto &entry : fs::directory_iterator(directory)) out.push_back(entry.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

// `sonde trace dump` of each file: it must read every file to its end.
std::string dump(const std::vector<std::string> &files) {
    std::vector<std::string> args{"trace", "dump"};
    args.insert(args.end(), files.begin(), files.end());
    Process p(sonde_test::sonde(args));
    const int status = p.wait();
    INFO(p.stderr_text);
    CHECK(status == 0);
    CHECK(p.stderr_text.empty());
    return p.stdout_text;
}

bool has_slow_event(const std::vector<nlohmann::json> &records, long tid) {
    for (const auto &r : records)
        if (r["name"] == "syscall.slow" && r["attributes"]["tid"] == tid) {
            CHECK(r["attributes"]["comm"] == repaired_name);
            return true;
        }
    return false;
}

}  // namespace

namespace {

// A child in a network namespace of its own whose loopback interface it has
// renamed; the net input reads that namespace's /proc/PID/net/dev.
struct RenamedInterface {
    pid_t pid = -1;

    explicit RenamedInterface(const char *name) {
        int ready[2];
        REQUIRE(pipe(ready) == 0);
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            close(ready[0]);
            ifreq request{};
            std::strcpy(request.ifr_name, "lo");
            std::strncpy(request.ifr_newname, name, IFNAMSIZ - 1);
            const int fd = unshare(CLONE_NEWNET) == 0 ? socket(AF_INET, SOCK_DGRAM, 0) : -1;
            const char verdict = fd >= 0 && ioctl(fd, SIOCSIFNAME, &request) == 0 ? 'y' : 'n';
            (void)!write(ready[1], &verdict, 1);
            pause();
            _exit(0);
        }
        close(ready[1]);
        char verdict = 0;
        (void)!read(ready[0], &verdict, 1);
        close(ready[0]);
        REQUIRE_MESSAGE(verdict == 'y', "could not rename lo in a new network namespace (needs root)");
    }
    ~RenamedInterface() {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
};

// The `device` attribute values of system.network.io points the OTLP receiver printed.
std::set<std::string> otlp_devices(const std::vector<nlohmann::json> &requests) {
    std::set<std::string> out;
    for (const auto &line : requests) {
        if (line.value("path", "") != "/v1/metrics") continue;
        for (const auto &rm : line["request"].value("resourceMetrics", nlohmann::json::array()))
            for (const auto &sm : rm.value("scopeMetrics", nlohmann::json::array()))
                for (const auto &metric : sm.value("metrics", nlohmann::json::array())) {
                    if (metric.value("name", "") != "system.network.io") continue;
                    for (const auto &point : metric["sum"].value("dataPoints", nlohmann::json::array()))
                        for (const auto &kv : point.value("attributes", nlohmann::json::array()))
                            if (kv["key"] == "device") out.insert(kv["value"]["stringValue"].get<std::string>());
                }
    }
    return out;
}

std::string promtool_verdict(const std::string &exposition, int &status) {
    const std::string path = "/tmp/sonde-hostile-" + std::to_string(getpid()) + ".prom";
    std::ofstream(path) << exposition;
    FILE *p = popen(("/usr/bin/promtool check metrics < " + path + " 2>&1").c_str(), "r");
    std::string verdict;
    char buffer[4096];
    while (fgets(buffer, sizeof buffer, p)) verdict += buffer;
    status = pclose(p);
    std::remove(path.c_str());
    return verdict;
}

}  // namespace

TEST_CASE("an interface named with bytes that are not UTF-8: valid JSON lines, Prometheus exposition and OTLP") {
    REQUIRE_MESSAGE(access("/usr/bin/promtool", X_OK) == 0, "promtool is missing (scripts/install-deps.sh installs it)");
    RenamedInterface interface(hostile_name);
    TempDir conf;
    const fs::path jsonl = conf.path / "jsonl";
    const std::uint16_t port = free_port(), otlp_port = free_port();
    // The OTLP receiver the otlp sink's tests use: it decodes with an independent
    // protobuf implementation and prints each request as a JSON line.
    Process receiver({"/usr/bin/env", "node", OTLP_RECEIVER, std::to_string(otlp_port), "0"});
    receiver.read_until([](const std::string &out) { return out.find("\"listening\"") != std::string::npos; },
                        std::chrono::seconds(15));
    REQUIRE_MESSAGE(receiver.stdout_text.find("\"listening\"") != std::string::npos, receiver.stderr_text);
    conf.write("s.toml", "[agent]\ninterval = \"100ms\"\n"
                         "[inputs.net]\nproc_root = \"/proc/" + std::to_string(interface.pid) + "\"\n"
                         "tcp_states = false\nprotocol_counters = false\n"
                         "[sinks.stdout]\n"
                         "[sinks.jsonl]\nplugin = \"file\"\ndirectory = \"" + jsonl.string() + "\"\n"
                         "[sinks.prometheus]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n"
                         "[sinks.otlp]\nendpoint = \"http://127.0.0.1:" + std::to_string(otlp_port) + "\"\n");
    Process agent(sonde_test::sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    agent.read_until([&](const std::string &out) {
        return agent.stderr_text.find("sinks.prometheus: serving") != std::string::npos &&
               out.find("system.network.io") != std::string::npos;
    }, std::chrono::seconds(10));

    // The Prometheus label value: U+FFFD for each invalid byte, the quote escaped.
    const std::string label = "device=\"" + std::string("\xEF\xBF\xBD\xEF\xBF\xBD\\\"bad\x01") + "\"";
    HttpReply scrape = http_get(port, "/metrics");
    CHECK(scrape.status == 200);
    CHECK_MESSAGE(scrape.body.find(label) != std::string::npos, scrape.body);
    int status = -1;
    const std::string verdict = promtool_verdict(scrape.body, status);
    INFO(verdict);
    CHECK(status == 0);

    receiver.read_until([](const std::string &out) { return out.find("system.network.io") != std::string::npos; },
                        std::chrono::seconds(10));
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    INFO(agent.stderr_text);
    kill(receiver.pid, SIGTERM);
    receiver.wait();
    CHECK(otlp_devices(parse_every_line(receiver.stdout_text, "OTLP receiver")).count(repaired_name) == 1);
    // Node's decoder repairs what it gets the same way, so the check above
    // alone cannot tell; but libprotobuf logs every string field it
    // serializes with invalid UTF-8, and strict decoders (Go's, in the
    // OpenTelemetry Collector) refuse the whole request.
    CHECK(agent.stderr_text.find("invalid UTF-8") == std::string::npos);

    auto is_renamed_device = [](const nlohmann::json &r) {
        return r["name"] == "system.network.io" && r["attributes"]["device"] == repaired_name;
    };
    const auto records = parse_every_line(agent.stdout_text, "stdout");
    CHECK(std::any_of(records.begin(), records.end(), is_renamed_device));
    const auto files = files_in(jsonl);
    REQUIRE(!files.empty());
    const auto dumped = parse_every_line(dump(files), "trace dump of the JSON-lines files");
    CHECK(std::any_of(dumped.begin(), dumped.end(), is_renamed_device));
}

TEST_CASE("a binary file crafted with strings that are not UTF-8: trace dump prints valid JSON, summary reads it") {
    // Written without the host, so nothing repaired them: the record name, the
    // input, the unit, an attribute key and values, and the header's host.
    const char *const keys[] = {"comm\xC0", "latency_ns"};
    const sonde_record_info event_info{sizeof(sonde_record_info), SONDE_RECORD_EVENT, 0, 2, "syscall.\xF5slow", "",
                                       "", keys, "in\xED\xA0\x80"};
    const sonde_record_info histogram_info{sizeof(sonde_record_info), SONDE_RECORD_METRIC, SONDE_METRIC_HISTOGRAM, 2,
                                           "sched.latency", "s\xFF", "", keys, "sched"};
    sonde_value values[2]{};
    values[0].type = SONDE_VALUE_STRING;
    values[0].as.s = {hostile_name, sizeof hostile_name - 1};
    values[1].type = SONDE_VALUE_UINT;
    values[1].as.u = 30'000'000;
    const sonde_event event{sizeof(sonde_event), 2, values, 1'763'770'000'000'000'000};
    double bounds[] = {0.01};
    std::uint64_t counts[] = {1, 2};
    sonde_histogram histogram{sizeof(sonde_histogram), 1, bounds, counts, 3, 0.05};
    sonde_metric_point point{};
    point.struct_size = sizeof point;
    point.attribute_count = 2;
    point.attributes = values;
    point.time_ns = event.time_ns;
    point.start_time_ns = event.time_ns - 1'000'000'000;
    point.histogram = &histogram;
    const sonde_record_group groups[] = {{sizeof(sonde_record_group), 0, &event_info, nullptr, &event, 1},
                                         {sizeof(sonde_record_group), 0, &histogram_info, &point, nullptr, 1}};
    const sonde_batch batch{sizeof(sonde_batch), 0, groups, 2};
    sonde::RecordBinaryWriter writer("host\xFF\xFE", "writer\x80");
    std::string frames;
    writer.append(batch);
    writer.seal(frames);
    TempDir dir;
    const std::string file = (dir.path / "crafted.sonde").string();
    std::ofstream(file, std::ios::binary) << writer.file_preamble(frames, 1) << frames;

    const auto records = parse_every_line(dump({file}), "trace dump of the crafted file");
    REQUIRE(records.size() == 2);
    CHECK(records[0]["name"] == "syscall.\xEF\xBF\xBDslow");
    CHECK(records[0]["input"] == "in\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK(records[0]["attributes"]["comm\xEF\xBF\xBD"] == repaired_name);
    CHECK(records[1]["unit"] == "s\xEF\xBF\xBD");

    Process summary(sonde_test::sonde({"trace", "summary", file}));
    const int status = summary.wait();
    INFO(summary.stdout_text);
    INFO(summary.stderr_text);
    CHECK(status == 0);
    CHECK(summary.stdout_text.find("sched.latency") != std::string::npos);
}

// Last: without BPF, require_bpf() ends the process (exit 77) after the tests above ran.
TEST_CASE("a thread named with bytes that are not UTF-8: valid JSON on stdout, in JSON-lines and binary files") {
    require_bpf();
    TempDir conf;
    const fs::path jsonl = conf.path / "jsonl", binary = conf.path / "binary";
    conf.write("s.toml", "[agent]\ninterval = \"100ms\"\n"
                         "[inputs.syscall]\nthreshold = \"10ms\"\ninclude = [\"nanosleep\"]\n"
                         "[sinks.stdout]\n"
                         "[sinks.jsonl]\nplugin = \"file\"\ndirectory = \"" + jsonl.string() + "\"\n"
                         "[sinks.binary]\nplugin = \"file\"\nformat = \"binary\"\ndirectory = \"" + binary.string() + "\"\n");
    Process agent(sonde_test::sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    agent.read_until([&](const std::string &) { return agent.stderr_text.find("inputs.syscall: tracing") != std::string::npos; },
                     std::chrono::seconds(20));
    REQUIRE_MESSAGE(agent.stderr_text.find("inputs.syscall: tracing") != std::string::npos, agent.stderr_text);

    // A thread of our own, so the test process keeps its name.
    long tid = 0;
    std::thread([&] {
        REQUIRE(prctl(PR_SET_NAME, hostile_name) == 0);
        tid = syscall(SYS_gettid);
        timespec t{0, 25'000'000};
        syscall(SYS_nanosleep, &t, nullptr);
    }).join();
    const std::string tid_field = "\"tid\":" + std::to_string(tid) + ",";
    agent.read_until([&](const std::string &out) { return out.find(tid_field) != std::string::npos; },
                     std::chrono::seconds(5));
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    INFO(agent.stderr_text);

    CHECK(has_slow_event(parse_every_line(agent.stdout_text, "stdout"), tid));
    const auto jsonl_files = files_in(jsonl), binary_files = files_in(binary);
    REQUIRE(!jsonl_files.empty());
    REQUIRE(!binary_files.empty());
    std::vector<nlohmann::json> from_files;
    for (const auto &file : jsonl_files)
        for (auto &r : parse_every_line(read_file(file), file)) from_files.push_back(std::move(r));
    CHECK(has_slow_event(from_files, tid));
    CHECK(has_slow_event(parse_every_line(dump(jsonl_files), "trace dump of the JSON-lines files"), tid));
    CHECK(has_slow_event(parse_every_line(dump(binary_files), "trace dump of the binary files"), tid));
}
