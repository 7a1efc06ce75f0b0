/* Shared by syscall.bpf.c and the plugin: the event layout and limits. */
#ifndef SONDE_SYSCALL_H
#define SONDE_SYSCALL_H

#define SYSCALL_MAX 1024 /* syscall numbers traced: 0 .. SYSCALL_MAX-1 */
#define TASK_COMM_LEN 16

/* One syscall at or above the threshold. */
struct syscall_event {
    __u64 end_ns;     /* bpf_ktime_get_ns() at exit */
    __u64 latency_ns;
    __s64 ret;
    __u32 pid;        /* tgid */
    __u32 tid;
    __u32 id;         /* syscall number */
    char comm[TASK_COMM_LEN];
};

/* Per-CPU counters, indexes of the `counters` map. */
enum syscall_counter {
    COUNTER_RINGBUF_FULL = 0, /* event lost: ring buffer reservation failed */
    COUNTER_MAP_FULL = 1,     /* start time not stored: starts map full */
    COUNTER_COUNT = 2,
};

#endif
