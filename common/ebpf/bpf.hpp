// Support for eBPF input plugins (needs libbpf): privilege check, hook
// choice by actually loading, tracefs when a plain tracepoint needs it, ring
// buffers delivered through the host's fd watch, libbpf's errors captured
// for one-line refusals, kernel time converted to wall-clock time.
#pragma once

#include "ebpf/bpf_load_lock.hpp"
#include <sonde/sdk.hpp>
#include "text/text.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace sonde::bpf {

// Upper bounds for configuration keys that size maps or filter by pid, so a
// value the kernel would refuse at start is refused by check-config instead.
inline constexpr std::int64_t max_pid = 4'194'304;           // PID_MAX_LIMIT on 64-bit
inline constexpr std::int64_t max_map_entries = 16'777'216;  // per map, far above any sane use

// ---------------------------------------------------------------------------
// libbpf messages: warnings are kept (the last one explains a failed load),
// debug chatter is dropped. libbpf's print hook is process-wide.

inline std::string &last_libbpf_message() {
    static thread_local std::string message;
    return message;
}

inline int keep_libbpf_warning(enum libbpf_print_level level, const char *format, va_list args) {
    if (level == LIBBPF_DEBUG) return 0;
    char text[512];
    int n = std::vsnprintf(text, sizeof text, format, args);
    if (n <= 0) return 0;
    std::string line(text);
    while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) last_libbpf_message() = line;
    return 0;
}

inline void capture_libbpf_messages() { libbpf_set_print(keep_libbpf_warning); }

// "what: libbpf's last message (errno text)".
inline std::string failure(const std::string &what, int error) {
    std::string out = what + ": " + std::strerror(error < 0 ? -error : error);
    if (!last_libbpf_message().empty()) out += " (libbpf: " + last_libbpf_message() + ")";
    return out;
}

// ---------------------------------------------------------------------------
// Privileges

// Throws Unavailable unless the process may load tracing programs: root,
// CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON.
inline void require_privileges() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &header, data) != 0) throw Unavailable("cannot read capabilities");
    auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1u; };
    constexpr int cap_perfmon = 38, cap_bpf = 39;
    if (has(CAP_SYS_ADMIN) || (has(cap_bpf) && has(cap_perfmon))) return;
    throw Unavailable("needs root, or CAP_BPF and CAP_PERFMON, to load BPF programs (running as uid " +
                      std::to_string(geteuid()) + ")");
}

// ---------------------------------------------------------------------------
// Hooks

enum class Hook { tp_btf, raw_tp, tracepoint };

inline const char *hook_name(Hook h) {
    switch (h) {
        case Hook::tp_btf: return "tp_btf";
        case Hook::raw_tp: return "raw_tp";
        case Hook::tracepoint: return "tracepoint";
    }
    return "?";
}

// Hooks listed in SONDE_BPF_FAIL_HOOKS (comma-separated names) fail their
// probe as if the kernel lacked them: how tests exercise the fallbacks.
inline bool forced_to_fail(Hook h) {
    const char *list = std::getenv("SONDE_BPF_FAIL_HOOKS");
    if (!list) return false;
    std::string all = std::string(",") + list + ",";
    return all.find(std::string(",") + hook_name(h) + ",") != std::string::npos;
}

// Plain tracepoints need tracefs for their ids; mounts it when root.
inline bool ensure_tracefs(Context &ctx) {
    struct stat st {};
    if (::stat("/sys/kernel/tracing/events", &st) == 0 || ::stat("/sys/kernel/debug/tracing/events", &st) == 0)
        return true;
    if (geteuid() != 0) return false;
    ::mkdir("/sys/kernel/tracing", 0755);
    if (::mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0) return false;
    ctx.info("mounted tracefs at /sys/kernel/tracing");
    return true;
}

// Programs of a loaded object that the kernel holds: those left to autoload
// (the hook's twins switched off are not loaded and have no fd).
inline std::size_t loaded_programs(const bpf_object *object) {
    std::size_t n = 0;
    bpf_program *program = nullptr;
    bpf_object__for_each_program(program, object) {
        if (bpf_program__autoload(program) && bpf_program__fd(program) >= 0) ++n;
    }
    return n;
}

// Tries each hook in order with `try_load(hook)`, which opens, configures,
// loads and attaches the programs of that hook and returns an error text ("")
// on success. Returns the first hook that works; throws Unavailable naming
// every hook's failure when none does. On success it sets the instance's
// facts (shown by `sonde status`): "hook" (the hook's name) and, when
// `loaded_object` is given, "bpf_programs" (loaded_programs of the object it
// returns once the hook's load succeeded). One load at a time in the
// process (KernelBtfLoadLock): each holds a parse of the kernel's BTF.
inline Hook choose_hook(Context &ctx, const std::vector<Hook> &order,
                        const std::function<std::string(Hook)> &try_load,
                        const std::function<const bpf_object *()> &loaded_object = {}) {
    std::string reasons;
    for (Hook h : order) {
        std::string error;
        if (forced_to_fail(h)) error = "unavailable (forced by SONDE_BPF_FAIL_HOOKS)";
        else if (h == Hook::tracepoint && !ensure_tracefs(ctx)) error = "tracefs is not mounted";
        else {
            KernelBtfLoadLock one_load_at_a_time;
            error = try_load(h);
        }
        if (!error.empty()) {
            reasons += std::string(reasons.empty() ? "" : "; ") + hook_name(h) + ": " + error;
            continue;
        }
        ctx.set_fact("hook", hook_name(h));
        if (const bpf_object *object = loaded_object ? loaded_object() : nullptr)
            ctx.set_fact("bpf_programs", std::to_string(loaded_programs(object)));
        return h;
    }
    throw Unavailable("no usable hook on this kernel: " + reasons);
}

// Arguments of a tracepoint as the running kernel declares them (the
// btf_trace_<name> typedef in vmlinux BTF), not counting the leading context
// pointer; -1 when unknown. How a plugin tells tracepoint versions apart.
inline int tracepoint_arg_count(const std::string &name) {
    KernelBtfLoadLock one_parse_at_a_time;
    btf *vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) return -1;
    int count = -1;
    std::int32_t id = btf__find_by_name_kind(vmlinux, ("btf_trace_" + name).c_str(), BTF_KIND_TYPEDEF);
    const btf_type *t = id > 0 ? btf__type_by_id(vmlinux, static_cast<std::uint32_t>(id)) : nullptr;
    if (t) t = btf__type_by_id(vmlinux, t->type);                  // pointer
    if (t && btf_is_ptr(t)) t = btf__type_by_id(vmlinux, t->type);  // function prototype
    if (t && btf_is_func_proto(t)) count = btf_vlen(t) - 1;
    btf__free(vmlinux);
    return count;
}

// Reads `hooks = [...]` (names, in preference order) or the default order.
inline std::vector<Hook> hook_order(Config &config) {
    std::vector<Hook> order;
    for (const std::string &name : config.get_strings("hooks", {"tp_btf", "raw_tp", "tracepoint"})) {
        if (name == "tp_btf") order.push_back(Hook::tp_btf);
        else if (name == "raw_tp") order.push_back(Hook::raw_tp);
        else if (name == "tracepoint") order.push_back(Hook::tracepoint);
        else throw ConfigError("hooks", "unknown hook \"" + name + "\" (tp_btf, raw_tp, tracepoint)");
    }
    if (order.empty()) throw ConfigError("hooks", "needs at least one hook");
    return order;
}

// ---------------------------------------------------------------------------
// Ring buffer: the host watches its epoll fd; no polling thread.

// Each readiness callback hands at most `max_per_pass` records to `handler`
// and then calls `pass_end` (where a plugin emits what it gathered as one
// batch); whatever is left keeps the fd readable, so the next pass comes
// after the sinks had their turn on the io_context.
class RingBuffer {
public:
    using Handler = std::function<void(const void *data, std::size_t size)>;

    RingBuffer(Context &ctx, int map_fd, Handler handler, std::function<void()> pass_end = {},
               std::size_t max_per_pass = 4096)
        : handler_(std::move(handler)), pass_end_(std::move(pass_end)), max_per_pass_(max_per_pass) {
        ring_ = ring_buffer__new(map_fd, &RingBuffer::dispatch, this, nullptr);
        if (!ring_) throw Unavailable(failure("ring buffer", errno));
        ctx.when_readable(ring_buffer__epoll_fd(ring_), [this] { consume(); });
    }
    ~RingBuffer() { ring_buffer__free(ring_); }
    RingBuffer(const RingBuffer &) = delete;
    RingBuffer &operator=(const RingBuffer &) = delete;

    // One pass over what is ready (also used to drain before stopping).
    void consume() {
        in_pass_ = 0;
        ring_buffer__consume(ring_);
        if (pass_end_) pass_end_();
    }

private:
    static int dispatch(void *self, void *data, std::size_t size) {
        auto *ring = static_cast<RingBuffer *>(self);
        ring->handler_(data, size);
        return ++ring->in_pass_ < ring->max_per_pass_ ? 0 : -1;  // -1: stop this pass; the record is consumed
    }
    ring_buffer *ring_ = nullptr;
    Handler handler_;
    std::function<void()> pass_end_;
    std::size_t max_per_pass_;
    std::size_t in_pass_ = 0;
};

// ---------------------------------------------------------------------------
// Per-CPU maps

inline std::size_t possible_cpus() {
    int n = libbpf_num_possible_cpus();
    return n > 0 ? static_cast<std::size_t>(n) : 1;
}

// Online CPU numbers, from /sys/devices/system/cpu/online ("0-3,5"); empty
// when the file cannot be read or is not a CPU list (text::cpu_list).
inline std::vector<int> online_cpus() {
    std::FILE *f = std::fopen("/sys/devices/system/cpu/online", "r");
    if (!f) return {};
    char buffer[4096];
    std::size_t n = std::fread(buffer, 1, sizeof buffer, f);
    std::fclose(f);
    return text::cpu_list(std::string_view(buffer, n)).value_or(std::vector<int>{});
}

// The per-CPU values of one key of a per-CPU map; empty when the key is absent.
template <typename Value, typename Key>
std::vector<Value> per_cpu_values(const bpf_map *map, const Key &key) {
    std::vector<Value> values(possible_cpus());
    if (bpf_map__lookup_elem(map, &key, sizeof key, values.data(), values.size() * sizeof(Value), 0) != 0)
        values.clear();
    return values;
}

// Loss counters kept by a BPF program in a per-CPU u64 array (one index per
// reason): reports what is new as the instance's drops, and emits the totals
// as `<plugin>.dropped{reason}` through `metric`.
class LossCounters {
public:
    LossCounters(std::vector<const char *> reasons) : reasons_(std::move(reasons)), reported_(reasons_.size()) {}

    void report(Context &ctx, const bpf_map *map, MetricBuffer &metric) {
        for (std::uint32_t key = 0; key < reasons_.size(); ++key) {
            std::uint64_t total = 0;
            for (std::uint64_t v : per_cpu_values<std::uint64_t>(map, key)) total += v;
            if (total > reported_[key]) ctx.count_drop(reasons_[key], total - reported_[key]);
            reported_[key] = total;
            metric.add(uint_value(total), {str(reasons_[key])});
        }
        metric.emit(ctx);
    }

private:
    std::vector<const char *> reasons_;
    std::vector<std::uint64_t> reported_;
};

// ---------------------------------------------------------------------------
// Time: BPF timestamps are CLOCK_MONOTONIC (bpf_ktime_get_ns).

class KernelClock {
public:
    KernelClock() { resync(); }
    // Re-reads the offset (NTP may step the wall clock).
    void resync() {
        timespec mono{}, real{};
        clock_gettime(CLOCK_MONOTONIC, &mono);
        clock_gettime(CLOCK_REALTIME, &real);
        offset_ns_ = (real.tv_sec - mono.tv_sec) * 1'000'000'000LL + (real.tv_nsec - mono.tv_nsec);
    }
    std::int64_t to_unix_ns(std::uint64_t monotonic_ns) const {
        return static_cast<std::int64_t>(monotonic_ns) + offset_ns_;
    }

private:
    std::int64_t offset_ns_ = 0;
};

// Cgroup v2 id of a path (its inode number), as bpf_get_current_cgroup_id()
// returns it; throws ConfigError for a path that is not a cgroup.
inline std::uint64_t cgroup_id(const std::string &path, const std::string &key) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw ConfigError(key, "not a cgroup v2 directory: " + path);
    return st.st_ino;
}

}  // namespace sonde::bpf
