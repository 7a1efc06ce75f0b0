// sonde::EventSpec declares an event record; sonde::EventBuffer collects its
// events and emits them in one host call, as MetricBuffer does for points.
#pragma once

#include <sonde/sdk/values.hpp>

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <vector>

namespace sonde {

// An event's declaration: name, one-line description, attribute keys in the
// order values are given.
struct EventSpec {
    const char *name;
    const char *description;
    std::vector<const char *> attribute_keys;
};

class Context;

// The events of one declared event record (from Context::declare(EventSpec)),
// collected and then emitted in one host call. Reuses its buffers: no
// allocation once warm. Not thread-safe: one buffer per collecting thread.
class EventBuffer {
public:
    EventBuffer() = default;
    EventBuffer(std::uint32_t record_id, std::uint32_t attribute_count)
        : record_id_(record_id), attribute_count_(attribute_count) {}

    // One event: one value per declared key, in order (strings are borrowed
    // until emit()); `time_ns` 0 means "now" to the host. Throws
    // std::logic_error when the number of attributes differs from the
    // declaration.
    void add(std::initializer_list<sonde_value> attributes, std::int64_t time_ns = 0) {
        add(attributes.begin(), attributes.size(), time_ns);
    }
    void add(const sonde_value *attributes, std::size_t count, std::int64_t time_ns = 0) {
        if (count != attribute_count_) throw std::logic_error("attribute count differs from declaration");
        sonde_event e{};
        e.struct_size = sizeof e;
        e.attribute_count = attribute_count_;
        e.time_ns = time_ns;
        events_.push_back(e);
        attributes_.insert(attributes_.end(), attributes, attributes + count);
    }

    // Events added since the last emit().
    std::size_t size() const noexcept { return events_.size(); }
    bool empty() const noexcept { return events_.empty(); }
    std::uint32_t record_id() const noexcept { return record_id_; }
    // The record id, as Context::declare(EventSpec) returned before there was
    // an EventBuffer: code that keeps the id and calls Context::emit itself
    // still compiles.
    operator std::uint32_t() const noexcept { return record_id_; }

    // Sends the events to the host and clears the buffer, whatever the host
    // answers; returns its status (Context::emit). Nothing to send is SONDE_OK.
    // Defined in sonde/sdk/context.hpp.
    inline sonde_status emit(Context &ctx);

private:
    std::uint32_t record_id_ = 0;
    std::uint32_t attribute_count_ = 0;
    std::vector<sonde_event> events_;
    std::vector<sonde_value> attributes_;
};

}  // namespace sonde
