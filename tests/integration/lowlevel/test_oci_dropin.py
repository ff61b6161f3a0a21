"""gantry-oci as a drop-in for runc: the config.json files real consumers write, run side by side.

The fixtures in tests/fixtures/specs/ were written by `runc spec`, `crun spec`, `gantry-oci spec`,
`ctr oci spec`, a container `ctr run` made, one `podman create` + `podman init` made, and a pod sandbox
and a container containerd's CRI plugin made (see tests/fixtures/specs/capture.py).  Each runs unedited
except for its root path (a copy of the busybox rootfs), its args (the probe) and the consumer's own
files it names under ``@WORK@`` (made again here); the CRI container joins the namespaces of a sandbox
the same runtime runs from the CRI sandbox fixture (``@SANDBOX_PID@``).  The probe's view must be the
same under gantry-oci and under runc.  runc wants a terminal when
process.terminal is true, so it runs under script(1); gantry-oci relays a pty itself.
"""
import ctypes
import json
import os
import shutil
import subprocess

import pytest

from tests.integration.lowlevel.oci_harness import OCI, PROBE, probe_values

pytestmark = pytest.mark.root

SPECS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "fixtures", "specs")
FIXTURES = ["runc.json", "crun.json", "gantry-oci.json", "ctr-oci-spec.json", "ctr-run.json", "podman.json",
            "cri-sandbox.json", "cri-container.json"]
CAPS = r"""
for set in Inh Prm Eff Bnd Amb; do echo "cap$set=$(grep Cap$set /proc/self/status | cut -f2)"; done
echo "mountpoints=$(awk '{print $5}' /proc/self/mountinfo | sort | tr '\n' ' ')"
echo "rlimit_nproc=$(ulimit -u)"
echo "end=1"
"""
COMPARED = ("capInh", "capPrm", "capEff", "capBnd", "capAmb", "uid", "gid", "groups", "hostname", "nnp",
            "nofile", "rlimit_nproc", "umask", "cwd", "home", "sigign", "sigblk", "mountpoints", "devices",
            "kcore", "sysrq", "null", "end")


def bundle_from_fixture(name, tmp_path, busybox_rootfs, args=None, sandbox_pid=None, bundle_name="bundle"):
    work = str(tmp_path / "work")
    with open(os.path.join(SPECS, name)) as f:
        text = f.read().replace("@WORK@", work)
    if sandbox_pid is not None:
        text = text.replace("@SANDBOX_PID@", str(sandbox_pid))
    cfg = json.loads(text)
    with open(os.path.join(SPECS, "binds.json")) as f:
        binds = json.loads(f.read().replace("@WORK@", work))
    for path, entry in binds.items():
        if entry["kind"] == "dir":
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(entry["content"])
    rootfs = str(tmp_path / (bundle_name + "-rootfs"))
    shutil.copytree(busybox_rootfs, rootfs, symlinks=True)
    cfg["root"]["path"] = rootfs
    cfg["process"]["args"] = args or ["/bin/sh", "-c", PROBE + CAPS]
    bundle = str(tmp_path / bundle_name)
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


def sandbox_for(runtime, root, name, tmp_path, busybox_rootfs, cid):
    """Run the CRI sandbox fixture detached under runtime, as containerd would; its init's pid."""
    bundle, _ = bundle_from_fixture("cri-sandbox.json", tmp_path, busybox_rootfs, args=["sleep", "600"],
                                    bundle_name="sandbox-" + name)
    subprocess.run([runtime, "--root", root, "run", "-d", "--bundle", bundle, cid], check=True, timeout=60,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = subprocess.run([runtime, "--root", root, "state", cid], check=True, capture_output=True, text=True)
    return json.loads(state.stdout)["pid"]


def run_in(runtime, root, bundle, cid, terminal):
    argv = [runtime, "--root", root, "run", "--bundle", bundle, cid]
    if terminal and runtime != OCI:
        argv = ["script", "-qec", " ".join(argv), "/dev/null"]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    subprocess.run([runtime, "--root", root, "delete", "--force", cid], capture_output=True, check=False)
    return run


@pytest.mark.parametrize("name", FIXTURES)
def test_consumer_bundle_runs_as_under_runc(name, tmp_path, busybox_rootfs):
    cid = "dropin-" + name.split(".")[0] + "-%d" % os.getpid()
    runs = {}
    for runtime, label in ((OCI, "gantry"), ("runc", "runc")):
        root = str(tmp_path / ("state-" + label))
        sandbox_pid = None
        if name == "cri-container.json":
            sandbox_pid = sandbox_for(runtime, root, label, tmp_path, busybox_rootfs, cid + "-sb")
        try:
            bundle, cfg = bundle_from_fixture(name, tmp_path, busybox_rootfs, sandbox_pid=sandbox_pid,
                                              bundle_name="bundle-" + label)
            runs[label] = run_in(runtime, root, bundle, cid, bool(cfg["process"].get("terminal")))
        finally:
            if sandbox_pid is not None:
                subprocess.run([runtime, "--root", root, "delete", "--force", cid + "-sb"], capture_output=True)
    ours, theirs = runs["gantry"], runs["runc"]
    assert ours.returncode == 0, ours.stderr
    assert theirs.returncode == 0, theirs.stderr
    got, want = view(ours.stdout), view(theirs.stdout)
    assert got["end"] == "1", ours.stdout
    # One deliberate difference: runc (Go) leaves glibc's signals 32/33 as its caller left them, so a
    # container run from `make` starts with signal 32 ignored; gantry-oci resets every disposition.
    want["sigign"] = "%016x" % (int(want["sigign"], 16) & ~caller_ignored())
    assert {k: got.get(k) for k in COMPARED} == {k: want.get(k) for k in COMPARED}


def caller_ignored():
    """The SigIgn mask this test process hands to the runtimes it starts."""
    with open("/proc/self/status") as f:
        return int(next(line.split()[1] for line in f if line.startswith("SigIgn:")), 16)


def ignore_glibc_signals():
    """preexec: ignore signals 32 and 33 as GNU make does (glibc's sigaction refuses them)."""
    libc = ctypes.CDLL(None, use_errno=True)
    act = (ctypes.c_ulong * 4)(1, 0, 0, 0)          # kernel sigaction: handler SIG_IGN, no flags, empty mask
    for sig in (32, 33):
        if libc.syscall(13, sig, act, None, 8) != 0:    # rt_sigaction on x86-64
            raise OSError(ctypes.get_errno(), "rt_sigaction %d SIG_IGN" % sig)


def test_signals_ignored_by_the_caller_do_not_reach_the_container(tmp_path, busybox_rootfs):
    """`make` starts its children with signals 32 and 33 ignored; the container must not inherit that."""
    bundle, _ = bundle_from_fixture("runc.json", tmp_path, busybox_rootfs)
    run = subprocess.run([OCI, "--root", str(tmp_path / "state"), "run", "--bundle", bundle,
                          "sig-%d" % os.getpid()], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL, preexec_fn=ignore_glibc_signals)
    assert run.returncode == 0, run.stderr
    assert view(run.stdout)["sigign"] == "0" * 16, run.stdout


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
