#include "net_parsers.hpp"

#include "text/text.hpp"

#include <algorithm>

namespace sonde::net {

namespace {
using sonde::text::at_line;
using sonde::text::Fields;
using sonde::text::Lines;
using sonde::text::number;
}  // namespace

ParseError parse_net_dev(std::string_view text, std::vector<InterfaceStats> &out) {
    out.clear();
    if (auto e = text::incomplete(text)) return e;
    Lines lines(text);
    std::string_view line;
    while (lines.next(line)) {
        if (lines.number() <= 2) continue;  // two header lines
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) return at_line(lines.number(), "expected 'interface: counters'");
        Fields fields(line.substr(colon + 1));
        std::array<std::uint64_t, 16> v{};
        std::string_view f;
        for (auto &slot : v) {
            auto n = fields.next(f) ? number<std::uint64_t>(f) : std::nullopt;
            if (!n) return at_line(lines.number(), "fewer than 16 counters");
            slot = *n;
        }
        // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets errs drop ...
        out.push_back({text::trim(line.substr(0, colon)), v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11]});
    }
    return std::nullopt;
}

std::optional<std::int64_t> ProtocolCounters::find(std::string_view section, std::string_view name) const {
    for (const ProtocolCounter &c : counters)
        if (c.name == name && c.section == section) return c.value;
    return std::nullopt;
}

ParseError parse_snmp(std::string_view text, ProtocolCounters &out, std::initializer_list<std::string_view> sections) {
    if (auto e = text::incomplete(text)) return e;
    Lines lines(text);
    std::string_view header, values;
    // Lines come in pairs: "Tcp: Name1 Name2 ..." then "Tcp: 1 2 ...".
    while (lines.next(header)) {
        if (header.empty()) continue;
        if (!lines.next(values)) return at_line(lines.number(), "header without a value line");
        std::size_t hc = header.find(':'), vc = values.find(':');
        if (hc == std::string_view::npos || vc == std::string_view::npos || header.substr(0, hc) != values.substr(0, vc))
            return at_line(lines.number(), "value line does not match its header");
        std::string_view section = header.substr(0, hc);
        if (sections.size() && std::find(sections.begin(), sections.end(), section) == sections.end()) continue;
        Fields names(header.substr(hc + 1)), numbers(values.substr(vc + 1));
        std::string_view name, value;
        while (names.next(name)) {
            auto n = numbers.next(value) ? number<std::int64_t>(value) : std::nullopt;
            if (!n) return at_line(lines.number(), "missing or malformed value for " + std::string(name));
            out.counters.push_back({section, name, *n});
        }
        if (numbers.next(value)) return at_line(lines.number(), "more values than names");
    }
    return std::nullopt;
}

ParseError parse_proc_net_tcp(std::string_view text, TcpStateCounts &counts) {
    if (auto e = text::incomplete(text)) return e;
    Lines lines(text);
    std::string_view line, f;
    while (lines.next(line)) {
        if (lines.number() == 1) continue;  // header
        Fields fields(line);
        // sl local_address rem_address st ...
        if (!fields.next(f) || !fields.next(f) || !fields.next(f) || !fields.next(f))
            return at_line(lines.number(), "fewer than 4 fields");
        auto state = number<unsigned>(f, 16);
        if (!state || *state == 0 || *state > tcp_new_syn_recv) return at_line(lines.number(), "unknown TCP state");
        ++counts[*state == tcp_new_syn_recv ? 3 : *state];
    }
    return std::nullopt;
}

}  // namespace sonde::net
