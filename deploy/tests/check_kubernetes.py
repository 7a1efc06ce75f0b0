#!/usr/bin/env python3
"""Checks deploy/kubernetes/sonde.yaml and servicemonitor.yaml against the
agent and against each other (the schemas are validate.mjs's job).

  check_kubernetes.py SONDE PLUGIN_DIR UNIT SONDE_YAML SERVICEMONITOR_YAML

- the ConfigMap's files, written to a directory, pass `SONDE check-config`
  with this build's plugins, and the container reads them from where the
  ConfigMap is mounted;
- the container is not privileged, drops ALL and adds exactly the
  capabilities the systemd unit's CapabilityBoundingSet names;
- hostPID and hostNetwork are on; the host's /proc is mounted read-only
  where procfs and net read it (their proc_root); /run/sonde is writable
  for the control socket;
- every port the probes, the Service and the ServiceMonitor name is a
  container port, and the ConfigMap's listeners answer on it on every
  address; the self-metrics endpoint is scraped as job "sonde", the job the
  alert rules select.

Any failure prints what is wrong and exits 1. PyYAML comes with yamllint
(scripts/test.sh installs it); without it the check fails.
"""
import os
import subprocess
import sys
import tempfile
import tomllib

from checks import fail, finish

ALERT_JOB = "sonde"


def load_all(path):
    try:
        import yaml
    except ImportError:
        fail("PyYAML is missing (Debian package python3-yaml, which yamllint brings)")
        finish()
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def one(docs, kind, path):
    found = [d for d in docs if d.get("kind") == kind]
    if len(found) != 1:
        fail("%s: expected one %s, found %d" % (path, kind, len(found)))
        finish()
    return found[0]


def unit_capabilities(unit):
    with open(unit, encoding="utf-8") as f:
        for line in f:
            if line.startswith("CapabilityBoundingSet="):
                return {c.removeprefix("CAP_") for c in line.split("=", 1)[1].split()}
    fail("%s has no CapabilityBoundingSet" % unit)
    return set()


def merge(into, table):
    """conf.d's rule: later files override keys, tables merge."""
    for key, value in table.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


def check_config(sonde, plugin_dir, config_map):
    """The ConfigMap's conf.d through the agent's own validation; returns the merged TOML."""
    merged = {}
    with tempfile.TemporaryDirectory() as conf_d:
        for name, text in sorted(config_map.get("data", {}).items()):
            if not name.endswith(".toml"):
                fail("ConfigMap %s: %s is not a .toml file: conf.d ignores it" % (config_map["metadata"]["name"], name))
            with open(os.path.join(conf_d, name), "w", encoding="utf-8") as f:
                f.write(text)
            merge(merged, tomllib.loads(text))
        result = subprocess.run([sonde, "check-config", "--config-dir", conf_d, "--plugin-dir", plugin_dir],
                                capture_output=True, text=True)
        if result.returncode != 0:
            fail("sonde check-config refuses the ConfigMap's conf.d (exit %d):\n%s%s" %
                 (result.returncode, result.stdout, result.stderr))
        else:
            print(result.stdout.splitlines()[0].replace(conf_d, "ConfigMap " + config_map["metadata"]["name"]))
    return merged


def listen_port(listen, where):
    host, _, port = listen.rpartition(":")
    if host not in ("0.0.0.0", "[::]"):
        fail("%s listens on %s: neither the kubelet nor Prometheus reaches it" % (where, listen))
    return int(port)


def main(argv):
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sonde, plugin_dir, unit, manifest, monitor_path = argv[1:]
    docs = load_all(manifest)
    config_map, daemonset, service = (one(docs, k, manifest) for k in ("ConfigMap", "DaemonSet", "Service"))
    monitor = one(load_all(monitor_path), "ServiceMonitor", monitor_path)
    conf = check_config(sonde, plugin_dir, config_map)

    pod = daemonset["spec"]["template"]["spec"]
    for key in ("hostPID", "hostNetwork"):
        if pod.get(key) is not True:
            fail("%s: DaemonSet: %s is not true" % (manifest, key))
    container = next((c for c in pod["containers"] if c["name"] == "sonde"), None)
    if not container:
        fail("%s: no container named sonde" % manifest)
        finish()
    security = container.get("securityContext", {})
    if security.get("privileged", False):
        fail("%s: the container is privileged" % manifest)
    capabilities = security.get("capabilities", {})
    if capabilities.get("drop") != ["ALL"]:
        fail("%s: capabilities.drop is %s, not [ALL]" % (manifest, capabilities.get("drop")))
    if set(capabilities.get("add", [])) != unit_capabilities(unit):
        fail("%s: capabilities.add %s differs from %s's CapabilityBoundingSet %s" %
             (manifest, sorted(capabilities.get("add", [])), unit, sorted(unit_capabilities(unit))))

    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    args = container.get("args", [])
    conf_dir = args[args.index("--config-dir") + 1] if "--config-dir" in args else "/etc/sonde/conf.d"
    if volumes.get(mounts.get(conf_dir, {}).get("name"), {}).get("configMap", {}).get("name") != \
            config_map["metadata"]["name"]:
        fail("%s: the ConfigMap %s is not mounted at --config-dir %s" % (manifest, config_map["metadata"]["name"], conf_dir))
    if "/run/sonde" not in mounts or mounts["/run/sonde"].get("readOnly"):
        fail("%s: /run/sonde (the control socket) is not a writable mount beside a read-only root" % manifest)
    for plugin in ("procfs", "net"):
        root = conf.get("inputs", {}).get(plugin, {}).get("proc_root", "/proc")
        mount = mounts.get(root)
        host = volumes.get(mount["name"], {}).get("hostPath", {}).get("path") if mount else None
        if host != "/proc" or not mount.get("readOnly"):
            fail("%s: inputs.%s proc_root %s is not the host's /proc mounted read-only" % (manifest, plugin, root))

    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    listeners = {"admin": conf.get("admin", {}).get("listen", "127.0.0.1:19090"),
                 "prometheus": conf.get("sinks", {}).get("prometheus", {}).get("listen", "127.0.0.1:9464")}
    for name, listen in listeners.items():
        if ports.get(name) != listen_port(listen, "ConfigMap: %s" % name):
            fail("%s: container port %s is %s, the ConfigMap listens on %s" % (manifest, name, ports.get(name), listen))
    for probe in ("livenessProbe", "readinessProbe"):
        if container.get(probe, {}).get("httpGet", {}).get("port") != "admin":
            fail("%s: %s is not on the admin port" % (manifest, probe))
    service_ports = {p["name"]: p for p in service["spec"]["ports"]}
    for name, p in service_ports.items():
        if p.get("targetPort") not in ports:
            fail("%s: Service port %s targets %s, not a container port" % (manifest, name, p.get("targetPort")))
    labels = daemonset["spec"]["template"]["metadata"]["labels"]
    for selector, where in ((service["spec"]["selector"], "Service"),
                            (monitor["spec"]["selector"]["matchLabels"], "ServiceMonitor")):
        target = labels if where == "Service" else service["metadata"]["labels"]
        if any(target.get(k) != v for k, v in selector.items()):
            fail("%s selects %s, which does not match %s" % (where, selector, target))
    jobs = {}
    for endpoint in monitor["spec"]["endpoints"]:
        if endpoint.get("port") not in service_ports:
            fail("%s: endpoint port %s is not a port of the Service" % (monitor_path, endpoint.get("port")))
        job = [r.get("replacement") for r in endpoint.get("relabelings", []) if r.get("targetLabel") == "job"]
        jobs[endpoint.get("port")] = job[0] if job else service["metadata"]["name"]
    if jobs.get("admin") != ALERT_JOB:
        fail("%s: the self-metrics (port admin) are scraped as job %s, the alert rules select job=%r" %
             (monitor_path, jobs.get("admin"), ALERT_JOB))
    finish()


if __name__ == "__main__":
    main(sys.argv)
