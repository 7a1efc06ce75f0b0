/*
 * Log-linear latency buckets, shared by BPF programs (which count into them)
 * and plugins (which turn them into histogram points): four sub-buckets per
 * power of two, so a bucket is at most 25% wide. Values are nanoseconds.
 *
 * Bucket i < 4 holds exactly the value i. For i >= 4, with m = i / 4 + 1
 * (the value's highest set bit) and s = i % 4, bucket i holds the values
 * (4 + s) << (m - 2) through ((5 + s) << (m - 2)) - 1, both inclusive.
 * The last bucket also holds everything above (about 137 s and up).
 */
#ifndef SONDE_LATENCY_BUCKETS_H
#define SONDE_LATENCY_BUCKETS_H

#define SONDE_LATENCY_BUCKETS 144

static inline __attribute__((always_inline)) unsigned int sonde_log2_u64(unsigned long long v) {
    unsigned int r = 0;
    if (v >> 32) { v >>= 32; r += 32; }
    if (v >> 16) { v >>= 16; r += 16; }
    if (v >> 8) { v >>= 8; r += 8; }
    if (v >> 4) { v >>= 4; r += 4; }
    if (v >> 2) { v >>= 2; r += 2; }
    if (v >> 1) { r += 1; }
    return r;
}

static inline __attribute__((always_inline)) unsigned int sonde_latency_bucket(unsigned long long ns) {
    if (ns < 4) return (unsigned int)ns;
    unsigned int m = sonde_log2_u64(ns);
    unsigned int i = (m - 1) * 4 + (unsigned int)((ns >> (m - 2)) & 3);
    return i < SONDE_LATENCY_BUCKETS ? i : SONDE_LATENCY_BUCKETS - 1;
}

/* Largest value (ns) bucket i holds; meaningless for the last bucket. */
static inline unsigned long long sonde_latency_bucket_upper_ns(unsigned int i) {
    if (i < 4) return i;
    unsigned int m = i / 4 + 1, s = i % 4;
    return ((5ULL + s) << (m - 2)) - 1;
}

/* The kernel side of one histogram; per CPU, summed by the plugin. */
struct sonde_latency_histogram {
    unsigned long long buckets[SONDE_LATENCY_BUCKETS];
    unsigned long long count;
    unsigned long long sum_ns;
};

/* Adds one sample to a histogram only this CPU writes (a per-CPU map value). */
static inline __attribute__((always_inline)) void sonde_latency_add(struct sonde_latency_histogram *h,
                                                                    unsigned long long ns) {
    unsigned int bucket = sonde_latency_bucket(ns);
    if (bucket < SONDE_LATENCY_BUCKETS) h->buckets[bucket]++;
    h->count++;
    h->sum_ns += ns;
}

#endif
