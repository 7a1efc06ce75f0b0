/* Shared by iolatency.bpf.c and the plugin. */
#ifndef SONDE_IOLATENCY_H
#define SONDE_IOLATENCY_H

enum io_operation { IO_READ = 0, IO_WRITE = 1, IO_OTHER = 2 };

/* Histograms are kept per device and operation. */
struct io_key {
    __u32 dev;  /* kernel dev_t of the disk: major << 20 | minor */
    __u32 op;   /* enum io_operation */
};

struct io_stats {
    struct sonde_latency_histogram latency;
    __u64 bytes;
};

enum io_counter {
    COUNTER_MAP_FULL = 0, /* start time or device histogram not stored */
    COUNTER_COUNT = 1,
};

#endif
