"""Benchmark: `gantryctl build` (gantryd) vs `podman build` (buildah inside), cold and with a warm cache.

    python -m bench.build [--rounds 5] [--files 200] [--json FILE]

Needs root, podman, skopeo and runc (Debian).  Offline and private: a busybox base image
(Debian's busybox, tests/fixtures/busybox.py) is written as an OCI layout, imported into a
gantryd on temp dirs (``gantryctl import``) and copied into a podman storage root of its own
(skopeo, containers-storage transport); podman runs its RUN steps with runc (crun refuses
this hybrid cgroup host) and network none, as gantryd does by default.  The Dockerfile has
the issue's five steps after FROM::

    COPY app/ /app/          (--files small files)
    RUN  a loop writing a file
    RUN  a second command reading it
    COPY app.conf /etc/
    CMD

Cold: ``--no-cache`` on both (every step runs, every layer is written).  Warm: the same build
again with the cache (no RUN runs).  Both clients are timed from the command line, as a user
runs them (gantryctl and podman process start included).  Rounds alternate who goes first;
medians and ratios gantryd/podman are printed (issue 12's targets: <= 1.0 cold, <= 0.5 warm).

Figures on this machine (2 cores shared with other agents' work), branch builder at a8f462c,
podman 4.3.1 (buildah 1.28) + runc, 5 rounds, 200 files, load 6.3 at the start, medians:
cold gantryd 0.69 s vs podman 1.54 s (0.45), warm 0.19 s vs 0.60 s (0.31).  An earlier run at
load 13: cold 2.36 vs 3.76 s (0.63), warm 0.61 vs 1.91 s (0.32).  Main at 19:07 UTC, quiet (load
0.6), 5 rounds: cold 0.51 vs 1.05 s (0.49), warm 0.16 vs 0.38 s (0.42).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from tests.fixtures import busybox, ociimage
from tests.integration.build.podman_peer import Podman
from tests.integration.gantryd_proc import GantrydProcess

DOCKERFILE = """\
FROM localhost/busybox:1
COPY app/ /app/
RUN for i in $(seq 1 2000); do echo "line $i"; done > /app/lines.txt
RUN wc -l /app/lines.txt > /app/count.txt && sha256sum /app/lines.txt >> /app/count.txt
COPY app.conf /etc/app.conf
CMD ["cat", "/app/count.txt"]
"""


def say(text):
    print(text, flush=True)


def make_context(root, files):
    os.makedirs(os.path.join(root, "app"))
    for i in range(files):
        with open(os.path.join(root, "app", "f%04d.txt" % i), "w") as f:
            f.write(("file %d\n" % i) * 400)
    with open(os.path.join(root, "app.conf"), "w") as f:
        f.write("key = value\n")
    with open(os.path.join(root, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE)
    return root


def ctl(gd, *args):
    proc = subprocess.run([sys.executable, "-m", "gantry.highlevel.ctl", "--address", gd.address, *args],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError("gantryctl %s: %s" % (" ".join(args), proc.stderr.strip()))
    return proc


def gantry_build(gd, ctx, no_cache):
    started = time.monotonic()
    ctl(gd, "build", "-q", "-t", "localhost/bench:1", *(["--no-cache"] if no_cache else []), ctx)
    return time.monotonic() - started


def podman_build(podman, ctx, no_cache):
    return podman.build(ctx, "localhost/bench:1", *(["--no-cache"] if no_cache else []))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.build")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--files", type=int, default=200, help="small files the first COPY copies")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    if os.geteuid() != 0 or not Podman.available():
        say("bench/build: needs root, podman, skopeo, runc and umoci")
        return 1
    work = tempfile.mkdtemp(prefix="bench-build-")
    podman = Podman()
    gd = None
    try:
        rootfs = busybox.build_rootfs(os.path.join(work, "rootfs"))
        layout = os.path.join(work, "layout")
        ociimage.write_layout(layout, {"1": ociimage.busybox_image(rootfs, env=["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])})
        ctx = make_context(os.path.join(work, "ctx"), args.files)
        gd = GantrydProcess(os.path.join(work, "gd"), config_text='[network]\nmode = "none"\n')
        gd.start()
        ctl(gd, "import", "--base-name", "localhost/busybox", layout)
        podman.load(layout, "1", "localhost/busybox:1")
        # one untimed build each: the base is in place, caches primed, page cache warm
        gantry_build(gd, ctx, True)
        podman_build(podman, ctx, True)
        say("bench/build: %d rounds, %d files in the first COPY, %s" % (args.rounds, args.files,
                                                                         "load %.2f" % os.getloadavg()[0]))
        times = {(who, mode): [] for who in ("gantryd", "podman") for mode in ("cold", "warm")}
        for n in range(args.rounds):
            sides = [("gantryd", lambda nc: gantry_build(gd, ctx, nc)),
                     ("podman", lambda nc: podman_build(podman, ctx, nc))]
            if n % 2:
                sides.reverse()
            for mode, no_cache in (("cold", True), ("warm", False)):
                for who, fn in sides:
                    times[(who, mode)].append(fn(no_cache))
            say("  round %d: cold gantryd %.2fs podman %.2fs, warm gantryd %.2fs podman %.2fs" % (
                n + 1, times[("gantryd", "cold")][-1], times[("podman", "cold")][-1],
                times[("gantryd", "warm")][-1], times[("podman", "warm")][-1]))
        result = {}
        for mode, target in (("cold", 1.0), ("warm", 0.5)):
            g = statistics.median(times[("gantryd", mode)])
            pm = statistics.median(times[("podman", mode)])
            result[mode] = {"gantryd_s": g, "podman_s": pm, "ratio": g / pm, "target": target}
            say("%s: gantryd %.2fs, podman %.2fs, ratio %.2f (target <= %.1f: %s)" % (
                mode, g, pm, g / pm, target, "met" if g / pm <= target else "missed"))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=2)
        return 0
    finally:
        if gd is not None:
            gd.stop()
            gd.cleanup()
        podman.remove_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
