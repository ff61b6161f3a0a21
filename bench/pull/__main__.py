"""Benchmark: pull + unpack of a ~150 MB 4-layer image through CRI, gantryd vs containerd 1.6.

    python -m bench.pull [--rounds 5] [--workdir /var/tmp/gantry-bench-pull] [--json FILE]
                         [--crictl PATH]

The way a kubelet pulls: one client, the same for both daemons, asks the CRI ImageService
(PullImage) over the daemon's unix socket:

- the client is crictl (``--crictl``, else $CRICTL, crictl on $PATH, /work/suites/bin/crictl):
  ``crictl --image-endpoint unix://SOCK --timeout 10m pull REF``, timed as a command, so both sides
  pay the same client start-up and gRPC;
- gantryd (``python -m gantry.highlevel.daemon``, --log-level debug, its log kept in the round's
  directory) and containerd (the Debian package, CRI plugin on, overlayfs snapshotter) are each
  started on a fresh root every round, before the clock starts, and pull from the same
  docker-registry on 127.0.0.1 (plain HTTP) through the same hosts.toml directory;
- rounds alternate who goes first; a sync before each pull.

The image (built once, deterministically, cached in the workdir): 4 gzip layers, each a
35 MB incompressible file plus 1,500 small text files (about 12 MB), ~150 MB compressed, ~190 MB
unpacked, ~6,000 files.  Prints each round, the medians and the ratio gantryd / containerd.
For gantryd it also prints, from its debug log, when the last blob was stored and when the pull
was recorded, measured from the PullImage request (where the time after the download goes); the
log of each round is kept as <workdir>/gantryd-round-N.log, --timeline prints it.
Needs root (containerd, overlay); sends traffic only to 127.0.0.1.

Measured 2026-12-05 on the 2-core project machine, shared with other work (figures as printed):
- 08:43 UTC, 3 rounds: gantryd 1.07-1.60 s, containerd 1.59-2.51 s, median ratio 0.57 (rounds 0.57-0.67);
- 08:36 and 08:45 UTC, 5 rounds each, load average ~4 on 2 cores: median ratios 0.92 (0.89-2.43) and
  0.80 (0.60-1.92); gantryd's slow rounds (2.7-7.3 s) all had their blobs stored by 0.9-1.3 s;
- 09:00 UTC, 5 rounds, load 6-8: gantryd 2.01-3.82 s, containerd 3.06-4.22 s, median 0.78 (0.66-1.00).
Where the time after the blobs goes (gantryd's debug log, per layer): the unpackers are still
writing the layers' files (0.5-2.9 s after each blob is stored, longer when the machine is busy);
syncfs takes 0.00-0.16 s per layer and the commit 0.01-0.05 s.  A py-spy profile of the unpack shows
the open() that creates each file as the largest single cost, not Python's tar parsing; four GNU tar
-xzf of the same blobs in parallel took 1.6-3.3 s here at the same time, so the tail is the kernel's
file creation on a shared disk.  Setting owner, mode and mtime through the file descriptor instead of
the path was tried and measured no different (medians 1.93 vs 2.09 s over 6 alternating rounds).

Then (13:25-13:29 UTC, load 7-8, 4 rounds per run, runs alternating without/with the T attribute
on gantryd's snapshots directory, images/dirspread.py): without, median ratios 0.91 (0.76-1.02) and
0.88 (0.80-0.96; gantryd 1.33-1.65 s); with, 0.52 (0.28-1.06) and 0.34 (0.27-0.37; gantryd 1.11-1.24 s); a third pair at 13:58, load ~8:
without 0.63 (0.44-0.86), with 0.68 (0.46-1.14).  With the attribute, "pull done" comes 0.3-0.9 s
after the last blob is stored (it was 1.2 s and more); under load the download is now the longer part.
The file creation above was ext4's: this disk has no journal, and ext4 then skips, for every new
inode, each inode of the group freed in the last 30 s, one by one; other work on the machine
deletes files all the time.  Spreading the snapshot directories over block groups avoids them.

Then (17:10 UTC, load 0.3, before the changes below): gantryd 1.02-1.37 s, containerd 1.27-1.80 s,
median ratio 0.66 (rounds 0.66-0.85); 17:14 UTC, 3 rounds, load 0.7-1.0: median 0.81 (0.45-1.01).
py-spy --gil of a pull showed tarfile's header decoding as 60% of the GIL-held time (its checksum
alone 30%; images/tarheader.py halves it), and the unpack as already streamed from the download
(blobpipe.py), hashed once per form (sha256 of the blob, sha256 of the tar), one syncfs per layer.
After tarheader.py, zlib-ng inflate (2.5x zlib) and no lchown for entries already owned right,
5 rounds each (load average at start -> end):
- 18:26 UTC, 0.2 -> 1.0: gantryd 0.87-1.36 s, containerd 1.28-1.76 s, median ratio 0.65 (0.53-0.82);
- 18:27 UTC, 0.8 -> 1.1: gantryd 0.96-1.96 s, containerd 1.85-3.05 s, median ratio 0.68 (0.38-0.99);
- 18:29 UTC, 0.9 -> 1.1: gantryd 1.09-1.45 s, containerd 1.24-2.39 s, median ratio 0.82 (0.54-0.93);
- 18:32 UTC, 1.3 -> 1.75: gantryd 0.90-1.55 s, containerd 1.36-2.60 s, median ratio 0.75 (0.44-0.95).
- 18:50 UTC, 0.7 -> 1.4 (nothing else running but the bench): gantryd 0.91-1.26 s, containerd
  1.22-1.80 s, median ratio 0.77 (0.69-0.79); at 17:10 (load 0.3, before these changes) gantryd
  1.02-1.37 s, containerd 1.27-1.80 s, median 0.66 (0.66-0.85): containerd's own times vary as much.
"Pull done" now comes 0.33-0.7 s after the last blob is stored (it was ~0.6-0.7 s), and the
download itself (blobs stored at 0.39-1.35 s) varies as much as the whole tail.  The 0.6 target is
reached in single rounds (0.38-0.59), not as a median.

Then (2026-12-06, issue 13's pull work): the layers unpack one at a time per daemon (pull.py's
unpack lane: in threads they only took turns on the GIL, with a hand-over at every system call;
bench's 4 layers unpacked in one process took 0.46-0.50 s one after the other and 0.72-0.75 s four
at once), a layer streams into the lane only when it is free as its download starts (the others
download at full speed and unpack from the stored blob), each extraction is flushed outside the
lane, and files are created with their mode (no chmod).  Blobs are now stored by 0.26-0.31 s (were
0.35-0.46), then the lane unpacks ~0.11-0.15 s per layer back to back.  8 rounds each, load at
start 0.00, no large delete in the five minutes before (see below):
- before the flush moved out of the lane, 02:26 UTC: gantryd 0.77-1.08 s, containerd 1.27-1.78 s,
  median ratio 0.64 (0.44-0.76);
- 02:41 UTC: gantryd 0.70-1.37 s, containerd 1.32-1.83 s, median ratio 0.52 (0.46-0.77);
- 02:51 UTC: gantryd 0.74-1.27 s, containerd 1.28-1.89 s, median ratio 0.57 (0.52-0.72);
- 02:44 UTC, started 2 minutes after the previous run's clean-up deleted its ~100,000 files (the
  case the next paragraph warns about): gantryd 0.77-1.67 s, containerd 1.31-2.75 s, median 0.82
  (0.54-0.93).
In every run the last two or three rounds are slower for both daemons (containerd 1.3 -> 1.8 s).
Worker processes instead of threads (an unpack per process, a pool kept warm: helper branch
pull6) were measured too, with one and two lanes: no steady gain over the in-process lane on this
2-core machine, within run-to-run noise (medians 0.92-1.57 s for every variant at 02:05-02:20), so
they were not merged.

On this machine's journal-less ext4, the kernel skips, for every new inode, each inode of its block
group freed in the last 60 s (300 s while the inode table block is still dirty): after a large
delete (a test run, a previous bench's clean-up), file creation costs several times more for both
daemons, and the ratio means little (a pull on a real node does not follow such a delete).  So the
stores of finished rounds are deleted only after the last round, and the bench wants five quiet
minutes before it starts.
"""
import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from tests.fixtures import ociimage as oi
from tests.fixtures.registry import start_registry
from tests.integration.gantryd_proc import GantrydProcess, write_hosts

LAYERS = 4
RANDOM_BYTES = 35 * 1000 * 1000
SMALL_FILES = 1500
REPO, TAG = "bench/pull", "v1"
_WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
          "upsilon phi chi psi omega container runtime image layer snapshot overlay registry manifest config "
          "digest kernel namespace cgroup mount socket process signal").split()


def build_image():
    layers = []
    for n in range(LAYERS):
        rng = random.Random(1000 + n)
        entries = [oi.Dir("opt"), oi.Dir("opt/l%d" % n), oi.RandomFile("opt/l%d/blob.bin" % n, RANDOM_BYTES, seed=n)]
        for i in range(SMALL_FILES // 50):
            entries.append(oi.Dir("opt/l%d/d%03d" % (n, i)))
            for j in range(50):
                text = " ".join(rng.choices(_WORDS, k=rng.randint(300, 2000))).encode() + b"\n"
                entries.append(oi.File("opt/l%d/d%03d/f%02d.txt" % (n, i, j), text))
        layers.append(oi.Layer(entries, "gzip", level=6))
    return oi.Image(layers, cmd=["/bin/sh"])


def ensure_layout(workdir):
    layout = os.path.join(workdir, "layout")
    if not os.path.exists(os.path.join(layout, "index.json")):
        print("building the benchmark image (once)...", flush=True)
        img = build_image()
        tmp = layout + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        oi.write_layout(tmp, {TAG: img})
        shutil.rmtree(layout, ignore_errors=True)
        os.rename(tmp, layout)
    return layout


# Stores of finished rounds, deleted after the last round: ext4 skips inodes freed in the last
# 30 s when it allocates new ones (recently_deleted(), checked per candidate inode), so creating
# files right after deleting ~6,000 of them costs several times more (perf: a third of all CPU in
# ext4_create -> recently_deleted).  A pull on a real node does not follow such a delete, and
# round 1 (nothing deleted yet) was always the fastest for both sides; keeping the trees until the
# end measures the pulls, not the previous round's cleanup.
_LATER = []


def delete_later_dirs():
    while _LATER:
        shutil.rmtree(_LATER.pop(), ignore_errors=True)


def find_crictl(given=None):
    for candidate in (given, os.environ.get("CRICTL"), shutil.which("crictl"), "/work/suites/bin/crictl"):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def crictl_pull(crictl, sock, ref):
    """Seconds of one `crictl pull` against the daemon on sock."""
    started = time.monotonic()
    proc = subprocess.run([crictl, "--image-endpoint", "unix://" + sock, "--timeout", "10m", "pull", ref],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError("crictl pull: %s" % (proc.stderr or proc.stdout).strip()[-500:])
    return elapsed


CONTAINERD_CONFIG = """version = 2
root = "{root}"
state = "{state}"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[metrics]
  address = ""
[debug]
  level = "warn"
[plugins."io.containerd.grpc.v1.cri"]
  enable_selinux = false
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{hosts}"
"""


class Containerd:
    """containerd 1.6 with its CRI plugin, on a fresh root/state/socket."""

    def __init__(self, workdir, hosts_dir):
        self.base = tempfile.mkdtemp(prefix="containerd-", dir=workdir)
        self.root, self.state = os.path.join(self.base, "root"), os.path.join(self.base, "state")
        self.sockdir = tempfile.mkdtemp(prefix="ctd-", dir="/tmp")
        self.sock = os.path.join(self.sockdir, "containerd.sock")
        self.config = os.path.join(self.base, "config.toml")
        with open(self.config, "w") as f:
            f.write(CONTAINERD_CONFIG.format(root=self.root, state=self.state, sock=self.sock, hosts=hosts_dir))
        self.log = open(os.path.join(self.base, "containerd.log"), "wb")
        self.proc = subprocess.Popen(["containerd", "--config", self.config], stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, crictl):
        deadline = time.monotonic() + 30
        while subprocess.run([crictl, "--image-endpoint", "unix://" + self.sock, "--timeout", "2s", "images"],
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("containerd did not start (log %s/containerd.log)" % self.base)
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        subprocess.run(["umount", "-R", self.state], capture_output=True)
        shutil.rmtree(self.sockdir, ignore_errors=True)
        _LATER.append(self.base)


def containerd_pull(workdir, hosts_dir, crictl, ref):
    ctd = Containerd(workdir, hosts_dir)
    try:
        ctd.wait_ready(crictl)
        os.sync()
        return crictl_pull(crictl, ctd.sock, ref), None
    finally:
        ctd.stop()


_TIME = re.compile(r'^time=(\S+)')
_MSG = re.compile(r' msg=("(?:[^"\\]|\\.)*"|\S+)')


def timeline(log_path):
    """[(seconds since "pull started", message, line)] of a gantryd log (logfmt, highlevel/logfmt.py)."""
    from datetime import datetime
    events = []
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            t, m = _TIME.match(line), _MSG.search(line)
            if not (t and m):
                continue
            when = datetime.fromisoformat(t.group(1).replace("Z", "+00:00")).timestamp()
            msg = m.group(1)
            if msg.startswith('"'):
                msg = msg[1:-1].replace('\\"', '"')
            events.append((when, msg, line.rstrip("\n")))
    starts = [t for t, msg, _ in events if msg == "pull started"]
    if not starts:
        return []
    return [(t - starts[0], msg, line) for t, msg, line in events if t >= starts[0]]


def stored_and_done(log_path):
    """(seconds to the last blob stored, seconds to "pull done") after "pull started", from the log."""
    stored = done = None
    for t, msg, _ in timeline(log_path):
        if "bytes stored in" in msg:
            stored = t
        elif msg == "pull done":
            done = t
    return stored, done


def gantryd_pull(workdir, hosts_dir, crictl, ref):
    base = tempfile.mkdtemp(prefix="gantryd-", dir=workdir)
    gd = GantrydProcess(base, registry_config_dir=hosts_dir)
    try:
        gd.start()
        os.sync()
        elapsed = crictl_pull(crictl, gd.address, ref)
        gd.stop()
        return elapsed, gd.log_path
    finally:
        gd.cleanup()
        _LATER.append(base)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.pull", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workdir", default="/var/tmp/gantry-bench-pull")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--timeline", action="store_true", help="print gantryd's log of each pull, timed from its start")
    ap.add_argument("--crictl", help="the CRI client (default: $CRICTL, crictl on $PATH, /work/suites/bin/crictl)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.pull: needs root (containerd, overlay mounts)", file=sys.stderr)
        return 1
    crictl = find_crictl(args.crictl)
    if crictl is None:
        print("bench.pull: no crictl (give --crictl or $CRICTL; build it from cri-tools)", file=sys.stderr)
        return 1
    os.makedirs(args.workdir, exist_ok=True)
    layout = ensure_layout(args.workdir)
    regdir = tempfile.mkdtemp(prefix="registry-", dir=args.workdir)
    try:
        with start_registry(regdir) as reg:
            digest = reg.push(layout, REPO, TAG)
            ref = "%s/%s:%s" % (reg.host, REPO, TAG)
            sizes = json.loads(reg.request("GET", "/v2/%s/manifests/%s" % (REPO, TAG), headers={
                "Accept": oi.OCI_MANIFEST}).body)
            total = sum(layer["size"] for layer in sizes["layers"])
            hosts_dir = tempfile.mkdtemp(prefix="certs.d-", dir=args.workdir)
            write_hosts(hosts_dir, reg.host)
            _LATER.append(hosts_dir)
            print("image %s (%s): %d layers, %.1f MB compressed; client %s" % (
                ref, digest, len(sizes["layers"]), total / 1e6, crictl))
            g_times, c_times, g_logs = [], [], []
            for n in range(args.rounds):
                # alternate who goes first, so neither always runs on a disk the other just filled
                order = ("gantryd", "containerd") if n % 2 == 0 else ("containerd", "gantryd")
                for who in order:
                    os.sync()
                    if who == "gantryd":
                        g, log_path = gantryd_pull(args.workdir, hosts_dir, crictl, ref)
                    else:
                        c, _ = containerd_pull(args.workdir, hosts_dir, crictl, ref)
                stored, done = stored_and_done(log_path)
                kept = os.path.join(args.workdir, "gantryd-round-%d.log" % (n + 1))
                shutil.copyfile(log_path, kept)   # outlives the round's store: explain an outlier later
                if args.timeline:
                    for t, msg, _ in timeline(log_path):
                        print("   %6.3fs  %s" % (t, msg))
                g_times.append(g)
                c_times.append(c)
                g_logs.append({"blobs_stored_s": stored, "pull_done_s": done, "log": log_path})
                print("round %d: gantryd %.2fs  containerd %.2fs  ratio %.2f  (gantryd log: blobs stored at %s, "
                      "pull done at %s)" % (n + 1, g, c, g / c, "%.2fs" % stored if stored is not None else "?",
                                            "%.2fs" % done if done is not None else "?"), flush=True)
            g_med, c_med = statistics.median(g_times), statistics.median(c_times)
            ratio = g_med / c_med
            print("median: gantryd %.2fs  containerd %.2fs  ratio %.2f  (range %.2f-%.2f)" % (
                g_med, c_med, ratio, min(g / c for g, c in zip(g_times, c_times, strict=True)),
                max(g / c for g, c in zip(g_times, c_times, strict=True))))
            if args.json:
                with open(args.json, "w") as f:
                    json.dump({"compressed_bytes": total, "gantryd_s": g_times, "containerd_s": c_times,
                               "gantryd_median_s": g_med, "containerd_median_s": c_med, "ratio": ratio,
                               "gantryd_log": g_logs}, f, indent=1)
    finally:
        shutil.rmtree(regdir, ignore_errors=True)
        delete_later_dirs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
