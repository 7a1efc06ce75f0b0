// sched input: run-queue latency histograms (global, or per cgroup or pid),
// with per-interval p50/p95/p99/max, and optional events for long waits.
// See README.md.
#include <linux/types.h>  // before sched.h, which the BPF side reads with vmlinux.h

#include "sched.h"
#include "sched_bpf.skel.h"

#include "ebpf/bpf.hpp"
#include "ebpf/latency_histogram.hpp"
#include <sonde/sdk.hpp>

#include <map>
#include <memory>
#include <unistd.h>

namespace sonde::sched_tracer {
namespace {

const EventSpec slow_wait{"sched.runqueue.slow", "A run-queue wait at or above slow_threshold",
                          {"pid", "tid", "comm", "cpu", "latency_ns", "preempted"}};
const MetricSpec dropped{"sched.dropped", SONDE_METRIC_COUNTER, "{event}",
                         "Samples or events lost in the kernel, by reason (ringbuf_full, map_full)", {"reason"}};

struct SkeletonDeleter {
    void operator()(sched_bpf *s) const { sched_bpf__destroy(s); }
};

runqueue_grouping parse_group(const std::string &s) {
    if (s == "none") return GROUP_NONE;
    if (s == "cgroup") return GROUP_CGROUP;
    if (s == "pid") return GROUP_PID;
    throw ConfigError("group_by", "expected \"none\", \"cgroup\" or \"pid\"");
}

class SchedTracer final : public InputPlugin {
public:
    explicit SchedTracer(Context &ctx)
        : InputPlugin(ctx),
          pid_(ctx.config().get_int("pid", 0, 0, bpf::max_pid)),
          comm_(ctx.config().get_string("comm", "")),
          group_by_(parse_group(ctx.config().get_string("group_by", "none"))),
          slow_threshold_ns_(ctx.config().get_duration_ns("slow_threshold", 0)),
          max_threads_(ctx.config().get_int("max_threads", 65536, 1, bpf::max_map_entries)),
          max_groups_(ctx.config().get_int("max_groups", 1024, 1, bpf::max_map_entries)),
          hooks_(bpf::hook_order(ctx.config())),
          latency_(ctx.declare(MetricSpec{"sched.runqueue.latency", SONDE_METRIC_HISTOGRAM, "s",
                                          "Time from runnable (wakeup or preemption) to running", group_keys({})})),
          summary_(ctx.declare(MetricSpec{"sched.runqueue.latency.interval", SONDE_METRIC_GAUGE, "s",
                                          "p50, p95, p99 and max run-queue latency of the last interval",
                                          group_keys({"stat"})})),
          event_(ctx.declare(slow_wait)),
          dropped_(ctx.declare(dropped)) {
        std::string cgroup = ctx.config().get_string("cgroup", "");
        if (!cgroup.empty()) cgroup_id_ = bpf::cgroup_id(cgroup, "cgroup");
        if (pid_ < 0) throw ConfigError("pid", "must be 0 (all) or a process id");
        if (comm_.size() >= TASK_COMM_LEN) throw ConfigError("comm", "longer than 15 characters");
        if (max_threads_ < 1) throw ConfigError("max_threads", "must be at least 1");
        if (max_groups_ < 1) throw ConfigError("max_groups", "must be at least 1");
    }

    void start() override {
        bpf::require_privileges();
        bpf::capture_libbpf_messages();
        hook_ = bpf::choose_hook(ctx_, hooks_, [this](bpf::Hook h) { return load(h); },
                                 [this] { return skeleton_->obj; });
        ctx_.info(std::string("run-queue latency via ") + bpf::hook_name(hook_) +
                  " sched_wakeup/sched_wakeup_new/sched_switch, enqueue times in " +
                  (hook_ == bpf::Hook::tp_btf ? "task storage" : "a hash of " + std::to_string(max_threads_) + " threads"));
        if (slow_threshold_ns_)
            ring_ = std::make_unique<bpf::RingBuffer>(ctx_, bpf_map__fd(skeleton_->maps.events),
                                                      [this](const void *d, std::size_t n) { on_event(d, n); });
        ctx_.every(ctx_.interval_ns(), [this] { collect(); });
    }

    void stop() override {
        ring_.reset();
        skeleton_.reset();
    }

private:
    std::vector<const char *> group_keys(std::vector<const char *> extra) const {
        std::vector<const char *> keys;
        if (group_by_ == GROUP_CGROUP) keys.push_back("cgroup.id");
        if (group_by_ == GROUP_PID) keys.push_back("pid");
        keys.insert(keys.end(), extra.begin(), extra.end());
        return keys;
    }

    std::string load(bpf::Hook hook) {
        if (hook == bpf::Hook::tracepoint && (pid_ || cgroup_id_ || !comm_.empty() || group_by_ != GROUP_NONE || slow_threshold_ns_))
            return "filters, grouping and events need task pointers (tp_btf or raw_tp)";
        bpf::last_libbpf_message().clear();
        std::unique_ptr<sched_bpf, SkeletonDeleter> skel(sched_bpf__open());
        if (!skel) return bpf::failure("open", errno);
        skel->rodata->self_tgid = static_cast<__u32>(getpid());
        skel->rodata->filter_tgid = static_cast<__u32>(pid_);
        skel->rodata->filter_cgroup = cgroup_id_;
        std::copy(comm_.begin(), comm_.end(), const_cast<char *>(skel->rodata->filter_comm));
        skel->rodata->group_by = group_by_;
        skel->rodata->slow_threshold_ns = slow_threshold_ns_;
        bpf_map__set_max_entries(skel->maps.enqueued, static_cast<__u32>(max_threads_));
        bpf_map__set_max_entries(skel->maps.group_histograms,
                                 group_by_ == GROUP_NONE ? 1 : static_cast<__u32>(max_groups_));
        const std::pair<bpf_program *, bpf::Hook> programs[] = {
            {skel->progs.wakeup_btf, bpf::Hook::tp_btf},     {skel->progs.wakeup_new_btf, bpf::Hook::tp_btf},
            {skel->progs.switch_btf, bpf::Hook::tp_btf},     {skel->progs.wakeup_raw, bpf::Hook::raw_tp},
            {skel->progs.wakeup_new_raw, bpf::Hook::raw_tp}, {skel->progs.switch_raw, bpf::Hook::raw_tp},
            {skel->progs.wakeup_tp, bpf::Hook::tracepoint},  {skel->progs.wakeup_new_tp, bpf::Hook::tracepoint},
            {skel->progs.switch_tp, bpf::Hook::tracepoint}};
        for (auto [program, h] : programs) bpf_program__set_autoload(program, h == hook);
        bpf_map__set_autocreate(skel->maps.task_enqueued, hook == bpf::Hook::tp_btf);
        bpf_map__set_autocreate(skel->maps.enqueued, hook != bpf::Hook::tp_btf);
        if (int err = sched_bpf__load(skel.get())) return bpf::failure("load", err);
        if (int err = sched_bpf__attach(skel.get())) return bpf::failure("attach", err);
        skeleton_ = std::move(skel);
        return "";
    }

    void collect() {
        clock_.resync();
        const std::int64_t now = now_ns();
        if (group_by_ == GROUP_NONE) {
            const __u32 zero = 0;
            auto per_cpu = bpf::per_cpu_values<sonde_latency_histogram>(skeleton_->maps.global_histogram, zero);
            emit_group(histograms_[0], per_cpu, nullptr, now);
        } else {
            __u64 key = 0, next = 0;
            const void *previous = nullptr;
            while (bpf_map__get_next_key(skeleton_->maps.group_histograms, previous, &next, sizeof next) == 0) {
                key = next;
                previous = &key;
                auto per_cpu = bpf::per_cpu_values<sonde_latency_histogram>(skeleton_->maps.group_histograms, key);
                if (per_cpu.empty()) continue;  // the group went away mid-walk
                sonde_value group = group_by_ == GROUP_PID ? int_value(static_cast<std::int64_t>(key)) : uint_value(key);
                emit_group(histograms_[key], per_cpu, &group, now);
            }
        }
        latency_.emit(ctx_);
        summary_.emit(ctx_);
        losses_.report(ctx_, skeleton_->maps.counters, dropped_);
    }

    void emit_group(LatencyHistogram &h, const std::vector<sonde_latency_histogram> &per_cpu,
                    const sonde_value *group, std::int64_t now) {
        if (per_cpu.empty()) return;
        h.set_cumulative(per_cpu.data(), per_cpu.size());
        sonde_value attributes[2];
        std::size_t n = 0;
        if (group) attributes[n++] = *group;
        latency_.add_histogram(h.point(), attributes, n, now);
        for (auto [stat, q] : {std::pair{"p50", 0.5}, std::pair{"p95", 0.95}, std::pair{"p99", 0.99}, std::pair{"max", 1.0}}) {
            attributes[n] = str(stat);
            summary_.add(double_value(h.interval_quantile_s(q)), attributes, n + 1, now);
        }
    }

    void on_event(const void *data, std::size_t size) {
        if (size < sizeof(sched_event)) return;
        const auto &e = *static_cast<const sched_event *>(data);
        std::string_view comm(e.comm, strnlen(e.comm, sizeof e.comm));
        event_.add({int_value(e.pid), int_value(e.tid), str(comm), int_value(e.cpu), uint_value(e.latency_ns),
                    bool_value(e.preempted != 0)},
                   clock_.to_unix_ns(e.time_ns));
        event_.emit(ctx_);
    }

    std::int64_t pid_;
    std::string comm_;
    runqueue_grouping group_by_;
    std::uint64_t slow_threshold_ns_;
    std::int64_t max_threads_, max_groups_;
    std::uint64_t cgroup_id_ = 0;
    std::vector<bpf::Hook> hooks_;

    MetricBuffer latency_, summary_;
    EventBuffer event_;
    MetricBuffer dropped_;
    std::map<__u64, LatencyHistogram> histograms_;  // by group (0: global)
    bpf::Hook hook_ = bpf::Hook::tp_btf;
    bpf::KernelClock clock_;
    std::unique_ptr<sched_bpf, SkeletonDeleter> skeleton_;
    std::unique_ptr<bpf::RingBuffer> ring_;
    bpf::LossCounters losses_{{"ringbuf_full", "map_full"}};  // indexes: enum sched_counter
};

}  // namespace
}  // namespace sonde::sched_tracer

SONDE_INPUT_PLUGIN(sonde::sched_tracer::SchedTracer, "sched", "0.1.0",
                   "Run-queue latency histograms from sched_wakeup/sched_switch")
