"""`docker run --rm IMAGE true`, three ways, in the same run: wall time of the whole command.

    gantryctl   gantryctl run --rm IMAGE true against gantryd (pod, container, output, exit code,
                removal: RunPodSandbox ... RemovePodSandbox through CRI, one client process)
    crictl      the same CRI calls as separate crictl processes against the same gantryd:
                runp, create, start, inspect until exited, rm, stopp, rmp
    podman      podman run --rm --ulimit ... IMAGE true (runc: crun refuses this hybrid cgroup layout;
                its own storage under the bench's folder, conmon, its default bridge network)

One image for all (this machine's busybox, tests/fixtures), imported into gantryd with
`gantryctl import` and into podman with `podman pull oci:DIR`.  Rounds alternate the three; medians
and ratios to podman are printed (target: gantryctl <= podman).

    CRICTL=/path/to/crictl python -m bench.run [--rounds N]

Measured 2026-12-05 18:16 UTC (7 rounds, load 0.9 at the end, 2 shared cores; the 834 ms vs 573 ms
of the issue were taken under a heavier load):

    gantryctl run --rm                         275.6 ms  (min  246.0)  0.75x podman
    crictl runp+create+start+wait+rm           268.3 ms  (min  229.2)  0.73x podman
    podman run --rm (runc)                     368.3 ms  (min  354.3)  1.00x podman

Before (same day, 17:13, load 1.0): gantryctl 384.5 ms, crictl 236.1 ms, podman 316.1 ms (1.22x).
Where gantryctl's time went then (one run, in-process timestamps): ~95 ms interpreter and imports
(grpc 43, cri_pb2 and protobuf 23, the editable-install finder 11, gantryctl's own ~10), ~5 ms
ImageStatus, then RunPodSandbox 18-23, CreateContainer 45-55, StartContainer 15-18 ms (gantryd),
100 ms of the log follower waiting for a quiet file after the exit, 2 ms ContainerStatus, then
StopContainer 1-4, RemoveContainer 29-51, StopPodSandbox 21, RemovePodSandbox 11-17 ms.  Now the
follower ends when the exit is recorded (GetContainerEvents, highlevel/ctl/exitwatch.py) and --rm is
StopPodSandbox + RemovePodSandbox: ~230 ms in-process, what is left is gantryd's own work and the
client's imports.
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

from bench.cri.peers import Gantryd
from tests.fixtures import busybox
from tests.fixtures import ociimage as oi

CRICTL = os.environ.get("CRICTL") or shutil.which("crictl") or "/usr/local/bin/crictl"
IMAGE = "docker.io/library/busybox:bench"


def venv_bin(name):
    return os.path.join(os.path.dirname(sys.executable), name)


def sh(argv, **kw):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)
    if out.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv[:4]), out.returncode, out.stderr.strip()[-500:]))
    return out.stdout


class Runs:
    def __init__(self, work, gantryd):
        self.work, self.gd = work, gantryd
        self.ctl = [venv_bin("gantryctl"), "--endpoint", gantryd.gd.address]
        self.crictl = [CRICTL, "--runtime-endpoint", "unix://" + gantryd.gd.address,
                       "--image-endpoint", "unix://" + gantryd.gd.address, "--timeout", "60s"]
        self.podman = ["podman", "--root", os.path.join(work, "podman", "root"),
                       "--runroot", os.path.join(work, "podman", "run"), "--tmpdir", os.path.join(work, "podman", "tmp"),
                       "--cgroup-manager=cgroupfs", "--events-backend=file", "--runtime", "runc"]
        self.logs = os.path.join(work, "logs")
        self.n = 0

    def gantryctl(self):
        sh(self.ctl + ["run", "--rm", "--log-dir", self.logs, IMAGE, "true"])

    def crictl_sequence(self):
        self.n += 1
        name = "crictl-%d" % self.n
        pod = {"metadata": {"name": name, "namespace": "bench", "uid": name, "attempt": 0},
               "log_directory": os.path.join(self.logs, name),
               "linux": {"security_context": {"namespace_options": {"pid": 1}}}}
        ctr = {"metadata": {"name": name}, "image": {"image": IMAGE}, "command": ["true"], "log_path": "0.log",
               "linux": {"security_context": {"namespace_options": {"pid": 1}}}}
        paths = []
        for kind, doc in (("pod", pod), ("ctr", ctr)):
            path = os.path.join(self.work, "%s-%s.json" % (name, kind))
            with open(path, "w") as f:
                json.dump(doc, f)
            paths.append(path)
        os.makedirs(pod["log_directory"], exist_ok=True)
        pod_id = sh(self.crictl + ["runp", paths[0]]).strip()
        ctr_id = sh(self.crictl + ["create", pod_id, paths[1], paths[0]]).strip()
        sh(self.crictl + ["start", ctr_id])
        while json.loads(sh(self.crictl + ["inspect", ctr_id]))["status"]["state"] != "CONTAINER_EXITED":
            time.sleep(0.02)
        sh(self.crictl + ["rm", ctr_id])
        sh(self.crictl + ["stopp", pod_id])
        sh(self.crictl + ["rmp", pod_id])

    def podman_run(self):
        sh(self.podman + ["run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", IMAGE, "true"])


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=10)
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.run: needs root")
        return 1
    missing = [b for b in (CRICTL, shutil.which("podman") or "podman") if not shutil.which(b)]
    if missing:
        print("bench.run: missing %s" % ", ".join(missing))
        return 1
    # as a user's machine runs them: the interpreters may write their .pyc files
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    work = tempfile.mkdtemp(prefix="bench-run-")
    gd = Gantryd(os.path.join(work, "gantryd"), "127.0.0.1:1", net="bridge")
    try:
        layout = os.path.join(work, "busybox")
        oi.write_layout(layout, {"bench": oi.busybox_image(busybox.build_rootfs(os.path.join(work, "rootfs")))})
        gd.start()
        runs = Runs(work, gd)
        sh(runs.ctl + ["import", "--base-name", "busybox", layout])
        sh(runs.podman + ["pull", "-q", "oci:%s:bench" % layout])
        sh(runs.podman + ["tag", sh(runs.podman + ["images", "-q"]).split()[0], IMAGE])
        podman_runtime = sh(runs.podman + ["info", "--format", "{{.Host.OCIRuntime.Name}}"]).strip()
        ways = {"gantryctl run --rm": runs.gantryctl, "crictl runp+create+start+wait+rm": runs.crictl_sequence,
                "podman run --rm (%s)" % podman_runtime: runs.podman_run}
        for fn in ways.values():       # warm-up: caches, the shim template, podman's network
            fn()
        times = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, fn in ways.items():
                times[name].append(timed(fn))
        load = os.getloadavg()[0]
        base = statistics.median(times[list(ways)[2]])
        print("run --rm IMAGE true, wall time, median of %d alternating rounds (load %.1f at the end):"
              % (args.rounds, load))
        for name, ts in times.items():
            med = statistics.median(ts)
            print("  %-40s %7.1f ms  (min %6.1f)  %.2fx podman" % (name, med * 1000, min(ts) * 1000, med / base))
        return 0
    finally:
        gd.stop()
        subprocess.run(Runs(work, gd).podman + ["rm", "-a", "-f"], capture_output=True)
        subprocess.run(Runs(work, gd).podman + ["rmi", "-a", "-f"], capture_output=True)
        subprocess.run(["umount", "-R", os.path.join(work, "podman")], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
