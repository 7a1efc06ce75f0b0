// iolatency input: block I/O latency per disk and operation (read, write,
// other), from issue (or insert) to completion: histograms, operation and
// byte counts, and per-interval p50/p95/p99/max. See README.md.
#include <linux/types.h>  // before the BPF headers, which the BPF side reads with vmlinux.h

#include "ebpf/latency_buckets.h"

#include "iolatency.h"
#include "iolatency_bpf.skel.h"

#include "ebpf/bpf.hpp"
#include "ebpf/latency_histogram.hpp"
#include "text/name_filter.hpp"
#include <sonde/sdk.hpp>

#include <fstream>
#include <map>
#include <memory>
#include <unistd.h>

namespace sonde::iolatency_tracer {
namespace {

const MetricSpec latency_spec{"block.io.latency", SONDE_METRIC_HISTOGRAM, "s",
                              "Block request latency from issue (or insert) to completion", {"device", "operation"}};
const MetricSpec operations_spec{"block.io.operations", SONDE_METRIC_COUNTER, "{operation}",
                                 "Block requests completed", {"device", "operation"}};
const MetricSpec bytes_spec{"block.io.bytes", SONDE_METRIC_COUNTER, "By", "Bytes of completed block requests",
                            {"device", "operation"}};
const MetricSpec interval_spec{"block.io.latency.interval", SONDE_METRIC_GAUGE, "s",
                               "p50, p95, p99 and max latency of the last interval, per device and operation with I/O",
                               {"device", "operation", "stat"}};
const MetricSpec dropped_spec{"block.io.dropped", SONDE_METRIC_COUNTER, "{request}",
                              "Requests not measured: no room for their start or their device (map_full)", {"reason"}};

const char *operation_names[] = {"read", "write", "other"};  // enum io_operation

struct SkeletonDeleter {
    void operator()(iolatency_bpf *s) const { iolatency_bpf__destroy(s); }
};

// "8:0" -> "sda", from /sys/dev/block/<major>:<minor>/uevent.
std::string device_name(__u32 dev) {
    const unsigned major = dev >> 20, minor = dev & ((1u << 20) - 1);
    std::ifstream uevent("/sys/dev/block/" + std::to_string(major) + ":" + std::to_string(minor) + "/uevent");
    std::string line;
    while (std::getline(uevent, line))
        if (line.rfind("DEVNAME=", 0) == 0) return line.substr(8);
    return std::to_string(major) + ":" + std::to_string(minor);
}

class IoLatencyTracer final : public InputPlugin {
public:
    explicit IoLatencyTracer(Context &ctx)
        : InputPlugin(ctx),
          from_insert_(parse_start(ctx.config().get_string("start", "issue"))),
          devices_(ctx.config().get_strings("devices_include", {}),
                   ctx.config().get_strings("devices_exclude", {"loop*", "ram*"})),
          max_requests_(ctx.config().get_int("max_requests", 16384, 1, bpf::max_map_entries)),
          max_devices_(ctx.config().get_int("max_devices", 256, 1, 65536)),
          hooks_(bpf::hook_order(ctx.config())),
          latency_(ctx.declare(latency_spec)),
          operations_(ctx.declare(operations_spec)),
          bytes_(ctx.declare(bytes_spec)),
          interval_(ctx.declare(interval_spec)),
          dropped_(ctx.declare(dropped_spec)) {
        if (max_requests_ < 1) throw ConfigError("max_requests", "must be at least 1");
        if (max_devices_ < 1) throw ConfigError("max_devices", "must be at least 1");
    }

    void start() override {
        bpf::require_privileges();
        bpf::capture_libbpf_messages();
        hook_ = bpf::choose_hook(ctx_, hooks_, [this](bpf::Hook h) { return load(h); },
                                 [this] { return skeleton_->obj; });
        ctx_.info(std::string("block I/O latency via ") + bpf::hook_name(hook_) + " block_rq_" +
                  (from_insert_ ? "insert" : "issue") + " (" + std::to_string(issue_args_) +
                  "-argument form) to block_rq_complete");
        ctx_.every(ctx_.interval_ns(), [this] { collect(); });
    }

    void stop() override { skeleton_.reset(); }

private:
    static bool parse_start(const std::string &s) {
        if (s == "issue") return false;
        if (s == "insert") return true;
        throw ConfigError("start", "expected \"issue\" or \"insert\"");
    }

    std::string load(bpf::Hook hook) {
        // 5.11 dropped the request_queue argument of block_rq_issue/insert.
        issue_args_ = bpf::tracepoint_arg_count("block_rq_issue");
        if (hook != bpf::Hook::tracepoint && issue_args_ != 1 && issue_args_ != 2)
            return "cannot read block_rq_issue's arguments from kernel BTF";
        const bool with_queue = issue_args_ == 2;
        bpf::last_libbpf_message().clear();
        std::unique_ptr<iolatency_bpf, SkeletonDeleter> skel(iolatency_bpf__open());
        if (!skel) return bpf::failure("open", errno);
        bpf_map__set_max_entries(skel->maps.starts, static_cast<__u32>(max_requests_));
        bpf_map__set_max_entries(skel->maps.stats, static_cast<__u32>(max_devices_ * 3));
        auto &p = skel->progs;
        struct Choice {
            bpf_program *program;
            bpf::Hook hook;
            bool wanted;
        };
        const bool insert = from_insert_;
        const Choice choices[] = {
            {p.issue_btf, bpf::Hook::tp_btf, !insert && !with_queue},
            {p.issue_btf_q, bpf::Hook::tp_btf, !insert && with_queue},
            {p.insert_btf, bpf::Hook::tp_btf, insert && !with_queue},
            {p.insert_btf_q, bpf::Hook::tp_btf, insert && with_queue},
            {p.issue_if_new_btf, bpf::Hook::tp_btf, insert && !with_queue},
            {p.issue_if_new_btf_q, bpf::Hook::tp_btf, insert && with_queue},
            {p.complete_btf, bpf::Hook::tp_btf, true},
            {p.issue_raw, bpf::Hook::raw_tp, !insert && !with_queue},
            {p.issue_raw_q, bpf::Hook::raw_tp, !insert && with_queue},
            {p.insert_raw, bpf::Hook::raw_tp, insert && !with_queue},
            {p.insert_raw_q, bpf::Hook::raw_tp, insert && with_queue},
            {p.issue_if_new_raw, bpf::Hook::raw_tp, insert && !with_queue},
            {p.issue_if_new_raw_q, bpf::Hook::raw_tp, insert && with_queue},
            {p.complete_raw, bpf::Hook::raw_tp, true},
            {p.issue_tp, bpf::Hook::tracepoint, !insert},
            {p.insert_tp, bpf::Hook::tracepoint, insert},
            {p.issue_if_new_tp, bpf::Hook::tracepoint, insert},
            {p.complete_tp, bpf::Hook::tracepoint, true}};
        for (const Choice &c : choices) bpf_program__set_autoload(c.program, c.hook == hook && c.wanted);
        if (int err = iolatency_bpf__load(skel.get())) return bpf::failure("load", err);
        if (int err = iolatency_bpf__attach(skel.get())) return bpf::failure("attach", err);
        skeleton_ = std::move(skel);
        return "";
    }

    const std::string &name_of(__u32 dev) {
        auto it = names_.find(dev);
        if (it == names_.end()) it = names_.emplace(dev, device_name(dev)).first;
        return it->second;
    }

    void collect() {
        const std::int64_t now = now_ns();
        io_key key{}, next{};
        const void *previous = nullptr;
        while (bpf_map__get_next_key(skeleton_->maps.stats, previous, &next, sizeof next) == 0) {
            key = next;
            previous = &key;
            if (key.op > IO_OTHER) continue;
            const std::string &device = name_of(key.dev);
            if (!devices_.admits(device)) continue;
            auto per_cpu = bpf::per_cpu_values<io_stats>(skeleton_->maps.stats, key);
            if (per_cpu.empty()) continue;
            std::vector<sonde_latency_histogram> latencies;
            std::uint64_t bytes = 0;
            for (const io_stats &s : per_cpu) {
                latencies.push_back(s.latency);
                bytes += s.bytes;
            }
            LatencyHistogram &h = histograms_[(std::uint64_t(key.dev) << 2) | key.op];
            h.set_cumulative(latencies.data(), latencies.size());
            const sonde_value split[] = {str(device), str(operation_names[key.op])};
            latency_.add_histogram(h.point(), split, 2, now);
            operations_.add(uint_value(h.point().count), split, 2, now);
            bytes_.add(uint_value(bytes), split, 2, now);
            if (h.interval_count() == 0) continue;
            for (auto [stat, q] : {std::pair{"p50", 0.5}, std::pair{"p95", 0.95}, std::pair{"p99", 0.99}, std::pair{"max", 1.0}}) {
                const sonde_value attributes[] = {split[0], split[1], str(stat)};
                interval_.add(double_value(h.interval_quantile_s(q)), attributes, 3, now);
            }
        }
        for (MetricBuffer *m : {&latency_, &operations_, &bytes_, &interval_}) m->emit(ctx_);
        losses_.report(ctx_, skeleton_->maps.counters, dropped_);
    }

    bool from_insert_;
    NameFilter devices_;
    std::int64_t max_requests_, max_devices_;
    std::vector<bpf::Hook> hooks_;
    int issue_args_ = 0;

    MetricBuffer latency_, operations_, bytes_, interval_, dropped_;
    std::map<std::uint64_t, LatencyHistogram> histograms_;  // by dev << 2 | op
    std::map<__u32, std::string> names_;
    bpf::Hook hook_ = bpf::Hook::tp_btf;
    std::unique_ptr<iolatency_bpf, SkeletonDeleter> skeleton_;
    bpf::LossCounters losses_{{"map_full"}};  // indexes: enum io_counter
};

}  // namespace
}  // namespace sonde::iolatency_tracer

SONDE_INPUT_PLUGIN(sonde::iolatency_tracer::IoLatencyTracer, "iolatency", "0.1.0",
                   "Block I/O latency per disk and operation, from block_rq_issue to block_rq_complete")
