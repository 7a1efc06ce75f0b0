// The typed routing table and the per-sink bounded queue.
//
// Routes are compiled once per configuration (and whenever an instance is
// added, removed or declares a record): (input slot, record id) -> sinks.
// Glob matching happens only here, once per distinct record name and sink;
// the emit path is two vector lookups.
#pragma once

#include "config/config.hpp"
#include "runtime/records.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace sonde::core {

// What the router needs to know of an input.
struct RoutedInput {
    std::uint32_t slot;  // stable index of the input instance
    std::string name;
    std::vector<const RecordDeclaration *> declarations;  // index = record id
    SourceLocation location{};                             // its table, for warnings
};

// routes[slot][record_id] = indexes into the sink list given to compile.
class RouteMap {
public:
    static RouteMap compile(const std::vector<RoutedInput> &inputs, const std::vector<Subscription> &sinks);

    const std::vector<std::uint16_t> &sinks_for(std::uint32_t slot, std::uint32_t record_id) const {
        if (slot < routes_.size() && record_id < routes_[slot].size()) return routes_[slot][record_id];
        return none_;
    }
    // Every sink any record of this input goes to.
    const std::vector<std::uint16_t> &sinks_of_input(std::uint32_t slot) const {
        return slot < per_input_.size() ? per_input_[slot] : none_;
    }

private:
    std::vector<std::vector<std::vector<std::uint16_t>>> routes_;
    std::vector<std::vector<std::uint16_t>> per_input_;
    std::vector<std::uint16_t> none_;
};

// True when name matches any of the shell globs (fnmatch rules).
bool glob_any(const std::vector<std::string> &globs, const std::string &name);

// Routes that can never carry anything, one error-shaped warning each,
// pointing at the key or table: an `inputs` glob that names no input
// instance, a `match` glob that matches no record the sink's inputs declare,
// a sink that receives no record at all, and (when there are sinks) an input
// no sink receives anything from. `sinks` are the configurations of the sink
// instances, `inputs` every input instance with its declarations.
std::vector<ConfigError> routing_warnings(const std::vector<RoutedInput> &inputs,
                                                 const std::vector<const InstanceConfig *> &sinks);

// Why the host dropped records on their way to a sink (docs/accounting.md).
// Drops a sink plugin reports itself carry the plugin's own reason tokens.
enum class DropReason : std::uint8_t {
    queue_full,     // the overflow policy made room or refused a batch
    sink_error,     // consume() failed for a reason other than retry
    shutdown,       // still queued when the sink stopped
    output_closed,  // the agent's standard output was closed by its reader
    unreported,     // a reporting sink stopped without reporting them (a sink bug)
    count_
};
const char *to_string(DropReason reason);

// A bounded queue of batches measured in records, with an overflow policy.
// Thread-safe. It also remembers whether a drain is scheduled, so producers
// and the consumer agree on who wakes whom without a lost wake-up.
class SinkQueue {
public:
    SinkQueue(std::size_t capacity_records, OverflowPolicy policy) : capacity_(capacity_records), policy_(policy) {}

    struct PushResult {
        std::size_t dropped = 0;                     // records dropped
        DropReason reason = DropReason::queue_full;  // why, when dropped > 0
        bool schedule_drain = false;                 // caller must schedule a drain
    };
    // `may_wait`: under the block policy, wait for room (only off the io threads).
    PushResult push(BatchRef batch, bool may_wait);

    // Moves queued batches (at least one, up to max_records) into out. Returns
    // false, and marks the drain finished, when the queue is empty.
    bool take(std::vector<BatchRef> &out, std::size_t max_records);
    // Returns batches a sink asked to retry to the front, in order.
    void put_back(std::vector<BatchRef> &batches);
    // Drops everything queued; returns the records dropped.
    std::size_t clear();
    // Wakes blocked producers for good; later pushes are dropped for `why`.
    void close(DropReason why = DropReason::shutdown);

    std::size_t queued_records() const;
    bool saturated() const { return queued_records() >= capacity_; }
    bool idle() const;  // empty and no drain scheduled
    OverflowPolicy policy() const { return policy_; }

private:
    const std::size_t capacity_;
    const OverflowPolicy policy_;
    mutable std::mutex mutex_;
    std::condition_variable room_;
    std::deque<BatchRef> batches_;
    std::size_t records_ = 0;
    bool drain_scheduled_ = false;
    bool closed_ = false;
    DropReason closed_reason_ = DropReason::shutdown;
};

}  // namespace sonde::core
