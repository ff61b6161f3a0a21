"""gantry-oci started from places a real host puts it: a nested cgroup (under containerd or systemd every
runtime runs below the root cgroup) and a chroot (build sandboxes, the fresh-machine CI).

Both checked from the inside, through `exec` as well as the init: an exec must land in the container's
root (not the mount namespace's root, which is the chroot's host after pivot_root) and see the container's
own cgroups at /sys/fs/cgroup.
"""
import os
import stat
import uuid

import pytest

from tests.fixtures import bundle
from tests.integration.lowlevel.oci_harness import OCI, Runtime, make_bundle

pytestmark = pytest.mark.root

v1_only = pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/pids"), reason="reads cgroup v1 files")

NEST_SCRIPT = """#!/bin/bash
set -e
for d in /sys/fs/cgroup/*/; do
    [ -e "$d/cgroup.procs" ] || continue
    mkdir -p "${{d}}{nest}"
    if [ -e "$d/cpuset.cpus" ]; then
        cat "$d/cpuset.cpus" > "${{d}}{nest}/cpuset.cpus"; cat "$d/cpuset.mems" > "${{d}}{nest}/cpuset.mems"
    fi
    echo $$ > "${{d}}{nest}/cgroup.procs"
done
exec {oci} "$@"
"""

CHROOT_SCRIPT = """#!/bin/bash
exec unshare -m --propagation private /bin/bash -c 'mount --rbind / "$0" && exec chroot "$0" {oci} "$@"' {root} "$@"
"""


def wrapper(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def remove_nest(nest):
    for ctrl in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", ctrl, nest)
        if os.path.isdir(top):
            for d, _dirs, _ in os.walk(top, topdown=False):
                os.rmdir(d)


@v1_only
def test_relative_cgroups_path_from_a_nested_cgroup(tmp_path, busybox_rootfs):
    nest = "gantry-nest-%s" % uuid.uuid4().hex[:8]
    rt = Runtime(str(tmp_path / "state"), binary=wrapper(tmp_path, "nested", NEST_SCRIPT.format(nest=nest, oci=OCI)))
    try:
        path, _ = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"], linux__cgroupsPath="rel/c1",
                              linux__resources={"memory": {"limit": 48 << 20}, "pids": {"limit": 17}})
        cid = rt.new_id()
        rt("run", "--detach", "--bundle", path, cid, detached=True)
        assert os.path.isdir("/sys/fs/cgroup/pids/%s/rel/c1" % nest)    # below the runtime's own cgroup
        out = rt("exec", cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max",
                 "/proc/self/cgroup").stdout.split()
        assert out[:2] == [str(48 << 20), "17"]
        assert any(line.endswith(":pids:/%s/rel/c1" % nest) for line in out)
        rt("delete", "--force", cid)
        assert not os.path.exists("/sys/fs/cgroup/pids/%s/rel/c1" % nest)
    finally:
        rt.cleanup()
        remove_nest(nest)


@v1_only
def test_exec_lands_in_the_container_root_when_created_from_a_chroot(tmp_path, busybox_rootfs):
    host_root = tmp_path / "hostroot"
    host_root.mkdir()
    rt = Runtime(str(tmp_path / "state"), binary=wrapper(tmp_path, "chrooted", CHROOT_SCRIPT.format(
        oci=OCI, root=host_root)))
    try:
        path, _ = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"],
                              linux__cgroupsPath="/gantry-chroot-%s" % uuid.uuid4().hex[:8],
                              linux__resources={"pids": {"limit": 23}})
        cid = rt.new_id()
        rt("run", "--detach", "--bundle", path, cid, detached=True)
        out = rt("exec", cid, "sh", "-c", "ls /; cat /sys/fs/cgroup/pids/pids.max; ps -o pid,comm; pwd").stdout
        lines = out.split()
        assert "linuxrc" in lines and "work" not in lines and "boot" not in lines   # busybox's root, not the host's
        assert "23" in lines                                # the container's own pids cgroup
        assert "sleep" in lines and lines[-1] == "/"        # its pid namespace's /proc, cwd inside
    finally:
        rt.cleanup()


def test_exec_lands_in_the_container_root_without_a_mount_namespace(tmp_path, busybox_rootfs):
    rt = Runtime(str(tmp_path / "state"))
    try:
        path, cfg = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"])
        cfg["linux"]["namespaces"] = [ns for ns in cfg["linux"]["namespaces"] if ns["type"] != "mount"]
        cfg["mounts"] = []                          # nothing may be mounted without a mount namespace
        for key in ("maskedPaths", "readonlyPaths"):
            del cfg["linux"][key]
        bundle.write_bundle(path, busybox_rootfs, cfg)
        cid = rt.new_id()
        rt("run", "--detach", "--bundle", path, cid, detached=True)
        lines = rt("exec", cid, "ls", "/").stdout.split()
        assert "linuxrc" in lines and "work" not in lines and "boot" not in lines
    finally:
        rt.cleanup()
