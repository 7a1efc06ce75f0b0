// Run-queue latency: the time from a task becoming runnable (woken up, newly
// created, or preempted while still runnable) to it running again, counted
// into log-linear histograms in per-CPU maps. Optional events for waits
// above a threshold. tp_btf keeps enqueue times in task storage; raw_tp and
// the classic tracepoints in a hash keyed by thread id.
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ebpf/bpf_comm.h"
#include "ebpf/latency_buckets.h"

#include "sched.h"

#include "ebpf/bpf_loss_counters.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0

const volatile __u32 self_tgid = 0;
const volatile __u32 filter_tgid = 0;
const volatile __u64 filter_cgroup = 0;
const volatile char filter_comm[TASK_COMM_LEN] = {}; /* "": every command */
const volatile __u32 group_by = GROUP_NONE;
const volatile __u64 slow_threshold_ns = 0; /* 0: no events */

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, __u64);
} task_enqueued SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536); /* resized: max_threads */
    __type(key, __u32);         /* tid */
    __type(value, __u64);       /* enqueue time */
} enqueued SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sonde_latency_histogram);
} global_histogram SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 1024); /* resized: max_groups */
    __type(key, __u64);        /* cgroup id or tgid */
    __type(value, struct sonde_latency_histogram);
} group_histograms SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Older kernels call the field `state`, newer ones `__state`. */
struct task_struct___o {
    volatile long int state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t) {
    if (bpf_core_field_exists(t->__state)) return BPF_CORE_READ(t, __state);
    return BPF_CORE_READ((struct task_struct___o *)t, state);
}

static __always_inline bool wanted(struct task_struct *t) {
    __u32 tgid = BPF_CORE_READ(t, tgid);
    if (tgid == self_tgid || BPF_CORE_READ(t, pid) == 0) return false; /* sonde, idle */
    if (filter_tgid && tgid != filter_tgid) return false;
    if (filter_cgroup && BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id) != filter_cgroup) return false;
    if (filter_comm[0]) {
        char comm[TASK_COMM_LEN];
        BPF_CORE_READ_STR_INTO(&comm, t, comm);
        return sonde_comm_matches(comm, filter_comm);
    }
    return true;
}

static __always_inline void record(struct task_struct *t, __u64 latency, __u64 now, bool preempted) {
    struct sonde_latency_histogram *h;
    if (group_by == GROUP_NONE) {
        __u32 zero = 0;
        h = bpf_map_lookup_elem(&global_histogram, &zero);
    } else {
        __u64 key = group_by == GROUP_PID ? (__u64)BPF_CORE_READ(t, tgid) : BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
        h = bpf_map_lookup_elem(&group_histograms, &key);
        if (!h) {
            static const struct sonde_latency_histogram empty = {};
            if (bpf_map_update_elem(&group_histograms, &key, &empty, BPF_NOEXIST) != 0 &&
                !bpf_map_lookup_elem(&group_histograms, &key)) {
                count(COUNTER_MAP_FULL);
                return;
            }
            h = bpf_map_lookup_elem(&group_histograms, &key);
        }
    }
    if (!h) return;
    sonde_latency_add(h, latency);

    if (!slow_threshold_ns || latency < slow_threshold_ns) return;
    struct sched_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        count(COUNTER_RINGBUF_FULL);
        return;
    }
    e->time_ns = now;
    e->latency_ns = latency;
    e->pid = BPF_CORE_READ(t, tgid);
    e->tid = BPF_CORE_READ(t, pid);
    e->cpu = bpf_get_smp_processor_id();
    e->preempted = preempted;
    BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
    bpf_ringbuf_submit(e, 0);
}

/* ---- tp_btf: task storage ---- */

static __always_inline void enqueue_task(struct task_struct *t) {
    if (!wanted(t)) return;
    __u64 *ts = bpf_task_storage_get(&task_enqueued, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (ts) *ts = bpf_ktime_get_ns();
    else count(COUNTER_MAP_FULL);
}

static __always_inline void switch_task(struct task_struct *prev, struct task_struct *next) {
    bool preempted = task_state(prev) == TASK_RUNNING;
    if (preempted) enqueue_task(prev);
    __u64 *ts = bpf_task_storage_get(&task_enqueued, next, 0, 0);
    if (!ts || !*ts) return;
    __u64 now = bpf_ktime_get_ns();
    __u64 latency = now - *ts;
    *ts = 0;
    record(next, latency, now, preempted);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(wakeup_btf, struct task_struct *p) {
    enqueue_task(p);
    return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(wakeup_new_btf, struct task_struct *p) {
    enqueue_task(p);
    return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next) {
    switch_task(prev, next);
    return 0;
}

/* ---- raw_tp: hash by tid ---- */

static __always_inline void enqueue_hash(struct task_struct *t) {
    if (!wanted(t)) return;
    __u32 tid = BPF_CORE_READ(t, pid);
    __u64 now = bpf_ktime_get_ns();
    if (bpf_map_update_elem(&enqueued, &tid, &now, BPF_ANY) != 0) count(COUNTER_MAP_FULL);
}

static __always_inline void switch_hash(struct task_struct *prev, struct task_struct *next) {
    bool preempted = task_state(prev) == TASK_RUNNING;
    if (preempted) enqueue_hash(prev);
    __u32 tid = BPF_CORE_READ(next, pid);
    __u64 *ts = bpf_map_lookup_elem(&enqueued, &tid);
    if (!ts) return;
    __u64 now = bpf_ktime_get_ns();
    __u64 latency = now - *ts;
    bpf_map_delete_elem(&enqueued, &tid);
    record(next, latency, now, preempted);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(wakeup_raw, struct task_struct *p) {
    enqueue_hash(p);
    return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(wakeup_new_raw, struct task_struct *p) {
    enqueue_hash(p);
    return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next) {
    switch_hash(prev, next);
    return 0;
}

/* ---- classic tracepoints: pids only, so tasks are read from current ---- */

SEC("tracepoint/sched/sched_wakeup")
int wakeup_tp(struct trace_event_raw_sched_wakeup_template *ctx) {
    __u32 tid = ctx->pid;
    __u64 now = bpf_ktime_get_ns();
    if (tid && bpf_map_update_elem(&enqueued, &tid, &now, BPF_ANY) != 0) count(COUNTER_MAP_FULL);
    return 0;
}

SEC("tracepoint/sched/sched_wakeup_new")
int wakeup_new_tp(struct trace_event_raw_sched_wakeup_template *ctx) {
    __u32 tid = ctx->pid;
    __u64 now = bpf_ktime_get_ns();
    if (tid && bpf_map_update_elem(&enqueued, &tid, &now, BPF_ANY) != 0) count(COUNTER_MAP_FULL);
    return 0;
}

SEC("tracepoint/sched/sched_switch")
int switch_tp(struct trace_event_raw_sched_switch *ctx) {
    /* current is prev here; next's task pointer is not in the record. */
    struct task_struct *prev = (struct task_struct *)bpf_get_current_task();
    bool preempted = ctx->prev_state == TASK_RUNNING;
    if (preempted) enqueue_hash(prev);
    __u32 tid = ctx->next_pid;
    __u64 *ts = bpf_map_lookup_elem(&enqueued, &tid);
    if (!ts) return 0;
    __u64 latency = bpf_ktime_get_ns() - *ts;
    bpf_map_delete_elem(&enqueued, &tid);
    /* Without next's task pointer: the global histogram only. */
    __u32 zero = 0;
    struct sonde_latency_histogram *h = bpf_map_lookup_elem(&global_histogram, &zero);
    if (!h) return 0;
    sonde_latency_add(h, latency);
    return 0;
}
