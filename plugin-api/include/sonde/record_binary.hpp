// The compact binary encoding of records, version 1 (docs/binary-format.md).
//
// A file is a magic number and a run of self-delimiting frames, each
// checksummed, so a reader stops cleanly at a torn or damaged frame. Strings
// (names, keys, repeated values) and record shapes are defined once per file
// and referred to by number; inside a frame each field is written only when
// it differs from the previous record of the same shape, integers as varint
// deltas, doubles as XOR with the previous value.
//
// RecordBinaryWriter encodes batches into frames; RecordBinaryReader decodes
// a file back into the same C structs an emitter passes, so a reader prints
// them with RecordJsonWriter exactly as the JSON-lines sink would have.
// Link zlib (crc32).
#pragma once

#include <sonde/plugin_api.h>

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
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

namespace sonde {

class RecordBinaryWriter {
public:
    // host and writer go into each file's header.
    RecordBinaryWriter(std::string host, std::string writer) : host_(std::move(host)), writer_(std::move(writer)) {}

    // Appends the batch's records to the frame in progress.
    void append(const sonde_batch &batch) {
        for (std::size_t g = 0; g < batch.group_count; ++g) {
            const sonde_record_group &group = batch.groups[g];
            for (std::size_t i = 0; i < group.count; ++i) {
                if (group.info->record_kind == SONDE_RECORD_METRIC) {
                    const sonde_metric_point &p = group.points[i];
                    append_record(*group.info, p.time_ns, p.attributes, p.attribute_count, &p);
                } else {
                    const sonde_event &e = group.events[i];
                    append_record(*group.info, e.time_ns, e.attributes, e.attribute_count, nullptr);
                }
            }
        }
    }

    // Bytes in the frame in progress.
    std::size_t open_frame_bytes() const { return frame_.size(); }

    // Ends the frame in progress, appending it whole to `out`.
    void seal(std::string &out) {
        if (frame_.empty()) return;
        std::string payload;
        put_frame_fields(payload, frame_known_, frame_base_ns_);
        payload += frame_;
        append_frame(out, payload);
        frame_.clear();
    }

    // What a new file holds before `frames` (whole frames this writer sealed):
    // the magic, the header, and the definitions those frames rely on.
    std::string file_preamble(std::string_view frames, std::int64_t created_ns) const {
        binary_format::Known known;
        if (frames.size() > binary_format::frame_header_bytes) {
            binary_format::Cursor payload{frames.substr(binary_format::frame_header_bytes)};
            known.strings = payload.varint();
            known.shapes = payload.varint();
            known.bounds = payload.varint();
        }
        std::string payload;
        put_frame_fields(payload, {}, 0);
        binary_format::put_varint(payload, binary_format::op_header);
        binary_format::put_varint(payload, binary_format::version);
        put_text(payload, host_);
        put_text(payload, writer_);
        binary_format::put_varint(payload, binary_format::zigzag(created_ns));
        for (std::uint64_t i = 0; i < known.strings; ++i) define_string(payload, strings_[i]);
        for (std::uint64_t i = 0; i < known.shapes; ++i) payload += shapes_[i].definition;
        for (std::uint64_t i = 0; i < known.bounds; ++i) payload += bounds_[i];
        std::string out(binary_format::magic);
        append_frame(out, payload);
        return out;
    }

    // The length of the longest run of whole frames at the start of `data`
    // that is at most `limit` bytes; the first frame alone if it is longer.
    static std::size_t whole_frames(std::string_view data, std::size_t limit) {
        std::size_t end = 0;
        while (end + binary_format::frame_header_bytes <= data.size()) {
            std::size_t next = end + binary_format::frame_header_bytes + binary_format::get_u32le(data.data() + end);
            if (next > data.size() || (end > 0 && next > limit)) break;
            end = next;
        }
        return end;
    }

private:
    struct Shape {
        std::string definition;  // the op_shape bytes, also the content key
        const sonde_record_info *info = nullptr;  // the declaration last seen with this shape
        std::uint64_t input = 0, name = 0;         // string ids
        std::vector<std::uint32_t> types;          // of each attribute, then of the value
        binary_format::ShapeFields fields{};
        binary_format::Predictor predictor;
    };

    void append_record(const sonde_record_info &info, std::int64_t time_ns, const sonde_value *values,
                       std::uint32_t value_count, const sonde_metric_point *point) {
        using namespace binary_format;
        const std::uint32_t n = std::min(value_count, info.attribute_count);
        if (frame_.empty()) open_frame(time_ns);
        const std::uint32_t value_type = point && info.metric_kind != SONDE_METRIC_HISTOGRAM ? point->value.type : 0;
        Shape &shape = shapes_[shape_id(info, values, n, value_type)];
        Predictor &p = shape.predictor;
        if (p.frame != frame_number_) {
            p = Predictor{frame_number_, frame_base_ns_, std::vector<PreviousValue>(shape.fields.count()), 0};
        }
        // Interning may define strings: do it before the record's bytes start.
        current_.resize(shape.fields.count());
        for (std::uint32_t i = 0; i < n; ++i) current_[i] = field_value(values[i]);
        std::uint32_t f = n;
        if (shape.fields.start_time) current_[f++] = Field{static_cast<std::uint64_t>(point->start_time_ns), 0, {}};
        if (shape.fields.value) current_[f++] = field_value(point->value);
        static const sonde_histogram no_histogram{sizeof(sonde_histogram), 0, nullptr, nullptr, 0, 0};
        const sonde_histogram &histogram = point && point->histogram ? *point->histogram : no_histogram;
        const std::uint64_t bounds = shape.fields.histogram ? bounds_id(histogram) : 0;

        put_varint(frame_, first_shape_op + static_cast<std::uint64_t>(&shape - shapes_.data()));
        put_varint(frame_, zigzag(static_cast<std::int64_t>(static_cast<std::uint64_t>(time_ns) - static_cast<std::uint64_t>(p.time_ns))));
        p.time_ns = time_ns;
        // Which fields changed, then the changed ones.
        std::uint64_t mask = 0;
        for (std::uint32_t i = 0; i < current_.size(); ++i) {
            if (changed(current_[i], p.fields[i])) mask |= 1ull << (i % 64);
            if (i % 64 == 63 || i + 1 == current_.size()) {
                put_varint(frame_, mask);
                mask = 0;
            }
        }
        for (std::uint32_t i = 0; i < current_.size(); ++i) {
            if (!changed(current_[i], p.fields[i])) continue;
            put_field(field_type(shape.fields, shape.types, i), current_[i], p.fields[i]);
        }
        if (shape.fields.histogram) put_histogram(histogram, bounds, p);
    }

    struct Field {
        std::uint64_t bits;
        std::uint64_t string;  // id + 1, or 0 for inline
        std::string_view text;
    };

    Field field_value(const sonde_value &v) {
        switch (v.type) {
            case SONDE_VALUE_INT: return {static_cast<std::uint64_t>(v.as.i), 0, {}};
            case SONDE_VALUE_UINT: return {v.as.u, 0, {}};
            case SONDE_VALUE_DOUBLE: return {std::bit_cast<std::uint64_t>(v.as.d), 0, {}};
            case SONDE_VALUE_BOOL: return {v.as.b ? 1u : 0u, 0, {}};
            case SONDE_VALUE_STRING: {
                std::string_view text(v.as.s.data, v.as.s.size);
                return {0, intern(text), text};
            }
            default: return {0, 0, {}};
        }
    }

    static bool changed(const Field &now, const binary_format::PreviousValue &before) {
        if (now.bits != before.bits || now.string != before.string) return true;
        return now.string == 0 && now.text != before.inline_text;
    }

    void put_field(std::uint32_t type, const Field &now, binary_format::PreviousValue &before) {
        using namespace binary_format;
        switch (type) {
            case SONDE_VALUE_INT:
            case SONDE_VALUE_UINT:
                put_varint(frame_, zigzag(static_cast<std::int64_t>(now.bits - before.bits)));
                break;
            case SONDE_VALUE_DOUBLE:
                put_varint(frame_, double_delta(std::bit_cast<double>(now.bits), std::bit_cast<double>(before.bits)));
                break;
            case SONDE_VALUE_STRING:
                put_varint(frame_, now.string);
                if (now.string == 0) {
                    put_text(frame_, now.text);
                    before.inline_text.assign(now.text);
                }
                break;
            default: break;  // bool: a change is a flip; others carry nothing
        }
        before.bits = now.bits;
        before.string = now.string;
    }

    void put_histogram(const sonde_histogram &h, std::uint64_t bounds, binary_format::Predictor &p) {
        using namespace binary_format;
        put_varint(frame_, bounds);
        put_varint(frame_, h.count);
        put_varint(frame_, double_delta(h.sum, p.sum));
        p.sum = h.sum;
        // Buckets as (gap, count) pairs for the non-empty ones.
        const std::uint32_t buckets = h.bucket_counts ? h.bound_count + 1 : 0;
        std::uint64_t nonzero = 0;
        for (std::uint32_t b = 0; b < buckets; ++b) nonzero += h.bucket_counts[b] != 0;
        put_varint(frame_, nonzero);
        std::uint32_t next = 0;
        for (std::uint32_t b = 0; b < buckets; ++b) {
            if (!h.bucket_counts[b]) continue;
            put_varint(frame_, b - next);
            put_varint(frame_, h.bucket_counts[b]);
            next = b + 1;
        }
    }

    // The id of a histogram's list of bucket bounds, defined in the frame the first time it is seen.
    std::uint64_t bounds_id(const sonde_histogram &h) {
        const std::uint32_t count = h.bucket_counts && h.upper_bounds ? h.bound_count : 0;
        std::string key(reinterpret_cast<const char *>(h.upper_bounds), count * sizeof(double));
        auto [it, added] = bounds_index_.try_emplace(std::move(key), bounds_.size());
        if (added) {
            std::string definition;
            binary_format::put_varint(definition, binary_format::op_bounds);
            binary_format::put_varint(definition, count);
            double before = 0;
            for (std::uint32_t b = 0; b < count; ++b) {
                binary_format::put_varint(definition, binary_format::double_delta(h.upper_bounds[b], before));
                before = h.upper_bounds[b];
            }
            frame_ += definition;
            bounds_.push_back(std::move(definition));
        }
        return it->second;
    }

    // The shape of this record, defined in the frame the first time it is seen.
    std::size_t shape_id(const sonde_record_info &info, const sonde_value *values, std::uint32_t n, std::uint32_t value_type) {
        types_.resize(n + 1);
        for (std::uint32_t i = 0; i < n; ++i) types_[i] = values[i].type;
        types_[n] = value_type;
        if (last_shape_ < shapes_.size()) {
            const Shape &last = shapes_[last_shape_];
            // A freed declaration's address may be reused: the names must match too.
            if (last.info == &info && last.types == types_ && strings_[last.name] == info.name &&
                strings_[last.input] == info.input_name)
                return last_shape_;
        }
        // Content decides identity; the info pointer only speeds up the common case.
        using namespace binary_format;
        std::string definition;
        put_varint(definition, op_shape);
        put_varint(definition, info.record_kind);
        put_varint(definition, info.record_kind == SONDE_RECORD_METRIC ? info.metric_kind : 0);
        const std::uint64_t input = must_intern(info.input_name), name = must_intern(info.name);
        put_varint(definition, input);
        put_varint(definition, name);
        put_varint(definition, must_intern(info.unit));
        put_varint(definition, n);
        for (std::uint32_t i = 0; i < n; ++i) {
            put_varint(definition, must_intern(info.attribute_keys[i]));
            put_varint(definition, types_[i]);
        }
        put_varint(definition, value_type);
        auto [it, added] = shape_index_.try_emplace(definition, shapes_.size());
        if (added) {
            frame_ += definition;
            shapes_.push_back(Shape{std::move(definition), &info, input, name, types_,
                                    shape_fields(info.record_kind, info.metric_kind, n), {}});
        }
        Shape &shape = shapes_[it->second];
        shape.info = &info;
        shape.types = types_;
        last_shape_ = it->second;
        return last_shape_;
    }

    // A string's id + 1, defining it in the frame if new; 0 when it is
    // written inline instead (too long, or the table is full).
    std::uint64_t intern(std::string_view text) {
        auto it = string_index_.find(text);
        if (it != string_index_.end()) return it->second + 1;
        if (text.size() > binary_format::max_interned_string_bytes ||
            strings_.size() >= binary_format::max_interned_strings)
            return 0;
        strings_.emplace_back(text);
        string_index_.emplace(strings_.back(), strings_.size() - 1);
        define_string(frame_, text);
        return strings_.size();
    }
    // Names, units and keys always get an id (declarations are few).
    std::uint64_t must_intern(const char *text) {
        std::string_view s = text ? text : "";
        if (std::uint64_t id = intern(s)) return id - 1;
        strings_.emplace_back(s);
        string_index_.emplace(strings_.back(), strings_.size() - 1);
        define_string(frame_, s);
        return strings_.size() - 1;
    }

    void open_frame(std::int64_t base_ns) {
        ++frame_number_;
        frame_base_ns_ = base_ns;
        frame_known_ = {strings_.size(), shapes_.size(), bounds_.size()};
    }

    static void define_string(std::string &out, std::string_view text) {
        binary_format::put_varint(out, binary_format::op_string);
        put_text(out, text);
    }
    static void put_text(std::string &out, std::string_view text) {
        binary_format::put_varint(out, text.size());
        out += text;
    }
    static void put_frame_fields(std::string &out, const binary_format::Known &known, std::int64_t base_ns) {
        binary_format::put_varint(out, known.strings);
        binary_format::put_varint(out, known.shapes);
        binary_format::put_varint(out, known.bounds);
        binary_format::put_varint(out, binary_format::zigzag(base_ns));
    }
    static void append_frame(std::string &out, std::string_view payload) {
        char header[binary_format::frame_header_bytes];
        binary_format::put_u32le(header, static_cast<std::uint32_t>(payload.size()));
        binary_format::put_u32le(header + 4, binary_format::checksum(payload));
        out.append(header, sizeof header);
        out += payload;
    }

    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    std::string host_, writer_;
    std::string frame_;  // payload of the frame in progress, after its header fields
    std::uint64_t frame_number_ = 0;
    binary_format::Known frame_known_;
    std::int64_t frame_base_ns_ = 0;
    std::deque<std::string> strings_;  // stable addresses for the index's keys
    std::unordered_map<std::string_view, std::uint32_t, StringHash, std::equal_to<>> string_index_;
    std::vector<Shape> shapes_;
    std::unordered_map<std::string, std::size_t> shape_index_;
    std::vector<std::string> bounds_;  // op_bounds definitions, by id
    std::unordered_map<std::string, std::size_t> bounds_index_;  // raw doubles -> id
    std::size_t last_shape_ = SIZE_MAX;
    std::vector<std::uint32_t> types_;
    std::vector<Field> current_;
};

class RecordBinaryReader {
public:
    struct Header {
        std::uint64_t version = 0;
        std::string host, writer;
        std::int64_t created_ns = 0;
    };
    // Where reading stopped early, and why.
    struct Damage {
        std::size_t offset;  // byte offset in the file of the damaged frame
        std::string what;
    };
    // Called for each record with the shape's info and either a point or an event.
    using RecordFn = std::function<void(const sonde_record_info &, const sonde_metric_point *, const sonde_event *)>;

    static bool is_binary(std::string_view data) { return data.substr(0, binary_format::magic.size()) == binary_format::magic; }

    // Decodes a whole file; returns the first damage, after calling fn for
    // every record before it.
    std::optional<Damage> read(std::string_view file, const RecordFn &fn) {
        using namespace binary_format;
        if (!is_binary(file)) return Damage{0, "not a sonde binary file (bad magic number)"};
        std::size_t at = magic.size();
        while (at < file.size()) {
            if (file.size() - at < frame_header_bytes)
                return Damage{at, "torn frame (" + std::to_string(file.size() - at) + " bytes, less than a frame header)"};
            std::size_t length = get_u32le(file.data() + at);
            if (length > max_frame_bytes) return Damage{at, "corrupt frame (length " + std::to_string(length) + ")"};
            if (length > file.size() - at - frame_header_bytes)
                return Damage{at, "torn frame (" + std::to_string(length) + " bytes announced, " +
                                      std::to_string(file.size() - at - frame_header_bytes) + " present)"};
            std::string_view payload = file.substr(at + frame_header_bytes, length);
            if (checksum(payload) != get_u32le(file.data() + at + 4)) return Damage{at, "corrupt frame (checksum mismatch)"};
            if (auto error = read_frame(payload, at == magic.size(), fn)) return Damage{at, "corrupt frame (" + *error + ")"};
            at += frame_header_bytes + length;
        }
        if (header_.version == 0) return Damage{at, "no header frame"};
        return std::nullopt;
    }

    const Header &header() const { return header_; }

private:
    struct Shape {
        std::vector<const char *> keys;    // into strings_
        std::vector<std::uint32_t> types;  // of each attribute, then of the value
        sonde_record_info info{};
        binary_format::ShapeFields fields{};
        binary_format::Predictor predictor;
    };


    std::optional<std::string> read_frame(std::string_view payload, bool first, const RecordFn &fn) {
        using namespace binary_format;
        Cursor in{payload};
        Known expected;
        expected.strings = in.varint();
        expected.shapes = in.varint();
        expected.bounds = in.varint();
        std::int64_t base_ns = unzigzag(in.varint());
        if (in.failed) return "truncated frame header";
        const Known known{strings_.size(), shapes_.size(), bounds_.size()};
        if (!(expected == known))
            return "it expects " + std::to_string(expected.strings) + " strings, " + std::to_string(expected.shapes) +
                   " shapes and " + std::to_string(expected.bounds) + " bound lists defined before it, the file has " +
                   std::to_string(known.strings) + ", " + std::to_string(known.shapes) + " and " +
                   std::to_string(known.bounds);
        ++frame_number_;
        bool header_seen = !first;
        while (!in.rest.empty()) {
            std::uint64_t op = in.varint();
            if (!header_seen && op != op_header) return "the file does not start with a header";
            if (op == op_header) {
                if (!first || header_seen) return "a header in the middle of the file";
                header_seen = true;
                header_.version = in.varint();
                if (header_.version != version) return "format version " + std::to_string(header_.version) + " (this reader knows 1)";
                header_.host = in.text();
                header_.writer = in.text();
                header_.created_ns = unzigzag(in.varint());
            } else if (op == op_string) {
                strings_.emplace_back(in.text());
            } else if (op == op_shape) {
                if (auto error = read_shape(in)) return error;
            } else if (op == op_bounds) {
                std::uint64_t count = in.varint();
                if (count > 65536) return "bad bounds definition";
                auto &bounds = bounds_.emplace_back();
                double before = 0;
                for (std::uint64_t b = 0; b < count && !in.failed; ++b) bounds.push_back(before = undo_double_delta(in.varint(), before));
            } else if (op >= first_shape_op && op - first_shape_op < shapes_.size()) {
                if (auto error = read_record(in, shapes_[op - first_shape_op], base_ns, fn)) return error;
            } else {
                return "unknown operation " + std::to_string(op);
            }
            if (in.failed) return "a record runs past the end of the frame";
        }
        if (!header_seen) return "empty header frame";
        return std::nullopt;
    }

    std::optional<std::string> read_shape(binary_format::Cursor &in) {
        std::uint64_t record_kind = in.varint(), metric_kind = in.varint();
        std::uint64_t input = in.varint(), name = in.varint(), unit = in.varint(), n = in.varint();
        if (in.failed || n > 4096 || input >= strings_.size() || name >= strings_.size() || unit >= strings_.size())
            return "bad shape definition";
        if (record_kind != SONDE_RECORD_METRIC && record_kind != SONDE_RECORD_EVENT) return "bad record kind";
        Shape &shape = shapes_.emplace_back();  // a deque: the info's pointers into it stay valid
        for (std::uint64_t i = 0; i <= n; ++i) {
            if (i < n) {
                std::uint64_t key = in.varint();
                if (key >= strings_.size()) {
                    shapes_.pop_back();
                    return "undefined string " + std::to_string(key);
                }
                shape.keys.push_back(strings_[key].c_str());
            }
            shape.types.push_back(static_cast<std::uint32_t>(in.varint()));
        }
        shape.info = sonde_record_info{sizeof(sonde_record_info), static_cast<std::uint32_t>(record_kind),
                                       static_cast<std::uint32_t>(metric_kind), static_cast<std::uint32_t>(n),
                                       strings_[name].c_str(), strings_[unit].c_str(), "", shape.keys.data(),
                                       strings_[input].c_str()};
        shape.fields = binary_format::shape_fields(shape.info.record_kind, shape.info.metric_kind, shape.info.attribute_count);
        return std::nullopt;
    }

    std::optional<std::string> read_record(binary_format::Cursor &in, Shape &shape, std::int64_t base_ns, const RecordFn &fn) {
        using namespace binary_format;
        Predictor &p = shape.predictor;
        if (p.frame != frame_number_) p = Predictor{frame_number_, base_ns, std::vector<PreviousValue>(shape.fields.count()), 0};
        p.time_ns = static_cast<std::int64_t>(static_cast<std::uint64_t>(p.time_ns) + static_cast<std::uint64_t>(unzigzag(in.varint())));
        const std::uint32_t field_count = shape.fields.count();
        masks_.clear();
        for (std::uint32_t i = 0; i < field_count; i += 64) masks_.push_back(in.varint());
        const std::uint32_t n = shape.fields.attributes;
        for (std::uint32_t i = 0; i < field_count; ++i) {
            if (!(masks_[i / 64] >> (i % 64) & 1)) continue;
            PreviousValue &before = p.fields[i];
            switch (field_type(shape.fields, shape.types, i)) {
                case SONDE_VALUE_INT:
                case SONDE_VALUE_UINT: before.bits += static_cast<std::uint64_t>(unzigzag(in.varint())); break;
                case SONDE_VALUE_DOUBLE:
                    before.bits = std::bit_cast<std::uint64_t>(undo_double_delta(in.varint(), std::bit_cast<double>(before.bits)));
                    break;
                case SONDE_VALUE_BOOL: before.bits ^= 1; break;
                case SONDE_VALUE_STRING:
                    before.string = in.varint();
                    if (before.string == 0) before.inline_text = in.text();
                    else if (before.string > strings_.size()) return "undefined string " + std::to_string(before.string - 1);
                    break;
                default: break;
            }
        }
        values_.resize(n);
        for (std::uint32_t i = 0; i < n; ++i) values_[i] = to_value(shape.types[i], p.fields[i]);
        if (shape.info.record_kind == SONDE_RECORD_EVENT) {
            sonde_event event{sizeof(sonde_event), n, values_.data(), p.time_ns};
            fn(shape.info, nullptr, &event);
            return std::nullopt;
        }
        sonde_metric_point point{};
        point.struct_size = sizeof point;
        point.attribute_count = n;
        point.attributes = values_.data();
        point.time_ns = p.time_ns;
        std::uint32_t f = n;
        if (shape.fields.start_time) point.start_time_ns = static_cast<std::int64_t>(p.fields[f++].bits);
        if (shape.fields.value) point.value = to_value(shape.types[n], p.fields[f]);
        sonde_histogram histogram{};
        if (shape.fields.histogram) {
            if (auto error = read_histogram(in, p, histogram)) return error;
            point.histogram = &histogram;
        }
        fn(shape.info, &point, nullptr);
        return std::nullopt;
    }

    std::optional<std::string> read_histogram(binary_format::Cursor &in, binary_format::Predictor &p, sonde_histogram &h) {
        using namespace binary_format;
        std::uint64_t bounds = in.varint();
        if (in.failed || bounds >= bounds_.size()) return "undefined bounds " + std::to_string(bounds);
        const std::vector<double> &upper_bounds = bounds_[bounds];
        const std::size_t bound_count = upper_bounds.size();
        h.struct_size = sizeof h;
        h.bound_count = static_cast<std::uint32_t>(bound_count);
        h.count = in.varint();
        p.sum = h.sum = undo_double_delta(in.varint(), p.sum);
        counts_.assign(bound_count + 1, 0);
        std::uint64_t nonzero = in.varint(), next = 0;
        for (std::uint64_t i = 0; i < nonzero && !in.failed; ++i) {
            next += in.varint();
            if (next > bound_count) return "histogram bucket out of range";
            counts_[next++] = in.varint();
        }
        h.upper_bounds = upper_bounds.data();
        h.bucket_counts = counts_.data();
        return std::nullopt;
    }

    sonde_value to_value(std::uint32_t type, const binary_format::PreviousValue &v) const {
        sonde_value out{};
        out.type = type;
        switch (type) {
            case SONDE_VALUE_INT: out.as.i = static_cast<std::int64_t>(v.bits); break;
            case SONDE_VALUE_UINT: out.as.u = v.bits; break;
            case SONDE_VALUE_DOUBLE: out.as.d = std::bit_cast<double>(v.bits); break;
            case SONDE_VALUE_BOOL: out.as.b = v.bits ? 1 : 0; break;
            case SONDE_VALUE_STRING: {
                const std::string &s = v.string ? strings_[v.string - 1] : v.inline_text;
                out.as.s = sonde_str{s.data(), s.size()};
                break;
            }
            default: break;
        }
        return out;
    }

    Header header_;
    std::deque<std::string> strings_;
    std::deque<Shape> shapes_;
    std::deque<std::vector<double>> bounds_;
    std::uint64_t frame_number_ = 0;
    std::vector<std::uint64_t> masks_;
    std::vector<sonde_value> values_;
    std::vector<std::uint64_t> counts_;
};

}  // namespace sonde
