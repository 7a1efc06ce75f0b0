// Records as the core keeps them: declarations copied from plugins, and
// batches that own a copy of what an input emitted, shared by every sink the
// routing table sends them to.
#pragma once

#include <sonde/plugin_api.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sonde::core {

// The host's copy of one sonde_record_decl; `info` points into it.
struct RecordDeclaration {
    std::string name;
    std::string unit;
    std::string description;
    std::vector<std::string> attribute_keys;
    std::vector<const char *> attribute_key_pointers;
    sonde_record_info info{};

    bool is_metric() const { return info.record_kind == SONDE_RECORD_METRIC; }
};

// The declarations of one input instance. Append-only; ids are indexes.
// Batches keep the table alive, so a sink can read a record of an instance
// that has already been stopped.
class DeclarationTable {
public:
    explicit DeclarationTable(std::string input_name) : input_name_(std::move(input_name)) {}

    // Validates and copies; the same declaration twice yields the same id.
    sonde_status declare(const sonde_record_decl &decl, std::uint32_t &out_id, std::string &error);
    // Null for an unknown id.
    const RecordDeclaration *find(std::uint32_t id) const;
    std::vector<const RecordDeclaration *> all() const;
    const std::string &input_name() const { return input_name_; }

private:
    std::string input_name_;
    mutable std::mutex mutex_;
    std::deque<RecordDeclaration> declarations_;  // deque: stable addresses
};

class BatchPool;

// What one emit call produced, copied into memory the core owns. Shared by
// the sinks it is routed to through intrusive reference counting, and
// recycled through its pool, so steady-state emits do not allocate.
class Batch {
public:
    const RecordDeclaration *declaration() const { return declaration_; }
    std::size_t size() const { return declaration_->is_metric() ? points_.size() : events_.size(); }
    sonde_record_group group() const;
    // How many string values the last copy changed to make them valid UTF-8
    // (for self-metrics: a source that emits such strings is worth knowing).
    std::size_t repaired_strings() const { return repaired_strings_; }

    // Copy `count` records (stride = first struct_size) of `declaration`.
    // Fills time 0 with now_ns and start time 0 with start_ns.
    sonde_status copy_metrics(std::shared_ptr<const DeclarationTable> table, const RecordDeclaration &declaration,
                              const sonde_metric_point *points, std::size_t count, std::int64_t now_ns,
                              std::int64_t start_ns);
    sonde_status copy_events(std::shared_ptr<const DeclarationTable> table, const RecordDeclaration &declaration,
                             const sonde_event *events, std::size_t count, std::int64_t now_ns);

private:
    friend class BatchPool;
    friend class BatchRef;
    void clear();
    void copy_attributes(const sonde_value *values, std::size_t count);
    static std::size_t string_bytes(const sonde_value *values, std::size_t count);
    // After a copy: makes every string value valid UTF-8, each invalid
    // sequence replaced with U+FFFD (docs/json-schema.md, "Strings").
    void repair_strings();

    std::atomic<std::uint32_t> references_{0};
    BatchPool *pool_ = nullptr;
    std::shared_ptr<const DeclarationTable> table_;
    const RecordDeclaration *declaration_ = nullptr;
    std::vector<sonde_metric_point> points_;
    std::vector<sonde_event> events_;
    std::vector<sonde_value> values_;
    std::vector<char> strings_;
    std::size_t repaired_strings_ = 0;
    std::vector<sonde_histogram> histograms_;
    std::vector<double> bounds_;
    std::vector<std::uint64_t> counts_;
};

// A counted reference to a pooled Batch.
class BatchRef {
public:
    BatchRef() = default;
    explicit BatchRef(Batch *batch) : batch_(batch) { retain(); }
    BatchRef(const BatchRef &other) : batch_(other.batch_) { retain(); }
    BatchRef(BatchRef &&other) noexcept : batch_(other.batch_) { other.batch_ = nullptr; }
    BatchRef &operator=(BatchRef other) noexcept {
        std::swap(batch_, other.batch_);
        return *this;
    }
    ~BatchRef() { release(); }

    Batch *operator->() const { return batch_; }
    Batch &operator*() const { return *batch_; }
    explicit operator bool() const { return batch_ != nullptr; }

private:
    void retain() {
        if (batch_) batch_->references_.fetch_add(1, std::memory_order_relaxed);
    }
    void release();
    Batch *batch_ = nullptr;
};

// Free list of batches; thread-safe. Keeps at most `max_idle` for reuse.
class BatchPool {
public:
    explicit BatchPool(std::size_t max_idle = 1024) : max_idle_(max_idle) {}
    ~BatchPool();
    BatchRef acquire();

private:
    friend class BatchRef;
    void recycle(Batch *batch);
    std::size_t max_idle_;
    std::mutex mutex_;
    std::vector<Batch *> idle_;
};

}  // namespace sonde::core
