#!/usr/bin/env python3
"""Compares sonde's iolatency with libbpf-tools' biolatency attached at the
same time to the same workload. biolatency's histogram covers reads and
writes together (it has no per-operation split without -F), so sonde's read,
write and other series are summed for the comparison.

  iolatency_vs_biolatency.py SONDE_JSONL BIOLATENCY_OUTPUT DISK
"""
import json
import re
import sys


def sonde_histogram(path, disk):
    """Bucket counts (upper bound s -> count) gained between sonde's first
    collection (before the workload) and its last. A series that appears only
    later (its first I/O came after the first collection) starts from zero."""
    first_time, first, last = None, {}, {}
    for line in open(path):
        r = json.loads(line)
        first_time = first_time or r["time"]  # block.io.dropped comes every interval
        if r["name"] != "block.io.latency" or r["attributes"]["device"] != disk:
            continue
        op = r["attributes"]["operation"]
        if op not in first:
            first[op] = r["histogram"] if r["time"] == first_time else None
        last[op] = r["histogram"]
    buckets = {}
    for op, h in last.items():
        base = first[op]["counts"] if first[op] else [0] * len(h["counts"])
        bounds = h["bounds"] + [float("inf")]
        for i, bound in enumerate(bounds):
            buckets[bound] = buckets.get(bound, 0) + h["counts"][i] - base[i]
    return sorted(buckets.items())


def biolatency_histogram(path):
    """(low us, high us, count) rows of biolatency's log2 histogram."""
    rows = []
    for line in open(path):
        m = re.match(r"\s*(\d+)\s*->\s*(\d+)\s*:\s*(\d+)", line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), int(m.group(3))))
    return rows


def quantile_sonde(buckets, q):
    total = sum(c for _, c in buckets)
    seen = 0
    for bound, c in buckets:
        seen += c
        if seen >= q * total:
            return bound * 1e6  # us
    return float("nan")


def quantile_bio(rows, q):
    """The biolatency row (low, high) holding quantile q."""
    total = sum(c for _, _, c in rows)
    seen = 0
    for low, high, c in rows:
        seen += c
        if seen >= q * total:
            return low, high
    return float("nan"), float("nan")


def main(sonde_path, bio_path, disk):
    buckets = sonde_histogram(sonde_path, disk)
    rows = biolatency_histogram(bio_path)
    ops_sonde, ops_bio = sum(c for _, c in buckets), sum(c for _, _, c in rows)
    print(f"operations: sonde {ops_sonde}, biolatency {ops_bio}, difference {abs(ops_sonde - ops_bio) / max(ops_bio, 1) * 100:.2f}%")
    for q in (0.5, 0.99):
        ours = quantile_sonde(buckets, q)
        low, high = quantile_bio(rows, q)
        # Within one log2 bucket of biolatency's: inside [low/2, high*2].
        agree = low / 2 <= ours <= (high + 1) * 2
        print(f"p{int(q * 100)}: sonde {ours:.1f} us (bucket upper bound), biolatency bucket {low} -> {high} us: "
              f"{'within one log2 bucket' if agree else 'DISAGREE'}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
