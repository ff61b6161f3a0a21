"""gantry-oci containers checked from the inside: the cgroup limits the
container sees, `update` on a live container, `events --stats`, pause and
resume, the device cgroup, the seccomp filter, and the capability sets.
Every container's cgroup must be gone after delete."""
import json
import os
import subprocess
import sys
import uuid

import pytest
from gantry.lowlevel import capabilities

from tests.fixtures import bundle

pytestmark = pytest.mark.root

OCI = os.path.join(os.path.dirname(sys.executable), "gantry-oci")
# the probes read v1 files (memory.limit_in_bytes, freezer.state); this machine and CI are hybrid
v1_only = pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/memory"), reason="probes read cgroup v1 files")
PARENT = "gantry-probe-%d" % os.getpid()


@pytest.fixture
def oci(tmp_path):
    root = str(tmp_path / "state")
    started = []

    def call(*args, check=True, timeout=60):
        if "--detach" in args:   # the container keeps our stdio: no pipes, or reading them never ends
            with open(str(tmp_path / "detached.log"), "w+") as log:
                run = subprocess.run([OCI, "--root", root] + list(args), stdout=log, stderr=log, text=True,
                                     timeout=timeout, stdin=subprocess.DEVNULL)
                log.seek(0)
                run.stdout = run.stderr = log.read()
        else:
            run = subprocess.run([OCI, "--root", root] + list(args), capture_output=True, text=True,
                                 timeout=timeout, stdin=subprocess.DEVNULL)
        if check:
            assert run.returncode == 0, (args, run.stdout, run.stderr)
        return run
    call.started = started
    yield call
    for cid in started:
        call("delete", "--force", cid, check=False)
    for mnt in os.listdir("/sys/fs/cgroup"):
        parent = os.path.join("/sys/fs/cgroup", mnt, PARENT)
        if os.path.isdir(parent):
            for d, _dirs, _ in os.walk(parent, topdown=False):
                os.rmdir(d)


def make_bundle(tmp_path, rootfs, script, **linux):
    cid = "p" + uuid.uuid4().hex[:8]
    cfg = bundle.default_config(["/bin/sh", "-c", script])
    cfg["linux"]["cgroupsPath"] = "/%s/%s" % (PARENT, cid)
    cfg["linux"].update(linux)
    path = str(tmp_path / cid)
    bundle.write_bundle(path, rootfs, cfg)
    return cid, path, cfg


def cgroup_dirs(cid):
    return [os.path.join("/sys/fs/cgroup", m, PARENT, cid) for m in os.listdir("/sys/fs/cgroup")]


@v1_only
def test_limits_seen_from_inside(tmp_path, busybox_rootfs, oci):
    resources = {"devices": [{"allow": False, "access": "rwm"}], "memory": {"limit": 48 << 20, "swap": 64 << 20},
                 "pids": {"limit": 33}, "cpu": {"shares": 300, "quota": 25000, "period": 100000, "cpus": "0"}}
    script = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes "
              "/sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
              "/sys/fs/cgroup/cpuset/cpuset.cpus; "
              "mknod /dev/kmsg2 c 1 11 && (head -c 1 /dev/kmsg2 >/dev/null 2>&1 && echo kmsg-open || echo kmsg-denied); "
              "echo ok > /dev/null && echo null-ok")
    cid, path, _ = make_bundle(tmp_path, busybox_rootfs, script, resources=resources)
    run = oci("run", "--bundle", path, cid)
    assert run.stdout.split() == [str(48 << 20), str(64 << 20), "33", "300", "25000", "0", "kmsg-denied", "null-ok"]
    assert not any(os.path.exists(d) for d in cgroup_dirs(cid))


@v1_only
def test_update_events_pause_resume_delete(tmp_path, busybox_rootfs, oci):
    cid, path, _ = make_bundle(tmp_path, busybox_rootfs, "sleep 60",
                               resources={"memory": {"limit": 64 << 20}, "pids": {"limit": 20}})
    oci("run", "--detach", "--bundle", path, cid)
    oci.started.append(cid)
    stats = json.loads(oci("events", "--stats", cid).stdout)
    assert stats["type"] == "stats" and stats["id"] == cid
    assert stats["data"]["memory"]["usage"]["limit"] == 64 << 20
    assert stats["data"]["pids"] == {"current": 1, "limit": 20}

    resources = tmp_path / "res.json"
    resources.write_text(json.dumps({"memory": {"limit": 128 << 20}, "pids": {"limit": 40}}))
    oci("update", "--resources", str(resources), cid)
    exec_read = oci("exec", cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max")
    assert exec_read.stdout.split() == [str(128 << 20), "40"]
    stats = json.loads(oci("events", "--stats", cid).stdout)["data"]
    assert stats["memory"]["usage"]["limit"] == 128 << 20 and stats["pids"]["limit"] == 40

    oci("pause", cid)
    assert json.loads(oci("state", cid).stdout)["status"] == "paused"
    with open(os.path.join("/sys/fs/cgroup/freezer", PARENT, cid, "freezer.state")) as f:
        assert f.read().strip() == "FROZEN"
    oci("resume", cid)
    assert json.loads(oci("state", cid).stdout)["status"] == "running"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"memory": {"swappiness": 200}}))
    run = oci("update", "--resources", str(bad), cid, check=False)
    assert run.returncode == 1 and "swappiness" in run.stderr

    oci("kill", cid, "KILL")
    oci("delete", "--force", cid)
    oci.started.remove(cid)
    assert not any(os.path.exists(d) for d in cgroup_dirs(cid))


def test_seccomp_filter_inside(tmp_path, busybox_rootfs, oci):
    seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
               "syscalls": [{"names": ["chmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO",
                             "errnoRet": 30},
                            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
    script = "grep Seccomp: /proc/self/status; chmod 700 /tmp 2>&1; mkdir /tmp/d 2>&1; touch /tmp/f && echo touched"
    cid, path, _ = make_bundle(tmp_path, busybox_rootfs, script, seccomp=seccomp)
    out = oci("run", "--bundle", path, cid).stdout
    assert "Seccomp:\t2" in out
    assert "Read-only file system" in out          # errnoRet 30 = EROFS
    assert "Operation not permitted" in out        # ERRNO without errnoRet = EPERM
    assert "touched" in out


def test_seccomp_without_no_new_privs(tmp_path, busybox_rootfs, oci):
    # loaded before the capabilities are dropped (needs CAP_SYS_ADMIN then)
    cid, path, cfg = make_bundle(tmp_path, busybox_rootfs, "grep -E 'Seccomp:|NoNewPrivs:' /proc/self/status",
                                 seccomp={"defaultAction": "SCMP_ACT_ALLOW",
                                          "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]})
    cfg["process"]["noNewPrivileges"] = False
    bundle.write_bundle(path, busybox_rootfs, cfg)
    out = oci("run", "--bundle", path, cid).stdout
    assert "Seccomp:\t2" in out and "NoNewPrivs:\t0" in out


def test_capability_sets_inside(tmp_path, busybox_rootfs, oci):
    cid, path, cfg = make_bundle(tmp_path, busybox_rootfs, "grep ^Cap /proc/self/status")
    wanted = ["CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL", "CAP_BPF"]
    cfg["process"]["capabilities"] = {"bounding": wanted, "effective": wanted, "permitted": wanted,
                                      "inheritable": ["CAP_NET_RAW"], "ambient": ["CAP_NET_RAW"]}
    bundle.write_bundle(path, busybox_rootfs, cfg)
    out = oci("run", "--bundle", path, cid).stdout
    status = {k: int(v, 16) for k, v in (line.split(":\t") for line in out.split("\n") if line)}
    assert status["CapBnd"] == capabilities.mask(wanted)
    assert status["CapEff"] == capabilities.mask(wanted)
    assert status["CapAmb"] == capabilities.mask(["CAP_NET_RAW"])


def test_unknown_capability_is_refused(tmp_path, busybox_rootfs, oci):
    cid, path, cfg = make_bundle(tmp_path, busybox_rootfs, "true")
    cfg["process"]["capabilities"]["bounding"].append("CAP_NOT_A_THING")
    bundle.write_bundle(path, busybox_rootfs, cfg)
    run = oci("run", "--bundle", path, cid, check=False)
    assert run.returncode == 1 and "CAP_NOT_A_THING" in run.stderr


def test_oom_kill_inside(tmp_path, busybox_rootfs, oci):
    cid, path, _ = make_bundle(tmp_path, busybox_rootfs, "dd if=/dev/zero of=/dev/null bs=64M count=1; echo survived",
                               resources={"memory": {"limit": 16 << 20, "swap": 16 << 20},
                                          "devices": [{"allow": False, "access": "rwm"}]})
    run = oci("run", "--bundle", path, cid, check=False)
    # the shell survives and reports its child killed by SIGKILL (the OOM killer)
    assert run.returncode == 0 and "survived" in run.stdout, (run.stdout, run.stderr)
    assert "Killed" in run.stderr, run.stderr
