"""Benchmark: import + unpack of a local image (no network), gantry vs containerd, umoci and GNU tar.

    python -m bench.unpack [--rounds 3] [--workdir /var/tmp/gantry-bench-pull] [--json FILE]

The image of bench/pull (4 gzip layers, each a 30 MB incompressible file and 1,500 small text
files, ~150 MB compressed; built once and cached in the workdir, which bench/pull shares) is,
each round into an empty store:

- gantry: ``archive.import_oci_layout`` (verified copy into the content store, unpack into overlay
  layer snapshots, image record), timed in this process;
- containerd (Debian package, its own root/socket, CRI off): ``ctr images import`` of the layout as
  a tar (ingest + unpack into the overlayfs snapshotter), timed as a command;
- umoci: ``umoci unpack`` of the layout (no content ingest; one merged rootfs);
- tar: ``tar -xzf`` of each layer blob into its own directory (no digests at all: the floor).

Prints each round, the medians and the ratios gantry / peer.  Needs root.  No network.
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

from gantry.highlevel.images import archive
from gantry.highlevel.images.store import ImageStore


def ensure_inputs(workdir):
    """bench/pull's image as an OCI layout (built once, shared with bench/pull) and as a tar of it."""
    from bench.pull.__main__ import ensure_layout

    layout = ensure_layout(workdir)
    tarball = os.path.join(workdir, "layout.tar")
    if not os.path.exists(tarball):
        subprocess.run(["tar", "-C", layout, "-cf", tarball + ".tmp", "."], check=True)
        os.rename(tarball + ".tmp", tarball)
    return layout, tarball


def layer_blobs(layout):
    with open(os.path.join(layout, "index.json")) as f:
        manifest_digest = json.load(f)["manifests"][0]["digest"]
    with open(os.path.join(layout, "blobs", "sha256", manifest_digest[7:])) as f:
        manifest = json.load(f)
    return [os.path.join(layout, "blobs", "sha256", d["digest"][7:]) for d in manifest["layers"]]


def uncompressed_size(blobs):
    from gantry.highlevel.images.unpack import DiffReader

    total = 0
    for blob in blobs:
        with open(blob, "rb") as f:
            reader = DiffReader(f)
            reader.drain()
            total += reader.size
    return total


def timed(fn):
    os.sync()
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def run_gantry(workdir, layout):
    root = tempfile.mkdtemp(prefix="gantry-", dir=workdir)
    try:
        store = ImageStore(root)
        try:
            return timed(lambda: archive.import_oci_layout(store, layout, base_name="bench.local/pull"))
        finally:
            store.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_containerd(workdir, tarball):
    from bench.pull.__main__ import Containerd  # the same throwaway containerd as bench/pull

    ctd = Containerd(workdir)
    try:
        def imp():
            p = subprocess.run(["ctr", "--address", ctd.sock, "-n", "bench", "images", "import",
                                "--base-name", "bench.local/pull", tarball], capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError("ctr images import: %s" % p.stderr.strip()[-500:])
        return timed(imp)
    finally:
        ctd.stop()


def run_umoci(workdir, layout):
    dest = tempfile.mkdtemp(prefix="umoci-", dir=workdir)
    os.rmdir(dest)
    try:
        return timed(lambda: subprocess.run(["umoci", "unpack", "--image", layout + ":v1", dest],
                                            check=True, capture_output=True))
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def run_tar(workdir, blobs):
    dest = tempfile.mkdtemp(prefix="tar-", dir=workdir)
    try:
        def untar():
            for i, blob in enumerate(blobs):
                d = os.path.join(dest, str(i))
                os.mkdir(d)
                subprocess.run(["tar", "-C", d, "-xzf", blob], check=True)
        return timed(untar)
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="bench.unpack")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", default="/var/tmp/gantry-bench-pull")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/unpack: needs root (overlay layers, containerd)", file=sys.stderr)
        return 1
    os.makedirs(args.workdir, exist_ok=True)
    layout, tarball = ensure_inputs(args.workdir)
    blobs = layer_blobs(layout)
    compressed = sum(os.path.getsize(b) for b in blobs)
    uncompressed = uncompressed_size(blobs)
    print("image: %d gzip layers, %.1f MB compressed, %.1f MB uncompressed"
          % (len(blobs), compressed / 1e6, uncompressed / 1e6), flush=True)
    peers = {"containerd": lambda: run_containerd(args.workdir, tarball),
             "umoci": lambda: run_umoci(args.workdir, layout),
             "tar": lambda: run_tar(args.workdir, blobs)}
    times = {name: [] for name in ["gantry", *peers]}
    for r in range(args.rounds):
        times["gantry"].append(run_gantry(args.workdir, layout))
        for name, fn in peers.items():
            try:
                times[name].append(fn())
            except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
                print("round %d: %s failed: %s" % (r + 1, name, e), flush=True)
        print("round %d: " % (r + 1) + "  ".join("%s %.2fs" % (n, t[-1]) for n, t in times.items() if t), flush=True)
    medians = {n: statistics.median(t) for n, t in times.items() if t}
    summary = {"medians_s": medians, "compressed_bytes": compressed, "uncompressed_bytes": uncompressed,
               "gantry_MBps_compressed": compressed / medians["gantry"] / 1e6,
               "gantry_MBps_uncompressed": uncompressed / medians["gantry"] / 1e6,
               "ratios": {n: medians["gantry"] / m for n, m in medians.items() if n != "gantry"}}
    print("median: " + "  ".join("%s %.2fs" % kv for kv in medians.items()))
    print("gantry / peer: " + "  ".join("%s %.2f" % kv for kv in summary["ratios"].items())
          + "   (gantry: %.0f MB/s compressed, %.0f MB/s uncompressed)"
          % (summary["gantry_MBps_compressed"], summary["gantry_MBps_uncompressed"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
