#include "runtime/records.hpp"

#include <sonde/utf8.hpp>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace sonde::core {

namespace {

bool valid_value_type(std::uint32_t type) { return type >= SONDE_VALUE_INT && type <= SONDE_VALUE_STRING; }

const char *or_empty(const char *s) { return s ? s : ""; }

std::string_view view(const sonde_str &s) { return s.size ? std::string_view(s.data, s.size) : std::string_view(); }

// Empty when `text` is valid UTF-8, else why not, naming `what` and the offset.
std::string utf8_error(std::string_view what, std::string_view text) {
    const std::size_t at = utf8::valid_prefix(text);
    if (at == text.size()) return {};
    static constexpr char hex[] = "0123456789abcdef";
    const auto byte = static_cast<unsigned char>(text[at]);
    return std::string(what) + " is not valid UTF-8 (byte 0x" + hex[byte >> 4] + hex[byte & 15] + " at offset " +
           std::to_string(at) + " of \"" + utf8::repaired(text) + "\")";
}

// The first declared string besides the name that is not valid UTF-8, as an
// error; else empty.
std::string declaration_utf8_error(const sonde_record_decl &decl) {
    std::string error = utf8_error("unit", or_empty(decl.unit));
    if (error.empty()) error = utf8_error("description", or_empty(decl.description));
    for (std::uint32_t i = 0; error.empty() && i < decl.attribute_count; ++i)
        error = utf8_error("attribute key " + std::to_string(i), or_empty(decl.attribute_keys[i]));
    return error;
}

// Reads element i of an array whose stride is the first element's struct_size.
template <typename T>
const T &element(const T *first, std::size_t i) {
    return *reinterpret_cast<const T *>(reinterpret_cast<const char *>(first) + i * first->struct_size);
}

bool same_declaration(const RecordDeclaration &d, const sonde_record_decl &decl) {
    if (d.info.record_kind != decl.record_kind || d.unit != or_empty(decl.unit) ||
        d.attribute_keys.size() != decl.attribute_count)
        return false;
    if (decl.record_kind == SONDE_RECORD_METRIC && d.info.metric_kind != decl.metric_kind) return false;
    for (std::uint32_t i = 0; i < decl.attribute_count; ++i)
        if (d.attribute_keys[i] != or_empty(decl.attribute_keys[i])) return false;
    return true;
}

}  // namespace

sonde_status DeclarationTable::declare(const sonde_record_decl &decl, std::uint32_t &out_id, std::string &error) {
    if (decl.struct_size < sizeof(sonde_record_decl) || !decl.name || !*decl.name) {
        error = "declaration without a name";
        return SONDE_ERR_ARGUMENT;
    }
    if (std::string why = utf8_error("record name", decl.name); !why.empty()) {
        error = why;
        return SONDE_ERR_ARGUMENT;
    }
    if (decl.record_kind != SONDE_RECORD_METRIC && decl.record_kind != SONDE_RECORD_EVENT) {
        error = std::string(decl.name) + ": unknown record kind";
        return SONDE_ERR_ARGUMENT;
    }
    if (decl.record_kind == SONDE_RECORD_METRIC &&
        (decl.metric_kind < SONDE_METRIC_GAUGE || decl.metric_kind > SONDE_METRIC_HISTOGRAM)) {
        error = std::string(decl.name) + ": unknown metric kind";
        return SONDE_ERR_ARGUMENT;
    }
    if (decl.attribute_count && !decl.attribute_keys) {
        error = std::string(decl.name) + ": attribute keys missing";
        return SONDE_ERR_ARGUMENT;
    }
    if (std::string why = declaration_utf8_error(decl); !why.empty()) {
        error = std::string(decl.name) + ": " + why;
        return SONDE_ERR_ARGUMENT;
    }
    std::lock_guard lock(mutex_);
    for (std::uint32_t id = 0; id < declarations_.size(); ++id) {
        if (declarations_[id].name != decl.name) continue;
        if (same_declaration(declarations_[id], decl)) {
            out_id = id;
            return SONDE_OK;
        }
        error = std::string(decl.name) + ": declared twice with different shapes";
        return SONDE_ERR_ARGUMENT;
    }
    RecordDeclaration &d = declarations_.emplace_back();
    d.name = decl.name;
    d.unit = or_empty(decl.unit);
    d.description = or_empty(decl.description);
    for (std::uint32_t i = 0; i < decl.attribute_count; ++i) d.attribute_keys.emplace_back(or_empty(decl.attribute_keys[i]));
    for (const auto &key : d.attribute_keys) d.attribute_key_pointers.push_back(key.c_str());
    d.info.struct_size = sizeof d.info;
    d.info.record_kind = decl.record_kind;
    d.info.metric_kind = decl.record_kind == SONDE_RECORD_METRIC ? decl.metric_kind : 0;
    d.info.attribute_count = decl.attribute_count;
    d.info.name = d.name.c_str();
    d.info.unit = d.unit.c_str();
    d.info.description = d.description.c_str();
    d.info.attribute_keys = d.attribute_key_pointers.data();
    d.info.input_name = input_name_.c_str();
    out_id = static_cast<std::uint32_t>(declarations_.size() - 1);
    return SONDE_OK;
}

const RecordDeclaration *DeclarationTable::find(std::uint32_t id) const {
    std::lock_guard lock(mutex_);
    return id < declarations_.size() ? &declarations_[id] : nullptr;
}

std::vector<const RecordDeclaration *> DeclarationTable::all() const {
    std::lock_guard lock(mutex_);
    std::vector<const RecordDeclaration *> out;
    for (const auto &d : declarations_) out.push_back(&d);
    return out;
}

sonde_record_group Batch::group() const {
    sonde_record_group g{};
    g.struct_size = sizeof g;
    g.info = &declaration_->info;
    g.points = points_.empty() ? nullptr : points_.data();
    g.events = events_.empty() ? nullptr : events_.data();
    g.count = size();
    return g;
}

std::size_t Batch::string_bytes(const sonde_value *values, std::size_t count) {
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < count; ++i)
        if (values[i].type == SONDE_VALUE_STRING) bytes += values[i].as.s.size;
    return bytes;
}

// Appends values, re-pointing strings into strings_ (capacity reserved by caller).
void Batch::copy_attributes(const sonde_value *values, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        sonde_value v = values[i];
        if (v.type == SONDE_VALUE_STRING) {
            std::size_t at = strings_.size();
            strings_.insert(strings_.end(), v.as.s.data, v.as.s.data + v.as.s.size);
            v.as.s.data = strings_.data() + at;
        }
        values_.push_back(v);
    }
}

void Batch::repair_strings() {
    // The common case costs one scan of the batch's string bytes, eight at a time.
    if (utf8::is_ascii(std::string_view(strings_.data(), strings_.size()))) return;
    auto invalid = [](const sonde_value &v) { return v.type == SONDE_VALUE_STRING && !utf8::is_valid(view(v.as.s)); };
    if (std::none_of(values_.begin(), values_.end(), invalid)) return;
    std::size_t repaired_total = 0;
    for (const sonde_value &v : values_)
        if (v.type == SONDE_VALUE_STRING) repaired_total += utf8::repaired_size(view(v.as.s));
    std::vector<char> repaired;
    repaired.reserve(repaired_total);  // exact: pointers taken below stay valid
    for (sonde_value &v : values_) {
        if (v.type != SONDE_VALUE_STRING) continue;
        const std::size_t at = repaired.size();
        repaired_strings_ += invalid(v);
        utf8::for_each_repaired(view(v.as.s), [&](std::string_view piece) {
            repaired.insert(repaired.end(), piece.begin(), piece.end());
        });
        v.as.s.data = repaired.data() + at;
        v.as.s.size = repaired.size() - at;
    }
    strings_.swap(repaired);  // swapping keeps each buffer where it is
}

sonde_status Batch::copy_metrics(std::shared_ptr<const DeclarationTable> table, const RecordDeclaration &declaration,
                                 const sonde_metric_point *points, std::size_t count, std::int64_t now_ns,
                                 std::int64_t start_ns) {
    const std::uint32_t attributes = declaration.info.attribute_count;
    const bool histogram = declaration.info.metric_kind == SONDE_METRIC_HISTOGRAM;
    if (count && points->struct_size < sizeof(sonde_metric_point)) return SONDE_ERR_ARGUMENT;
    // First pass: validate and size everything, so pointers taken below stay valid.
    std::size_t string_total = 0, bound_total = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const sonde_metric_point &p = element(points, i);
        if (p.attribute_count != attributes || (attributes && !p.attributes)) return SONDE_ERR_ARGUMENT;
        for (std::uint32_t a = 0; a < attributes; ++a)
            if (!valid_value_type(p.attributes[a].type)) return SONDE_ERR_ARGUMENT;
        string_total += string_bytes(p.attributes, attributes);
        if (histogram) {
            if (!p.histogram || p.histogram->struct_size < sizeof(sonde_histogram) ||
                (p.histogram->bound_count && !p.histogram->upper_bounds) || !p.histogram->bucket_counts)
                return SONDE_ERR_ARGUMENT;
            bound_total += p.histogram->bound_count;
        } else if (p.value.type != SONDE_VALUE_INT && p.value.type != SONDE_VALUE_UINT &&
                   p.value.type != SONDE_VALUE_DOUBLE) {
            return SONDE_ERR_ARGUMENT;
        }
    }
    clear();
    table_ = std::move(table);
    declaration_ = &declaration;
    points_.reserve(count);
    values_.reserve(count * attributes);
    strings_.reserve(string_total);
    if (histogram) {
        histograms_.reserve(count);
        bounds_.reserve(bound_total);
        counts_.reserve(bound_total + count);
    }
    for (std::size_t i = 0; i < count; ++i) {
        const sonde_metric_point &p = element(points, i);
        sonde_metric_point copy{};
        copy.struct_size = sizeof copy;
        copy.attribute_count = attributes;
        copy.attributes = values_.data() + values_.size();
        copy_attributes(p.attributes, attributes);
        copy.time_ns = p.time_ns ? p.time_ns : now_ns;
        copy.start_time_ns = p.start_time_ns ? p.start_time_ns : start_ns;
        copy.value = p.value;
        if (histogram) {
            const sonde_histogram &h = *p.histogram;
            sonde_histogram hc{};
            hc.struct_size = sizeof hc;
            hc.bound_count = h.bound_count;
            hc.upper_bounds = bounds_.data() + bounds_.size();
            bounds_.insert(bounds_.end(), h.upper_bounds, h.upper_bounds + h.bound_count);
            hc.bucket_counts = counts_.data() + counts_.size();
            counts_.insert(counts_.end(), h.bucket_counts, h.bucket_counts + h.bound_count + 1);
            hc.count = h.count;
            hc.sum = h.sum;
            histograms_.push_back(hc);
            copy.histogram = &histograms_.back();
        }
        points_.push_back(copy);
    }
    repair_strings();
    return SONDE_OK;
}

sonde_status Batch::copy_events(std::shared_ptr<const DeclarationTable> table, const RecordDeclaration &declaration,
                                const sonde_event *events, std::size_t count, std::int64_t now_ns) {
    const std::uint32_t attributes = declaration.info.attribute_count;
    if (count && events->struct_size < sizeof(sonde_event)) return SONDE_ERR_ARGUMENT;
    std::size_t string_total = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const sonde_event &e = element(events, i);
        if (e.attribute_count != attributes || (attributes && !e.attributes)) return SONDE_ERR_ARGUMENT;
        for (std::uint32_t a = 0; a < attributes; ++a)
            if (!valid_value_type(e.attributes[a].type)) return SONDE_ERR_ARGUMENT;
        string_total += string_bytes(e.attributes, attributes);
    }
    clear();
    table_ = std::move(table);
    declaration_ = &declaration;
    events_.reserve(count);
    values_.reserve(count * attributes);
    strings_.reserve(string_total);
    for (std::size_t i = 0; i < count; ++i) {
        const sonde_event &e = element(events, i);
        sonde_event copy{};
        copy.struct_size = sizeof copy;
        copy.attribute_count = attributes;
        copy.attributes = values_.data() + values_.size();
        copy_attributes(e.attributes, attributes);
        copy.time_ns = e.time_ns ? e.time_ns : now_ns;
        events_.push_back(copy);
    }
    repair_strings();
    return SONDE_OK;
}

void Batch::clear() {
    table_.reset();
    declaration_ = nullptr;
    points_.clear();
    events_.clear();
    values_.clear();
    strings_.clear();
    repaired_strings_ = 0;
    histograms_.clear();
    bounds_.clear();
    counts_.clear();
}

void BatchRef::release() {
    if (batch_ && batch_->references_.fetch_sub(1, std::memory_order_acq_rel) == 1) batch_->pool_->recycle(batch_);
    batch_ = nullptr;
}

BatchPool::~BatchPool() {
    for (Batch *b : idle_) delete b;
}

BatchRef BatchPool::acquire() {
    Batch *batch = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            batch = idle_.back();
            idle_.pop_back();
        }
    }
    if (!batch) {
        batch = new Batch();
        batch->pool_ = this;
    }
    return BatchRef(batch);
}

void BatchPool::recycle(Batch *batch) {
    batch->clear();
    std::lock_guard lock(mutex_);
    if (idle_.size() < max_idle_) idle_.push_back(batch);
    else delete batch;
}

}  // namespace sonde::core
