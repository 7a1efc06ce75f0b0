// Parsing of the duration ("250ms", "10s") and size ("64MiB") strings used
// throughout sonde's configuration. Header-only; shared by the core and the SDK.
//
// Every parsed value is bounded, so that the arithmetic done with it cannot
// overflow: a duration is at most max_duration_ns (about ten years; now_ns()
// plus two of them still fits in an int64 until the year 2200), a size at
// most max_size_bytes (1 PiB; eight thousand of them still fit in an int64).
// Parsing is exact integer arithmetic: "1.5s" is 1'500'000'000 ns, not a
// double rounded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sonde {

// The longest duration any configuration key may hold: 3650 days.
inline constexpr std::uint64_t max_duration_ns = 3650ull * 24 * 3600 * 1'000'000'000;
// The largest size any configuration key may hold: 1 PiB.
inline constexpr std::uint64_t max_size_bytes = 1ull << 50;

// The outcome of parsing a duration or a size.
struct ParsedQuantity {
    enum class Status { ok, syntax, out_of_range };
    Status status = Status::syntax;
    std::uint64_t value = 0;  // meaningful when status == ok
    bool ok() const { return status == Status::ok; }
};

namespace units_detail {

struct Suffix {
    std::string_view text;
    std::uint64_t multiplier;
};

__extension__ typedef unsigned __int128 wide_uint;

// "12.5ms" -> 12.5 * 1'000'000, rounded to the nearest integer. Digits, an
// optional fraction, then one of the suffixes; no sign, exponent or space.
template <std::size_t N>
ParsedQuantity scale(std::string_view text, const Suffix (&suffixes)[N], std::uint64_t max) {
    std::size_t i = 0;
    wide_uint whole = 0;
    bool too_big = false, digits = false;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, digits = true) {
        whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
        if (whole > max) too_big = true, whole = static_cast<wide_uint>(max) + 1;  // stays bounded
    }
    // The fraction as fraction / denominator; digits past the 19th cannot
    // change the result for multipliers below 2^64 / 10^19 ~ 1.8, and for larger
    // multipliers 19 digits are well below the unit's resolution.
    wide_uint fraction = 0, denominator = 1;
    if (i < text.size() && text[i] == '.') {
        for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, digits = true) {
            if (denominator < 10'000'000'000'000'000'000ull) {
                fraction = fraction * 10 + static_cast<unsigned>(text[i] - '0');
                denominator *= 10;
            }
        }
    }
    if (!digits) return {};
    std::string_view unit = text.substr(i);
    for (const Suffix &s : suffixes) {
        if (unit != s.text) continue;
        if (too_big) return {ParsedQuantity::Status::out_of_range, 0};
        wide_uint value = whole * s.multiplier + (fraction * s.multiplier + denominator / 2) / denominator;
        if (value > max) return {ParsedQuantity::Status::out_of_range, 0};
        return {ParsedQuantity::Status::ok, static_cast<std::uint64_t>(value)};
    }
    return {};
}

inline constexpr Suffix duration_suffixes[] = {{"ns", 1},
                                               {"us", 1'000},
                                               {"ms", 1'000'000},
                                               {"s", 1'000'000'000},
                                               {"m", 60'000'000'000},
                                               {"h", 3'600'000'000'000},
                                               {"d", 86'400'000'000'000}};
inline constexpr Suffix size_suffixes[] = {
    {"", 1},           {"B", 1},          {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
    {"TiB", 1ull << 40}, {"PiB", 1ull << 50}, {"kB", 1'000},      {"MB", 1'000'000},   {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000}, {"PB", 1'000'000'000'000'000}};

// The largest suffix that divides `value` exactly: 90'000'000'000 -> "90s".
template <std::size_t N>
std::string format(std::uint64_t value, const Suffix (&suffixes)[N], bool binary_only) {
    const Suffix *best = nullptr;
    for (const Suffix &s : suffixes) {
        if (s.text.empty() || (binary_only && s.text.find('i') == std::string_view::npos && s.text != "B")) continue;
        if (value % s.multiplier == 0 && (!best || s.multiplier > best->multiplier)) best = &s;
    }
    if (!best || value == 0) return std::to_string(value) + (binary_only ? "B" : "ns");
    return std::to_string(value / best->multiplier) + std::string(best->text);
}

}  // namespace units_detail

// "250ms" -> 250'000'000. Units: ns, us, ms, s, m, h, d. A unit is required.
// Above max_duration_ns: out_of_range.
inline ParsedQuantity parse_duration(std::string_view text) {
    return units_detail::scale(text, units_detail::duration_suffixes, max_duration_ns);
}

// "64MiB" -> 67108864. Units: B, KiB, MiB, GiB, TiB, PiB, kB, MB, GB, TB, PB;
// bare numbers are bytes. Above max_size_bytes: out_of_range.
inline ParsedQuantity parse_size(std::string_view text) {
    return units_detail::scale(text, units_detail::size_suffixes, max_size_bytes);
}

// The same, for callers that need no reason: nullopt when invalid or out of range.
inline std::optional<std::uint64_t> parse_duration_ns(std::string_view text) {
    ParsedQuantity p = parse_duration(text);
    return p.ok() ? std::optional(p.value) : std::nullopt;
}
inline std::optional<std::uint64_t> parse_size_bytes(std::string_view text) {
    ParsedQuantity p = parse_size(text);
    return p.ok() ? std::optional(p.value) : std::nullopt;
}

// For error messages: 1'500'000'000 -> "1500ms", 3'600'000'000'000 -> "1h",
// 1 << 30 -> "1GiB". Round-trips through the parsers.
inline std::string format_duration(std::uint64_t ns) {
    return units_detail::format(ns, units_detail::duration_suffixes, false);
}
inline std::string format_size(std::uint64_t bytes) {
    return units_detail::format(bytes, units_detail::size_suffixes, true);
}

}  // namespace sonde
