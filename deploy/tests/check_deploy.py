#!/usr/bin/env python3
"""Checks what deploy/ ships for operators against the self-metrics.

  check_deploy.py rules RULES TESTS   promtool check rules and test rules; every
                                      alert has a firing and a silent test case
  check_deploy.py dashboard JSON      the Grafana dashboard parses, has its
                                      variables, and every PromQL expression
                                      parses (promtool) and names only metrics
                                      of self_metrics.txt
  check_deploy.py docs MARKDOWN       the document names every self-metric
  check_deploy.py metrics FILE        a scrape of the agent's /metrics (text or
                                      OpenMetrics) has only sonde_ and process_
                                      series that self_metrics.txt lists, with
                                      the types it lists: for the agent's tests
  check_deploy.py kubernetes FILE...  the probe fragments probe /healthz and
                                      /ready on the admin port, on an address
                                      the admin listener answers on

Any failure prints what is wrong and exits 1. A missing tool (promtool from
the Debian package prometheus, PyYAML from python3-yaml) is a failure too,
never a skip: scripts/test.sh installs both.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from checks import fail, finish

HERE = os.path.dirname(os.path.abspath(__file__))


def self_metrics():
    """Names Prometheus stores for the self-metrics, with their types."""
    names = {}
    with open(os.path.join(HERE, "self_metrics.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                name, kind = line.split()
                names[name] = kind
    return names


def allowed_series_names():
    allowed = {"up"}  # the scrape's own series, for agent down/absent
    for name, kind in self_metrics().items():
        if kind == "histogram":
            allowed.update(name + suffix for suffix in ("_bucket", "_sum", "_count"))
        else:
            allowed.add(name)
    return allowed


def promtool():
    path = shutil.which("promtool")
    if not path:
        fail("promtool is missing (Debian package prometheus; scripts/test.sh installs it)")
        finish()
    return path


def run(argv):
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        fail("%s exited %d:\n%s%s" % (" ".join(argv), result.returncode, result.stdout, result.stderr))
    return result


# PromQL words that are not metric names. Function and aggregation names are
# recognised by the "(" after them.
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "inf", "nan", "atan2"}


def metric_names(expr):
    """The metric names an expression selects, found lexically: enough for
    expressions written by hand, and a name hidden in __name__ is refused."""
    if "__name__" in expr:
        fail("expression selects by __name__, name the metric instead: " + expr)
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)          # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)         # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+-?\w+", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", text):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def check_names(where, expr, allowed):
    names = metric_names(expr)
    if not names:
        fail("%s: no metric name found in %r" % (where, expr))
    for name in sorted(names - allowed):
        fail("%s: %s is not a sonde self-metric (deploy/tests/self_metrics.txt): %s" % (where, name, expr))


def load_yaml(path):
    try:
        import yaml
    except ImportError:
        fail("PyYAML is missing (Debian package python3-yaml, which yamllint brings)")
        finish()
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def check_rules(rules_path, tests_path):
    tool = promtool()
    run([tool, "check", "rules", rules_path])
    run([tool, "test", "rules", tests_path])

    allowed = allowed_series_names()
    alerts = []
    for group in load_yaml(rules_path)["groups"]:
        for rule in group["rules"]:
            where = "%s: %s" % (rules_path, rule.get("alert") or rule.get("record"))
            check_names(where, rule["expr"], allowed)
            if "alert" in rule:
                alerts.append(rule["alert"])
                for key in ("severity",):
                    if key not in rule.get("labels", {}):
                        fail("%s has no %s label" % (where, key))
                for key in ("summary", "description"):
                    if key not in rule.get("annotations", {}):
                        fail("%s has no %s annotation" % (where, key))
    if len(alerts) != len(set(alerts)):
        fail("%s: an alert name is used twice" % rules_path)

    fires, silent = set(), set()
    for test in load_yaml(tests_path)["tests"]:
        for case in test.get("alert_rule_test", []):
            name = case["alertname"]
            if name not in alerts:
                fail("%s tests %s, which %s does not define" % (tests_path, name, rules_path))
            (fires if case.get("exp_alerts") else silent).add(name)
    # Series beside a firing case that must not alert are checked by that
    # case already (promtool fails on an unexpected alert); an explicit empty
    # case is required as well, so the quiet side never goes untested.
    for name in alerts:
        if name not in fires:
            fail("%s: no test case where %s fires" % (tests_path, name))
        if name not in silent:
            fail("%s: no test case where %s stays silent (exp_alerts: [])" % (tests_path, name))


GRAFANA_INTERVALS = ("$__rate_interval", "${__rate_interval}", "$__interval", "${__interval}",
                     "$__range", "${__range}")


def as_promql(expr):
    """The expression with Grafana's variables replaced by what they expand
    to, so promtool can parse it."""
    for v in GRAFANA_INTERVALS:
        expr = expr.replace(v, "5m")
    return re.sub(r"\$\{[A-Za-z_]\w*(?::\w+)?\}|\$[A-Za-z_]\w*", "x", expr)


def check_dashboard(path):
    try:
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        fail("%s does not parse as JSON: %s" % (path, e))
        finish()
    allowed = allowed_series_names()

    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    if variables.get("datasource", {}).get("type") != "datasource":
        fail("%s: no datasource variable named datasource" % path)
    if variables.get("instance", {}).get("type") != "query":
        fail("%s: no query variable named instance" % path)

    exprs = []  # (where, expr)
    for name, var in variables.items():
        if var.get("type") != "query":
            continue
        query = var.get("query")
        query = query.get("query", "") if isinstance(query, dict) else query or ""
        m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", query)
        if not m:
            fail("%s: variable %s: expected label_values(selector, label), got %r" % (path, name, query))
            continue
        exprs.append(("variable " + name, m.group(1)))

    def walk(panels):
        for panel in panels:
            yield panel
            yield from walk(panel.get("panels", []))

    ids = set()
    panels = list(walk(dash.get("panels", [])))
    for panel in panels:
        title = panel.get("title", "?")
        if panel.get("id") in ids:
            fail("%s: panel id %s is used twice" % (path, panel.get("id")))
        ids.add(panel.get("id"))
        if panel.get("type") == "row":
            continue
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            fail("%s: panel %r does not use the datasource variable" % (path, title))
        targets = panel.get("targets", [])
        if not targets:
            fail("%s: panel %r has no query" % (path, title))
        for target in targets:
            expr = target.get("expr", "")
            if not expr:
                fail("%s: panel %r has a target without expr" % (path, title))
                continue
            if 'instance=~"$instance"' not in expr:
                fail("%s: panel %r ignores the instance variable: %s" % (path, title, expr))
            exprs.append(("panel " + repr(title), expr))

    for where, expr in exprs:
        check_names("%s: %s" % (path, where), expr, allowed)

    # promtool 2.42 has no expression checker; a rule file of recording
    # rules is parsed expression by expression by `promtool check rules`.
    # YAML is a superset of JSON, so the file is written as JSON.
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": "dashboard:expr_%d" % i, "expr": as_promql(expr)} for i, (_, expr) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        json.dump(rules, f, indent=1)
        rules_file = f.name
    try:
        result = run([promtool(), "check", "rules", rules_file])
        if result.returncode != 0:
            for i, (where, expr) in enumerate(exprs):
                print("  dashboard:expr_%d = %s: %s" % (i, where, expr), file=sys.stderr)
    finally:
        os.unlink(rules_file)
    print("%s: %d panels, %d expressions checked" % (path, len(panels), len(exprs)))


def check_docs(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for name in self_metrics():
        if not re.search(r"`%s[`{]" % re.escape(name), text):
            fail("%s does not document the self-metric %s" % (path, name))


def check_exposition(path):
    """Every sonde_ and process_ series of a scrape is a listed self-metric of
    the listed type, so the agent cannot rename or add one without the rules,
    the dashboard and the docs following."""
    listed = self_metrics()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    types = {}
    seen = set()
    for line in text.splitlines():
        m = re.match(r"#\s*TYPE\s+(\S+)\s+(\S+)", line)
        if m:
            types[m.group(1)] = m.group(2)
            continue
        if not line or line.startswith("#"):
            continue
        name = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0)
        if name.startswith(("sonde_", "process_")):
            seen.add(name)
    if not seen:
        fail("%s: no sonde_ or process_ series" % path)
    for name in sorted(seen):
        base = name
        for suffix in ("_bucket", "_sum", "_count", "_created"):
            if name.endswith(suffix) and name[:-len(suffix)] in listed:
                base = name[:-len(suffix)]
        if base not in listed:
            fail("%s: %s is not in deploy/tests/self_metrics.txt (add it, and to docs/operations.md)" % (path, name))
            continue
        # Text 0.0.4 types the full name; OpenMetrics types a counter's name
        # without _total and an info metric's without _info.
        declared = types.get(base) or types.get(re.sub(r"_(total|info)$", "", base))
        want = listed[base]
        if declared == "info":
            declared = "gauge"
        if declared and declared != want:
            fail("%s: %s is a %s, self_metrics.txt says %s" % (path, base, declared, want))
    for name in sorted(set(listed) - {re.sub(r"_(bucket|sum|count|created)$", "", n) for n in seen} - seen):
        print("%s: %s not in this scrape" % (path, name))


ADMIN_PORT = 19090


def check_kubernetes(paths):
    import tomllib
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                import yaml
                docs = [d for d in yaml.safe_load_all(f) if d]
        except ImportError:
            fail("PyYAML is missing (Debian package python3-yaml, which yamllint brings)")
            finish()
        # What conf.d drop-ins of this file set in [admin].
        admin = {}
        for doc in docs:
            if doc.get("kind") == "ConfigMap":
                for key, text in doc.get("data", {}).items():
                    if key.endswith(".toml"):
                        try:
                            admin.update(tomllib.loads(text).get("admin", {}))
                        except tomllib.TOMLDecodeError as e:
                            fail("%s: ConfigMap %s: %s does not parse: %s" % (path, doc["metadata"]["name"], key, e))
        daemonsets = [d for d in docs if d.get("kind") == "DaemonSet"]
        if not daemonsets:
            fail("%s: no DaemonSet" % path)
        for ds in daemonsets:
            pod = ds["spec"]["template"]["spec"]
            host_network = pod.get("hostNetwork", False)
            containers = [c for c in pod.get("containers", []) if c.get("name") == "sonde"]
            if not containers:
                fail("%s: no container named sonde" % path)
            for c in containers:
                ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
                for probe, endpoint in (("livenessProbe", "/healthz"), ("readinessProbe", "/ready")):
                    get = c.get(probe, {}).get("httpGet")
                    if not get:
                        fail("%s: %s is not an httpGet probe" % (path, probe))
                        continue
                    if get.get("path") != endpoint:
                        fail("%s: %s probes %s, not %s" % (path, probe, get.get("path"), endpoint))
                    port = ports.get(get.get("port"), get.get("port"))
                    if port != ADMIN_PORT:
                        fail("%s: %s probes port %s, not the admin port %d" % (path, probe, port, ADMIN_PORT))
                    host = get.get("host")
                    if host_network:
                        if host != "127.0.0.1" and admin.get("listen", "").split(":")[0] in ("", "127.0.0.1"):
                            fail("%s: %s: with hostNetwork and the loopback listener, probe host must be 127.0.0.1" % (path, probe))
                    else:
                        listen = admin.get("listen", "127.0.0.1:%d" % ADMIN_PORT)
                        if listen.rsplit(":", 1)[0] not in ("0.0.0.0", "[::]"):
                            fail("%s: %s probes the pod IP, but [admin] listen is %s" % (path, probe, listen))
                        if admin.get("allow_non_loopback") is not True:
                            fail("%s: [admin] listen is not loopback without allow_non_loopback = true" % path)
                        if listen.rsplit(":", 1)[1] != str(ADMIN_PORT):
                            fail("%s: [admin] listen %s is not on port %d" % (path, listen, ADMIN_PORT))


def main(argv):
    if len(argv) == 4 and argv[1] == "rules":
        check_rules(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "dashboard":
        check_dashboard(argv[2])
    elif len(argv) == 3 and argv[1] == "metrics":
        check_exposition(argv[2])
    elif len(argv) >= 3 and argv[1] == "kubernetes":
        check_kubernetes(argv[2:])
    elif len(argv) == 3 and argv[1] == "docs":
        check_docs(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    finish()


if __name__ == "__main__":
    main(sys.argv)
