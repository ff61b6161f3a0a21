"""gantry-oci as a drop-in for runc: the config.json files real consumers write, run side by side.

The fixtures in tests/fixtures/specs/ were written by `runc spec`, `crun spec`, `gantry-oci spec`,
`ctr oci spec`, a container `ctr run` made and one `podman create` + `podman init` made (see
tests/fixtures/specs/capture.py).  Each runs unedited except for its root path (a copy of the busybox
rootfs), its args (the probe) and the consumer's own files it names under ``@WORK@`` (made again here);
the probe's view must be the same under gantry-oci and under runc.  runc wants a terminal when
process.terminal is true, so it runs under script(1); gantry-oci relays a pty itself.
"""
import json
import os
import shutil
import subprocess

import pytest

from tests.integration.lowlevel.oci_harness import OCI, PROBE, probe_values

pytestmark = pytest.mark.root

SPECS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "fixtures", "specs")
FIXTURES = ["runc.json", "crun.json", "gantry-oci.json", "ctr-oci-spec.json", "ctr-run.json", "podman.json"]
CAPS = r"""
for set in Inh Prm Eff Bnd Amb; do echo "cap$set=$(grep Cap$set /proc/self/status | cut -f2)"; done
echo "mountpoints=$(awk '{print $5}' /proc/self/mountinfo | sort | tr '\n' ' ')"
echo "rlimit_nproc=$(ulimit -u)"
echo "end=1"
"""
COMPARED = ("capInh", "capPrm", "capEff", "capBnd", "capAmb", "uid", "gid", "groups", "hostname", "nnp",
            "nofile", "rlimit_nproc", "umask", "cwd", "home", "sigign", "sigblk", "mountpoints", "devices",
            "kcore", "sysrq", "null", "end")


def bundle_from_fixture(name, tmp_path, busybox_rootfs):
    work = str(tmp_path / "work")
    with open(os.path.join(SPECS, name)) as f:
        cfg = json.loads(f.read().replace("@WORK@", work))
    with open(os.path.join(SPECS, "binds.json")) as f:
        binds = json.loads(f.read().replace("@WORK@", work))
    for path, entry in binds.items():
        if entry["kind"] == "dir":
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(entry["content"])
    rootfs = str(tmp_path / "rootfs")
    shutil.copytree(busybox_rootfs, rootfs, symlinks=True)
    cfg["root"]["path"] = rootfs
    cfg["process"]["args"] = ["/bin/sh", "-c", PROBE + CAPS]
    bundle = str(tmp_path / "bundle")
    os.makedirs(bundle)
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(cfg, f)
    return bundle, cfg


def view(stdout):
    """The probe's values; a terminal adds CRs (script(1) also echoes a NUL as "^@").  runc 1.1 leaves the
    cgroup2 hierarchy of a hybrid host out of a cgroup mount, gantry-oci mounts it too: not compared."""
    values = probe_values(stdout.replace("\r", "").replace("^@", ""))
    values["mountpoints"] = " ".join(m for m in values.get("mountpoints", "").split() if m != "/sys/fs/cgroup/unified")
    return values


def run_in(runtime, root, bundle, cid, terminal):
    argv = [runtime, "--root", root, "run", "--bundle", bundle, cid]
    if terminal and runtime != OCI:
        argv = ["script", "-qec", " ".join(argv), "/dev/null"]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    subprocess.run([runtime, "--root", root, "delete", "--force", cid], capture_output=True, check=False)
    return run


@pytest.mark.parametrize("name", FIXTURES)
def test_consumer_bundle_runs_as_under_runc(name, tmp_path, busybox_rootfs):
    bundle, cfg = bundle_from_fixture(name, tmp_path, busybox_rootfs)
    terminal = bool(cfg["process"].get("terminal"))
    cid = "dropin-" + name.split(".")[0] + "-%d" % os.getpid()
    ours = run_in(OCI, str(tmp_path / "state-gantry"), bundle, cid, terminal)
    assert ours.returncode == 0, ours.stderr
    theirs = run_in("runc", str(tmp_path / "state-runc"), bundle, cid, terminal)
    assert theirs.returncode == 0, theirs.stderr
    got, want = view(ours.stdout), view(theirs.stdout)
    assert got["end"] == "1", ours.stdout
    assert {k: got.get(k) for k in COMPARED} == {k: want.get(k) for k in COMPARED}


@pytest.mark.parametrize("name", ["runc.json", "crun.json"])
def test_ambient_without_inheritable_is_a_warning_as_in_runc(name, tmp_path, busybox_rootfs):
    """`runc spec` puts three capabilities in ambient and none in inheritable: the kernel refuses
    to raise them; runc and crun go on, and so does gantry-oci, with one warning for each."""
    bundle, cfg = bundle_from_fixture(name, tmp_path, busybox_rootfs)
    log = str(tmp_path / "oci.log")
    run = subprocess.run([OCI, "--root", str(tmp_path / "state"), "--log", log, "--log-format", "json",
                          "run", "--bundle", bundle, "amb-%d" % os.getpid()],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    assert probe_values(run.stdout.replace("\r", ""))["capAmb"] == "0000000000000000"
    with open(log) as f:
        warnings = [json.loads(line)["msg"] for line in f if json.loads(line)["level"] == "warning"]
    for cap in cfg["process"]["capabilities"]["ambient"]:
        assert any(cap in w and "inheritable" in w for w in warnings), warnings
