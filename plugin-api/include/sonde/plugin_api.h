/*
 * sonde plugin ABI — the only thing that crosses a plugin's .so boundary.
 *
 * Rules (see plugin-api/README.md, "The ABI rules", for the long form):
 *  - Pure C: no C++ types, no exceptions, no memory freed on the other side.
 *  - Every struct that crosses begins with `struct_size`; a reader uses a
 *    field only if it lies inside `struct_size`. Minor versions only append
 *    fields at the end of structs and functions at the end of tables.
 *  - A change of meaning (threading, ownership, return codes) is a new major.
 *  - The host accepts a plugin when abi_major == SONDE_ABI_MAJOR and the
 *    plugin's abi_minor <= the host's SONDE_ABI_MINOR.
 *
 * Threads: unless a function says otherwise, the host calls every callback
 * of one instance serialized (never two at once, possibly on different
 * threads). Host functions marked "any thread" may be called from threads the
 * plugin creates; the others only from inside a callback of the instance.
 */
#ifndef SONDE_PLUGIN_API_H
#define SONDE_PLUGIN_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The newest version these headers describe. A host speaks exactly this
 * version; a plugin declares SONDE_TARGET_ABI_MINOR (below). */
#define SONDE_ABI_MAJOR 1
#define SONDE_ABI_MINOR 4

/* The minor a plugin declares and builds for. Defaults to SONDE_ABI_MINOR. A
 * plugin that must load on an older host defines it before the first sonde
 * include (e.g. -DSONDE_TARGET_ABI_MINOR=1 for a 1.1 host): its descriptor
 * and sonde_plugin_abi then declare 1.1, its ops table ends where 1.1's did,
 * and the C++ SDK leaves out what needs a newer host (calling it is a compile
 * error, not a run-time surprise). */
#ifndef SONDE_TARGET_ABI_MINOR
#define SONDE_TARGET_ABI_MINOR SONDE_ABI_MINOR
#endif
#if SONDE_TARGET_ABI_MINOR < 0 || SONDE_TARGET_ABI_MINOR > SONDE_ABI_MINOR
#error "SONDE_TARGET_ABI_MINOR must be between 0 and SONDE_ABI_MINOR of these headers"
#endif

/* The entry point carries the major in its name, so a host of another major
 * never calls into a plugin it cannot understand. */
#define SONDE_ENTRY_SYMBOL "sonde_plugin_entry_v1"
/* Optional data symbol (struct sonde_abi_version) the host reads before it
 * calls any plugin function. */
#define SONDE_ABI_SYMBOL "sonde_plugin_abi"

/* Status codes: fixed numeric values, part of the ABI. */
typedef enum sonde_status {
    SONDE_OK = 0,
    SONDE_ERR_CONFIG = 1,      /* configuration rejected; message says why */
    SONDE_ERR_UNAVAILABLE = 2, /* source/privilege/kernel feature missing */
    SONDE_ERR_INTERNAL = 3,    /* bug or unexpected failure (caught exception) */
    SONDE_ERR_ARGUMENT = 4,    /* a host function got an invalid argument */
    SONDE_RETRY = 5,           /* sink only: keep this batch, offer it again later */
    /* Since 1.2. Sink only, from consume: the agent's standard output, which
     * this sink writes, was closed by its reader (EPIPE). The host counts the
     * batch and everything queued for the sink as dropped (output_closed) and
     * shuts the agent down in order, as a Unix filter ends when its reader
     * goes away. A 1.1 host treats it as any other error. */
    SONDE_ERR_OUTPUT_CLOSED = 6
} sonde_status;

typedef enum sonde_plugin_kind { SONDE_PLUGIN_INPUT = 1, SONDE_PLUGIN_SINK = 2 } sonde_plugin_kind;

typedef enum sonde_record_kind { SONDE_RECORD_METRIC = 1, SONDE_RECORD_EVENT = 2 } sonde_record_kind;

typedef enum sonde_metric_kind {
    SONDE_METRIC_GAUGE = 1,
    SONDE_METRIC_COUNTER = 2,  /* monotonic cumulative sum */
    SONDE_METRIC_HISTOGRAM = 3 /* cumulative explicit-bucket histogram */
} sonde_metric_kind;

typedef enum sonde_value_type {
    SONDE_VALUE_INT = 1,
    SONDE_VALUE_UINT = 2,
    SONDE_VALUE_DOUBLE = 3,
    SONDE_VALUE_BOOL = 4,
    SONDE_VALUE_STRING = 5
} sonde_value_type;

typedef enum sonde_log_level {
    SONDE_LOG_DEBUG = 1,
    SONDE_LOG_INFO = 2,
    SONDE_LOG_WARN = 3,
    SONDE_LOG_ERROR = 4
} sonde_log_level;

/* A string that is not necessarily NUL-terminated. Borrowed: valid only for
 * the duration of the call it is passed to. */
typedef struct sonde_str {
    const char *data;
    size_t size;
} sonde_str;

/* A typed value (attribute value or metric value). */
typedef struct sonde_value {
    uint32_t type; /* sonde_value_type */
    uint32_t reserved;
    union {
        int64_t i;
        uint64_t u;
        double d;
        int32_t b; /* 0 or 1 */
        sonde_str s;
    } as;
} sonde_value;

struct sonde_abi_version {
    uint32_t abi_major;
    uint32_t abi_minor;
};

/* ---------------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------------ */

/* What a plugin declares before it emits. All pointers are borrowed for the
 * call to declare_record; the host copies them. */
typedef struct sonde_record_decl {
    uint32_t struct_size;
    uint32_t record_kind;             /* sonde_record_kind, required */
    uint32_t metric_kind;             /* sonde_metric_kind, required for metrics */
    uint32_t attribute_count;         /* number of attribute_keys */
    const char *name;                 /* required, e.g. "system.cpu.time" */
    const char *unit;                 /* UCUM, e.g. "s", "By"; NULL or "" for none */
    const char *description;          /* optional one line */
    const char *const *attribute_keys; /* attribute_count keys, in emit order */
} sonde_record_decl;

/* Explicit-bucket histogram. bucket_counts has bound_count + 1 entries; the
 * last one counts values above the last bound. Bounds are inclusive upper
 * bounds, ascending. Counts are cumulative since start_time_ns (not per
 * bucket-cumulative: each entry counts its own bucket only). */
typedef struct sonde_histogram {
    uint32_t struct_size;
    uint32_t bound_count;
    const double *upper_bounds;
    const uint64_t *bucket_counts;
    uint64_t count;
    double sum;
} sonde_histogram;

/* One metric point. Attribute values are positional: attributes[i] is the
 * value of the declaration's attribute_keys[i]; attribute_count must equal
 * the declared count. In an array of points the stride is the first
 * element's struct_size. */
typedef struct sonde_metric_point {
    uint32_t struct_size;
    uint32_t attribute_count;
    const sonde_value *attributes;
    int64_t time_ns;       /* unix epoch nanoseconds; 0 = host fills in now */
    int64_t start_time_ns; /* counters/histograms: start of accumulation; 0 = instance start */
    sonde_value value;     /* gauge/counter: INT, UINT or DOUBLE; unused for histograms */
    const sonde_histogram *histogram; /* histogram kind only */
} sonde_metric_point;

/* One event. Attribute values are positional as for metric points. */
typedef struct sonde_event {
    uint32_t struct_size;
    uint32_t attribute_count;
    const sonde_value *attributes;
    int64_t time_ns; /* unix epoch nanoseconds; 0 = host fills in now */
} sonde_event;

/* ---------------------------------------------------------------------------
 * Host services (host -> plugin)
 * ------------------------------------------------------------------------ */

typedef struct sonde_host_context sonde_host_context; /* opaque, one per instance */

typedef void (*sonde_timer_fn)(void *user_data);
typedef void (*sonde_fd_ready_fn)(void *user_data, int fd);

/* Readiness events for watch_fd_once (since 1.1). */
#define SONDE_FD_READABLE 1u
#define SONDE_FD_WRITABLE 2u
typedef void (*sonde_fd_events_fn)(void *user_data, int fd, uint32_t ready_events);

typedef struct sonde_host_api {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t reserved;

    /* Declare a record this instance emits; writes its id. Only from create
     * or start. Declaring the same name twice returns the same id if the
     * declarations are equal, SONDE_ERR_ARGUMENT otherwise. */
    sonde_status (*declare_record)(sonde_host_context *ctx, const sonde_record_decl *decl,
                                   uint32_t *out_record_id);

    /* Emit points of one declared metric. The host copies what it keeps
     * before returning. Any thread. */
    sonde_status (*emit_metrics)(sonde_host_context *ctx, uint32_t record_id,
                                 const sonde_metric_point *points, size_t count);

    /* Emit events of one declared event record. Any thread. */
    sonde_status (*emit_events)(sonde_host_context *ctx, uint32_t record_id,
                                const sonde_event *events, size_t count);

    /* Log one message (not NUL-terminated) under the instance's name. Any thread. */
    void (*log)(sonde_host_context *ctx, uint32_t level, sonde_str message);

    /* Count records the plugin itself had to drop (e.g. lost BPF events).
     * `reason` is a short static token like "ringbuf_full". Any thread. */
    void (*count_drop)(sonde_host_context *ctx, const char *reason, uint64_t count);

    /* Call fn(user_data) every period_ns, first after one period, on the
     * instance's serialized context. Only from start or a callback. Timers
     * and watches end when the instance stops; no callback runs after stop
     * returns. */
    sonde_status (*add_timer)(sonde_host_context *ctx, uint64_t period_ns, sonde_timer_fn fn,
                              void *user_data, uint64_t *out_handle);

    /* Call fn(user_data, fd) each time fd becomes readable. The plugin keeps
     * ownership of fd and must keep it open until the watch is cancelled or
     * the instance stopped. Only from start or a callback. */
    sonde_status (*watch_fd)(sonde_host_context *ctx, int fd, sonde_fd_ready_fn fn,
                             void *user_data, uint64_t *out_handle);

    /* Cancel a timer or fd watch. Only from a callback of the instance. */
    void (*cancel)(sonde_host_context *ctx, uint64_t handle);

    /* Since 1.1. Call fn(user_data, fd, ready) once, when fd is readable or
     * writable as `events` asks (SONDE_FD_READABLE | SONDE_FD_WRITABLE); the
     * watch then ends by itself. The fd stays the plugin's; cancel the watch
     * before closing it. Only from start or a callback. For servers: one
     * watch per wait, re-armed as the plugin needs. */
    sonde_status (*watch_fd_once)(sonde_host_context *ctx, int fd, uint32_t events, sonde_fd_events_fn fn,
                                  void *user_data, uint64_t *out_handle);

    /* Since 1.2. Sinks with SONDE_SINK_REPORTS_DELIVERY only: `count`
     * records the sink accepted from consume() have reached its destination
     * (what "delivered" means is the sink's to document). Every accepted record
     * must end up reported exactly once, either here or through count_drop;
     * until then the host counts it as queued in the sink. Any thread. */
    void (*count_delivered)(sonde_host_context *ctx, uint64_t count);

    /* Since 1.3. Optional to call. A short fact about the instance that
     * `sonde status` shows beside it, e.g. key "hook" = "tp_btf" or
     * "bpf_programs" = "4". A later call with the same key replaces the value.
     * `key` is NUL-terminated, a short token ([a-z0-9_.]+, at most 64 bytes;
     * the host ignores any other key); `value` is borrowed for the call; the
     * host keeps at most 256 bytes of it and replaces invalid UTF-8 with
     * U+FFFD. Facts live as long as the instance. Any thread. A plugin checks
     * the host's struct_size before calling (the SDK does). */
    void (*set_fact)(sonde_host_context *ctx, const char *key, sonde_str value);

    /* Since 1.3. Optional to call, for sinks that send requests: one export
     * request finished (answered, failed or timed out), carrying `records`
     * records, after `duration_ns` from sending to its end; `ok` is 1 when the
     * destination accepted it, 0 otherwise. Each attempt of a retried request
     * is one call. Feeds the export request, error, latency and batch size
     * self-metrics; it does not count records as delivered or dropped
     * (count_delivered and count_drop do). Any thread. */
    void (*record_export)(sonde_host_context *ctx, uint64_t records, uint64_t duration_ns, int ok);
} sonde_host_api;

/* Error report the host hands to fallible calls. The plugin writes a
 * NUL-terminated message into `message` (at most message_capacity bytes),
 * and may write the configuration key the error is about (e.g. "devices.include")
 * into `key`, so the host can point at its file:line:column. */
typedef struct sonde_error {
    uint32_t struct_size;
    uint32_t reserved;
    char *message;
    size_t message_capacity;
    char *key;
    size_t key_capacity;
} sonde_error;

/* What the host tells an instance at creation. Borrowed for the call. */
typedef struct sonde_instance_info {
    uint32_t struct_size;
    uint32_t reserved;
    const char *instance_name;  /* e.g. "procfs" or "net_lo" */
    const char *config_json;    /* JSON object: the instance's TOML table minus host keys */
    size_t config_json_size;
    uint64_t interval_ns;       /* inputs: collection interval (host key `interval`) */
    const sonde_host_api *host; /* valid until destroy returns */
    sonde_host_context *ctx;    /* pass to every host function; valid until destroy returns */
} sonde_instance_info;

/* ---------------------------------------------------------------------------
 * Batches (host -> sink)
 * ------------------------------------------------------------------------ */

/* What a sink sees of a declaration. Valid while the record is. */
typedef struct sonde_record_info {
    uint32_t struct_size;
    uint32_t record_kind;
    uint32_t metric_kind;
    uint32_t attribute_count;
    const char *name;
    const char *unit;        /* never NULL; "" when none */
    const char *description; /* never NULL */
    const char *const *attribute_keys;
    const char *input_name;  /* instance that emitted it */
} sonde_record_info;

/* One record in a batch: metric points or events of one declaration. */
typedef struct sonde_record_group {
    uint32_t struct_size;
    uint32_t reserved;
    const sonde_record_info *info;
    const sonde_metric_point *points; /* record_kind == METRIC, stride sizeof(sonde_metric_point) */
    const sonde_event *events;        /* record_kind == EVENT, stride sizeof(sonde_event) */
    size_t count;
} sonde_record_group;

/* A batch borrowed by consume(); nothing of it may be kept after return. */
typedef struct sonde_batch {
    uint32_t struct_size;
    uint32_t reserved;
    const sonde_record_group *groups;
    size_t group_count;
} sonde_batch;

/* ---------------------------------------------------------------------------
 * Plugin descriptor (plugin -> host)
 * ------------------------------------------------------------------------ */

typedef struct sonde_instance sonde_instance; /* opaque, owned by the plugin */

/* Callbacks shared by both kinds. Each returns a status and fills `error`. */
typedef struct sonde_plugin_ops {
    uint32_t struct_size;
    uint32_t reserved;

    /* Required. Validate config, declare records; no I/O beyond that, because
     * the host also creates instances just to list what they emit. */
    sonde_status (*create)(const sonde_instance_info *info, sonde_instance **out_instance,
                           sonde_error *error);
    /* Required. Open sources, arm timers and watches. */
    sonde_status (*start)(sonde_instance *instance, sonde_error *error);
    /* Required. Release what start acquired; timers are already cancelled.
     * A sink with SONDE_SINK_REPORTS_DELIVERY counts everything it still
     * holds as dropped here (count_drop, with a reason). */
    void (*stop)(sonde_instance *instance);
    /* Required. Free the instance. Called once, after stop if start ran. */
    void (*destroy)(sonde_instance *instance);

    /* Sinks only, required for them: deliver one batch. SONDE_RETRY keeps
     * the batch for a later call; any other error drops it (counted). */
    sonde_status (*consume)(sonde_instance *instance, const sonde_batch *batch, sonde_error *error);
    /* Sinks only, optional: write out (or start sending) anything buffered.
     * The host calls it when the agent drains at shutdown, once the sink's
     * queue is empty, and again just before stop. */
    sonde_status (*flush)(sonde_instance *instance, sonde_error *error);

    /* Since 1.1. Sinks only, optional: the input instance `input_name` has
     * stopped and will emit nothing more (a sink that keeps state per
     * series, like an exposition endpoint, drops that input's series). On
     * the sink's serialized context. */
    void (*input_stopped)(sonde_instance *instance, const char *input_name);

    /* Since 1.2. SONDE_SINK_* flags; 0 for inputs. */
    uint64_t flags;

    /* Since 1.4. Optional: declare, through info->host->declare_record and
     * info->ctx, every record the plugin can emit, without an instance and
     * without a configuration (`sonde plugins --describe`). info->config_json
     * is "{}" and info->instance_name the plugin's name; the host calls
     * nothing else of info->ctx than declare_record and log, and info is
     * borrowed for the call. Nothing the plugin allocates may outlive the
     * call. Any one thread.
     *
     * Why a separate call rather than create with an empty table: create's
     * contract is to refuse a table without its required keys, and describing
     * a plugin must not depend on having a valid configuration at hand. A
     * host meeting a plugin without describe (older than 1.4, or one that
     * leaves it NULL) falls back to create with an empty table and says so
     * when that fails. */
    sonde_status (*describe)(const sonde_instance_info *info, sonde_error *error);
} sonde_plugin_ops;

/* How far a plugin's ops table reaches for each minor: the struct_size a
 * plugin of that minor sets. */
#define SONDE_PLUGIN_OPS_SIZE_1_0 offsetof(sonde_plugin_ops, input_stopped)
#define SONDE_PLUGIN_OPS_SIZE_1_1 offsetof(sonde_plugin_ops, flags)
#define SONDE_PLUGIN_OPS_SIZE_1_3 offsetof(sonde_plugin_ops, describe)
#define SONDE_PLUGIN_OPS_SIZE_1_4 sizeof(sonde_plugin_ops)

/* The sink buffers what consume() accepts and reports, through the host's
 * count_delivered and count_drop, what became of every accepted record.
 * Without this flag, a record counts as delivered when consume() returns
 * SONDE_OK. Since 1.2. */
#define SONDE_SINK_REPORTS_DELIVERY 1u

typedef struct sonde_plugin_descriptor {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t kind;                /* sonde_plugin_kind */
    const char *name;             /* unique plugin name, [a-z0-9_]+ */
    const char *version;          /* plugin's own version, e.g. "0.1.0" */
    const char *description;      /* one line */
    const sonde_plugin_ops *ops;  /* static lifetime */
} sonde_plugin_descriptor;

/* The one exported function: returns a descriptor of static lifetime. */
typedef const sonde_plugin_descriptor *(*sonde_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* SONDE_PLUGIN_API_H */
