// The compact binary record format, version 1 (docs/binary-format.md): the
// constants and primitives its writer (record_binary_writer.hpp) and reader
// (record_binary_reader.hpp) share.
//
// A file is a magic number and a run of self-delimiting frames, each
// checksummed, so a reader stops cleanly at a torn or damaged frame. Strings
// (names, keys, repeated values), record shapes and histogram bounds are
// defined once per file and referred to by number; inside a frame each field
// is written only when it differs from the previous record of the same shape,
// integers as varint deltas, doubles as XOR with the previous value.
// Link zlib (crc32).
#pragma once

#include <sonde/plugin_api.h>

#include <zlib.h>

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::binary_format {

// "\x89SONDE\r\n": the high byte and the CR LF catch 7-bit and text-mode damage.
inline constexpr std::string_view magic{"\x89SONDE\r\n", 8};
inline constexpr std::uint64_t version = 1;
inline constexpr std::size_t frame_header_bytes = 8;           // u32le length, u32le crc32 of the payload
inline constexpr std::size_t max_frame_bytes = 64u << 20;       // larger lengths are damage
inline constexpr std::size_t max_interned_strings = 65536;      // then strings are written inline
inline constexpr std::size_t max_interned_string_bytes = 256;

// Operation codes; a code >= first_shape_op is a record of shape (code - first_shape_op).
enum Op : std::uint64_t { op_string = 0, op_shape = 1, op_header = 2, op_bounds = 3, first_shape_op = 16 };

// How many strings, shapes and bucket-bound lists a file defines before a frame.
struct Known {
    std::uint64_t strings = 0, shapes = 0, bounds = 0;
    bool operator==(const Known &) const = default;
};

inline void put_varint(std::string &out, std::uint64_t v) {
    char bytes[10];
    std::size_t n = 0;
    while (v >= 0x80) {
        bytes[n++] = static_cast<char>(v | 0x80);
        v >>= 7;
    }
    bytes[n++] = static_cast<char>(v);
    out.append(bytes, n);
}
inline std::uint64_t zigzag(std::int64_t v) {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t unzigzag(std::uint64_t v) { return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1); }
// A double as the XOR with its predecessor, byte-reversed so that equal
// leading bytes (sign, exponent, high mantissa) become a short varint.
inline std::uint64_t double_delta(double v, double previous) {
    return __builtin_bswap64(std::bit_cast<std::uint64_t>(v) ^ std::bit_cast<std::uint64_t>(previous));
}
inline double undo_double_delta(std::uint64_t delta, double previous) {
    return std::bit_cast<double>(__builtin_bswap64(delta) ^ std::bit_cast<std::uint64_t>(previous));
}
inline void put_u32le(char *at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) at[i] = static_cast<char>(v >> (8 * i));
}
inline std::uint32_t get_u32le(const char *at) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(at[i])) << (8 * i);
    return v;
}
inline std::uint32_t checksum(std::string_view payload) {
    return static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef *>(payload.data()), static_cast<uInt>(payload.size())));
}

// The fields a record of a shape carries, in order: the attributes, then the
// start time (counters and histograms), then the value (gauges and counters).
struct ShapeFields {
    std::uint32_t attributes;
    bool start_time, value, histogram;
    std::uint32_t count() const { return attributes + start_time + value; }
};
inline ShapeFields shape_fields(std::uint32_t record_kind, std::uint32_t metric_kind, std::uint32_t attributes) {
    bool metric = record_kind == SONDE_RECORD_METRIC;
    return {attributes, metric && metric_kind != SONDE_METRIC_GAUGE, metric && metric_kind != SONDE_METRIC_HISTOGRAM,
            metric && metric_kind == SONDE_METRIC_HISTOGRAM};
}

// The value type of field i; `types` holds the attributes' types, then the value's.
inline std::uint32_t field_type(const ShapeFields &fields, const std::vector<std::uint32_t> &types, std::uint32_t i) {
    if (i < fields.attributes) return types[i];
    if (fields.start_time && i == fields.attributes) return SONDE_VALUE_INT;
    return types[fields.attributes];
}

// Reads the primitives from a frame's payload; `failed` once it ran out.
struct Cursor {
    std::string_view rest;
    bool failed = false;

    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64 && !rest.empty(); shift += 7) {
            auto byte = static_cast<unsigned char>(rest.front());
            rest.remove_prefix(1);
            v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
            if (!(byte & 0x80)) return v;
        }
        failed = true;
        return 0;
    }
    std::string_view text() {
        std::uint64_t n = varint();
        if (n > rest.size()) {
            failed = true;
            return {};
        }
        std::string_view s = rest.substr(0, n);
        rest.remove_prefix(n);
        return s;
    }
};

// The value a field had in the previous record of its shape (zero at the start of a frame).
struct PreviousValue {
    std::uint64_t bits = 0;     // int, uint, bool, double bits, start time
    std::uint64_t string = 0;   // string id + 1; 0 for an inline string
    std::string inline_text;    // when string == 0
};

// Per-shape state that resets at every frame.
struct Predictor {
    std::uint64_t frame = 0;  // frame number this state belongs to
    std::int64_t time_ns = 0;
    std::vector<PreviousValue> fields;
    double sum = 0;  // of the previous histogram
};

}  // namespace sonde::binary_format
