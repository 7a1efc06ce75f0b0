#!/usr/bin/env python3
"""Runs the built agent under strace and checks that everything it does fits
the sandbox of deploy/systemd/sonde.service, which cannot run here (systemd
is not PID 1):

  check_systemd_syscalls.py UNIT SONDE PLUGIN_DIR

The agent starts with every shipped input and the prometheus and stdout
sinks, takes a reload, a `sonde enable` of the page-fault tracer and a
`sonde status`, and stops with SIGTERM. Then:

- every system call it made is in the unit's SystemCallFilter= (its groups
  expanded by `systemd-analyze syscall-filter`);
- it opened sockets only of the unit's RestrictAddressFamilies=;
- it never asked for memory both writable and executable, nor made memory
  executable with mprotect(), which MemoryDenyWriteExecute=yes refuses.

Run as root, as the service does: the tracers' bpf() and perf_event_open()
are then exercised too. strace (Debian package strace) and systemd-analyze
(package systemd) are required: scripts/test.sh installs both.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from checks import fail, finish


def tool(name, package):
    path = shutil.which(name)
    if not path:
        fail("%s is missing (Debian package %s; scripts/test.sh installs it)" % (name, package))
        finish()
    return path


def unit_values(unit, key):
    with open(unit, encoding="utf-8") as f:
        return [w for line in f if line.startswith(key + "=") for w in line.split("=", 1)[1].split()]


def expand(analyze, name, seen):
    """The system calls of a @group, its member groups expanded."""
    if not name.startswith("@"):
        return {name}
    out = set()
    listing = subprocess.run([analyze, "syscall-filter", "--no-pager", name], capture_output=True, text=True)
    if listing.returncode != 0:
        fail("systemd-analyze syscall-filter %s: %s" % (name, listing.stderr.strip()))
    for line in listing.stdout.splitlines():
        word = line.strip()
        if not word or word.startswith("#") or word == name:
            continue
        if word.startswith("@"):
            if word not in seen:
                seen.add(word)
                out |= expand(analyze, word, seen)
        elif re.fullmatch(r"[a-z0-9_]+", word):
            out.add(word)
    return out


CONFIG = """
[agent]
interval = "500ms"
shutdown_timeout = "1s"
[admin]
listen = "127.0.0.1:0"
socket = "{socket}"
[inputs.procfs]
[inputs.net]
[inputs.syscall]
threshold = "1ms"
[inputs.sched]
[inputs.iolatency]
[inputs.bpfinventory]
interval = "1s"
[inputs.pagefault]
enabled = false
[sinks.prometheus]
listen = "127.0.0.1:0"
[sinks.stdout]
"""


def trace_agent(strace, sonde, plugin_dir, workdir):
    socket = os.path.join(workdir, "control.sock")
    conf_d = os.path.join(workdir, "conf.d")
    os.mkdir(conf_d)
    with open(os.path.join(conf_d, "10-all.toml"), "w", encoding="utf-8") as f:
        f.write(CONFIG.format(socket=socket))
    trace = os.path.join(workdir, "strace.out")
    log = open(os.path.join(workdir, "agent.log"), "w+", encoding="utf-8")
    tracer = subprocess.Popen([strace, "-f", "-qq", "-o", trace, sonde, "run", "--config-dir", conf_d,
                               "--plugin-dir", plugin_dir], stdout=subprocess.DEVNULL, stderr=log)
    agent = None
    try:
        deadline = time.monotonic() + 60
        while "running with config" not in open(log.name, encoding="utf-8").read():
            if tracer.poll() is not None or time.monotonic() > deadline:
                fail("the agent did not start:\n" + open(log.name, encoding="utf-8").read())
                finish()
            time.sleep(0.2)
        with open("/proc/%d/task/%d/children" % (tracer.pid, tracer.pid), encoding="utf-8") as f:
            agent = int(f.read().split()[0])  # strace's child; a signal to strace would not reach it
        for command in (["reload"], ["enable", "pagefault"], ["status"]):
            done = subprocess.run([sonde, *command, "--socket", socket], capture_output=True, text=True)
            if done.returncode != 0:
                fail("sonde %s exited %d: %s" % (" ".join(command), done.returncode, done.stderr.strip()))
        time.sleep(1)
        os.kill(agent, signal.SIGTERM)
        if tracer.wait(timeout=60) != 0:
            fail("the agent exited %d:\n%s" % (tracer.returncode, open(log.name, encoding="utf-8").read()))
    finally:
        # A failure above leaves them running: the agent (by its pid), then strace.
        if tracer.poll() is None:
            if agent:
                os.kill(agent, signal.SIGKILL)
            tracer.kill()
            tracer.wait()
    with open(trace, encoding="utf-8") as f:
        return f.read()


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    unit, sonde, plugin_dir = argv[1:]
    strace, analyze = tool("strace", "strace"), tool("systemd-analyze", "systemd")
    allowed = set()
    for entry in unit_values(unit, "SystemCallFilter"):
        allowed |= expand(analyze, entry, set())
    families = set(unit_values(unit, "RestrictAddressFamilies"))
    if not allowed or not families:
        fail("%s: no SystemCallFilter= or RestrictAddressFamilies= allow list" % unit)
        finish()

    with tempfile.TemporaryDirectory() as workdir:
        trace = trace_agent(strace, os.path.abspath(sonde), plugin_dir, workdir)
    calls = {}
    for line in trace.splitlines():
        m = re.match(r"\d+\s+([a-z0-9_]+)\(", line)
        if m:
            calls.setdefault(m.group(1), line)
    calls.pop("execve", None)  # strace's own exec of the agent, before any filter applies
    for name in sorted(set(calls) - allowed):
        fail("system call %s is outside the unit's SystemCallFilter=, e.g.: %s" % (name, calls[name][:200]))
    for family in sorted(set(re.findall(r"\bsocket\((AF_[A-Z0-9]+)", trace)) - families):
        fail("a socket of family %s, outside the unit's RestrictAddressFamilies=" % family)
    for line in trace.splitlines():
        if re.search(r"\b(mmap|mprotect|pkey_mprotect)\(.*PROT_WRITE\|PROT_EXEC", line) or \
                re.search(r"\b(mprotect|pkey_mprotect)\(.*PROT_EXEC", line):
            fail("MemoryDenyWriteExecute=yes refuses: " + line[:200])
    print("%d distinct system calls, all in the unit's filter (bpf: %s, perf_event_open: %s); socket families %s" %
          (len(calls), "bpf" in calls, "perf_event_open" in calls,
           sorted(set(re.findall(r"\bsocket\((AF_[A-Z0-9]+)", trace)))))
    finish()


if __name__ == "__main__":
    main(sys.argv)
