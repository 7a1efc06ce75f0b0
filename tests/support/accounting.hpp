// Reads the agent's shutdown summary ("shutdown summary: inputs.x emitted=3
// dropped=0 errors=0; sinks.y routed=3 delivered=2 dropped=1 (queue_full=1)
// queued=0 errors=0") into numbers, and checks the accounting identity of
// docs/accounting.md on it.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <sstream>
#include <string>

namespace sonde_test {

// instance -> counter or drop reason -> value.
using Summary = std::map<std::string, std::map<std::string, std::uint64_t>>;

inline Summary parse_summary(const std::string &log) {
    Summary out;
    const std::string marker = "shutdown summary: ";
    std::size_t at = log.rfind(marker);
    if (at == std::string::npos) return out;
    std::string line = log.substr(at + marker.size(), log.find('\n', at) - at - marker.size());
    std::istringstream entries(line);
    std::string entry;
    while (std::getline(entries, entry, ';')) {
        std::istringstream words(entry);
        std::string instance, word;
        words >> instance;
        while (words >> word) {
            std::size_t eq = word.find('=');
            if (eq == std::string::npos) continue;
            std::string key = word.substr(0, eq), value = word.substr(eq + 1);
            if (!key.empty() && key.front() == '(') key.erase(0, 1);
            if (!value.empty() && value.back() == ')') value.pop_back();
            if (out[instance].count(key)) key = "reason." + key;  // a reason named like a counter
            out[instance][key] = std::stoull(value);
        }
    }
    return out;
}

// routed = delivered + dropped + queued, and dropped = the sum of its reasons.
inline void check_sink_identity(const Summary &summary, const std::string &sink) {
    INFO("sink " << sink);
    REQUIRE(summary.count(sink));
    const auto &c = summary.at(sink);
    for (const char *key : {"routed", "delivered", "dropped", "queued"}) REQUIRE(c.count(key));
    CHECK(c.at("routed") == c.at("delivered") + c.at("dropped") + c.at("queued"));
    std::uint64_t reasons = 0;
    for (const auto &[key, value] : c)
        if (key != "routed" && key != "delivered" && key != "dropped" && key != "queued" && key != "errors")
            reasons += value;
    CHECK(reasons == c.at("dropped"));
}

inline std::uint64_t counter(const Summary &summary, const std::string &instance, const std::string &key) {
    auto i = summary.find(instance);
    if (i == summary.end()) return 0;
    auto k = i->second.find(key);
    return k == i->second.end() ? 0 : k->second;
}

}  // namespace sonde_test
