#!/usr/bin/env python3
"""CPU time spent inside BPF programs, from the kernel's own accounting
(kernel.bpf_stats_enabled): `snapshot` before and after a workload, then
`compare` the two, naming each side's programs by name. Both tracers run at
the same time on the same events, so machine noise cancels out of the ratio.
(The dispatch into a program is not in run_time_ns; it is the same for both.)

  bpf_cost.py snapshot > before.json
  bpf_cost.py compare before.json after.json 'sonde:switch_btf,wakeup_btf' 'runqlat:sched_switch,sched_wakeup'
"""
import json
import subprocess
import sys


def snapshot():
    progs = json.loads(subprocess.check_output(["bpftool", "-j", "prog", "show"]))
    out = {}
    for p in progs:
        entry = out.setdefault(p.get("name", "?"), {"run_time_ns": 0, "run_cnt": 0})
        entry["run_time_ns"] += p.get("run_time_ns", 0)
        entry["run_cnt"] += p.get("run_cnt", 0)
    json.dump(out, sys.stdout)


def side(spec):
    label, names = spec.split(":", 1)
    return label, names.split(",")


def compare(before_file, after_file, ours_spec, peer_spec):
    before, after = json.load(open(before_file)), json.load(open(after_file))
    totals = {}
    for label, names in (side(ours_spec), side(peer_spec)):
        totals[label] = 0
        for name in names:
            a = after.get(name, {"run_time_ns": 0, "run_cnt": 0})
            b = before.get(name, {"run_time_ns": 0, "run_cnt": 0})
            time, count = a["run_time_ns"] - b["run_time_ns"], a["run_cnt"] - b["run_cnt"]
            totals[label] += time
            per_run = time / count if count else 0
            print(f"  {label:10} {name:20} {count:>10} runs {per_run:8.1f} ns/run")
    (ours, t_ours), (peer, t_peer) = totals.items()
    if t_peer:
        print(f"BPF CPU time: {ours} {t_ours / 1e6:.2f} ms, {peer} {t_peer / 1e6:.2f} ms, ratio {t_ours / t_peer:.2f}")


if __name__ == "__main__":
    if sys.argv[1] == "snapshot":
        snapshot()
    else:
        compare(*sys.argv[2:6])
