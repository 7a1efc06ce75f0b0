/* Shared by pagefault.bpf.c and the plugin. */
#ifndef SONDE_PAGEFAULT_H
#define SONDE_PAGEFAULT_H

#define TASK_COMM_LEN 16

/* Histogram index: major(4) | write(2) | kernel(1). */
#define FAULT_MAJOR 4u
#define FAULT_WRITE 2u
#define FAULT_KERNEL 1u
#define FAULT_KINDS 8

/* A sampled fault. */
struct fault_event {
    __u64 time_ns;    /* end of handling, bpf_ktime_get_ns() */
    __u64 latency_ns;
    __u64 address;
    __u64 ip;
    __u32 pid;
    __u32 tid;
    __u32 kind;       /* FAULT_* bits */
    char comm[TASK_COMM_LEN];
};

enum fault_counter {
    COUNTER_RINGBUF_FULL = 0,
    COUNTER_MAP_FULL = 1,  /* fault entry not stored */
    COUNTER_UNPAIRED = 2,  /* an entry no minor/major event closed */
    COUNTER_COUNT = 3,
};

#endif
