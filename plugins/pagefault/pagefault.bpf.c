// Page faults without kprobes: the exceptions:page_fault_{user,kernel}
// tracepoints fire at fault entry; the kernel raises the software perf events
// PERF_COUNT_SW_PAGE_FAULTS_MIN / _MAJ in mm_account_fault() once the fault
// is handled. Pairing the two per thread gives the latency and the
// major/minor split. Histograms per kind in a per-CPU array; optional
// sampled events through a ring buffer, at most one per sample_interval_ns
// per CPU.
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ebpf/bpf_comm.h"
#include "ebpf/latency_buckets.h"

#include "pagefault.h"

#include "ebpf/bpf_loss_counters.h"

char LICENSE[] SEC("license") = "GPL";

#define X86_PF_WRITE 0x2

const volatile __u32 self_tgid = 0;
const volatile __u32 filter_tgid = 0;
const volatile __u64 filter_cgroup = 0;
const volatile char filter_comm[TASK_COMM_LEN] = {}; /* "": every command */
const volatile __u64 sample_interval_ns = 0; /* 0: no events */
const volatile bool task_storage = false;    /* entries in task storage (tp_btf) or the hash */

struct entry {
    __u64 time_ns;
    __u64 address;
    __u64 ip;
    __u32 kind; /* FAULT_WRITE | FAULT_KERNEL */
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536); /* resized: max_threads */
    __type(key, __u32);         /* tid */
    __type(value, struct entry);
} entries SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct entry);
} task_entries SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, FAULT_KINDS);
    __type(key, __u32);
    __type(value, struct sonde_latency_histogram);
} histograms SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64); /* last sample time on this CPU */
} last_sample SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline bool wanted(void) {
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid == self_tgid || (filter_tgid && tgid != filter_tgid)) return false;
    if (filter_cgroup && bpf_get_current_cgroup_id() != filter_cgroup) return false;
    if (!filter_comm[0]) return true;
    char comm[TASK_COMM_LEN];
    bpf_get_current_comm(comm, sizeof(comm));
    return sonde_comm_matches(comm, filter_comm);
}

static __always_inline __u32 kind_of(unsigned long error_code, bool kernel) {
    return ((error_code & X86_PF_WRITE) ? FAULT_WRITE : 0) | (kernel ? FAULT_KERNEL : 0);
}

/* Hash variant (raw_tp, tracepoint). */
static __always_inline void store_entry(const struct entry *e) {
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    if (bpf_map_update_elem(&entries, &tid, e, BPF_NOEXIST) == 0) return;
    /* The thread's previous fault was never closed by a minor/major event. */
    if (bpf_map_update_elem(&entries, &tid, e, BPF_EXIST) == 0) count(COUNTER_UNPAIRED);
    else count(COUNTER_MAP_FULL);
}

/* Task-storage variant (tp_btf). */
static __always_inline void store_task_entry(const struct entry *e) {
    struct entry *slot = bpf_task_storage_get(&task_entries, bpf_get_current_task_btf(), 0,
                                              BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!slot) {
        count(COUNTER_MAP_FULL);
        return;
    }
    if (slot->time_ns) count(COUNTER_UNPAIRED);
    *slot = *e;
}

static __always_inline void record(__u64 start_ns, __u32 kind, __u64 address, __u64 ip);

static __always_inline void on_handled(__u32 major) {
    struct entry *e;
    if (task_storage) {
        e = bpf_task_storage_get(&task_entries, bpf_get_current_task_btf(), 0, 0);
        if (!e || !e->time_ns) return;
        record(e->time_ns, e->kind | major, e->address, e->ip);
        e->time_ns = 0;
        return;
    }
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    e = bpf_map_lookup_elem(&entries, &tid);
    if (!e) return;
    record(e->time_ns, e->kind | major, e->address, e->ip);
    bpf_map_delete_elem(&entries, &tid);
}

static __always_inline void record(__u64 start_ns, __u32 kind, __u64 address, __u64 ip) {
    __u64 now = bpf_ktime_get_ns();
    __u64 latency = now - start_ns;
    __u64 pid_tgid = bpf_get_current_pid_tgid();

    struct sonde_latency_histogram *h = bpf_map_lookup_elem(&histograms, &kind);
    if (!h) return;
    sonde_latency_add(h, latency);

    if (!sample_interval_ns) return;
    __u32 zero = 0;
    __u64 *last = bpf_map_lookup_elem(&last_sample, &zero);
    if (!last || now - *last < sample_interval_ns) return;
    *last = now;
    struct fault_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
    if (!ev) {
        count(COUNTER_RINGBUF_FULL);
        return;
    }
    ev->time_ns = now;
    ev->latency_ns = latency;
    ev->address = address;
    ev->ip = ip;
    ev->pid = pid_tgid >> 32;
    ev->tid = (__u32)pid_tgid;
    ev->kind = kind;
    bpf_get_current_comm(ev->comm, sizeof(ev->comm));
    bpf_ringbuf_submit(ev, 0);
}

static __always_inline struct entry make_entry(unsigned long address, __u64 ip, unsigned long error_code, bool kernel) {
    struct entry e = {.time_ns = bpf_ktime_get_ns(), .address = address, .ip = ip, .kind = kind_of(error_code, kernel)};
    return e;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(user_btf, unsigned long address, struct pt_regs *regs, unsigned long error_code) {
    if (!wanted()) return 0;
    struct entry e = make_entry(address, regs->ip, error_code, false);
    store_task_entry(&e);
    return 0;
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(kernel_btf, unsigned long address, struct pt_regs *regs, unsigned long error_code) {
    if (!wanted()) return 0;
    struct entry e = make_entry(address, regs->ip, error_code, true);
    store_task_entry(&e);
    return 0;
}

SEC("raw_tp/page_fault_user")
int BPF_PROG(user_raw, unsigned long address, struct pt_regs *regs, unsigned long error_code) {
    if (!wanted()) return 0;
    struct entry e = make_entry(address, BPF_CORE_READ(regs, ip), error_code, false);
    store_entry(&e);
    return 0;
}

SEC("raw_tp/page_fault_kernel")
int BPF_PROG(kernel_raw, unsigned long address, struct pt_regs *regs, unsigned long error_code) {
    if (!wanted()) return 0;
    struct entry e = make_entry(address, BPF_CORE_READ(regs, ip), error_code, true);
    store_entry(&e);
    return 0;
}

/* The classic tracepoint record (events/exceptions/page_fault_user/format);
 * vmlinux BTF does not describe it. */
struct page_fault_record {
    struct trace_entry ent;
    unsigned long address;
    unsigned long ip;
    unsigned long error_code;
};

SEC("tracepoint/exceptions/page_fault_user")
int user_tp(struct page_fault_record *ctx) {
    if (!wanted()) return 0;
    struct entry e = make_entry(ctx->address, ctx->ip, ctx->error_code, false);
    store_entry(&e);
    return 0;
}

SEC("tracepoint/exceptions/page_fault_kernel")
int kernel_tp(struct page_fault_record *ctx) {
    if (!wanted()) return 0;
    struct entry e = make_entry(ctx->address, ctx->ip, ctx->error_code, true);
    store_entry(&e);
    return 0;
}

/* End of handling: software perf events, one program per kind. */
SEC("perf_event")
int minor_fault(struct bpf_perf_event_data *ctx) {
    on_handled(0);
    return 0;
}

SEC("perf_event")
int major_fault(struct bpf_perf_event_data *ctx) {
    on_handled(FAULT_MAJOR);
    return 0;
}
