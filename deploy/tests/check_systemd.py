#!/usr/bin/env python3
"""Checks deploy/systemd/sonde.service with systemd's own tools.

  check_systemd.py UNIT SONDE_BINARY CAPABILITIES_CPP

- `systemd-analyze verify` passes on a copy of the unit whose ExecStart and
  ExecReload run the built binary instead of /usr/bin/sonde (verify refuses
  a command that does not exist), with nothing printed;
- `systemd-analyze security --offline=true` rates the unit's exposure at
  most MAX_EXPOSURE ("OK"), read from its "Overall exposure level" line;
- the unit says what the agent assumes: Type=notify with a watchdog, the
  installed command lines, RuntimeDirectory=sonde (the control socket the
  `sonde` CLI finds as root is /run/sonde/sonde.sock), and a
  CapabilityBoundingSet equal to what the agent keeps after start
  (kept_capabilities() in core/src/control/capabilities.cpp).

A missing systemd-analyze fails (Debian package systemd; scripts/test.sh
installs it), never skips.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from checks import fail, finish

MAX_EXPOSURE = 3.5


def unit_settings(text):
    """{(section, key): [values]} of a unit file; continuation lines are not used in ours."""
    settings, section = {}, None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if "=" not in line:
            fail("line %d is neither a section nor key=value: %r" % (number, line))
            continue
        key, value = line.split("=", 1)
        settings.setdefault((section, key.strip()), []).append(value.strip())
    return settings


def kept_capabilities(capabilities_cpp):
    with open(capabilities_cpp, encoding="utf-8") as f:
        m = re.search(r"kept = \{([^}]*)\}", f.read())
    if not m:
        fail("%s: no 'kept = {...}' list of capabilities" % capabilities_cpp)
        return set()
    return {name.upper() for name in re.findall(r'"(cap_\w+)"', m.group(1))}


def check_settings(unit, settings, capabilities_cpp):
    want = {
        ("Service", "Type"): "notify",
        ("Service", "NotifyAccess"): "main",
        ("Service", "ExecStart"): "/usr/bin/sonde run",
        ("Service", "ExecReload"): "/usr/bin/sonde reload",
        ("Service", "RuntimeDirectory"): "sonde",
    }
    for (section, key), value in want.items():
        got = settings.get((section, key), [])
        if got != [value]:
            fail("%s: [%s] %s is %s, expected %r" % (unit, section, key, got or "unset", value))
    if not settings.get(("Service", "WatchdogSec")):
        fail("%s: no WatchdogSec: the agent feeds a watchdog nobody watches" % unit)
    bounding = set(" ".join(settings.get(("Service", "CapabilityBoundingSet"), [])).split())
    kept = kept_capabilities(capabilities_cpp)
    if bounding != kept:
        fail("%s: CapabilityBoundingSet %s differs from what the agent keeps after start (%s): %s" %
             (unit, sorted(bounding), capabilities_cpp, sorted(kept)))


def systemd_analyze():
    path = shutil.which("systemd-analyze")
    if not path:
        fail("systemd-analyze is missing (Debian package systemd; scripts/test.sh installs it)")
        finish()
    return path


def check_with_systemd(unit, text, binary):
    tool = systemd_analyze()
    if not os.access(binary, os.X_OK):
        fail("%s is not an executable: build the sonde target first" % binary)
        finish()
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, os.path.basename(unit))
        with open(copy, "w", encoding="utf-8") as f:
            f.write(text.replace("/usr/bin/sonde ", binary + " "))
        verify = subprocess.run([tool, "verify", copy], capture_output=True, text=True)
        said = (verify.stdout + verify.stderr).strip()
        if verify.returncode != 0 or said:
            fail("systemd-analyze verify %s exited %d:\n%s" % (unit, verify.returncode, said))
        security = subprocess.run([tool, "security", "--no-pager", "--offline=true", copy],
                                  capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?) (\S+)", security.stdout)
    if not m:
        fail("systemd-analyze security --offline=true %s printed no overall exposure (exit %d):\n%s%s" %
             (unit, security.returncode, security.stdout, security.stderr))
        return
    exposure = float(m.group(1))
    print("%s: exposure %.1f %s (at most %.1f allowed)" % (unit, exposure, m.group(2), MAX_EXPOSURE))
    if exposure > MAX_EXPOSURE:
        fail("%s: exposure %.1f is above %.1f; what raised it:\n%s" % (
            unit, exposure, MAX_EXPOSURE,
            "\n".join(line for line in security.stdout.splitlines() if line.startswith("\u2717"))))


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    unit, binary, capabilities_cpp = argv[1:]
    with open(unit, encoding="utf-8") as f:
        text = f.read()
    check_settings(unit, unit_settings(text), capabilities_cpp)
    check_with_systemd(unit, text, os.path.abspath(binary))
    finish()


if __name__ == "__main__":
    main(sys.argv)
