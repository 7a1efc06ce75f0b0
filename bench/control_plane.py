#!/usr/bin/env python3
"""The control plane of a running agent, measured against the real agent
(docs/benchmarks.md, "Control plane"). Four parts, each runnable alone:

  reload     `sonde reload` with 50 inputs where one changes, end to end
             (CLI start to CLI exit, which returns once the change took
             effect), against the peer: a full restart of the agent with
             the same conf.d (SIGTERM, exit, start, until /ready answers 200)
  enable     `sonde enable syscall` to the first syscall.slow record on the
             stdout sink (the agent's stdout is a pipe read by a thread that
             stamps every line on arrival); a process sleeping 20 ms in a
             loop gives the tracer something to report at once
  loss       100 reloads, each changing another instance or adding/removing
             a sink, while the generator input offers 1 M points/s to a
             discard sink: the untouched input's emitted = the sink's
             routed = delivered, dropped 0; the emitted rate during the
             reloads against the same agent's rate without reloads
  throughput pipeline throughput (generator flat out -> discard sink) with
             the admin endpoint off, on, and on with /metrics scraped every
             second, in interleaved rounds; records per wall second and per
             CPU-second of the agent
  scrape     the cost of one /metrics scrape (wall and agent CPU, body size)
             with the shipped conf.d plus file, otlp and a second stdout
             sink, side by side with the prometheus sink's /metrics in the
             same agent (the same HTTP code, a bigger body)

  bench/control_plane.sh [PART...]   (builds, then runs this)
  SONDE_BUILD=build-bench python3 bench/control_plane.py [PART...]

Needs root for `enable` (the syscall tracer) and the shipped conf.d's
tracers. Prints Markdown-ready lines; everything it starts it stops.
"""
import http.client
import http.server
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("SONDE_BUILD", "build-bench"))
SONDE = os.path.join(BUILD, "sonde")
PLUGIN_DIRS = [os.path.join(BUILD, "plugins"), os.path.join(BUILD, "bench", "plugins")]
HZ = os.sysconf("SC_CLK_TCK")
WORK = tempfile.mkdtemp(prefix="sonde-control-plane-")
SOCKET = os.path.join(WORK, "control.sock")


def log(text=""):
    print(text, flush=True)


def quantiles(values):
    """median, p90 and max of values, as a dict."""
    s = sorted(values)
    return {"median": statistics.median(s), "p90": s[min(len(s) - 1, int(round(0.9 * (len(s) - 1))))],
            "min": s[0], "max": s[-1]}


def fmt_ms(values):
    q = quantiles(values)
    return f"median {q['median'] * 1e3:.1f} ms, p90 {q['p90'] * 1e3:.1f} ms, min {q['min'] * 1e3:.1f}, max {q['max'] * 1e3:.1f} ms (n={len(values)})"


def write_conf(conf_dir, files):
    """Replaces conf_dir's content with files {name: text}; [admin] always
    listens on an ephemeral loopback port and uses this run's socket."""
    os.makedirs(conf_dir, exist_ok=True)
    for old in os.listdir(conf_dir):
        if old not in files:
            os.remove(os.path.join(conf_dir, old))
    for name, text in files.items():
        write_file(os.path.join(conf_dir, name), text)


def write_file(path, text):
    # Written aside and renamed, so a reload never reads half a file.
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


ADMIN_ON = f'[admin]\nlisten = "127.0.0.1:0"\nsocket = "{SOCKET}"\n'
ADMIN_OFF = '[admin]\nlisten = ""\nsocket = "off"\n'


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def counts_of(summary):
    """'inputs.gen emitted=1 dropped=0; sinks.x routed=...' -> {name: {key: n}}."""
    out = {}
    for entry in summary.split("; "):
        name, _, rest = entry.strip().partition(" ")
        out[name] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", rest)}
    return out


class Agent:
    """One `sonde run` on conf_dir. stdout: a file object, or "pipe" to have
    every line stamped on arrival (self.lines: (monotonic time, line))."""

    def __init__(self, conf_dir, stdout=subprocess.DEVNULL, name="agent", admin=True, cpus=None):
        self.log_path = os.path.join(WORK, name + ".log")
        self.log_file = open(self.log_path, "w")
        args = [SONDE, "run", "--config-dir", conf_dir]
        for d in PLUGIN_DIRS:
            args += ["--plugin-dir", d]
        if cpus:
            args = ["taskset", "-c", cpus] + args
        piped = stdout == "pipe"
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE if piped else stdout, stderr=self.log_file)
        self.pid = self.proc.pid
        self.lines = []
        self.lines_lock = threading.Lock()
        if piped:
            threading.Thread(target=self._read_stdout, daemon=True).start()
        self.port = self._wait_for_port() if admin else None

    def _read_stdout(self):
        for line in self.proc.stdout:
            t = time.monotonic()
            with self.lines_lock:
                self.lines.append((t, line))

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def _wait_for_port(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(r"admin endpoint on http://127\.0\.0\.1:(\d+)", self.log_text())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError(f"agent exited {self.proc.returncode}: {self.log_text()}")
            time.sleep(0.002)
        raise RuntimeError("no admin endpoint line in " + self.log_path)

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body

    def wait_ready(self, timeout=30, poll=0.002):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if self.get("/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(poll)
        raise RuntimeError("not ready: " + self.log_path)

    def metrics(self):
        """/metrics as {series text: value}."""
        _, body = self.get("/metrics")
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                series, _, value = line.rpartition(" ")
                out[series] = float(value)
        return out

    def counters(self, timeout=5):
        """The counters the agent logs on SIGUSR1 (works with the admin endpoint off)."""
        before = self.log_text().count("received SIGUSR1: ")
        self.proc.send_signal(signal.SIGUSR1)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            reports = [l for l in self.log_text().splitlines() if "received SIGUSR1: " in l]
            if len(reports) > before:
                return counts_of(reports[-1].split("received SIGUSR1: ", 1)[1])
            time.sleep(0.01)
        raise RuntimeError("no SIGUSR1 report")

    def stop(self):
        """SIGTERM; returns the shutdown summary's counters."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.log_file.close()
        summary = [l for l in self.log_text().splitlines() if "shutdown summary: " in l]
        return counts_of(summary[-1].split("shutdown summary: ", 1)[1]) if summary else {}


def cli(*args):
    """Runs a control subcommand; returns (seconds, exit status, stdout+stderr)."""
    t0 = time.monotonic()
    r = subprocess.run([SONDE, *args, "--socket", SOCKET], capture_output=True, text=True)
    return time.monotonic() - t0, r.returncode, r.stdout + r.stderr


def pipe_sink(name="stdout"):
    return f"[sinks.{name}]\nplugin = \"stdout\"\n"


# --- 1. reload with 50 inputs, one changing, against a restart -------------

def part_reload(reps=20, restarts=10):
    log("## reload: 50 inputs (48 procfs, 2 generator at 100 points/s), a stdout sink to /dev/null")
    conf = os.path.join(WORK, "reload.d")
    base = "[agent]\ninterval = \"1s\"\n" + ADMIN_ON
    inputs = "".join(f"[inputs.procfs_{i:02}]\nplugin = \"procfs\"\n" for i in range(48))
    inputs += "".join(f"[inputs.gen_{i}]\nplugin = \"generator\"\npoints_per_tick = 100\n" for i in range(2))

    def changed(v):  # the one instance that changes: its interval flips
        return f"[inputs.procfs_07]\ninterval = \"{'1s' if v % 2 == 0 else '2s'}\"\n"

    write_conf(conf, {"10-agent.toml": base, "20-inputs.toml": inputs, "50-change.toml": changed(0),
                      "90-stdout.toml": pipe_sink()})
    agent = Agent(conf, name="reload")
    agent.wait_ready()
    time.sleep(1)

    floor = [cli("status")[0] for _ in range(reps)]
    same = []
    for _ in range(reps):
        t, rc, out = cli("reload")
        assert rc == 0, out
        same.append(t)
    times = []
    for i in range(1, reps + 1):
        write_file(os.path.join(conf, "50-change.toml"), changed(i))
        t, rc, out = cli("reload")
        assert rc == 0 and "inputs.procfs_07" in out, out
        times.append(t)
    log(f"reload output: {' | '.join(out.strip().splitlines())}")
    status = agent.get("/status")[1].decode()
    running = status.count('"state":"running"') + status.count('"state": "running"')
    summary = agent.stop()
    procfs_emitted = sum(c.get("emitted", 0) for n, c in summary.items() if n.startswith("inputs.procfs_"))
    log(f"instances running before stop: {running}; procfs instances emitted {procfs_emitted} in total")

    restart = []
    for _ in range(restarts):
        agent = Agent(conf, name="restart")
        agent.wait_ready()
        time.sleep(0.3)
        t0 = time.monotonic()
        agent.stop()
        agent = Agent(conf, name="restart")
        agent.wait_ready()
        restart.append(time.monotonic() - t0)
        agent.stop()

    log(f"`sonde status` (CLI start + one socket round trip): {fmt_ms(floor)}")
    log(f"`sonde reload`, nothing changed:                   {fmt_ms(same)}")
    log(f"`sonde reload`, one of 50 inputs changed:          {fmt_ms(times)}")
    log(f"restart (SIGTERM, exit, start, /ready 200):        {fmt_ms(restart)}")
    log(f"ratio restart / reload (medians): {statistics.median(restart) / statistics.median(times):.1f}")
    log()


# --- 2. enable syscall -> first record at the sink ---------------------------

def part_enable(reps=10):
    log("## enable: `sonde enable syscall` to the first syscall.slow record on the stdout sink (a pipe)")
    conf = os.path.join(WORK, "enable.d")
    write_conf(conf, {"10-agent.toml": "[agent]\ninterval = \"1s\"\n" + ADMIN_ON,
                      "20-inputs.toml": "[inputs.procfs]\n[inputs.syscall]\nenabled = false\n",
                      "90-stdout.toml": pipe_sink()})
    sleeper = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(0.02)"])
    agent = Agent(conf, stdout="pipe", name="enable")
    agent.wait_ready()
    settings = ["--set", "threshold=5ms", "--set", 'include=["nanosleep", "clock_nanosleep"]',
                "--set", f"pid={sleeper.pid}"]
    to_record, to_return, hooks = [], [], set()
    try:
        for _ in range(reps):
            time.sleep(0.5)
            with agent.lines_lock:
                seen = len(agent.lines)
            t0 = time.monotonic()
            t, rc, out = cli("enable", "syscall", *settings)
            assert rc == 0, out
            to_return.append(t)
            first = None
            end = t0 + 10
            while first is None and time.monotonic() < end:
                with agent.lines_lock:
                    for stamp, line in agent.lines[seen:]:
                        if b'"syscall.slow"' in line:
                            first = stamp
                            break
                time.sleep(0.001)
            assert first is not None, "no syscall.slow record within 10 s"
            to_record.append(first - t0)
            t, rc, out = cli("disable", "syscall")
            assert rc == 0, out
        hooks = set(re.findall(r"via (\S+)", agent.log_text()))
    finally:
        summary = agent.stop()
        sleeper.kill()
        sleeper.wait()
    procfs = summary.get("inputs.procfs", {})
    log(f"hook(s): {', '.join(sorted(hooks)) or '?'}; procfs kept emitting: {procfs.get('emitted', 0)} records")
    log(f"command start -> CLI returns:          {fmt_ms(to_return)}")
    log(f"command start -> first syscall record: {fmt_ms(to_record)}")
    log(f"target < 1 s: {'met' if max(to_record) < 1 else 'NOT met'} (max {max(to_record) * 1e3:.1f} ms)")
    log()


# --- 3. records lost during 100 reloads at 1 M points/s ----------------------

def part_loss(reloads=100, pace=0.05):
    log("## loss: generator at 1 M points/s offered (5,000 points every 5 ms) -> discard sink, 100 reloads")
    conf = os.path.join(WORK, "loss.d")
    gen = "[inputs.gen]\nplugin = \"generator\"\ninterval = \"5ms\"\npoints_per_tick = 5000\n"
    sink = "[sinks.null]\nplugin = \"discard\"\ninputs = [\"gen\"]\n"

    def other(i):  # even reloads change another input; odd ones add or remove a sink
        text = f"[inputs.other]\nplugin = \"procfs\"\ninterval = \"{'1s' if (i // 2) % 2 == 0 else '2s'}\"\n"
        if i % 4 in (1, 2):
            text += "[sinks.extra]\nplugin = \"discard\"\ninputs = [\"other\"]\n"
        return text

    write_conf(conf, {"10-agent.toml": ADMIN_ON, "20-gen.toml": gen, "30-other.toml": other(0),
                      "90-sink.toml": sink})
    agent = Agent(conf, name="loss")
    agent.wait_ready()
    time.sleep(1)

    def emitted(m):
        return sum(v for k, v in m.items() if k.startswith("sonde_input_records_emitted_total{name=\"gen\""))

    t0, m0 = time.monotonic(), agent.metrics()
    times, cpu0 = [], cpu_seconds(agent.pid)
    for i in range(1, reloads + 1):
        time.sleep(max(0.0, t0 + i * pace - time.monotonic()))  # spread over reloads * pace seconds
        write_file(os.path.join(conf, "30-other.toml"), other(i))
        t, rc, out = cli("reload")
        assert rc == 0 and "gen" not in out.replace("untouched", ""), out
        times.append(t)
    t1, m1 = time.monotonic(), agent.metrics()
    cpu1 = cpu_seconds(agent.pid)
    time.sleep(t1 - t0)  # the same agent, the same span, no reloads
    t2, m2 = time.monotonic(), agent.metrics()
    cpu2 = cpu_seconds(agent.pid)
    reloads_ok = m2.get('sonde_config_reloads_total{result="success"}', 0)
    summary = agent.stop()
    g, n = summary.get("inputs.gen", {}), summary.get("sinks.null", {})
    rate_reload = (emitted(m1) - emitted(m0)) / (t1 - t0)
    rate_quiet = (emitted(m2) - emitted(m1)) / (t2 - t1)
    log(f"reloads: {reloads} in {t1 - t0:.1f} s, {reloads_ok:.0f} successful; each {fmt_ms(times)}")
    log(f"emitted rate during the reloads: {rate_reload:,.0f} points/s (agent CPU {100 * (cpu1 - cpu0) / (t1 - t0):.0f}%)")
    log(f"emitted rate without reloads:    {rate_quiet:,.0f} points/s (agent CPU {100 * (cpu2 - cpu1) / (t2 - t1):.0f}%)")
    log(f"ratio during / without: {rate_reload / rate_quiet:.3f}")
    log(f"shutdown: inputs.gen emitted={g.get('emitted')} dropped={g.get('dropped')}; "
        f"sinks.null routed={n.get('routed')} delivered={n.get('delivered')} dropped={n.get('dropped')} queued={n.get('queued')}")
    lost = g.get("emitted", 0) - n.get("delivered", 0)
    ok = g.get("emitted") == n.get("routed") == n.get("delivered") and n.get("dropped") == 0
    log(f"untouched input: emitted - delivered = {lost}; {'no loss' if ok else 'LOSS'}")
    log()


# --- 4. cost of the self-metrics ---------------------------------------------

def part_throughput(rounds=5, seconds=6):
    log("## throughput: generator flat out (20,000 points per 1 ms tick) -> discard sink, one io thread")
    conf = os.path.join(WORK, "selfcost.d")
    body = ("[inputs.gen]\nplugin = \"generator\"\ninterval = \"1ms\"\npoints_per_tick = 20000\n"
            "[sinks.null]\nplugin = \"discard\"\nqueue_capacity = 1000000\n")
    modes = ["admin off", "admin on", "admin on, /metrics every 1 s"]
    results = {m: [] for m in modes}
    for r in range(rounds):
        for mode in modes:
            on = mode != "admin off"
            write_conf(conf, {"10-agent.toml": ADMIN_ON if on else ADMIN_OFF, "20-pipeline.toml": body})
            agent = Agent(conf, name="selfcost", admin=on)
            time.sleep(1.5)
            c0, t0, cpu0 = agent.counters(), time.monotonic(), cpu_seconds(agent.pid)
            end = t0 + seconds
            while time.monotonic() < end:
                time.sleep(min(1.0, max(0.0, end - time.monotonic())))
                if mode.endswith("every 1 s"):
                    agent.get("/metrics")
            c1, t1, cpu1 = agent.counters(), time.monotonic(), cpu_seconds(agent.pid)
            agent.stop()
            n = c1["sinks.null"]["delivered"] - c0["sinks.null"]["delivered"]
            results[mode].append((n / (t1 - t0), n / (cpu1 - cpu0)))
            log(f"  round {r + 1} {mode:30} {n / (t1 - t0) / 1e6:.2f} M points/s wall, {n / (cpu1 - cpu0) / 1e6:.2f} M per CPU-s")
    base = statistics.median(w for w, _ in results["admin off"])
    base_cpu = statistics.median(c for _, c in results["admin off"])
    for mode in modes:
        w = statistics.median(x for x, _ in results[mode])
        c = statistics.median(x for _, x in results[mode])
        lo, hi = min(x for x, _ in results[mode]), max(x for x, _ in results[mode])
        log(f"{mode:30} median {w / 1e6:.2f} M/s (range {lo / 1e6:.2f}-{hi / 1e6:.2f}), "
            f"{c / 1e6:.2f} M per CPU-s; ratio to off: {w / base:.3f} wall, {c / base_cpu:.3f} per CPU-s")

    log()


def part_scrape(rounds=5, scrapes=1000):
    log("## scrape: one /metrics scrape, shipped conf.d + file, otlp and a second stdout sink")
    conf = os.path.join(WORK, "scrape.d")
    files = {}
    for name in sorted(os.listdir(os.path.join(ROOT, "conf.d"))):
        with open(os.path.join(ROOT, "conf.d", name)) as f:
            files[name] = f.read()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OtlpReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    files["95-bench.toml"] = (ADMIN_ON + "[sinks.prometheus]\nlisten = \"127.0.0.1:0\"\n"
                              f"[sinks.file]\ndirectory = \"{WORK}/records\"\n"
                              f"[sinks.otlp]\nendpoint = \"http://127.0.0.1:{server.server_address[1]}\"\n"
                              "[sinks.stdout_b]\nplugin = \"stdout\"\n")
    write_conf(conf, files)
    agent = Agent(conf, name="scrape")
    agent.wait_ready()
    time.sleep(3)
    prom_port = int(re.search(r"sinks\.prometheus: serving /metrics on \S+ \(port (\d+)\)", agent.log_text()).group(1))
    targets = {"admin /metrics (self-metrics)": (agent.port, "/metrics"),
               "admin /healthz (the HTTP exchange alone)": (agent.port, "/healthz"),
               "prometheus sink /metrics (peer, same agent)": (prom_port, "/metrics")}
    idle_t0, idle_cpu0 = time.monotonic(), cpu_seconds(agent.pid)
    time.sleep(5)
    idle = (cpu_seconds(agent.pid) - idle_cpu0) / (time.monotonic() - idle_t0)
    log(f"agent CPU at rest: {100 * idle:.2f}% of a core")
    runs = {t: [] for t in targets}
    for _ in range(rounds):
        for target, (port, path) in targets.items():
            runs[target].append(scrape(agent.pid, port, path, scrapes, idle))
    curl_wall = []
    for _ in range(100):  # a fresh curl process and connection each time
        t0 = time.monotonic()
        subprocess.run(["curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{agent.port}/metrics"], check=True)
        curl_wall.append(time.monotonic() - t0)
    agent.stop()
    server.shutdown()
    for target in targets:
        body = runs[target][0][2]
        series = sum(1 for l in body.decode().splitlines() if l and not l.startswith("#"))
        walls = ", ".join(f"{w * 1e6:.0f}" for w, _, _ in runs[target])
        cpus = ", ".join(f"{c * 1e6:.0f}" for _, c, _ in runs[target])
        log(f"{target}: body {len(body):,} bytes" + (f", {series} series" if "metrics" in target else "") + f"; per scrape over {rounds} x {scrapes} "
            f"keep-alive requests: wall {walls} us; agent CPU {cpus} us (rest subtracted)")
    log(f"admin /metrics with a new curl process each time: {fmt_ms(curl_wall)}")
    log()


def scrape(pid, port, path, n, idle):
    """n GETs of path on one keep-alive connection, as Prometheus scrapes:
    (wall seconds per scrape, agent CPU seconds per scrape with the agent's
    CPU at rest subtracted, last body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    t0, cpu0 = time.monotonic(), cpu_seconds(pid)
    for _ in range(n):
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        assert r.status == 200
    t1, cpu1 = time.monotonic(), cpu_seconds(pid)
    c.close()
    return (t1 - t0) / n, ((cpu1 - cpu0) - idle * (t1 - t0)) / n, body


class OtlpReceiver(http.server.BaseHTTPRequestHandler):
    """Answers every OTLP/HTTP request 200 with an empty body."""
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


PARTS = {"reload": part_reload, "enable": part_enable, "loss": part_loss,
         "throughput": part_throughput, "scrape": part_scrape}


def main():
    parts = sys.argv[1:] or list(PARTS)
    started = time.monotonic()
    log(f"# sonde control plane, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
        f"binary {SONDE}, work dir {WORK}")
    log(f"# load average at start: {open('/proc/loadavg').read().split()[:3]}")
    for p in parts:
        PARTS[p]()
    log(f"# total {time.monotonic() - started:.0f} s; load average at end: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
