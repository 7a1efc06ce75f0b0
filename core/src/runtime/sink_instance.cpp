#include "runtime/sink_instance.hpp"

#include "runtime/agent.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace sonde::core {

namespace asio = boost::asio;

namespace {
constexpr std::size_t max_records_per_consume = 4096;
constexpr auto max_retry_delay = std::chrono::seconds(10);
}  // namespace

SinkInstance::SinkInstance(Agent &agent, InstanceConfig config, std::shared_ptr<PluginLibrary> library)
    : Instance(agent, std::move(config), std::move(library)),
      queue_(config_.queue_capacity, config_.overflow),
      reports_delivery_(library_->ops().struct_size >= offsetof(sonde_plugin_ops, flags) + sizeof(std::uint64_t) &&
                        (library_->ops().flags & SONDE_SINK_REPORTS_DELIVERY)),
      retry_timer_(strand_) {}

void SinkInstance::enqueue(const BatchRef &batch) {
    counters_.routed.fetch_add(batch->size(), std::memory_order_relaxed);
    SinkQueue::PushResult result = queue_.push(batch, !agent_.on_io_thread());
    if (result.dropped) {
        counters_.drop(result.reason, result.dropped);
        if (result.reason == DropReason::queue_full)
            log_drop("queue full (" + std::to_string(config_.queue_capacity) + " records): dropped " +
                     std::to_string(result.dropped) + " records");
    }
    if (result.schedule_drain)
        asio::post(strand_, [self = std::static_pointer_cast<SinkInstance>(shared_from_this())] { self->drain(); });
}

void SinkInstance::drain() {
    if (retry_pending_ || output_closed_ || !running()) return;
    for (int round = 0; round < 8; ++round) {
        if (!queue_.take(inflight_, max_records_per_consume)) return;  // empty: drain over
        if (!deliver()) return;                                         // retry timer resumes
    }
    // Still more: yield to other work on the io_context, then continue.
    asio::post(strand_, [self = std::static_pointer_cast<SinkInstance>(shared_from_this())] { self->drain(); });
}

bool SinkInstance::deliver() {
    groups_.clear();
    std::size_t records = 0;
    for (const BatchRef &b : inflight_) {
        groups_.push_back(b->group());
        records += b->size();
    }
    inflight_records_.store(records, std::memory_order_relaxed);
    sonde_batch batch{sizeof(sonde_batch), 0, groups_.data(), groups_.size()};
    char message[1024], key[64];
    sonde_error error = error_buffer(message, sizeof message, key, sizeof key);
    sonde_status status;
    try {
        status = library_->ops().consume(plugin_instance_, &batch, &error);
    } catch (...) {
        status = SONDE_ERR_INTERNAL;
        std::snprintf(message, sizeof message, "exception escaped the plugin ABI");
    }
    if (status == SONDE_RETRY) {
        counters_.retried.fetch_add(records, std::memory_order_relaxed);
        queue_.put_back(inflight_);
        inflight_records_.store(0, std::memory_order_relaxed);
        schedule_retry();
        return false;
    }
    if (status == SONDE_OK) {
        counters_.accepted.fetch_add(records, std::memory_order_relaxed);
        if (!reports_delivery_) counters_.delivered.fetch_add(records, std::memory_order_relaxed);
        retry_delay_ = first_retry_delay;
    } else if (status == SONDE_ERR_OUTPUT_CLOSED) {
        output_closed(records);
        inflight_.clear();
        inflight_records_.store(0, std::memory_order_relaxed);
        return false;
    } else {
        counters_.errors.fetch_add(1, std::memory_order_relaxed);
        counters_.drop(DropReason::sink_error, records);
        log_drop("dropped " + std::to_string(records) + " records: " + (message[0] ? message : "consume failed"));
    }
    inflight_.clear();
    inflight_records_.store(0, std::memory_order_relaxed);
    return true;
}

// The reader of the agent's standard output went away: this sink can deliver
// nothing more, and the agent ends as a Unix filter does (docs/operations.md).
void SinkInstance::output_closed(std::size_t records) {
    queue_.close(DropReason::output_closed);
    counters_.drop(DropReason::output_closed, records + queue_.clear());
    if (output_closed_) return;
    output_closed_ = true;
    agent_.logger().info("{}: standard output was closed by its reader; shutting down",
                         config_.qualified_name());
    agent_.request_shutdown();
}

void SinkInstance::schedule_retry() {
    retry_pending_ = true;
    retry_timer_.expires_after(retry_delay_);
    retry_delay_ = std::min<std::chrono::milliseconds>(retry_delay_ * 2, max_retry_delay);
    retry_timer_.async_wait(asio::bind_executor(
        strand_, [self = std::static_pointer_cast<SinkInstance>(shared_from_this())](const boost::system::error_code &) {
            self->retry_pending_ = false;
            self->drain();
        }));
}

void SinkInstance::input_stopped(const std::string &input_name) {
    if (library_->ops().struct_size < offsetof(sonde_plugin_ops, input_stopped) + sizeof(void *) ||
        !library_->ops().input_stopped)
        return;
    asio::post(strand_, [self = std::static_pointer_cast<SinkInstance>(shared_from_this()), input_name] {
        if (self->running()) self->library_->ops().input_stopped(self->plugin_instance_, input_name.c_str());
    });
}

void SinkInstance::count_delivered(std::uint64_t count) {
    if (!reports_delivery_) {
        warn_limited("count_delivered from a sink without SONDE_SINK_REPORTS_DELIVERY: ignored");
        return;
    }
    counters_.delivered.fetch_add(count, std::memory_order_relaxed);
}

std::uint64_t SinkInstance::held() {
    if (!reports_delivery_) return 0;
    std::uint64_t accepted = counters_.accepted.load(std::memory_order_relaxed);
    std::uint64_t reported = counters_.delivered.load(std::memory_order_relaxed) +
                             counters_.dropped[static_cast<std::size_t>(DropReason::unreported)].load();
    std::lock_guard lock(counters_.plugin_drops_mutex);
    for (const auto &[reason, n] : counters_.plugin_drops) reported += n;
    return accepted > reported ? accepted - reported : 0;
}

SinkAccount SinkInstance::account() {
    SinkAccount a;
    a.queued = queue_.queued_records() + inflight_records_.load(std::memory_order_relaxed) + held();
    a.delivered = counters_.delivered.load(std::memory_order_relaxed);
    a.dropped = counters_.dropped_total();
    a.routed = counters_.routed.load(std::memory_order_relaxed);
    return a;
}

bool SinkInstance::drain_step() {
    if (!running()) return true;
    if (!queue_.idle()) return false;
    if (!drain_flush_requested_.exchange(true) && library_->ops().flush)
        asio::post(strand_, [self = std::static_pointer_cast<SinkInstance>(shared_from_this())] {
            if (!self->running()) return;
            char message[1024], key[64];
            sonde_error error = error_buffer(message, sizeof message, key, sizeof key);
            if (self->library_->ops().flush(self->plugin_instance_, &error) != SONDE_OK)
                self->warn_limited(std::string("flush failed: ") + message);
        });
    return held() == 0;
}

void SinkInstance::after_stop() {
    // Whatever a reporting sink still holds now it lost without saying so.
    if (std::uint64_t lost = held()) {
        counters_.drop(DropReason::unreported, lost);
        agent_.logger().error("{}: stopped holding {} records it never reported as delivered or dropped",
                              config_.qualified_name(), lost);
    }
}

void SinkInstance::before_stop() {
    retry_timer_.cancel();
    queue_.close();
    if (std::size_t left = queue_.clear()) {
        counters_.drop(DropReason::shutdown, left);
        log_drop("stopped with " + std::to_string(left) + " records queued: dropped");
    }
    if (!library_->ops().flush) return;
    char message[1024], key[64];
    sonde_error error = error_buffer(message, sizeof message, key, sizeof key);
    if (library_->ops().flush(plugin_instance_, &error) != SONDE_OK) {
        counters_.errors.fetch_add(1, std::memory_order_relaxed);
        agent_.logger().warn("{}: flush failed: {}", config_.qualified_name(), message);
    }
}

}  // namespace sonde::core
