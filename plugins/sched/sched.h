/* Shared by sched.bpf.c and the plugin. */
#ifndef SONDE_SCHED_H
#define SONDE_SCHED_H

#define TASK_COMM_LEN 16

/* How samples are grouped (rodata group_by). */
enum runqueue_grouping { GROUP_NONE = 0, GROUP_CGROUP = 1, GROUP_PID = 2 };

/* A run-queue wait at or above slow_threshold_ns (runqslower). */
struct sched_event {
    __u64 time_ns;    /* bpf_ktime_get_ns() when the task got the CPU */
    __u64 latency_ns;
    __u32 pid;        /* tgid */
    __u32 tid;
    __u32 cpu;
    __u32 preempted;  /* 1: waited after preemption, 0: after a wakeup */
    char comm[TASK_COMM_LEN];
};

enum sched_counter {
    COUNTER_RINGBUF_FULL = 0,
    COUNTER_MAP_FULL = 1,    /* wakeup time or group histogram not stored */
    COUNTER_COUNT = 2,
};

#endif
