// The host side of a sink instance: its bounded queue, delivery with retry
// and backoff, and the accounting of docs/accounting.md.
#pragma once

#include "runtime/instance.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <vector>

namespace sonde::core {

// The accounting identity of one sink: routed = delivered + dropped + queued.
struct SinkAccount {
    std::uint64_t routed = 0;
    std::uint64_t delivered = 0;
    std::uint64_t dropped = 0;
    std::uint64_t queued = 0;  // in the host's queue, being consumed, or held by the sink
    bool balanced() const { return routed == delivered + dropped + queued; }
};

class SinkInstance : public Instance {
public:
    SinkInstance(Agent &agent, InstanceConfig config, std::shared_ptr<PluginLibrary> library);

    // Any thread: queue a batch under the overflow policy.
    void enqueue(const BatchRef &batch);
    void input_stopped(const std::string &input_name) override;
    void count_delivered(std::uint64_t count) override;
    SinkQueue &queue() { return queue_; }

    // Any thread. Exact once the sink has stopped; a snapshot before.
    SinkAccount account();
    // Shutdown drain, any thread: once the queue is empty, asks the plugin
    // (once) to flush. True when nothing is left to wait for: the sink is
    // not running, or its queue is empty and it holds nothing unreported.
    bool drain_step();

protected:
    void before_stop() override;
    void after_stop() override;

private:
    // Records consume() accepted that the sink has not yet reported as
    // delivered or dropped (reporting sinks only).
    std::uint64_t held();
    void output_closed(std::size_t records);
    void drain();
    // Hands inflight_ to the plugin; false when the sink asked for a retry.
    bool deliver();
    void schedule_retry();

    SinkQueue queue_;
    const bool reports_delivery_;
    std::vector<BatchRef> inflight_;          // strand only
    std::atomic<std::uint64_t> inflight_records_{0};
    std::atomic<bool> drain_flush_requested_{false};
    std::vector<sonde_record_group> groups_;  // strand only
    boost::asio::steady_timer retry_timer_;
    // "Retry" is also how a busy sink pushes back (the otlp sink with requests
    // waiting, the file sink with a full buffer): start short, double to 10 s.
    static constexpr std::chrono::milliseconds first_retry_delay{10};
    std::chrono::milliseconds retry_delay_ = first_retry_delay;
    bool retry_pending_ = false;
    bool output_closed_ = false;  // strand only
};

}  // namespace sonde::core
