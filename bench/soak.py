#!/usr/bin/env python3
"""Soak: the shipped configuration plus a file sink and an OTLP sink, for
MINUTES, while the OTLP receiver goes down and up and the file sink's disk
fills and empties. Every minute the agent is asked for its counters (SIGUSR1)
and one row is printed: RSS, CPU, and per sink routed / delivered / dropped /
queued with the gap of the accounting identity (0 when it adds up; counters
are read a few microseconds apart while records flow, so a running agent may
show a small gap, the final summary none).

  bench/soak.sh [MINUTES]   (installs, builds, then runs this)
"""
import http.server
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
minutes = int(sys.argv[1]) if len(sys.argv) > 1 else 60
receiver_port = 14318
hz = os.sysconf("SC_CLK_TCK")


class Receiver(http.server.BaseHTTPRequestHandler):
    """Answers every OTLP/HTTP request 200 with an empty body."""
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def receiver_up():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", receiver_port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def fill(disk):
    """Fills the disk's free space with a filler file."""
    with open(os.path.join(disk, "filler"), "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def sinks_of(summary):
    out = {}
    for entry in summary.split("; "):
        name, _, rest = entry.partition(" ")
        if not name.startswith("sinks."):
            continue
        counts = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", rest)}
        out[name] = counts
    return out


def main():
    work = tempfile.mkdtemp(prefix="sonde-soak-")
    disk = os.path.join(work, "disk")
    conf = os.path.join(work, "conf.d")
    os.makedirs(disk)
    os.makedirs(conf)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", disk], check=True)
    for name in os.listdir(os.path.join(root, "conf.d")):
        with open(os.path.join(root, "conf.d", name)) as src, open(os.path.join(conf, name), "w") as dst:
            dst.write(src.read())
    with open(os.path.join(conf, "95-soak.toml"), "w") as f:
        f.write(f"""[sinks.prometheus]
listen = "127.0.0.1:19464"
[sinks.file]
directory = "{disk}/records"
max_file_size = "4MiB"
max_total_size = "24MiB"
[sinks.otlp]
endpoint = "http://127.0.0.1:{receiver_port}"
""")
    log_path = os.path.join(work, "agent.log")
    log = open(log_path, "w")
    agent = subprocess.Popen([os.path.join(root, "build", "sonde"), "run", "--config-dir", conf],
                             stdout=subprocess.DEVNULL, stderr=log)
    receiver = receiver_up()
    disk_full = False
    print(f"# soak: {minutes} min, agent pid {agent.pid}, log {log_path}")
    print("| min | RSS MiB | CPU % | receiver | disk | " +
          " | ".join(f"{s} routed / delivered / dropped / queued (gap)" for s in ("file", "otlp", "prometheus", "stdout")) + " |")
    print("|---|---|---|---|---|---|---|---|---|")
    last_ticks, last_time = 0, time.monotonic()
    try:
        for minute in range(1, minutes + 1):
            # The receiver: up 3 minutes, down 2. The disk: free 3 minutes, full 2.
            if minute % 5 == 4:
                receiver.shutdown(); receiver.server_close(); receiver = None
                fill(disk); disk_full = True
            elif minute % 5 == 1 and receiver is None:
                receiver = receiver_up()
                os.remove(os.path.join(disk, "filler")); disk_full = False
            time.sleep(60)
            agent.send_signal(signal.SIGUSR1)
            time.sleep(0.5)
            with open(f"/proc/{agent.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])
            now = time.monotonic()
            cpu = 100.0 * (ticks - last_ticks) / hz / (now - last_time)
            last_ticks, last_time = ticks, now
            with open(f"/proc/{agent.pid}/status") as f:
                rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024
            with open(log_path) as f:
                reports = [l for l in f if "received SIGUSR1: " in l]
            sinks = sinks_of(reports[-1].split("received SIGUSR1: ", 1)[1].strip()) if reports else {}
            cells = []
            for s in ("file", "otlp", "prometheus", "stdout"):
                c = sinks.get("sinks." + s, {})
                gap = c.get("routed", 0) - c.get("delivered", 0) - c.get("dropped", 0) - c.get("queued", 0)
                cells.append(f"{c.get('routed', 0)} / {c.get('delivered', 0)} / {c.get('dropped', 0)} / {c.get('queued', 0)} ({gap})")
            print(f"| {minute} | {rss:.1f} | {cpu:.2f} | {'up' if receiver else 'down'} | {'full' if disk_full else 'free'} | "
                  + " | ".join(cells) + " |", flush=True)
    finally:
        agent.send_signal(signal.SIGTERM)
        status = agent.wait(timeout=60)
        with open(log_path) as f:
            text = f.read()
        summary = [l for l in text.splitlines() if "shutdown summary: " in l]
        print(f"\nexit status {status}")
        if summary:
            print(summary[-1].split("shutdown summary: ", 1)[1])
            for name, c in sinks_of(summary[-1].split("shutdown summary: ", 1)[1]).items():
                gap = c["routed"] - c["delivered"] - c["dropped"] - c["queued"]
                print(f"{name}: routed {c['routed']} = delivered {c['delivered']} + dropped {c['dropped']} + queued {c['queued']}"
                      f" {'(adds up)' if gap == 0 else f'(GAP {gap})'}")
        print("accounting errors logged:", text.count("accounting does not add up"))
        subprocess.run(["umount", "-l", disk])


if __name__ == "__main__":
    main()
