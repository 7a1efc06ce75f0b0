// Decodes a file of the compact binary format (docs/binary-format.md) back
// into the C structs an emitter passes, so a tool prints the records with
// RecordJsonWriter exactly as the JSON-lines sink would have; stops at the
// first damage and says where it starts.
#pragma once

#include "records/binary_format.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sonde {

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
        if (auto damage = feed(file, fn)) return damage;
        return finish();
    }

    // Incremental decoding: hand the file's bytes in pieces of any size, in
    // order, then call finish() at its end. fn runs for each record as soon as
    // its frame is complete. What is held between calls is at most one
    // incomplete frame (max_frame_bytes) plus the file's definitions (at most
    // max_definition_bytes). Returns the first damage once found (and again
    // on every later call); damage offsets are offsets in the whole file.
    std::optional<Damage> feed(std::string_view bytes, const RecordFn &fn) {
        if (damage_) return damage_;
        std::string_view data = bytes;
        if (!pending_.empty()) {
            pending_.append(bytes);
            data = pending_;
        }
        const std::size_t used = decode_frames(data, fn);
        if (damage_) {
            pending_.clear();
            return damage_;
        }
        if (pending_.empty()) pending_.assign(data.substr(used));
        else pending_.erase(0, used);
        consumed_ += used;
        return std::nullopt;
    }

    // The end of the file: a partial frame left over is a torn frame.
    std::optional<Damage> finish() {
        using namespace binary_format;
        if (damage_) return damage_;
        if (!magic_seen_) return damage_ = Damage{0, "not a sonde binary file (bad magic number)"};
        const std::size_t left = pending_.size();
        if (left > 0 && left < frame_header_bytes)
            return damage_ = Damage{consumed_, "torn frame (" + std::to_string(left) + " bytes, less than a frame header)"};
        if (left > 0)
            return damage_ = Damage{consumed_, "torn frame (" + std::to_string(get_u32le(pending_.data())) +
                                                   " bytes announced, " + std::to_string(left - frame_header_bytes) +
                                                   " present)"};
        if (header_.version == 0) return damage_ = Damage{consumed_, "no header frame"};
        return std::nullopt;
    }

    // Definitions (strings, shapes, bucket bounds) a file may hold before it
    // is taken as damaged. A writer defines at most max_interned_strings short
    // strings plus its declarations' names (a few MiB); the cap keeps a
    // hostile file from growing the reader without bound.
    static constexpr std::size_t max_definition_bytes = 64u << 20;

    const Header &header() const { return header_; }

private:
    // Decodes the whole frames at the start of data (which starts at file
    // offset consumed_); returns how many bytes they took. Sets damage_.
    std::size_t decode_frames(std::string_view data, const RecordFn &fn) {
        using namespace binary_format;
        std::size_t at = 0;
        if (!magic_seen_) {
            const std::size_t n = std::min(data.size(), magic.size());
            if (data.substr(0, n) != magic.substr(0, n)) {
                damage_ = Damage{0, "not a sonde binary file (bad magic number)"};
                return 0;
            }
            if (n < magic.size()) return 0;
            magic_seen_ = true;
            at = magic.size();
        }
        while (data.size() - at >= frame_header_bytes) {
            const std::size_t file_at = consumed_ + at;
            const std::size_t length = get_u32le(data.data() + at);
            if (length > max_frame_bytes) {
                damage_ = Damage{file_at, "corrupt frame (length " + std::to_string(length) + ")"};
                return at;
            }
            if (length > data.size() - at - frame_header_bytes) break;  // the rest comes later
            std::string_view payload = data.substr(at + frame_header_bytes, length);
            if (checksum(payload) != get_u32le(data.data() + at + 4)) {
                damage_ = Damage{file_at, "corrupt frame (checksum mismatch)"};
                return at;
            }
            if (auto error = read_frame(payload, file_at == magic.size(), fn)) {
                damage_ = Damage{file_at, "corrupt frame (" + *error + ")"};
                return at;
            }
            at += frame_header_bytes + length;
        }
        return at;
    }

    // Counts a definition's memory; false past max_definition_bytes.
    bool define(std::size_t bytes) {
        definition_bytes_ += bytes;
        return definition_bytes_ <= max_definition_bytes;
    }

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
                std::string_view text = in.text();
                if (!define(sizeof(std::string) + text.size())) return too_many_definitions();
                strings_.emplace_back(text);
            } else if (op == op_shape) {
                if (auto error = read_shape(in)) return error;
            } else if (op == op_bounds) {
                std::uint64_t count = in.varint();
                if (count > 65536) return "bad bounds definition";
                if (!define(sizeof(std::vector<double>) + count * sizeof(double))) return too_many_definitions();
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
        if (!define(sizeof(Shape) + (n + 1) * (sizeof(const char *) + sizeof(std::uint32_t) + sizeof(binary_format::PreviousValue))))
            return too_many_definitions();
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

    static std::string too_many_definitions() {
        return "definitions exceed " + std::to_string(max_definition_bytes >> 20) + " MiB";
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
    // Incremental state: bytes of an incomplete frame, bytes decoded before
    // them, and the first damage.
    std::string pending_;
    std::size_t consumed_ = 0;
    bool magic_seen_ = false;
    std::optional<Damage> damage_;
    std::size_t definition_bytes_ = 0;
    std::deque<std::string> strings_;
    std::deque<Shape> shapes_;
    std::deque<std::vector<double>> bounds_;
    std::uint64_t frame_number_ = 0;
    std::vector<std::uint64_t> masks_;
    std::vector<sonde_value> values_;
    std::vector<std::uint64_t> counts_;
};

}  // namespace sonde
