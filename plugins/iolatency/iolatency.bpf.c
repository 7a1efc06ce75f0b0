// Block I/O latency: from request issue (or insert into the I/O scheduler)
// to completion, per disk and operation, counted into log-linear histograms
// in a per-CPU hash. The block_rq_issue/insert tracepoints lost their
// request_queue argument in 5.11; the plugin reads the argument count from
// BTF and loads the matching program. The classic tracepoints carry no
// request pointer, so that fallback keys requests by (dev, sector).
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ebpf/latency_buckets.h"

#include "iolatency.h"

#include "ebpf/bpf_loss_counters.h"

char LICENSE[] SEC("license") = "GPL";

#define MINORBITS 20
#define REQ_OP_BITS 8
#define REQ_OP_MASK ((1 << REQ_OP_BITS) - 1)

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384); /* resized: max_requests */
    __type(key, __u64);         /* request pointer, or dev << 44 ^ sector for tracepoints */
    __type(value, __u64);       /* start time */
} starts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 1024); /* resized: max_devices * 3 */
    __type(key, struct io_key);
    __type(value, struct io_stats);
} stats SEC(".maps");

/* Before 5.16 a request named its disk in rq_disk; since, rq->q->disk. */
struct request___old {
    struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline __u32 disk_dev(struct request *rq) {
    struct gendisk *disk;
    if (bpf_core_field_exists(((struct request___old *)rq)->rq_disk))
        disk = BPF_CORE_READ((struct request___old *)rq, rq_disk);
    else
        disk = BPF_CORE_READ(rq, q, disk);
    if (!disk) return 0;
    return ((__u32)BPF_CORE_READ(disk, major) << MINORBITS) | (__u32)BPF_CORE_READ(disk, first_minor);
}

static __always_inline __u32 op_of(__u32 cmd_flags) {
    __u32 op = cmd_flags & REQ_OP_MASK;
    return op == 0 ? IO_READ : op == 1 ? IO_WRITE : IO_OTHER;
}

static __always_inline void start(__u64 key, bool only_if_new) {
    __u64 now = bpf_ktime_get_ns();
    if (bpf_map_update_elem(&starts, &key, &now, only_if_new ? BPF_NOEXIST : BPF_ANY) != 0 && !only_if_new)
        count(COUNTER_MAP_FULL);
}

static __always_inline void complete(__u64 key, __u32 dev, __u32 op, __u64 bytes) {
    __u64 *ts = bpf_map_lookup_elem(&starts, &key);
    if (!ts) return;
    __u64 latency = bpf_ktime_get_ns() - *ts;
    bpf_map_delete_elem(&starts, &key);
    struct io_key k = {.dev = dev, .op = op};
    struct io_stats *s = bpf_map_lookup_elem(&stats, &k);
    if (!s) {
        static const struct io_stats empty = {};
        bpf_map_update_elem(&stats, &k, &empty, BPF_NOEXIST);
        s = bpf_map_lookup_elem(&stats, &k);
        if (!s) {
            count(COUNTER_MAP_FULL);
            return;
        }
    }
    sonde_latency_add(&s->latency, latency);
    s->bytes += bytes;
}

static __always_inline void on_complete(struct request *rq, unsigned int nr_bytes) {
    complete((__u64)rq, disk_dev(rq), op_of(BPF_CORE_READ(rq, cmd_flags)), nr_bytes);
}

/* ---- tp_btf and raw_tp: request pointers; 1-arg (5.11+) and 2-arg forms ---- */

SEC("tp_btf/block_rq_issue")
int BPF_PROG(issue_btf, struct request *rq) {
    start((__u64)rq, false);
    return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(issue_btf_q, struct request_queue *q, struct request *rq) {
    start((__u64)rq, false);
    return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(insert_btf, struct request *rq) {
    start((__u64)rq, false);
    return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(insert_btf_q, struct request_queue *q, struct request *rq) {
    start((__u64)rq, false);
    return 0;
}

/* With start = "insert", requests issued without an insert start at issue. */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(issue_if_new_btf, struct request *rq) {
    start((__u64)rq, true);
    return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(issue_if_new_btf_q, struct request_queue *q, struct request *rq) {
    start((__u64)rq, true);
    return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(complete_btf, struct request *rq, int error, unsigned int nr_bytes) {
    on_complete(rq, nr_bytes);
    return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(issue_raw, struct request *rq) {
    start((__u64)rq, false);
    return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(issue_raw_q, struct request_queue *q, struct request *rq) {
    start((__u64)rq, false);
    return 0;
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(insert_raw, struct request *rq) {
    start((__u64)rq, false);
    return 0;
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(insert_raw_q, struct request_queue *q, struct request *rq) {
    start((__u64)rq, false);
    return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(issue_if_new_raw, struct request *rq) {
    start((__u64)rq, true);
    return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(issue_if_new_raw_q, struct request_queue *q, struct request *rq) {
    start((__u64)rq, true);
    return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(complete_raw, struct request *rq, int error, unsigned int nr_bytes) {
    on_complete(rq, nr_bytes);
    return 0;
}

/* ---- classic tracepoints: no request pointer, key by device and sector ---- */

static __always_inline __u64 sector_key(__u32 dev, __u64 sector) { return ((__u64)dev << 44) ^ sector; }

static __always_inline __u32 op_of_rwbs(const char *rwbs) {
    for (int i = 0; i < 4; i++) {
        if (rwbs[i] == 'R') return IO_READ;
        if (rwbs[i] == 'W') return IO_WRITE;
        if (!rwbs[i]) break;
    }
    return IO_OTHER;
}

SEC("tracepoint/block/block_rq_issue")
int issue_tp(struct trace_event_raw_block_rq *ctx) {
    start(sector_key(ctx->dev, ctx->sector), false);
    return 0;
}

SEC("tracepoint/block/block_rq_insert")
int insert_tp(struct trace_event_raw_block_rq *ctx) {
    start(sector_key(ctx->dev, ctx->sector), false);
    return 0;
}

SEC("tracepoint/block/block_rq_issue")
int issue_if_new_tp(struct trace_event_raw_block_rq *ctx) {
    start(sector_key(ctx->dev, ctx->sector), true);
    return 0;
}

SEC("tracepoint/block/block_rq_complete")
int complete_tp(struct trace_event_raw_block_rq_completion *ctx) {
    /* The tracepoint's dev is the partition's; the plugin maps it to its disk. */
    complete(sector_key(ctx->dev, ctx->sector), ctx->dev, op_of_rwbs(ctx->rwbs), (__u64)ctx->nr_sector << 9);
    return 0;
}
