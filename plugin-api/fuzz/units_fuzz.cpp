// Fuzzes the duration ("250ms") and size ("64MiB") parsers of
// <sonde/units.hpp>, which read configuration values. Besides not crashing:
// text outside the grammar (digits, an optional fraction, a known unit) is a
// syntax error; a whole number with a unit comes out exact or out of range,
// never wrapped; a value never exceeds the bound; and every parsed value
// formats back to text that parses to the same value.
#include "fuzz_input.hpp"

#include <sonde/units.hpp>

#include <cstdint>
#include <string_view>

namespace {

using sonde::ParsedQuantity;
using sonde::fuzz::require;

template <std::size_t N>
void check(std::string_view text, ParsedQuantity parsed, const sonde::units_detail::Suffix (&units)[N],
           std::uint64_t max, ParsedQuantity (*parse)(std::string_view), std::string (*format)(std::uint64_t)) {
    std::size_t digits = 0, i = 0;
    bool dot = false;
    for (; i < text.size(); ++i) {
        if (text[i] >= '0' && text[i] <= '9') ++digits;
        else if (text[i] == '.' && !dot) dot = true;
        else break;
    }
    const sonde::units_detail::Suffix *unit = nullptr;
    for (const auto &u : units)
        if (text.substr(i) == u.text) unit = &u;
    if (!unit || digits == 0) {
        require(parsed.status == ParsedQuantity::Status::syntax, "accepted text outside the grammar");
        return;
    }
    require(parsed.status != ParsedQuantity::Status::syntax, "refused text of the grammar");
    if (parsed.ok()) {
        require(parsed.value <= max, "value above the bound");
        ParsedQuantity again = parse(format(parsed.value));
        require(again.ok() && again.value == parsed.value, "formatted value does not parse back");
    }
    // A whole number (up to 18 digits, leading zeros aside) is exact or out of range.
    std::string_view number = text.substr(0, i);
    while (number.size() > 1 && number.front() == '0') number.remove_prefix(1);
    if (!dot && number.size() <= 18) {
        std::uint64_t whole = 0;
        for (char c : number) whole = whole * 10 + static_cast<std::uint64_t>(c - '0');
        sonde::fuzz::wide_uint exact = static_cast<sonde::fuzz::wide_uint>(whole) * unit->multiplier;
        if (exact > max) require(parsed.status == ParsedQuantity::Status::out_of_range, "overflow not refused");
        else require(parsed.ok() && parsed.value == exact, "whole number not exact");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::string_view text = sonde::fuzz::as_text(data, size);
    check(text, sonde::parse_duration(text), sonde::units_detail::duration_suffixes, sonde::max_duration_ns,
          sonde::parse_duration, sonde::format_duration);
    check(text, sonde::parse_size(text), sonde::units_detail::size_suffixes, sonde::max_size_bytes,
          sonde::parse_size, sonde::format_size);
    return 0;
}
