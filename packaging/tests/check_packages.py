#!/usr/bin/env python3
"""The Debian packages, as a packager and a plugin author meet them.

Builds every package of a build tree with cpack (into a temporary
directory), then checks:
  - one package per plugin object the build made (sonde-plugin-<name>,
    sonde-sink-<name>), plus sonde and sonde-dev; each field packaging/
    means to set (CPack ignores a misspelt variable silently);
  - contents: the agent, its stdout sink, unit, man page and conf.d part in
    sonde; one object and its conf.d drop-in per plugin package; only the
    public SDK headers in sonde-dev;
  - dependencies: sonde pulls no protobuf, OpenSSL or libbpf; a plugin needs
    a sonde whose ABI accepts it;
  - lintian: no error and no warning in any package;
  - the packages extracted into a temporary root: the extracted sonde finds
    its plugins and its layered conf.d (vendor defaults, the administrator's
    directory overriding and masking them) from its own location;
  - examples/dircount built out of tree against the extracted sonde-dev, with
    its CMake package and with pkg-config, then run by the extracted sonde:
    its records reach the stdout sink;
  - `cmake --install --prefix P` puts everything, configuration included,
    under P.

usage: check_packages.py BUILD_DIR SOURCE_DIR
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BUILD, SOURCE = (os.path.abspath(p) for p in sys.argv[1:3])
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return condition


def run(*cmd, check=True, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def field(deb, name):
    return run("dpkg-deb", "-f", deb, name).stdout.strip()


def contents(deb):
    out = run("dpkg-deb", "-c", deb).stdout
    return {line.split()[-1].lstrip(".") for line in out.splitlines() if not line.endswith("/")}


def abi_version():
    header = open(os.path.join(SOURCE, "plugin-api/include/sonde/plugin_api.h")).read()
    major = re.search(r"#define SONDE_ABI_MAJOR (\d+)", header).group(1)
    minor = re.search(r"#define SONDE_ABI_MINOR (\d+)", header).group(1)
    return major, minor


def build_packages(out):
    run("cpack", "-G", "DEB", "-B", out, "--config", os.path.join(BUILD, "CPackConfig.cmake"), cwd=BUILD)
    return {field(deb, "Package"): deb for deb in glob.glob(os.path.join(out, "*.deb"))}


def expected_packages():
    """sonde, sonde-dev, and one package per plugin object this build made."""
    names = {"sonde", "sonde-dev"}
    for kind, folder in (("plugin", "plugins"), ("sink", "sinks")):
        for so in glob.glob(os.path.join(BUILD, "plugins", "*.so")):
            name = os.path.basename(so)[:-3]
            if name != "stdout" and os.path.isdir(os.path.join(SOURCE, folder, name)):
                names.add(f"sonde-{kind}-{name}")
    return names


def check_fields_and_contents(debs):
    major, minor = abi_version()
    version = re.search(r"project\(sonde VERSION ([0-9.]+)", open(os.path.join(SOURCE, "CMakeLists.txt")).read())[1]
    for package, deb in sorted(debs.items()):
        check(field(deb, "Version") == version, f"{package}: Version {field(deb, 'Version')!r}, want {version}")
        check(re.fullmatch(r".+ <[^@ ]+@[^@ ]+>", field(deb, "Maintainer")), f"{package}: Maintainer")
        check(field(deb, "Priority") == "optional", f"{package}: Priority")
        synopsis = field(deb, "Description").splitlines()[0]
        check(synopsis and package not in synopsis.split()[0], f"{package}: synopsis {synopsis!r}")
        files = contents(deb)
        for doc in ("copyright", "changelog.gz"):
            check(f"/usr/share/doc/{package}/{doc}" in files, f"{package}: /usr/share/doc/{package}/{doc}")
        if package.startswith(("sonde-plugin-", "sonde-sink-")):
            name = package.split("-", 2)[2]
            depends = field(deb, "Depends")
            check(f"sonde-abi-{major} (>= {minor})" in depends, f"{package}: Depends {depends!r} lacks the ABI")
            check(re.search(r"(^|, )sonde(,|$)", depends), f"{package}: Depends {depends!r} lacks sonde")
            check(f"/usr/lib/sonde/plugins/{name}.so" in files, f"{package}: its object")
            shipped = glob.glob(os.path.join(SOURCE, "conf.d", f"[0-9][0-9]-{name}.toml"))
            for conf in shipped:
                check(f"/usr/share/sonde/conf.d/{os.path.basename(conf)}" in files, f"{package}: {conf}")
            check(len([f for f in files if f.endswith(".so")]) == 1, f"{package}: one object")

    core = debs["sonde"]
    files = contents(core)
    for path in ("/usr/bin/sonde", "/usr/lib/sonde/plugins/stdout.so", "/usr/lib/systemd/system/sonde.service",
                 "/usr/share/man/man1/sonde.1.gz", "/usr/share/sonde/conf.d/10-agent.toml",
                 "/usr/share/sonde/conf.d/90-stdout.toml"):
        check(path in files, f"sonde: {path}")
    check(field(core, "Provides") == f"sonde-abi-{major} (= {minor})", f"sonde: Provides {field(core, 'Provides')!r}")
    depends = field(core, "Depends")
    for unwanted in ("protobuf", "libssl", "libbpf", "libelf"):
        check(unwanted not in depends, f"sonde: Depends pulls {unwanted}: {depends}")

    dev = contents(debs["sonde-dev"])
    headers = {f for f in dev if f.startswith("/usr/include/")}
    public = {"/usr/include/sonde/" + os.path.relpath(f, os.path.join(SOURCE, "plugin-api/include/sonde"))
              for f in glob.glob(os.path.join(SOURCE, "plugin-api/include/sonde/**/*.h*"), recursive=True)}
    check(headers == public, f"sonde-dev: headers {sorted(headers ^ public)} differ from plugin-api/include")
    for path in ("/usr/lib/cmake/sonde/sondeConfig.cmake", "/usr/share/pkgconfig/sonde.pc",
                 "/usr/share/sonde/exports.map"):
        check(path in dev, f"sonde-dev: {path}")


def check_lintian(debs):
    out = run("lintian", "--no-tag-display-limit", *debs.values(), check=False).stdout
    problems = [line for line in out.splitlines() if re.match(r"[EW]: ", line)]
    check(not problems, "lintian:\n  " + "\n  ".join(problems))


def extract(debs, root):
    for deb in debs.values():
        run("dpkg-deb", "-x", deb, root)
    return os.path.join(root, "usr/bin/sonde")


def check_layered_config(sonde, root):
    """The extracted sonde reads <root>/usr/share/sonde/conf.d, then <root>/usr/etc/sonde/conf.d."""
    out = run(sonde, "check-config").stdout
    vendor = os.path.join(root, "usr/share/sonde/conf.d")
    check(out.startswith(f"{vendor}:{root}/usr/etc/sonde/conf.d: OK"), f"check-config of the vendor defaults: {out}")
    admin = os.path.join(root, "usr/etc/sonde/conf.d")
    os.makedirs(admin)
    os.symlink("/dev/null", os.path.join(admin, "90-stdout.toml"))  # masks the vendor's stdout sink
    with open(os.path.join(admin, "10-agent.toml"), "w") as f:      # replaces the vendor's agent settings
        f.write('[agent]\ninterval = "2s"\n')
    out = run(sonde, "check-config").stdout
    sinks = re.search(r"OK \((\d+) files, (\d+) inputs, (\d+) sinks\)", out)
    check(sinks and sinks[3] == str(sum(1 for f in os.listdir(vendor) if f.startswith("90-")) - 1),
          f"check-config after masking 90-stdout.toml: {out}")
    shutil.rmtree(admin)


def check_install_prefix(work):
    """`cmake --install --prefix P` writes nothing outside P, and the sonde there runs on P's conf.d."""
    prefix = os.path.join(work, "prefix")
    run("cmake", "--install", BUILD, "--prefix", prefix)
    manifest = open(os.path.join(BUILD, "install_manifest.txt")).read().split()
    outside = [f for f in manifest if not f.startswith(prefix + "/")]
    check(manifest and not outside, f"cmake --install --prefix wrote outside the prefix: {outside[:5]}")
    check(os.path.exists(os.path.join(prefix, "share/sonde/conf.d/10-agent.toml")), "the configuration under P")
    out = run(os.path.join(prefix, "bin/sonde"), "check-config").stdout
    check(out.startswith(f"{prefix}/share/sonde/conf.d:{prefix}/etc/sonde/conf.d: OK"), f"P/bin/sonde: {out}")


def build_example(root, work):
    """examples/dircount, out of tree, with the extracted SDK only: its CMake package and its pkg-config file."""
    example = os.path.join(SOURCE, "examples/dircount")
    build = os.path.join(work, "dircount-cmake")
    run("cmake", "-S", example, "-B", build, f"-DCMAKE_PREFIX_PATH={root}/usr", "-DCMAKE_BUILD_TYPE=Release")
    run("cmake", "--build", build)
    built = os.path.join(build, "dircount.so")
    check(os.path.exists(built), "examples/dircount built with find_package(sonde)")
    exported = run("nm", "-D", "--defined-only", built).stdout.split()
    check(set(s for s in exported if s.startswith("sonde_")) == {"sonde_plugin_entry_v1", "sonde_plugin_abi"},
          f"dircount.so exports only the entry points: {exported}")

    env = dict(os.environ, PKG_CONFIG_PATH=f"{root}/usr/share/pkgconfig")
    flags = run("pkg-config", "--cflags", "--libs", "sonde", env=env).stdout.split()
    pc_built = os.path.join(work, "dircount-pc.so")
    run("g++", "-std=c++20", "-O2", "-fPIC", "-shared", "-fvisibility=hidden", *flags,
        os.path.join(example, "dircount.cpp"), "-o", pc_built)
    check(os.path.exists(pc_built), "examples/dircount built with pkg-config")
    return os.path.dirname(built)


def run_example(sonde, plugin_dir, work):
    watched = os.path.join(work, "watched")
    os.makedirs(watched)
    for i in range(3):
        open(os.path.join(watched, f"f{i}"), "w").close()
    conf = os.path.join(work, "conf.d")
    os.makedirs(conf)
    with open(os.path.join(conf, "10-dircount.toml"), "w") as f:
        f.write(f'[agent]\ninterval = "200ms"\n[inputs.dircount]\npath = "{watched}"\n[sinks.stdout]\n')
    described = run(sonde, "plugins", "--plugin-dir", plugin_dir, "--describe", "dircount").stdout
    check("directory.entries" in described and "directory.changed" in described, f"--describe: {described}")

    agent = subprocess.Popen([sonde, "run", "--config-dir", conf, "--plugin-dir", plugin_dir],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        open(os.path.join(watched, "f3"), "w").close()
        time.sleep(1.0)
    finally:
        agent.terminate()
        out, err = agent.communicate(timeout=30)
    check(agent.returncode == 0, f"the extracted sonde exited {agent.returncode}: {err}")
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    counts = [r["value"] for r in records if r.get("name") == "directory.entries"]
    changes = [r["attributes"] for r in records if r.get("name") == "directory.changed"]
    check(counts[:1] == [3] and counts[-1:] == [4], f"directory.entries went 3 -> 4: {counts}")
    check(changes == [{"path": watched, "before": 3, "after": 4}], f"one directory.changed event: {changes}")


def main():
    with tempfile.TemporaryDirectory(prefix="sonde-packages-") as work:
        debs = build_packages(os.path.join(work, "packages"))
        want = expected_packages()
        check(set(debs) == want, f"packages {sorted(debs)}, want {sorted(want)}")
        check_fields_and_contents(debs)
        check_lintian(debs)
        root = os.path.join(work, "root")
        sonde = extract(debs, root)
        listed = run(sonde, "plugins").stdout
        for package in debs:
            if package.startswith(("sonde-plugin-", "sonde-sink-")):
                check(re.search(rf"^{package.split('-', 2)[2]}\s.*loadable", listed, re.M),
                      f"the extracted sonde lists {package}'s plugin as loadable:\n{listed}")
        check_layered_config(sonde, root)
        check_install_prefix(work)
        plugin_dir = build_example(root, work)
        run_example(sonde, plugin_dir, work)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print(f"packages OK: {len(debs)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
