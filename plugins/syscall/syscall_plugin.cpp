// syscall input: an event for every syscall at or above `threshold`, from
// the raw_syscalls sys_enter/sys_exit hooks (tp_btf, raw_tp or tracepoint,
// whichever loads first). See README.md.
#include <linux/types.h>  // before syscall.h, which the BPF side reads with vmlinux.h

#include "syscall.h"
#include "syscall_bpf.skel.h"

#include "ebpf/bpf.hpp"
#include "ebpf/latency_histogram.hpp"
#include <sonde/sdk.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <unistd.h>

namespace sonde::syscall_tracer {
namespace {

struct SyscallName {
    unsigned id;
    const char *name;
};
const SyscallName syscall_names[] = {
#include "syscall_names.inc"
};

// Calls that block by design; excluded unless named in `include`.
const std::vector<std::string> default_exclude{
    "futex",        "epoll_wait",      "epoll_pwait",   "epoll_pwait2", "poll",     "ppoll",
    "select",       "pselect6",        "nanosleep",     "clock_nanosleep", "wait4", "waitid",
    "rt_sigtimedwait", "rt_sigsuspend", "pause",        "io_getevents", "io_pgetevents", "io_uring_enter",
    "accept",       "accept4",         "msgrcv",        "semtimedop",   "mq_timedreceive"};

const EventSpec slow_syscall{"syscall.slow",
                             "A syscall that took at least the threshold",
                             {"pid", "tid", "comm", "syscall.id", "syscall.name", "latency_ns", "return"}};
const MetricSpec latency_spec{"syscall.latency", SONDE_METRIC_HISTOGRAM, "s",
                              "Latency of every traced syscall, per syscall (histograms = true)", {"syscall.name"}};
const MetricSpec count_spec{"syscall.count", SONDE_METRIC_COUNTER, "{call}",
                            "Traced syscalls completed, per syscall (histograms = true)", {"syscall.name"}};
const MetricSpec dropped{"syscall.dropped", SONDE_METRIC_COUNTER, "{event}",
                         "Events lost in the kernel, by reason (ringbuf_full, map_full)", {"reason"}};

struct SkeletonDeleter {
    void operator()(syscall_bpf *s) const { syscall_bpf__destroy(s); }
};

class SyscallTracer final : public InputPlugin {
public:
    explicit SyscallTracer(Context &ctx)
        : InputPlugin(ctx),
          threshold_ns_(ctx.config().get_duration_ns("threshold", 10'000'000)),
          pid_(ctx.config().get_int("pid", 0, 0, bpf::max_pid)),
          comm_(ctx.config().get_string("comm", "")),
          max_threads_(ctx.config().get_int("max_threads", 65536, 1, bpf::max_map_entries)),
          ring_bytes_(ctx.config().get_size_bytes("ring_buffer_size", 1 << 20, 4096, 1ull << 30)),
          histograms_(ctx.config().get_bool("histograms", false)),
          hooks_(bpf::hook_order(ctx.config())),
          event_(ctx.declare(slow_syscall)),
          latency_(ctx.declare(latency_spec)),
          count_(ctx.declare(count_spec)),
          dropped_(ctx.declare(dropped)) {
        for (const auto &s : syscall_names) names_[s.id] = s.name;
        std::string cgroup = ctx.config().get_string("cgroup", "");
        if (!cgroup.empty()) cgroup_id_ = bpf::cgroup_id(cgroup, "cgroup");
        if (pid_ < 0) throw ConfigError("pid", "must be 0 (all) or a process id");
        if (comm_.size() >= TASK_COMM_LEN) throw ConfigError("comm", "longer than 15 characters");
        if (max_threads_ < 1) throw ConfigError("max_threads", "must be at least 1");
        if (ring_bytes_ < 4096 || (ring_bytes_ & (ring_bytes_ - 1)))
            throw ConfigError("ring_buffer_size", "must be a power of two of at least 4KiB");
        choose_syscalls(ctx.config().get_strings("include", {}), ctx.config().has("exclude"),
                        ctx.config().get_strings("exclude", {}));
    }

    void start() override {
        bpf::require_privileges();
        bpf::capture_libbpf_messages();
        hook_ = bpf::choose_hook(ctx_, hooks_, [this](bpf::Hook h) { return load(h); },
                                 [this] { return skeleton_->obj; });
        ctx_.info(std::string("tracing ") + std::to_string(traced_count_) + " syscalls slower than " +
                  std::to_string(threshold_ns_ / 1000) + " us via " + bpf::hook_name(hook_) +
                  " raw_syscalls:sys_enter/sys_exit, start times in " +
                  (hook_ == bpf::Hook::tp_btf ? "task storage" : "a hash of " + std::to_string(max_threads_) + " threads"));
        ring_ = std::make_unique<bpf::RingBuffer>(
            ctx_, bpf_map__fd(skeleton_->maps.events),
            [this](const void *data, std::size_t size) { on_event(data, size); }, [this] { emit_pending(); });
        ctx_.every(ctx_.interval_ns(), [this] {
            clock_.resync();
            if (histograms_) report_histograms();
            losses_.report(ctx_, skeleton_->maps.counters, dropped_);
        });
    }

    void stop() override {
        if (ring_) ring_->consume();
        ring_.reset();
        skeleton_.reset();
    }

private:
    // Resolves include/exclude names into the kernel's `traced` table.
    void choose_syscalls(const std::vector<std::string> &include, bool exclude_given,
                         const std::vector<std::string> &exclude) {
        auto id_of = [&](const std::string &name, const char *key) {
            for (const auto &s : syscall_names)
                if (name == s.name) return s.id;
            throw ConfigError(key, "unknown syscall \"" + name + "\"");
        };
        std::set<unsigned> selected;
        if (include.empty())
            for (const auto &s : syscall_names) selected.insert(s.id);
        for (const auto &name : include) selected.insert(id_of(name, "include"));
        for (const auto &name : exclude_given ? exclude : default_exclude) {
            // A default exclusion yields to an explicit include.
            if (!exclude_given && std::find(include.begin(), include.end(), name) != include.end()) continue;
            bool known = std::any_of(std::begin(syscall_names), std::end(syscall_names),
                                     [&](const SyscallName &s) { return name == s.name; });
            if (known) selected.erase(id_of(name, "exclude"));
            else if (exclude_given) id_of(name, "exclude");  // throws: unknown name
        }
        for (unsigned id : selected)
            if (id < SYSCALL_MAX) traced_[id] = 1;
        traced_count_ = selected.size();
    }

    // Opens, configures, loads and attaches the programs of one hook.
    std::string load(bpf::Hook hook) {
        bpf::last_libbpf_message().clear();
        std::unique_ptr<syscall_bpf, SkeletonDeleter> skel(syscall_bpf__open());
        if (!skel) return bpf::failure("open", errno);
        skel->rodata->threshold_ns = threshold_ns_;
        skel->rodata->self_tgid = static_cast<__u32>(getpid());
        skel->rodata->filter_tgid = static_cast<__u32>(pid_);
        skel->rodata->filter_cgroup = cgroup_id_;
        skel->rodata->histograms = histograms_;
        std::copy(comm_.begin(), comm_.end(), const_cast<char *>(skel->rodata->filter_comm));
        std::copy(std::begin(traced_), std::end(traced_), const_cast<__u8 *>(skel->rodata->traced));
        bpf_map__set_max_entries(skel->maps.entries, static_cast<__u32>(max_threads_));
        bpf_map__set_max_entries(skel->maps.events, static_cast<__u32>(ring_bytes_));
        const std::pair<bpf_program *, bpf::Hook> programs[] = {
            {skel->progs.sys_enter_btf, bpf::Hook::tp_btf}, {skel->progs.sys_exit_btf, bpf::Hook::tp_btf},
            {skel->progs.sys_enter_raw, bpf::Hook::raw_tp}, {skel->progs.sys_exit_raw, bpf::Hook::raw_tp},
            {skel->progs.sys_enter_tp, bpf::Hook::tracepoint}, {skel->progs.sys_exit_tp, bpf::Hook::tracepoint}};
        for (auto [program, h] : programs) bpf_program__set_autoload(program, h == hook);
        // tp_btf keeps start times in task storage, the others in the hash.
        bpf_map__set_autocreate(skel->maps.task_entries, hook == bpf::Hook::tp_btf);
        bpf_map__set_autocreate(skel->maps.entries, hook != bpf::Hook::tp_btf);
        if (int err = syscall_bpf__load(skel.get())) return bpf::failure("load", err);
        if (int err = syscall_bpf__attach(skel.get())) return bpf::failure("attach", err);
        skeleton_ = std::move(skel);
        return "";
    }

    void report_histograms() {
        const std::int64_t now = now_ns();
        __u32 id = 0, next = 0;
        const void *previous = nullptr;
        while (bpf_map__get_next_key(skeleton_->maps.latencies, previous, &next, sizeof next) == 0) {
            id = next;
            previous = &id;
            sonde_latency_histogram shared{};
            if (bpf_map__lookup_elem(skeleton_->maps.latencies, &id, sizeof id, &shared, sizeof shared, 0) != 0) continue;
            LatencyHistogram &h = histograms_by_id_[id];
            h.set_cumulative(&shared, 1);
            auto name = names_.find(id);
            const sonde_value syscall = str(name == names_.end() ? std::string_view("unknown") : std::string_view(name->second));
            latency_.add_histogram(h.point(), {syscall}, now);
            count_.add(uint_value(h.point().count), {syscall}, now);
        }
        latency_.emit(ctx_);
        count_.emit(ctx_);
    }

    // Gathers one pass of the ring buffer; emit_pending sends it as one batch.
    void on_event(const void *data, std::size_t size) {
        if (size >= sizeof(syscall_event)) pending_.push_back(*static_cast<const syscall_event *>(data));
    }

    void emit_pending() {
        for (const syscall_event &e : pending_) {
            auto name = names_.find(e.id);
            event_.add({int_value(e.pid), int_value(e.tid), str(std::string_view(e.comm, strnlen(e.comm, sizeof e.comm))),
                        int_value(e.id),
                        str(name == names_.end() ? std::string_view("unknown") : std::string_view(name->second)),
                        uint_value(e.latency_ns), int_value(e.ret)},
                       clock_.to_unix_ns(e.end_ns));
        }
        event_.emit(ctx_);  // the comm strings point into pending_: emit before clearing it
        pending_.clear();
    }

    std::uint64_t threshold_ns_;
    std::int64_t pid_;
    std::string comm_;
    std::int64_t max_threads_;
    std::uint64_t ring_bytes_;
    std::uint64_t cgroup_id_ = 0;
    bool histograms_;
    std::vector<bpf::Hook> hooks_;
    __u8 traced_[SYSCALL_MAX] = {};
    std::size_t traced_count_ = 0;
    std::map<unsigned, const char *> names_;

    EventBuffer event_;
    MetricBuffer latency_, count_, dropped_;
    std::map<__u32, LatencyHistogram> histograms_by_id_;
    bpf::Hook hook_ = bpf::Hook::tp_btf;
    bpf::KernelClock clock_;
    std::unique_ptr<syscall_bpf, SkeletonDeleter> skeleton_;
    std::unique_ptr<bpf::RingBuffer> ring_;
    std::vector<syscall_event> pending_;  // one ring buffer pass, reused
    bpf::LossCounters losses_{{"ringbuf_full", "map_full"}};  // indexes: enum syscall_counter
};

}  // namespace
}  // namespace sonde::syscall_tracer

SONDE_INPUT_PLUGIN(sonde::syscall_tracer::SyscallTracer, "syscall", "0.1.0",
                   "Slow syscalls (at or above a threshold) from raw_syscalls tracepoints")
