"""gantry-oci exec: joins every namespace and the cgroup, never more privilege; the runc CVE classes."""
import json
import os
import time

import pytest

from tests.fixtures import bundle
from tests.integration.lowlevel.oci_harness import Runtime, make_bundle

pytestmark = pytest.mark.root


@pytest.fixture
def running(tmp_path, busybox_rootfs):
    rt = Runtime(str(tmp_path / "state"))
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["sleep", "300"], hostname="exec-host")
    cfg["process"]["env"].append("FROM_CONFIG=1")
    bundle.write_bundle(path, busybox_rootfs, cfg)
    cid = rt.new_id()
    rt("run", "--detach", "--bundle", path, cid, detached=True)
    pid = json.loads(rt("state", cid).stdout)["pid"]
    yield rt, cid, pid
    rt.cleanup()


def test_exec_joins_the_container(running):
    rt, cid, pid = running
    out = rt("exec", cid, "/bin/sh", "-c", "hostname; echo $$; for n in pid mnt net; do readlink /proc/self/ns/$n; done; "
             "echo $FROM_CONFIG; grep -c . /proc/self/cgroup").stdout.split()
    assert out[0] == "exec-host"
    assert int(out[1]) > 1                                  # a new pid inside the container's pid namespace
    for i, ns in enumerate(("pid", "mnt", "net")):
        assert out[2 + i] == os.readlink("/proc/%d/ns/%s" % (pid, ns))
    assert out[5] == "1"
    with open("/proc/%d/cgroup" % pid) as f:
        assert int(out[6]) == len(f.read().splitlines())


def test_exec_options_and_exit_status(running, tmp_path):
    rt, cid, _ = running
    run = rt("exec", "--user", "1000:1000", "--additional-gids", "7", "--cwd", "/tmp", "--env", "X=y", cid,
             "/bin/sh", "-c", "id -u; id -G; pwd; echo $X")
    out = run.stdout.split()
    assert out[0] == "1000" and set(out[1:3]) == {"1000", "7"} and out[3] == "/tmp" and out[4] == "y"
    # no signal ignored or blocked by the runtime survives into the process (busybox sh would add its own)
    assert rt("exec", cid, "grep", "-E", "SigIgn|SigBlk", "/proc/self/status").stdout.split() == [
        "SigBlk:", "0" * 16, "SigIgn:", "0" * 16]
    assert rt("exec", cid, "/bin/sh", "-c", "exit 9", check=False).returncode == 9
    run = rt("exec", cid, "nosuchcommand", check=False)
    assert run.returncode == 1 and 'exec: "nosuchcommand": executable file not found in $PATH' in run.stderr
    proc = {"args": ["/bin/sh", "-c", "echo from-process-json $PWD"], "cwd": "/etc", "env": ["PATH=/bin"],
            "user": {"uid": 0, "gid": 0}}
    (tmp_path / "p.json").write_text(json.dumps(proc))
    assert rt("exec", "--process", str(tmp_path / "p.json"), cid).stdout.split() == ["from-process-json", "/etc"]


def test_exec_detach_and_pid_file(running, tmp_path):
    rt, cid, init = running
    pid_file = str(tmp_path / "exec.pid")
    rt("exec", "--detach", "--pid-file", pid_file, cid, "sleep", "30", detached=True)
    pid = int(open(pid_file).read())
    assert open("/proc/%d/cmdline" % pid).read().startswith("sleep")
    assert pid in json.loads(rt("ps", "--format", "json", cid).stdout)
    # in every hierarchy the init is in (v1 by stage 1's own move, cgroup2 by birth), seen from the host
    with open("/proc/%d/cgroup" % init) as a, open("/proc/%d/cgroup" % pid) as b:
        assert b.read() == a.read()


def test_exec_into_stopped_container_fails(running):
    rt, cid, _ = running
    rt("kill", cid, "KILL")
    deadline = time.monotonic() + 5
    while json.loads(rt("state", cid).stdout)["status"] != "stopped":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    run = rt("exec", cid, "true", check=False)
    assert run.returncode == 1 and "container not running" in run.stderr


def test_exec_capabilities_never_exceed_the_container(running):
    rt, cid, pid = running
    with open("/proc/%d/status" % pid) as f:
        init_bnd = [line.split()[1] for line in f if line.startswith("CapBnd")][0]
    out = rt("exec", cid, "grep", "-E", "CapBnd|CapEff", "/proc/self/status").stdout.split()
    assert out[1] == init_bnd and int(out[3], 16) & ~int(init_bnd, 16) == 0


def test_no_host_fd_and_cwd_inside(running):
    rt, cid, _ = running
    with open("/etc/hostname") as leak:
        run = rt("exec", cid, "/bin/sh", "-c", "ls /proc/self/fd | tr '\\n' ' '; readlink /proc/self/cwd",
                 pass_fds=[leak.fileno()])
    assert run.stdout.split()[:4] == ["0", "1", "2", "3"] and len(run.stdout.split()) == 5
    assert run.stdout.split()[-1] == "/"


def test_host_interpreter_is_never_reachable(tmp_path, busybox_rootfs):
    """CVE-2019-5736 class: every gantry-oci process that enters a container (the host's python) is
    non-dumpable, so no container process can open its /proc/PID/exe.  A created container's init is
    exactly such a process, waiting on the exec fifo: an exec'd process tries to open it."""
    rt = Runtime(str(tmp_path / "state"))
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["sleep", "30"])
    cid = rt.new_id()
    try:
        rt("create", "--bundle", path, cid, detached=True)
        run = rt("exec", cid, "/bin/sh", "-c", "readlink /proc/1/exe || echo no-link; "
                 "head -c 1 /proc/1/exe > /dev/null 2>&1 && echo OPENED || echo DENIED")
        assert run.stdout.split() == ["no-link", "DENIED"], run.stdout
    finally:
        rt.cleanup()
