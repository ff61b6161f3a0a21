"""The container init is in every cgroup of the container before its program runs, on each way of
getting there (process/init.py): placing itself (v1 "tasks" files + clone3 CLONE_INTO_CGROUP), placed
by the parent by pid (no pid namespace), and placed before it makes a cgroup namespace.  Checked from
inside: /proc/self/cgroup of the container's first process against the directories gantry-oci made,
and the bind-mounted cgroupfs view listing the process itself."""
import json
import os

import pytest

from tests.fixtures import bundle
from tests.integration.lowlevel.oci_harness import Runtime, make_bundle

pytestmark = pytest.mark.root

SCRIPT = "cat /proc/self/cgroup; echo pids-procs=$(cat /sys/fs/cgroup/pids/cgroup.procs 2>/dev/null | tr '\\n' ' ')"


@pytest.fixture
def oci(tmp_path):
    rt = Runtime(str(tmp_path / "state"))
    yield rt
    rt.cleanup()


def own_cgroups():
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            out[ctrls] = path
    return out


def inside(oci, tmp_path, rootfs, namespaces):
    path, cfg = make_bundle(tmp_path, rootfs, ["sh", "-c", SCRIPT])
    cfg["linux"]["namespaces"] = namespaces
    bundle.write_bundle(path, rootfs, cfg)
    cid = oci.new_id()
    out = oci("run", "--bundle", path, cid).stdout
    seen = {}
    procs = ""
    for line in out.splitlines():
        if line.startswith("pids-procs="):
            procs = line.partition("=")[2].split()
            continue
        _, ctrls, p = line.split(":", 2)
        seen[ctrls] = p
    return cid, seen, procs


@pytest.mark.parametrize("namespaces", [
    [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "network"}],   # places itself
    [{"type": "mount"}, {"type": "ipc"}, {"type": "uts"}],                                        # placed by pid
], ids=["pid-namespace", "no-pid-namespace"])
def test_init_is_in_every_container_cgroup(tmp_path, busybox_rootfs, oci, namespaces):
    cid, seen, procs = inside(oci, tmp_path, busybox_rootfs, namespaces)
    host = own_cgroups()
    assert set(seen) == set(host)
    for ctrls, path in seen.items():
        # default cgroupsPath: the container id below gantry-oci's own cgroup in each hierarchy
        assert path == os.path.join(host[ctrls], cid), (ctrls, path, host[ctrls])
    if os.path.isdir("/sys/fs/cgroup/pids"):
        assert procs, "the pids view lists the container's own processes"


def test_cgroup_namespace_shows_root(tmp_path, busybox_rootfs, oci):
    ns = [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "cgroup"}]
    cid, seen, _ = inside(oci, tmp_path, busybox_rootfs, ns)
    assert seen and all(p == "/" for p in seen.values()), json.dumps(seen)
