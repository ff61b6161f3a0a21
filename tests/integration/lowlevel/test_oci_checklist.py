"""Issue 3 items that had no live test of their own: exec under the container's seccomp filter,
namespaces joined by path, recursive read-only binds (rro) and a stopped container that cannot be
started again. Each checked from inside the container."""
import json
import os
import subprocess
import time

import pytest

from tests.fixtures import bundle
from tests.integration.lowlevel.oci_harness import Runtime, make_bundle

pytestmark = pytest.mark.root


@pytest.fixture
def oci(tmp_path):
    rt = Runtime(str(tmp_path / "state"))
    yield rt
    rt.cleanup()


def test_exec_gets_the_container_seccomp_filter(tmp_path, busybox_rootfs, oci):
    seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"], linux__seccomp=seccomp)
    cid = oci.new_id()
    oci("run", "--detach", "--bundle", path, cid, detached=True)
    run = oci("exec", cid, "sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; mkdir /tmp/d && echo made",
              check=False)
    assert "Seccomp:\t2" in run.stdout and "NoNewPrivs:\t1" in run.stdout
    assert "made" not in run.stdout and "Operation not permitted" in run.stderr
    # the same exec with --process (its own capabilities) is filtered too
    proc = {"args": ["mkdir", "/tmp/e"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": ["PATH=/bin"]}
    (tmp_path / "p.json").write_text(json.dumps(proc))
    run = oci("exec", "--process", str(tmp_path / "p.json"), cid, check=False)
    assert run.returncode != 0 and "Operation not permitted" in run.stderr


def test_namespaces_joined_by_path(tmp_path, busybox_rootfs, oci):
    first, _ = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"], name="first", hostname="shared-uts")
    a = oci.new_id()
    oci("run", "--detach", "--bundle", first, a, detached=True)
    pid = json.loads(oci("state", a).stdout)["pid"]
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "hostname; for n in net uts pid; do "
                                                       "readlink /proc/self/ns/$n; done"], name="second")
    del cfg["hostname"]
    cfg["linux"]["namespaces"] = [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"},
                                  {"type": "network", "path": "/proc/%d/ns/net" % pid},
                                  {"type": "uts", "path": "/proc/%d/ns/uts" % pid}]
    bundle.write_bundle(path, busybox_rootfs, cfg)
    out = oci("run", "--bundle", path, oci.new_id()).stdout.split()
    assert out[0] == "shared-uts"
    assert out[1:3] == [os.readlink("/proc/%d/ns/%s" % (pid, n)) for n in ("net", "uts")]
    assert out[3] != os.readlink("/proc/%d/ns/pid" % pid)           # the pid namespace is its own


def test_rro_makes_submounts_read_only(tmp_path, busybox_rootfs, oci):
    src = tmp_path / "data"
    (src / "sub").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(src / "sub")], check=True)
    try:
        mounts = bundle.default_config()["mounts"] + [
            {"destination": "/ro", "type": "bind", "source": str(src), "options": ["rbind", "ro"]},
            {"destination": "/rro", "type": "bind", "source": str(src), "options": ["rbind", "rro"]}]
        path, _ = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "for d in /ro /ro/sub /rro /rro/sub; do "
                                                         "touch $d/f 2>/dev/null && echo $d:rw || echo $d:ro; done"],
                              mounts=mounts)
        out = oci("run", "--bundle", path, oci.new_id()).stdout.split()
        # plain ro leaves the submount writable (the kernel's rule); rro reaches it too
        assert out == ["/ro:ro", "/ro/sub:rw", "/rro:ro", "/rro/sub:ro"]
    finally:
        subprocess.run(["umount", str(src / "sub")], check=False)


def test_stopped_container_cannot_be_started_again(tmp_path, busybox_rootfs, oci):
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["true"])
    cid = oci.new_id()
    oci("create", "--bundle", path, cid, detached=True)
    oci("start", cid)
    deadline = time.monotonic() + 5
    while json.loads(oci("state", cid).stdout)["status"] != "stopped":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    run = oci("start", cid, check=False)     # as runc: no restart, delete and create again
    assert run.returncode == 1 and "cannot start a container that has stopped" in run.stderr
    oci("delete", cid)


@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/pids"), reason="reads cgroup v1 files")
def test_cgroup_namespace_shows_the_container_cgroup_as_root(tmp_path, busybox_rootfs, oci):
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"],
                            linux__resources={"pids": {"limit": 29}})
    cfg["linux"]["namespaces"].append({"type": "cgroup"})
    bundle.write_bundle(path, busybox_rootfs, cfg)
    cid = oci.new_id()
    oci("run", "--detach", "--bundle", path, cid, detached=True)
    pid = json.loads(oci("state", cid).stdout)["pid"]
    assert os.readlink("/proc/%d/ns/cgroup" % pid) != os.readlink("/proc/self/ns/cgroup")
    out = oci("exec", cid, "sh", "-c", "cat /proc/self/cgroup /sys/fs/cgroup/pids/pids.max").stdout.split()
    assert out[-1] == "29"
    assert all(line.endswith(":/") for line in out[:-1]), out       # every hierarchy: its own cgroup is "/"


def test_hooks_run_in_the_namespaces_the_spec_names(tmp_path, busybox_rootfs, oci):
    """createRuntime, prestart, poststart, poststop: the runtime's namespaces; createContainer: the
    container's (mount, uts, ...) before pivot_root; startContainer: inside the container, after `start`."""
    record = tmp_path / "ns.log"

    def hook(name):
        return {"path": "/bin/sh", "args": ["sh", "-c", "echo %s $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/uts) >> %s"
                                            % (name, record)]}
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"], hostname="hooked")
    kinds = ["createRuntime", "prestart", "createContainer", "poststart"]
    cfg["hooks"] = {k: [hook(k)] for k in kinds}
    cfg["hooks"]["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", "hostname > /tmp/start-hook"]}]
    bundle.write_bundle(path, busybox_rootfs, cfg)
    cid = oci.new_id()
    oci("create", "--bundle", path, cid, detached=True)
    oci("start", cid)
    pid = json.loads(oci("state", cid).stdout)["pid"]
    seen = {line.split()[0]: line.split()[1:] for line in record.read_text().splitlines()}
    host = [os.readlink("/proc/self/ns/mnt"), os.readlink("/proc/self/ns/uts")]
    inside = [os.readlink("/proc/%d/ns/mnt" % pid), os.readlink("/proc/%d/ns/uts" % pid)]
    assert seen["createRuntime"] == host and seen["prestart"] == host and seen["poststart"] == host
    assert seen["createContainer"] == inside
    assert oci("exec", cid, "cat", "/tmp/start-hook").stdout.strip() == "hooked"
