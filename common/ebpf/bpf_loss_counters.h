/*
 * Loss counters for a BPF program (include after vmlinux.h, with
 * COUNTER_COUNT defined): a per-CPU u64 array `counters`, one slot per
 * reason, that the plugin reads with sonde::bpf::LossCounters.
 */
#ifndef SONDE_BPF_LOSS_COUNTERS_H
#define SONDE_BPF_LOSS_COUNTERS_H

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, COUNTER_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 which) {
    __u64 *c = bpf_map_lookup_elem(&counters, &which);
    if (c) *c += 1;
}

#endif
