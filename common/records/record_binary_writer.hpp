// Encodes record batches into the compact binary format
// (docs/binary-format.md), for sinks: frames into a caller's buffer, and the
// preamble that lets each file a sink starts read on its own.
#pragma once

#include "records/binary_format.hpp"

#include <algorithm>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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
        masks_.assign((current_.size() + 63) / 64, 0);
        for (std::uint32_t i = 0; i < current_.size(); ++i)
            if (changed(current_[i], p.fields[i])) masks_[i / 64] |= 1ull << (i % 64);
        for (std::uint64_t mask : masks_) put_varint(frame_, mask);
        for (std::uint32_t i = 0; i < current_.size(); ++i)
            if (masks_[i / 64] >> (i % 64) & 1) put_field(field_type(shape.fields, shape.types, i), current_[i], p.fields[i]);
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
        return add_string(text) + 1;
    }
    // Names, units and keys always get an id (declarations are few).
    std::uint64_t must_intern(const char *text) {
        std::string_view s = text ? text : "";
        if (std::uint64_t id = intern(s)) return id - 1;
        return add_string(s);
    }
    // Defines a new string in the frame; returns its id.
    std::uint64_t add_string(std::string_view text) {
        strings_.emplace_back(text);
        string_index_.emplace(strings_.back(), strings_.size() - 1);
        define_string(frame_, text);
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
    std::vector<std::uint64_t> masks_;  // of the record being written
};

}  // namespace sonde
