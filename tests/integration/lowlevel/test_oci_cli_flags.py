"""Command-line flags of issue 3 not driven by the other tests: exec --cap, --no-new-privs, --tty;
list --quiet; kill --all; update with the single-limit flags; events streaming with --interval,
including OOM kills as {"type": "oom"} lines. Checked from inside the container where it shows."""
import json
import os
import socket
import subprocess
import time

import pytest

from tests.fixtures import bundle
from tests.integration.lowlevel.oci_harness import Runtime, make_bundle

pytestmark = pytest.mark.root

v1_only = pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/memory"), reason="reads cgroup v1 files")
CAP_SYS_ADMIN = 21


@pytest.fixture
def oci(tmp_path):
    rt = Runtime(str(tmp_path / "state"))
    yield rt
    rt.cleanup()


def start(oci, tmp_path, args, **edits):
    path, cfg = make_bundle(tmp_path, oci.busybox, args, name="b-" + oci.new_id(), **edits)
    cid = oci.ids[-1]
    oci("run", "--detach", "--bundle", path, cid, detached=True)
    return cid


@pytest.fixture
def rt(oci, busybox_rootfs):
    oci.busybox = busybox_rootfs
    return oci


def status_fields(text):
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def test_exec_cap_and_no_new_privs(rt, tmp_path, busybox_rootfs):
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"])
    cfg["process"]["noNewPrivileges"] = False
    bundle.write_bundle(path, busybox_rootfs, cfg)
    cid = rt.new_id()
    rt("run", "--detach", "--bundle", path, cid, detached=True)
    grep = ["grep", "-E", "^(CapInh|CapEff|CapAmb|NoNewPrivs):", "/proc/self/status"]
    plain = status_fields(rt("exec", cid, *grep).stdout)
    assert not int(plain["CapEff"], 16) & (1 << CAP_SYS_ADMIN) and plain["NoNewPrivs"] == "0"
    more = status_fields(rt("exec", "--cap", "CAP_SYS_ADMIN", "--no-new-privs", cid, *grep).stdout)
    assert int(more["CapEff"], 16) & (1 << CAP_SYS_ADMIN) and more["NoNewPrivs"] == "1"
    assert int(more["CapEff"], 16) & ~(1 << CAP_SYS_ADMIN) == int(plain["CapEff"], 16)   # that one, nothing else
    # never inheritable or ambient (the CVE-2022-29162 class)
    assert int(more["CapInh"], 16) == 0 and int(more["CapAmb"], 16) == 0


def test_exec_preserve_fds(rt, tmp_path):
    cid = start(rt, tmp_path, ["sleep", "60"])
    r, w = os.pipe()
    os.write(w, b"exec-fd-3\n")
    os.close(w)
    try:   # a shell puts the pipe on fd 3, then becomes gantry-oci exec
        run = subprocess.run(["/bin/sh", "-c", 'exec 3<&0 0</dev/null; exec "$@"', "sh", rt.binary, "--root", rt.root,
                              "exec", "--preserve-fds", "1", cid, "sh", "-c", "cat <&3; ls /proc/self/fd | tr '\\n' ' '"],
                             capture_output=True, text=True, timeout=30, stdin=r)
    finally:
        os.close(r)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "exec-fd-3" and lines[1].split() == ["0", "1", "2", "3", "4"]   # 4: the directory ls reads


def test_exec_tty_in_the_foreground(rt, tmp_path):
    cid = start(rt, tmp_path, ["sleep", "60"])
    out = rt("exec", "--tty", cid, "tty").stdout
    assert out.strip().startswith("/dev/pts/"), out


def test_exec_tty_detached_with_console_socket(rt, tmp_path):
    cid = start(rt, tmp_path, ["sleep", "60"])
    sock_path = str(tmp_path / "exec-console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(1)
    pid_file = str(tmp_path / "exec.pid")
    rt("exec", "--tty", "--detach", "--console-socket", sock_path, "--pid-file", pid_file, cid,
       "sh", "-c", "tty; echo on-exec-tty; read line", detached=True)   # lives until the tty hangs up
    conn, _ = server.accept()
    _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
    conn.close()
    server.close()
    master, out = fds[0], b""
    deadline = time.monotonic() + 5
    try:
        while b"on-exec-tty" not in out and time.monotonic() < deadline:
            out += os.read(master, 1024)
        # still running while we hold the master (closing it hangs the exec's session up)
        assert int(open(pid_file).read()) in json.loads(rt("ps", "--format", "json", cid).stdout)
    finally:
        os.close(master)
    assert b"/dev/pts/" in out and b"on-exec-tty" in out, out


def test_list_quiet_and_kill_all(rt, tmp_path):
    cid = start(rt, tmp_path, ["sh", "-c", "sleep 60 & sleep 60 & wait"])
    assert rt("list", "--quiet").stdout.split() == [cid]
    pids = json.loads(rt("ps", "--format", "json", cid).stdout)
    assert len(pids) == 3
    rt("kill", "--all", cid, "KILL")
    deadline = time.monotonic() + 10
    while any(os.path.exists("/proc/%d" % p) and "Z" not in open("/proc/%d/stat" % p).read().split()[2]
              for p in pids if os.path.exists("/proc/%d/stat" % p)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert json.loads(rt("state", cid).stdout)["status"] == "stopped"


@v1_only
def test_update_single_limit_flags(rt, tmp_path):
    cid = start(rt, tmp_path, ["sleep", "60"], linux__resources={"memory": {"limit": 64 << 20}, "pids": {"limit": 10}})
    rt("update", "--memory", "96m", "--pids-limit", "31", "--cpu-shares", "700", cid)
    out = rt("exec", cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max",
             "/sys/fs/cgroup/cpu/cpu.shares").stdout.split()
    assert out == [str(96 << 20), "31", "700"]
    rt("update", "--resources", "-", cid, stdin=None, input=json.dumps({"pids": {"limit": 44}}))   # from stdin
    assert rt("exec", cid, "cat", "/sys/fs/cgroup/pids/pids.max").stdout.strip() == "44"


@v1_only
def test_events_stream_reports_stats_and_oom_kills(rt, tmp_path):
    cid = start(rt, tmp_path, ["sh", "-c", "sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 60"],
                linux__resources={"memory": {"limit": 16 << 20, "swap": 16 << 20}})
    out_path = tmp_path / "events.out"
    with open(str(out_path), "w") as out:
        stream = subprocess.Popen([rt.binary, "--root", rt.root, "events", "--interval", "300ms", cid],
                                  stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            lines = [json.loads(line) for line in out_path.read_text().splitlines() if line.strip()]
            if any(e["type"] == "oom" for e in lines) and sum(e["type"] == "stats" for e in lines) >= 2:
                break
            assert stream.poll() is None and time.monotonic() < deadline, out_path.read_text()
            time.sleep(0.1)
        assert {"type": "oom", "id": cid} in lines
        assert all(e["id"] == cid for e in lines)
        assert [e for e in lines if e["type"] == "stats"][0]["data"]["memory"]["usage"]["limit"] == 16 << 20
        rt("delete", "--force", cid)
        assert stream.wait(timeout=10) == 0                 # the stream ends with the container
    finally:
        if stream.poll() is None:
            stream.kill()
            stream.wait()


def test_debug_adds_the_traceback_to_an_error(rt):
    plain = rt("state", "nope", check=False)
    debug = rt("--debug", "state", "nope", check=False)
    assert plain.returncode == debug.returncode == 1
    assert "does not exist" in plain.stderr and "Traceback" not in plain.stderr
    assert "does not exist" in debug.stderr and "Traceback (most recent call last)" in debug.stderr
