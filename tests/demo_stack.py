"""`make demo`: the whole stack, from an image in a registry to a container's CRI log.

1. builds a busybox image (tests/fixtures/ociimage.py) and serves it from a real
   registry (Debian docker-registry) on 127.0.0.1;
2. starts gantryd with its embedded defaults (no config file; only its three
   directories point into a temporary folder, so the demo leaves nothing behind)
   and pulls the image through the CRI ImageService with gantryctl;
3. turns the pulled image into a container rootfs: a fresh overlay snapshot on
   the image's layers, in the store gantryd just filled;
4. asks a shim template (gantryd's way of starting shims) for a gantry-shim, which
   runs the container with gantry-oci and writes its output to a CRI log;
5. prints the log (the probe inside prints what it sees), the exit status, and cleans up.

gantryd does not run containers over CRI yet (RuntimeService pods and containers
come with a later issue), so step 3 reads the image store directly.  Exits 0 when
every step worked and the container saw itself as expected.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from gantry.highlevel import shimclient
from gantry.highlevel.images import snapshots
from gantry.highlevel.images.store import ImageStore

from tests.fixtures import busybox, ociimage
from tests.fixtures.registry import start_registry

PROBE = r"""
echo "hostname:     $(hostname)"
echo "pid:          $$"
echo "user:         $(id)"
echo "image:        $(cat /etc/gantry-demo)"
echo "capabilities: $(grep CapEff /proc/self/status | cut -f2) (effective)"
echo "no_new_privs: $(grep NoNewPrivs /proc/self/status | cut -f2)"
echo "rootfs:       $(awk '$5 == "/" {print $9}' /proc/self/mountinfo)"
echo "to stderr" >&2
"""
CONTAINER_ID = "gantry-demo"


def venv_bin(name):
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else shutil.which(name) or name


def step(text):
    print("\n== " + text, flush=True)


def run(argv, **kw):
    print("$ " + " ".join(argv), flush=True)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)
    sys.stdout.write(out.stdout)
    sys.stderr.write(out.stderr)
    if out.returncode != 0:
        raise RuntimeError("%s exited with %d" % (argv[0], out.returncode))
    return out.stdout


def start_gantryd(work):
    address = os.path.join(work, "gantryd.sock")
    argv = [venv_bin("gantryd"), "--address", address, "--root", os.path.join(work, "root"),
            "--state", os.path.join(work, "state"), "--log-level", "info"]
    print("$ " + " ".join(argv) + " &", flush=True)
    log = open(os.path.join(work, "gantryd.log"), "w")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while not os.path.exists(address):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("gantryd did not start; see %s" % log.name)
        time.sleep(0.05)
    print("gantryd serving on %s (mode %o)" % (address, os.stat(address).st_mode & 0o777))
    return proc, address


def container_rootfs(root, image_id, target):
    """A writable overlay on the image's committed layers, mounted on target; returns (store, key)."""
    store = ImageStore(os.path.join(root, "images"))
    diff_ids = store.config(image_id)["rootfs"]["diff_ids"]
    key = "container-" + CONTAINER_ID
    with store.lease() as lease:
        lease.add_snapshot(key)
        store.snapshots.prepare(key, parent=snapshots.chain_ids(diff_ids)[-1])
    os.makedirs(target)
    snapshots.mount_all(store.snapshots.mounts(key), target, snapshots_root=os.path.join(root, "images", "snapshots"))
    return store, key


def write_bundle(bundle_dir, rootfs, image_config):
    from tests.fixtures.bundle import default_config

    cfg = default_config(["/bin/sh", "-c", PROBE])
    cfg["process"]["env"] = image_config.get("config", {}).get("Env") or cfg["process"]["env"]
    cfg["hostname"] = CONTAINER_ID
    cfg["root"] = {"path": rootfs, "readonly": False}
    os.makedirs(bundle_dir)
    with open(os.path.join(bundle_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)


def run_container(work, bundle_dir):
    """Template → shim → gantry-oci; returns (exit status, CRI log text)."""
    template = shimclient.start_template(os.path.join(work, "template.sock"))
    try:
        state_dir, log_path = os.path.join(work, "shim"), os.path.join(work, "container.log")
        started = time.monotonic()
        spawned = shimclient.TemplateClient(os.path.join(work, "template.sock")).spawn(
            CONTAINER_ID, bundle_dir, venv_bin("gantry-oci"), state_dir,
            runtime_root=os.path.join(work, "oci"), log_path=log_path)
        shim = shimclient.ShimClient(spawned.address)
        shim.create()
        shim.start()
        print("gantry-shim pid %d at %s; container running %.0f ms after asking for the shim"
              % (spawned.pid, spawned.address, (time.monotonic() - started) * 1000))
        status = shim.wait(timeout=60).exit_status
        shim.delete()          # the shim exits once its container is deleted
        with open(log_path) as f:
            return status, f.read()
    finally:
        template.terminate()
        template.wait()


def main():
    if os.geteuid() != 0:
        print("demo: needs root (namespaces, mounts, cgroups)")
        return 1
    work = tempfile.mkdtemp(prefix="gantry-demo-")
    gantryd = store = key = None
    rootfs = os.path.join(work, "rootfs")
    try:
        step("an image in a registry on 127.0.0.1")
        src = busybox.build_rootfs(os.path.join(work, "src"))
        with open(os.path.join(src, "etc", "gantry-demo"), "w") as f:
            f.write("pulled from the local registry by gantryd\n")
        image = ociimage.busybox_image(src, env=["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        with start_registry(os.path.join(work, "registry")) as registry:
            registry.push_image(image, "library/busybox", "demo")
            ref = "%s/library/busybox:demo" % registry.host
            print("pushed %s (%s)" % (ref, image.manifest_digest))

            step("gantryd on its embedded defaults; pull over CRI with gantryctl")
            gantryd, address = start_gantryd(work)
            ctl = [venv_bin("gantryctl"), "--address", address]
            run(ctl + ["version"])
            run(ctl + ["pull", ref])
            run(ctl + ["images"])

        step("a container rootfs: a fresh overlay snapshot on the pulled layers")
        store, key = container_rootfs(os.path.join(work, "root"), image.image_id, rootfs)
        write_bundle(os.path.join(work, "bundle"), rootfs, store.config(image.image_id))
        print("rootfs %s" % rootfs)

        step("gantry-shim (forked from the shim template) runs it with gantry-oci")
        status, log = run_container(work, os.path.join(work, "bundle"))
        print("exit status %d; the CRI log the shim wrote:" % status)
        sys.stdout.write(log)
        ok = (status == 0 and " stdout F hostname:     %s\n" % CONTAINER_ID in log
              and " stdout F pid:          1\n" in log and " stderr F to stderr\n" in log
              and "pulled from the local registry by gantryd" in log)
        print("\ndemo %s" % ("OK: image pulled by gantryd, run by gantry-shim + gantry-oci" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        if os.path.ismount(rootfs):
            snapshots.unmount(rootfs)
        if store is not None:
            store.snapshots.remove(key)
            store.close()
        if gantryd is not None:
            gantryd.send_signal(signal.SIGTERM)
            gantryd.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
