// Typed values as records carry them (sonde_value), and the small helpers a
// collector needs beside them: the wall clock and the host's name.
#pragma once

#include <sonde/plugin_api.h>
#include <sonde/utf8.hpp>

#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <type_traits>

namespace sonde {

// A string value borrowing `s`: keep `s` alive until the record is emitted.
inline sonde_value str(std::string_view s) noexcept {
    sonde_value v{};
    v.type = SONDE_VALUE_STRING;
    v.as.s = {s.data(), s.size()};
    return v;
}
// A signed integer value (SONDE_VALUE_INT).
inline sonde_value int_value(std::int64_t i) noexcept {
    sonde_value v{};
    v.type = SONDE_VALUE_INT;
    v.as.i = i;
    return v;
}
// An unsigned integer value (SONDE_VALUE_UINT).
inline sonde_value uint_value(std::uint64_t u) noexcept {
    sonde_value v{};
    v.type = SONDE_VALUE_UINT;
    v.as.u = u;
    return v;
}
// A floating-point value (SONDE_VALUE_DOUBLE).
inline sonde_value double_value(double d) noexcept {
    sonde_value v{};
    v.type = SONDE_VALUE_DOUBLE;
    v.as.d = d;
    return v;
}
// A boolean value (SONDE_VALUE_BOOL); attributes only, never a metric value.
inline sonde_value bool_value(bool b) noexcept {
    sonde_value v{};
    v.type = SONDE_VALUE_BOOL;
    v.as.b = b ? 1 : 0;
    return v;
}

// A number of any arithmetic type but bool, as the value type that holds it
// without loss: signed integers INT, unsigned ones UINT, floating point DOUBLE.
template <typename Number>
    requires(std::is_arithmetic_v<Number> && !std::is_same_v<Number, bool>)
constexpr sonde_value number_value(Number n) noexcept {
    if constexpr (std::is_floating_point_v<Number>)
        return double_value(static_cast<double>(n));
    else if constexpr (std::is_signed_v<Number>)
        return int_value(static_cast<std::int64_t>(n));
    else
        return uint_value(static_cast<std::uint64_t>(n));
}

// The characters of a borrowed ABI string.
inline std::string_view view(const sonde_str &s) noexcept { return {s.data, s.size}; }

// Wall-clock time in unix nanoseconds, as records carry it.
inline std::int64_t now_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// This machine's host name, as sinks report it ("unknown" if it has none).
// Root can set any bytes with sethostname(2): invalid UTF-8 is replaced with
// U+FFFD (sonde/utf8.hpp), since every output format needs UTF-8.
inline std::string host_name() {
    char name[256] = {};
    return ::gethostname(name, sizeof name - 1) == 0 && name[0] ? utf8::repaired(name) : "unknown";
}

}  // namespace sonde
