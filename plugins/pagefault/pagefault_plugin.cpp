// pagefault input: page faults by major/minor, read/write and user/kernel,
// with latency histograms, from the exceptions page-fault tracepoints
// (entry) paired with the software perf events for minor and major faults
// (end of handling). Optional sampled events. See README.md.
#include <linux/types.h>  // before pagefault.h, which the BPF side reads with vmlinux.h

#include "pagefault.h"
#include "pagefault_bpf.skel.h"

#include "ebpf/bpf.hpp"
#include "ebpf/latency_histogram.hpp"
#include <sonde/sdk.hpp>

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <memory>

namespace sonde::pagefault_tracer {
namespace {

const MetricSpec latency_spec{"page_fault.latency", SONDE_METRIC_HISTOGRAM, "s",
                              "Time from fault entry to the end of its handling", {"type", "access", "mode"}};
const MetricSpec count_spec{"page_fault.count", SONDE_METRIC_COUNTER, "{fault}", "Page faults handled",
                            {"type", "access", "mode"}};
const MetricSpec interval_spec{"page_fault.latency.interval", SONDE_METRIC_GAUGE, "s",
                               "p50, p95, p99 and max fault latency of the last interval, per kind with faults",
                               {"type", "access", "mode", "stat"}};
const EventSpec sample_spec{"page_fault.sampled", "One fault, sampled at most once per sample_interval per CPU",
                            {"pid", "tid", "comm", "address", "ip", "latency_ns", "type", "access", "mode"}};
const MetricSpec dropped_spec{"page_fault.dropped", SONDE_METRIC_COUNTER, "{fault}",
                              "Lost samples (ringbuf_full), entries not stored (map_full), entries never closed "
                              "by a minor/major event (unpaired)",
                              {"reason"}};

const char *type_of(unsigned kind) { return kind & FAULT_MAJOR ? "major" : "minor"; }
const char *access_of(unsigned kind) { return kind & FAULT_WRITE ? "write" : "read"; }
const char *mode_of(unsigned kind) { return kind & FAULT_KERNEL ? "kernel" : "user"; }

struct SkeletonDeleter {
    void operator()(pagefault_bpf *s) const { pagefault_bpf__destroy(s); }
};

// One software perf event per CPU and kind, each running a BPF program.
class PerfAttachment {
public:
    PerfAttachment(int fd, bpf_link *link) : fd_(fd), link_(link) {}
    PerfAttachment(PerfAttachment &&o) noexcept : fd_(std::exchange(o.fd_, -1)), link_(std::exchange(o.link_, nullptr)) {}
    PerfAttachment(const PerfAttachment &) = delete;
    ~PerfAttachment() {
        if (link_) bpf_link__destroy(link_);
        if (fd_ >= 0) close(fd_);
    }

private:
    int fd_;
    bpf_link *link_;
};

class PageFaultTracer final : public InputPlugin {
public:
    explicit PageFaultTracer(Context &ctx)
        : InputPlugin(ctx),
          pid_(ctx.config().get_int("pid", 0, 0, bpf::max_pid)),
          comm_(ctx.config().get_string("comm", "")),
          sample_interval_ns_(ctx.config().get_duration_ns("sample_interval", 0)),
          max_threads_(ctx.config().get_int("max_threads", 65536, 1, bpf::max_map_entries)),
          hooks_(bpf::hook_order(ctx.config())),
          latency_(ctx.declare(latency_spec)),
          count_(ctx.declare(count_spec)),
          interval_(ctx.declare(interval_spec)),
          event_(ctx.declare(sample_spec)),
          dropped_(ctx.declare(dropped_spec)) {
        std::string cgroup = ctx.config().get_string("cgroup", "");
        if (!cgroup.empty()) cgroup_id_ = bpf::cgroup_id(cgroup, "cgroup");
        if (pid_ < 0) throw ConfigError("pid", "must be 0 (all) or a process id");
        if (comm_.size() >= TASK_COMM_LEN) throw ConfigError("comm", "longer than 15 characters");
        if (max_threads_ < 1) throw ConfigError("max_threads", "must be at least 1");
    }

    void start() override {
        bpf::require_privileges();
        bpf::capture_libbpf_messages();
        hook_ = bpf::choose_hook(ctx_, hooks_, [this](bpf::Hook h) { return load(h); },
                                 [this] { return skeleton_->obj; });
        attach_perf_events();
        ctx_.info(std::string("page faults: entry via ") + bpf::hook_name(hook_) +
                  " exceptions:page_fault_user/page_fault_kernel, end via software perf events "
                  "page-faults-min/maj on " + std::to_string(perf_.size() / 2) + " CPUs");
        if (sample_interval_ns_)
            ring_ = std::make_unique<bpf::RingBuffer>(ctx_, bpf_map__fd(skeleton_->maps.events),
                                                      [this](const void *d, std::size_t n) { on_event(d, n); });
        ctx_.every(ctx_.interval_ns(), [this] { collect(); });
    }

    void stop() override {
        ring_.reset();
        perf_.clear();
        skeleton_.reset();
    }

private:
    std::string load(bpf::Hook hook) {
        bpf::last_libbpf_message().clear();
        std::unique_ptr<pagefault_bpf, SkeletonDeleter> skel(pagefault_bpf__open());
        if (!skel) return bpf::failure("open", errno);
        skel->rodata->self_tgid = static_cast<__u32>(getpid());
        skel->rodata->filter_tgid = static_cast<__u32>(pid_);
        skel->rodata->filter_cgroup = cgroup_id_;
        std::copy(comm_.begin(), comm_.end(), const_cast<char *>(skel->rodata->filter_comm));
        skel->rodata->sample_interval_ns = sample_interval_ns_;
        skel->rodata->task_storage = hook == bpf::Hook::tp_btf;
        bpf_map__set_max_entries(skel->maps.entries, static_cast<__u32>(max_threads_));
        const std::pair<bpf_program *, bpf::Hook> programs[] = {
            {skel->progs.user_btf, bpf::Hook::tp_btf},    {skel->progs.kernel_btf, bpf::Hook::tp_btf},
            {skel->progs.user_raw, bpf::Hook::raw_tp},    {skel->progs.kernel_raw, bpf::Hook::raw_tp},
            {skel->progs.user_tp, bpf::Hook::tracepoint}, {skel->progs.kernel_tp, bpf::Hook::tracepoint}};
        for (auto [program, h] : programs) bpf_program__set_autoload(program, h == hook);
        bpf_map__set_autocreate(skel->maps.task_entries, hook == bpf::Hook::tp_btf);
        bpf_map__set_autocreate(skel->maps.entries, hook != bpf::Hook::tp_btf);
        if (int err = pagefault_bpf__load(skel.get())) return bpf::failure("load", err);
        if (int err = pagefault_bpf__attach(skel.get())) return bpf::failure("attach", err);
        skeleton_ = std::move(skel);
        return "";
    }

    void attach_perf_events() {
        for (int cpu : bpf::online_cpus()) {
            for (auto [config, program] : {std::pair{PERF_COUNT_SW_PAGE_FAULTS_MIN, skeleton_->progs.minor_fault},
                                           std::pair{PERF_COUNT_SW_PAGE_FAULTS_MAJ, skeleton_->progs.major_fault}}) {
                perf_event_attr attr{};
                attr.size = sizeof attr;
                attr.type = PERF_TYPE_SOFTWARE;
                attr.config = config;
                attr.sample_period = 1;
                int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
                if (fd < 0) throw Unavailable(bpf::failure("perf_event_open(page-faults) on CPU " + std::to_string(cpu), errno));
                bpf_link *link = bpf_program__attach_perf_event(program, fd);
                if (!link) {
                    int err = errno;
                    close(fd);
                    throw Unavailable(bpf::failure("attach to the page-fault perf event", err));
                }
                perf_.emplace_back(fd, link);
            }
        }
        if (perf_.empty()) throw Unavailable("no online CPU found in /sys/devices/system/cpu/online");
    }

    void collect() {
        clock_.resync();
        const std::int64_t now = now_ns();
        for (__u32 kind = 0; kind < FAULT_KINDS; ++kind) {
            auto per_cpu = bpf::per_cpu_values<sonde_latency_histogram>(skeleton_->maps.histograms, kind);
            if (per_cpu.empty()) continue;
            LatencyHistogram &h = histograms_[kind];
            h.set_cumulative(per_cpu.data(), per_cpu.size());
            const sonde_value split[] = {str(type_of(kind)), str(access_of(kind)), str(mode_of(kind))};
            latency_.add_histogram(h.point(), split, 3, now);
            count_.add(uint_value(h.point().count), split, 3, now);
            if (h.interval_count() == 0) continue;
            for (auto [stat, q] : {std::pair{"p50", 0.5}, std::pair{"p95", 0.95}, std::pair{"p99", 0.99}, std::pair{"max", 1.0}}) {
                const sonde_value attributes[] = {split[0], split[1], split[2], str(stat)};
                interval_.add(double_value(h.interval_quantile_s(q)), attributes, 4, now);
            }
        }
        latency_.emit(ctx_);
        count_.emit(ctx_);
        interval_.emit(ctx_);
        losses_.report(ctx_, skeleton_->maps.counters, dropped_);
    }

    void on_event(const void *data, std::size_t size) {
        if (size < sizeof(fault_event)) return;
        const auto &e = *static_cast<const fault_event *>(data);
        std::string_view comm(e.comm, strnlen(e.comm, sizeof e.comm));
        event_.add({int_value(e.pid), int_value(e.tid), str(comm), uint_value(e.address), uint_value(e.ip),
                    uint_value(e.latency_ns), str(type_of(e.kind)), str(access_of(e.kind)), str(mode_of(e.kind))},
                   clock_.to_unix_ns(e.time_ns));
        event_.emit(ctx_);
    }

    std::int64_t pid_;
    std::string comm_;
    std::uint64_t sample_interval_ns_;
    std::int64_t max_threads_;
    std::uint64_t cgroup_id_ = 0;
    std::vector<bpf::Hook> hooks_;

    MetricBuffer latency_, count_, interval_;
    EventBuffer event_;
    MetricBuffer dropped_;
    std::array<LatencyHistogram, FAULT_KINDS> histograms_;
    bpf::Hook hook_ = bpf::Hook::tp_btf;
    bpf::KernelClock clock_;
    std::unique_ptr<pagefault_bpf, SkeletonDeleter> skeleton_;
    std::vector<PerfAttachment> perf_;
    std::unique_ptr<bpf::RingBuffer> ring_;
    bpf::LossCounters losses_{{"ringbuf_full", "map_full", "unpaired"}};  // indexes: enum fault_counter
};

}  // namespace
}  // namespace sonde::pagefault_tracer

SONDE_INPUT_PLUGIN(sonde::pagefault_tracer::PageFaultTracer, "pagefault", "0.1.0",
                   "Page faults by kind with latency, from fault tracepoints and page-fault perf events")
