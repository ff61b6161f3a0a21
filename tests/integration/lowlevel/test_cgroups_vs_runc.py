"""Side by side with runc: the same bundle created by runc and by gantry-oci
must leave the same values in the kernel's cgroup files (v1 here)."""
import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from tests.fixtures import bundle

pytestmark = pytest.mark.root

OCI = os.path.join(os.path.dirname(sys.executable), "gantry-oci")
RUNC = shutil.which("runc")
PARENT = "gantry-vs-runc-%d" % os.getpid()

FILES = {
    "memory": ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
               "memory.swappiness", "memory.oom_control"],
    "cpu": ["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"],
    "cpuset": ["cpuset.cpus", "cpuset.mems"],
    "pids": ["pids.max"],
    "devices": ["devices.list"],
}

CASES = {
    "limits": {"memory": {"limit": 48 << 20, "swap": 96 << 20, "reservation": 16 << 20, "swappiness": 20,
                          "disableOOMKiller": True},
               "cpu": {"shares": 700, "quota": 30000, "period": 50000, "cpus": "0", "mems": "0"},
               "pids": {"limit": 77},
               "devices": [{"allow": False, "access": "rwm"},
                           {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}]},
    "unlimited": {"memory": {"limit": -1, "swap": -1}, "pids": {"limit": -1}, "cpu": {"quota": -1},
                  "devices": [{"allow": True, "access": "rwm"}]},
    "devices_order": {"devices": [{"allow": True, "access": "rwm"},
                                  {"allow": False, "type": "b", "access": "rwm"},
                                  {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "w"}]},
}


def snapshot(cid):
    out = {}
    for controller, names in FILES.items():
        d = os.path.join("/sys/fs/cgroup", controller, PARENT, cid)
        for name in names:
            with open(os.path.join(d, name)) as f:
                text = f.read()
            if name == "devices.list":
                out[name] = sorted(text.split("\n"))
            elif name == "memory.oom_control":
                out[name] = [line for line in text.splitlines() if line.startswith("oom_kill_disable")]
            else:
                out[name] = text.strip()
    return out


UPDATES = {
    "raise_to_unlimited": {"memory": {"limit": -1}, "pids": {"limit": 5}, "cpu": {"shares": 900, "quota": 80000}},
    "shrink": {"memory": {"limit": 24 << 20, "swap": 32 << 20}, "cpu": {"quota": 10000, "period": 20000}},
}


def created_with(runtime, tmp_path, rootfs, resources, update=None):
    cid = "c" + uuid.uuid4().hex[:8]
    cfg = bundle.default_config(["sleep", "30"])
    cfg["linux"]["resources"] = resources
    cfg["linux"]["cgroupsPath"] = "/%s/%s" % (PARENT, cid)
    path = bundle.write_bundle(str(tmp_path / cid), rootfs, cfg)
    root = str(tmp_path / ("root-" + os.path.basename(runtime)))
    # the created init keeps the stdio it was given: a file, never a pipe we would wait on
    with open(str(tmp_path / (cid + ".log")), "w+") as log:
        run = subprocess.run([runtime, "--root", root, "create", "--bundle", path, cid], stdout=log, stderr=log,
                             timeout=60, stdin=subprocess.DEVNULL)
        log.seek(0)
        assert run.returncode == 0, (runtime, log.read())
    try:
        if update is not None:
            res = tmp_path / (cid + "-update.json")
            res.write_text(json.dumps(update))
            run = subprocess.run([runtime, "--root", root, "update", "--resources", str(res), cid],
                                 capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
            assert run.returncode == 0, (runtime, run.stderr)
        return snapshot(cid)
    finally:
        subprocess.run([runtime, "--root", root, "delete", "--force", cid], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)


@pytest.fixture
def cleanup():
    yield
    for mnt in os.listdir("/sys/fs/cgroup"):
        parent = os.path.join("/sys/fs/cgroup", mnt, PARENT)
        if os.path.isdir(parent):
            for d, _dirs, _ in os.walk(parent, topdown=False):
                os.rmdir(d)


@pytest.mark.skipif(RUNC is None, reason="runc is not installed")
@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/memory"), reason="needs the v1 memory hierarchy")
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_cgroup_files_as_runc(case, tmp_path, busybox_rootfs, cleanup):
    ours = created_with(OCI, tmp_path, busybox_rootfs, CASES[case])
    theirs = created_with(RUNC, tmp_path, busybox_rootfs, CASES[case])
    assert ours == theirs


@pytest.mark.skipif(RUNC is None, reason="runc is not installed")
@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/memory"), reason="needs the v1 memory hierarchy")
@pytest.mark.parametrize("update", sorted(UPDATES))
def test_same_cgroup_files_as_runc_after_update(update, tmp_path, busybox_rootfs, cleanup):
    ours = created_with(OCI, tmp_path, busybox_rootfs, CASES["limits"], UPDATES[update])
    theirs = created_with(RUNC, tmp_path, busybox_rootfs, CASES["limits"], UPDATES[update])
    assert ours == theirs


def _missing_keys(theirs, ours, where="data"):
    """Paths of keys runc prints that we do not (runc leaves zero values out; we may print more)."""
    if not isinstance(theirs, dict):
        return [] if type(theirs) is type(ours) or theirs is None else ["%s: %s vs %s" % (
            where, type(theirs).__name__, type(ours).__name__)]
    if not isinstance(ours, dict):
        return ["%s: not an object" % where]
    missing = []
    for key, value in theirs.items():
        if key not in ours:
            missing.append("%s.%s" % (where, key))
        elif key != "raw":
            missing += _missing_keys(value, ours[key], "%s.%s" % (where, key))
    return missing


def stats_with(runtime, tmp_path, rootfs):
    cid = "s" + uuid.uuid4().hex[:8]
    cfg = bundle.default_config(["sleep", "30"])
    cfg["linux"]["resources"] = CASES["limits"]
    cfg["linux"]["cgroupsPath"] = "/%s/%s" % (PARENT, cid)
    path = bundle.write_bundle(str(tmp_path / cid), rootfs, cfg)
    root = str(tmp_path / ("root-" + os.path.basename(runtime)))
    with open(str(tmp_path / (cid + ".log")), "w") as log:
        subprocess.run([runtime, "--root", root, "run", "--detach", "--bundle", path, cid], stdout=log,
                       stderr=log, timeout=60, stdin=subprocess.DEVNULL, check=True)
    try:
        run = subprocess.run([runtime, "--root", root, "events", "--stats", cid], capture_output=True, text=True,
                             timeout=60)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)
    finally:
        subprocess.run([runtime, "--root", root, "delete", "--force", cid], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)


@pytest.mark.skipif(RUNC is None, reason="runc is not installed")
def test_events_stats_has_every_field_runc_prints(tmp_path, busybox_rootfs, cleanup):
    ours = stats_with(OCI, tmp_path, busybox_rootfs)
    theirs = stats_with(RUNC, tmp_path, busybox_rootfs)
    assert ours["type"] == theirs["type"] == "stats"
    assert _missing_keys(theirs["data"], ours["data"]) == []
    assert ours["data"]["memory"]["usage"]["limit"] == theirs["data"]["memory"]["usage"]["limit"] == 48 << 20
    assert ours["data"]["pids"] == theirs["data"]["pids"]
