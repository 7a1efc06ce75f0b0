// Parsing of the duration ("250ms", "10s") and size ("64MiB") strings used
// throughout sonde's configuration. Header-only; shared by the core and the SDK.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sonde {

namespace units_detail {

struct Suffix {
    std::string_view text;
    double multiplier;
};

// Splits "12.5ms" into 12.5 and "ms"; rejects signs, empty numbers and junk.
inline std::optional<std::pair<double, std::string_view>> split_number(std::string_view text) {
    std::size_t i = 0;
    double whole = 0;
    bool digits = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        whole = whole * 10 + (text[i] - '0');
        digits = true;
        ++i;
    }
    if (i < text.size() && text[i] == '.') {
        ++i;
        double scale = 0.1;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            whole += (text[i] - '0') * scale;
            scale /= 10;
            digits = true;
            ++i;
        }
    }
    if (!digits) return std::nullopt;
    return std::pair{whole, text.substr(i)};
}

template <std::size_t N>
std::optional<std::uint64_t> scale(std::string_view text, const Suffix (&suffixes)[N]) {
    auto parts = split_number(text);
    if (!parts) return std::nullopt;
    for (const Suffix &s : suffixes) {
        if (parts->second == s.text) {
            double value = parts->first * s.multiplier;
            if (value >= 18446744073709551615.0) return std::nullopt;
            return static_cast<std::uint64_t>(value + 0.5);
        }
    }
    return std::nullopt;
}

}  // namespace units_detail

// "250ms" -> 250'000'000. Units: ns, us, ms, s, m, h. A unit is required.
inline std::optional<std::uint64_t> parse_duration_ns(std::string_view text) {
    static constexpr units_detail::Suffix suffixes[] = {
        {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    return units_detail::scale(text, suffixes);
}

// "64MiB" -> 67108864. Units: B, KiB, MiB, GiB, TiB, kB, MB, GB, TB; bare numbers are bytes.
inline std::optional<std::uint64_t> parse_size_bytes(std::string_view text) {
    static constexpr units_detail::Suffix suffixes[] = {
        {"", 1},       {"B", 1},       {"KiB", 1024.0},          {"MiB", 1048576.0},
        {"GiB", 1073741824.0},         {"TiB", 1099511627776.0}, {"kB", 1e3},
        {"MB", 1e6},   {"GB", 1e9},    {"TB", 1e12}};
    return units_detail::scale(text, suffixes);
}

}  // namespace sonde
