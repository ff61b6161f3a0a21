"""`make demo`: run a busybox container with gantry-oci and show what it sees from the inside.

Builds a busybox rootfs (tests/fixtures/busybox.py), writes a bundle
(tests/fixtures/bundle.py) whose process is a probe printing its hostname,
pid, mounts and capabilities, runs it with `gantry-oci run`, prints the
result, cleans up, exits 0 when the container behaved.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from tests.fixtures import bundle, busybox

PROBE = r"""
echo "hostname:     $(hostname)"
echo "pid:          $$"
echo "user:         $(id)"
echo "capabilities: $(grep CapEff /proc/self/status | cut -f2) (effective)"
echo "no_new_privs: $(grep NoNewPrivs /proc/self/status | cut -f2)"
echo "mounts:"
awk '{printf "  %-22s %-8s %s\n", $5, $9, $6}' /proc/self/mountinfo
"""


def gantry_oci():
    binary = os.path.join(os.path.dirname(sys.executable), "gantry-oci")
    return [binary] if os.path.exists(binary) else [sys.executable, "-m", "gantry.lowlevel.cli"]


def main():
    if os.geteuid() != 0:
        print("demo: gantry-oci needs root (namespaces, mounts, cgroups)")
        return 1
    work = tempfile.mkdtemp(prefix="gantry-demo-")
    try:
        rootfs = busybox.build_rootfs(os.path.join(work, "rootfs"))
        cfg = bundle.default_config(["/bin/sh", "-c", PROBE])
        cfg["hostname"] = "gantry-demo"
        bundle.write_bundle(os.path.join(work, "bundle"), rootfs, cfg)
        cmd = gantry_oci() + ["--root", os.path.join(work, "state"), "run", "--bundle",
                              os.path.join(work, "bundle"), "demo-%d" % os.getpid()]
        print("$ " + " ".join(cmd))
        started = time.monotonic()
        run = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        took = (time.monotonic() - started) * 1000
        sys.stdout.write(run.stdout)
        sys.stderr.write(run.stderr)
        seen = dict(line.split(":", 1) for line in run.stdout.splitlines() if ":" in line and not line.startswith(" "))
        ok = (run.returncode == 0 and seen.get("hostname", "").strip() == "gantry-demo"
              and seen.get("pid", "").strip() == "1")
        print("gantry-oci run: exit %d in %.0f ms; container %s" % (run.returncode, took, "OK" if ok else "WRONG"))
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
