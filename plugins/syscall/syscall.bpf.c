// Slow syscalls: remember when each thread entered a traced syscall, and at
// exit send an event through the ring buffer when it took at least
// threshold_ns. Three attachments of the same logic: tp_btf, raw_tp and the
// raw_syscalls tracepoint; the plugin loads the cheapest that works. The
// tp_btf programs keep the start in task storage (no hashing, no deletes);
// the others in a preallocated hash keyed by thread id.
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ebpf/bpf_comm.h"
#include "ebpf/latency_buckets.h"

#include "syscall.h"

#include "ebpf/bpf_loss_counters.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the plugin before load. */
const volatile __u64 threshold_ns = 10000000;
const volatile __u32 self_tgid = 0;    /* never trace sonde itself */
const volatile __u32 filter_tgid = 0;  /* 0: every process */
const volatile __u64 filter_cgroup = 0; /* 0: every cgroup */
const volatile char filter_comm[TASK_COMM_LEN] = {}; /* "": every command */
const volatile __u8 traced[SYSCALL_MAX] = {};
const volatile bool histograms = false; /* per-syscall latency histograms */

/* Where a thread is: in which traced syscall since when. */
struct start {
    __u64 time_ns;
    __u32 id;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536); /* resized by the plugin: max_threads */
    __type(key, __u32);         /* tid */
    __type(value, struct start);
} entries SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct start);
} task_entries SEC(".maps");

/* Shared by all CPUs (atomic adds): per-CPU copies of 144 buckets for every
 * syscall would cost megabytes per CPU. Only syscalls seen get an entry. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, SYSCALL_MAX);
    __type(key, __u32); /* syscall id */
    __type(value, struct sonde_latency_histogram);
} latencies SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 20); /* resized by the plugin: ring_buffer_size */
} events SEC(".maps");

static __always_inline bool comm_matches(void) {
    if (!filter_comm[0]) return true;
    char comm[TASK_COMM_LEN];
    bpf_get_current_comm(comm, sizeof(comm));
    return sonde_comm_matches(comm, filter_comm);
}

/* tgid: the current process, read by the caller the cheapest way its hook allows. */
static __always_inline bool wanted(long id, __u32 tgid) {
    if (id < 0 || id >= SYSCALL_MAX || !traced[id]) return false;
    if (tgid == self_tgid) return false;
    if (filter_tgid && tgid != filter_tgid) return false;
    if (filter_cgroup && bpf_get_current_cgroup_id() != filter_cgroup) return false;
    return comm_matches();
}

static __always_inline void add_to_histogram(__u32 id, __u64 latency) {
    struct sonde_latency_histogram *h = bpf_map_lookup_elem(&latencies, &id);
    if (!h) {
        static const struct sonde_latency_histogram empty = {};
        bpf_map_update_elem(&latencies, &id, &empty, BPF_NOEXIST);
        h = bpf_map_lookup_elem(&latencies, &id);
        if (!h) {
            count(COUNTER_MAP_FULL);
            return;
        }
    }
    unsigned int bucket = sonde_latency_bucket(latency);
    if (bucket < SONDE_LATENCY_BUCKETS) __sync_fetch_and_add(&h->buckets[bucket], 1);
    __sync_fetch_and_add(&h->count, 1);
    __sync_fetch_and_add(&h->sum_ns, latency);
}

/* Sends one slow-syscall event; counts it when the ring buffer is full. */
static __always_inline void emit(__u64 now, __u64 latency, __u32 id, long ret) {
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    struct syscall_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        count(COUNTER_RINGBUF_FULL);
        return;
    }
    e->end_ns = now;
    e->latency_ns = latency;
    e->ret = ret;
    e->pid = pid_tgid >> 32;
    e->tid = (__u32)pid_tgid;
    e->id = id;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_ringbuf_submit(e, 0);
}

/* Hash variant (raw_tp, tracepoint). */
static __always_inline void on_enter(long id) {
    if (!wanted(id, bpf_get_current_pid_tgid() >> 32)) return;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct start s = {.time_ns = bpf_ktime_get_ns(), .id = (__u32)id};
    if (bpf_map_update_elem(&entries, &tid, &s, BPF_ANY) != 0) count(COUNTER_MAP_FULL);
}

static __always_inline void on_exit(long ret) {
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct start *s = bpf_map_lookup_elem(&entries, &tid);
    if (!s) return;
    __u64 now = bpf_ktime_get_ns();
    __u64 latency = now - s->time_ns;
    __u32 id = s->id;
    bpf_map_delete_elem(&entries, &tid);
    if (histograms) add_to_histogram(id, latency);
    if (latency >= threshold_ns) emit(now, latency, id, ret);
}

/* Task-storage variant (tp_btf). */
static __always_inline void on_enter_task(long id) {
    struct task_struct *task = bpf_get_current_task_btf();
    if (!wanted(id, task->tgid)) return; /* a direct read: no helper call */
    struct start *s = bpf_task_storage_get(&task_entries, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!s) {
        count(COUNTER_MAP_FULL);
        return;
    }
    s->time_ns = bpf_ktime_get_ns();
    s->id = (__u32)id;
}

static __always_inline void on_exit_task(long ret) {
    struct start *s = bpf_task_storage_get(&task_entries, bpf_get_current_task_btf(), 0, 0);
    if (!s || !s->time_ns) return;
    __u64 now = bpf_ktime_get_ns();
    __u64 latency = now - s->time_ns;
    s->time_ns = 0;
    if (histograms) add_to_histogram(s->id, latency);
    if (latency >= threshold_ns) emit(now, latency, s->id, ret);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id) {
    on_enter_task(id);
    return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret) {
    on_exit_task(ret);
    return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter_raw, struct pt_regs *regs, long id) {
    on_enter(id);
    return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit_raw, struct pt_regs *regs, long ret) {
    on_exit(ret);
    return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter_tp(struct trace_event_raw_sys_enter *ctx) {
    on_enter(ctx->id);
    return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit_tp(struct trace_event_raw_sys_exit *ctx) {
    on_exit(ctx->ret);
    return 0;
}
