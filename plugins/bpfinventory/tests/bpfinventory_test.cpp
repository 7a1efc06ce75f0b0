// The inventory in the real agent: a map and a program this test loads
// itself appear with their types and a memlock above zero, and disappear
// once the test closes them.
#include "agent_process.hpp"
#include "bpf_available.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>

using namespace sonde_test;

namespace {

bool has_object(const std::vector<nlohmann::json> &records, const std::string &metric, const std::string &name,
                const std::string &type, std::size_t from) {
    for (std::size_t i = from; i < records.size(); ++i) {
        const auto &r = records[i];
        if (r["name"] == metric && r["attributes"]["name"] == name && r["attributes"]["type"] == type &&
            r["value"].get<std::uint64_t>() > 0)
            return true;
    }
    return false;
}

std::size_t cycles(const std::string &s) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = s.find("\"bpf.inventory.duration\"", at)) != std::string::npos; ++at) ++n;
    return n;
}

void settle(Process &agent) {
    std::size_t seen = cycles(agent.stdout_text);
    agent.read_until([&](const std::string &s) { return cycles(s) >= seen + 2; }, std::chrono::seconds(5));
}

}  // namespace

TEST_CASE("a map and a program loaded here appear with type and memlock, and vanish when closed") {
    require_bpf();
    TempDir conf;
    conf.write("s.toml", "[agent]\ninterval = \"200ms\"\n[inputs.bpfinventory]\nper_object = true\n[sinks.stdout]\n");
    Process agent(sonde({"run", "--config-dir", conf.path, "--plugin-dir", SONDE_PLUGIN_DIR}));
    agent.read_until([](const std::string &s) { return cycles(s) >= 1; }, std::chrono::seconds(20));
    INFO(agent.stderr_text);

    LIBBPF_OPTS(bpf_map_create_opts, map_opts);
    int map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sonde_test_map", 4, 64, 128, &map_opts);
    REQUIRE(map >= 0);
    const bpf_insn program[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},  // r0 = 0
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},                   // exit
    };
    LIBBPF_OPTS(bpf_prog_load_opts, prog_opts);
    int prog = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "sonde_test_prg", "GPL", program, 2, &prog_opts);
    REQUIRE(prog >= 0);
    settle(agent);
    auto records = json_lines(agent.stdout_text);
    CHECK(has_object(records, "bpf.map.object.memlock", "sonde_test_map", "array", 0));
    CHECK(has_object(records, "bpf.program.object.memlock", "sonde_test_prg", "socket_filter", 0));
    for (const auto &r : records)
        if (r["name"] == "bpf.map.object.memlock" && r["attributes"]["name"] == "sonde_test_map") {
            CHECK(r["attributes"]["key_size"] == 4);
            CHECK(r["attributes"]["value_size"] == 64);
            CHECK(r["attributes"]["max_entries"] == 128);
        }

    close(map);
    close(prog);
    settle(agent);  // the kernel frees them asynchronously; two cycles later they are gone
    settle(agent);
    kill(agent.pid, SIGTERM);
    REQUIRE(agent.wait() == 0);
    records = json_lines(agent.stdout_text);
    // Each cycle ends with its duration; the last cycle follows the one before.
    std::vector<std::size_t> cycle_ends;
    for (std::size_t i = 0; i < records.size(); ++i)
        if (records[i]["name"] == "bpf.inventory.duration") cycle_ends.push_back(i);
    REQUIRE(cycle_ends.size() >= 2);
    const std::size_t last_cycle = cycle_ends[cycle_ends.size() - 2] + 1;
    CHECK_FALSE(has_object(records, "bpf.map.object.memlock", "sonde_test_map", "array", last_cycle));
    CHECK_FALSE(has_object(records, "bpf.program.object.memlock", "sonde_test_prg", "socket_filter", last_cycle));
    CHECK(records[cycle_ends.back()]["value"].get<double>() > 0);  // the walk's duration
}
