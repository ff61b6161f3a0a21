"""The shim contract: every runtime leg (runc, crun, gantry-oci) passes the same tests,
once with shims from `gantry-shim start` and once with shims forked by a template.

Real containers from the busybox rootfs; each test checks what the container
printed (the CRI log, attach streams) and what the shim reports.
"""
import json
import os
import signal
import socket
import subprocess
import time

import pytest
from gantry.api import framing, shim_pb2
from gantry.highlevel import errors
from gantry.shim import crilog

from tests.integration.shim.conftest import SHIM, open_fds, wait_for, warm_children, zombie_children

pytestmark = pytest.mark.root


def log_text(env, cid, stream=None):
    with open(env.log_path(cid), "rb") as f:
        return crilog.reassemble(f.read(), stream)


def test_lifecycle_exit_status_log_and_cleanup(contract_env):
    c, state = contract_env.start(["sh", "-c", "echo out-line; echo err-line >&2; printf tail; exit 3"], cid="life")
    assert c.connect().task_pid == 0
    pid = c.create()
    assert c.state().status == shim_pb2.CREATED and c.connect().task_pid == pid
    with pytest.raises(errors.AlreadyExists):
        c.create()
    assert c.start() == pid
    w = c.wait(timeout=20)
    assert w.exit_status == 3 and w.exited_at_ns > 0
    st = c.state()
    assert (st.status, st.exit_status, st.pid) == (shim_pb2.STOPPED, 3, pid)
    assert c.wait().exit_status == 3  # again, at once
    assert log_text(contract_env, "life", "stdout") == b"out-line\ntail"
    assert log_text(contract_env, "life", "stderr") == b"err-line\n"
    with open(os.path.join(state, "exit")) as f:
        assert json.load(f)["status"] == 3
    shim_pid = c.connect().shim_pid
    d = c.delete()
    assert (d.pid, d.exit_status) == (pid, 3)
    wait_for(lambda: not os.path.exists("/proc/%d" % shim_pid) or open("/proc/%d/stat" % shim_pid).read().split()[2] == "Z",
             what="the shim to exit after Delete")
    assert not os.path.exists(state)
    listed = subprocess.run([contract_env.runtime, "--root", contract_env.runtime_root, "list", "-q"],
                            capture_output=True, text=True).stdout.split()
    assert "life" not in listed


def test_second_start_answers_the_running_shim(contract_env):
    c, state = contract_env.start(["sleep", "100"], cid="twice")
    bundle_dir = os.path.join(contract_env.dir, "twice.b")
    assert contract_env.start_shim("twice", bundle_dir) == (c.address, state)  # the same way again
    argv, _ = contract_env.start_argv("twice", bundle_dir)  # and with the command line
    again = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert again.returncode == 0 and again.stdout.strip() == c.address
    assert c.connect().id == "twice"
    assert os.stat(c.address).st_mode & 0o777 == 0o600


def test_exec_output_exit_code_and_errors(contract_env):
    c, _ = contract_env.run(["sleep", "1000"])
    spec = {"args": ["sh", "-c", "echo exec-out; echo exec-err >&2; exit 7"], "cwd": "/", "env": ["PATH=/bin:/usr/bin"],
            "user": {"uid": 0, "gid": 0}}
    c.exec("e1", spec)
    with pytest.raises(errors.AlreadyExists):
        c.exec("e1", spec)
    with c.attach("e1") as stream:
        c.start("e1")
        got = list(stream)
    assert sorted(got) == [("stderr", b"exec-err\n"), ("stdout", b"exec-out\n")]
    assert c.wait("e1", timeout=20).exit_status == 7
    assert c.delete("e1").exit_status == 7
    with pytest.raises(errors.NotFound):
        c.state("e1")
    with pytest.raises(errors.InvalidArgument):
        c.exec("bad", b"not json")
    assert c.state().status == shim_pb2.RUNNING



def test_direct_attach_hands_an_exec_its_pipes(contract_env):
    """AttachRequest.direct: the client gets the exec's pipes and moves its bytes itself; the shim keeps
    no copy (stdin's EOF is the client's close) and still answers Wait and sends END at the exit."""
    c, _ = contract_env.run(["sleep", "1000"], cid="direct")
    shim_pid = c.connect().shim_pid
    spec = {"args": ["sh", "-c", "cat; echo err-line >&2; exit 5"], "cwd": "/", "env": ["PATH=/bin:/usr/bin"],
            "user": {"uid": 0, "gid": 0}}
    c.exec("d1", spec, stdin=True)
    stdio = c.attach_direct("d1", stdin=True)
    with pytest.raises(errors.FailedPrecondition):    # the pipes are gone: no second client of any kind
        c.attach("d1")
    with pytest.raises(errors.FailedPrecondition):
        c.attach_direct("d1", stdin=True)
    pid = c.start("d1")
    theirs = {os.readlink("/proc/%d/fd/%d" % (pid, n)) for n in (0, 1, 2)}
    assert not theirs & set(open_fds(shim_pid).values()), "the shim kept an end of the exec's pipes"
    for line in (b"one\n", b"two\n"):
        os.write(stdio.stdin, line)
        assert os.read(stdio.stdout, 100) == line
    os.close(stdio.stdin)
    stdio.stdin = None
    assert os.read(stdio.stdout, 100) == b"" and os.read(stdio.stderr, 100) == b"err-line\n"
    assert c.wait("d1", timeout=20).exit_status == 5
    assert stdio.conn.next_frame(20, "Attach").kind == framing.END
    stdio.close()
    c.delete("d1")
    c.exec("d2", dict(spec, args=["true"]))
    c.start("d2")
    with pytest.raises(errors.FailedPrecondition):    # only before the start
        c.attach_direct("d2")
    c.exec("t2", dict(spec, args=["true"]), terminal=True)
    with pytest.raises(errors.FailedPrecondition):    # a terminal's output goes through the shim
        c.attach_direct("t2")
    with pytest.raises(errors.FailedPrecondition):    # so does the init's (it has the log)
        c.attach_direct("")


def test_exec_with_a_terminal(contract_env):
    c, _ = contract_env.run(["sleep", "1000"])
    c.exec("t1", {"args": ["sh", "-c", "tty; stty size; echo done"], "cwd": "/", "env": ["PATH=/bin:/usr/bin"],
                  "user": {"uid": 0, "gid": 0}, "consoleSize": {"height": 30, "width": 100}}, terminal=True)
    with c.attach("t1") as stream:
        c.start("t1")
        out = b"".join(data for _, data in stream)
    assert b"/dev/pts/" in out and b"done" in out, out
    assert c.wait("t1", timeout=20).exit_status == 0


def test_init_with_terminal_and_stdin(contract_env):
    c, _ = contract_env.start(["sh", "-c", "read line; echo \"got:$line\"; stty size; tty"], terminal=True, stdin=True,
                              cid="tty")
    c.create()
    with c.attach(stdin=True) as stream:
        c.start()
        c.resize_pty(120, 40)  # before the input: the size is set when the shell reads its line
        stream.send(b"hello\n")
        out = b""
        while b"/dev/pts" not in out:
            item = stream.recv(timeout=20)
            assert item is not None, out
            out += item[1]
    assert b"got:hello" in out and b"40 120" in out, out
    assert c.wait(timeout=20).exit_status == 0
    assert b"got:hello" in log_text(contract_env, "tty")
    raw = open(contract_env.log_path("tty"), "rb").read()
    assert {crilog.parse_record(r)[1] for r in crilog.split_records(raw)} == {"stdout"}  # a tty has one stream


def test_close_io_ends_stdin(contract_env):
    c, _ = contract_env.start(["sh", "-c", "cat; echo eof"], stdin=True, cid="cio")
    c.create()
    with c.attach(stdin=True) as stream:
        c.start()
        stream.send(b"x\n")
        assert stream.recv(20) == ("stdout", b"x\n")
        c.close_io()  # the CloseIO call (not the attach stream's close flag)
        assert c.wait(timeout=20).exit_status == 0
    assert log_text(contract_env, "cio") == b"x\neof\n"


def test_shutdown_is_refused_while_the_container_lives(contract_env):
    c, state = contract_env.run(["sleep", "1000"], cid="sd")
    with pytest.raises(errors.FailedPrecondition):
        c.shutdown()
    assert c.state().status == shim_pb2.RUNNING
    idle, idle_state = contract_env.start(["true"], cid="sd-idle")  # a shim never asked to create
    shim_pid = idle.connect().shim_pid
    idle.shutdown()
    wait_for(lambda: not os.path.exists("/proc/%d" % shim_pid) or open("/proc/%d/stat" % shim_pid).read().split()[2] == "Z",
             what="the idle shim to exit")
    assert not os.path.exists(idle_state)


def test_attach_stdin_pipes_and_several_clients(contract_env):
    c, _ = contract_env.start(["sh", "-c", "while read line; do echo \"echo:$line\"; done; echo bye"], stdin=True, cid="cat")
    c.create()
    a1 = c.attach(stdin=True)
    a2 = c.attach(stdout=True, stderr=False)
    c.start()
    a1.send(b"one\n")
    assert a1.recv(20) == ("stdout", b"echo:one\n")
    assert a2.recv(20) == ("stdout", b"echo:one\n")
    a1.send(b"two\n", close_stdin=True)
    rest = b"".join(d for _, d in a2)
    assert rest == b"echo:two\nbye\n"
    a1.close()
    a2.close()
    assert c.wait(timeout=20).exit_status == 0
    with pytest.raises(errors.FailedPrecondition):
        c.attach()


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(next(line.split()[1] for line in f if line.startswith("VmRSS:")))


def test_stdin_nobody_reads_pushes_back_on_the_client(contract_env):
    """A process that never reads its stdin: the shim holds at most ~1 MiB of it, then stops reading
    the client's connection (its send blocks) instead of buffering without bound."""
    import threading
    c, _ = contract_env.start(["sleep", "1000"], stdin=True, cid="noread")
    c.create()
    shim_pid = c.connect().shim_pid
    stream = c.attach(stdin=True)
    c.start()
    before = _rss_kib(shim_pid)
    sent = []

    def flood():
        try:
            for _ in range(256):                       # 64 MiB if nothing pushed back
                stream.send(b"z" * 262144)
                sent.append(1)
        except errors.GantryError:
            pass
    t = threading.Thread(target=flood, daemon=True)
    t.start()
    t.join(3)
    assert t.is_alive(), "64 MiB went into the shim of a process that reads nothing"
    assert len(sent) < 64 and _rss_kib(shim_pid) - before < 8 * 1024
    c.kill(signal.SIGKILL)
    assert c.wait(timeout=20).exit_status == 137
    t.join(20)                                         # the shim reads again: the client is unblocked
    assert not t.is_alive()
    stream.close()


def test_kill_one_and_all(contract_env):
    c, _ = contract_env.run(["sh", "-c", "trap 'echo got-term; exit 42' TERM; echo trapped; while true; do sleep 0.05; done"],
                        cid="k")
    wait_for(lambda: b"trapped" in log_text(contract_env, "k"), what="the shell to install its trap")
    c.kill(signal.SIGTERM)
    assert c.wait(timeout=20).exit_status == 42
    c.kill(signal.SIGKILL)  # a stopped process: no error
    c2, _ = contract_env.run(["sleep", "1000"], cid="k2")
    c2.exec("bg", {"args": ["sleep", "1000"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}})
    c2.start("bg")
    c2.kill(signal.SIGKILL, all=True)
    assert c2.wait(timeout=20).exit_status == 137
    assert c2.wait("bg", timeout=20).exit_status == 137
    with pytest.raises(errors.InvalidArgument):
        c2.kill(signal.SIGKILL, exec_id="bg", all=True)


def test_pause_resume_stats_pids_update(contract_env):
    c, _ = contract_env.run(["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done"], cid="p")
    pid = c.state().pid
    assert [pid] == [p for p, _ in c.pids() if p == pid]
    c.pause()
    assert c.state().status == shim_pb2.PAUSED
    with pytest.raises(errors.FailedPrecondition):
        c.pause()
    size = os.path.getsize(contract_env.log_path("p"))
    time.sleep(0.3)
    assert os.path.getsize(contract_env.log_path("p")) == size  # frozen: no output
    c.resume()
    assert c.state().status == shim_pb2.RUNNING
    wait_for(lambda: os.path.getsize(contract_env.log_path("p")) > size, what="output after resume")
    s = c.stats()
    assert s.memory_usage_bytes > 0 and s.cpu_usage_ns > 0 and s.pids_current >= 1
    assert s.memory_hierarchy_pgfault > 0     # (user/system split: tick-sampled, 0 for a few ms of CPU)
    assert s.memory_max_usage_bytes >= s.memory_usage_bytes and s.cpu_shares > 0
    c.update({"memory": {"limit": 64 << 20}, "pids": {"limit": 50}, "cpu": {"quota": 50000, "period": 100000}})
    s = c.stats()
    assert s.memory_limit_bytes == 64 << 20 and s.pids_limit == 50
    assert (s.cpu_quota_us, s.cpu_period_us) == (50000, 100000)
    with pytest.raises(errors.InvalidArgument):
        c.update(b"[1,")
    with pytest.raises(errors.FailedPrecondition):
        c.delete()
    assert c.delete(force=True).exit_status == 137


def test_reopen_log_loses_and_duplicates_nothing(contract_env):
    n = 60000
    c, _ = contract_env.run(["sh", "-c", "i=0; while [ $i -lt %d ]; do echo line-$i; i=$((i+1)); done" % n], cid="rot")
    path = contract_env.log_path("rot")
    rotated = []
    while True:
        done = c.state().status == shim_pb2.STOPPED
        old = "%s.%d" % (path, len(rotated))
        os.rename(path, old)
        rotated.append(old)
        c.reopen_log()
        if done:
            break
        time.sleep(0.005)
    assert c.wait(timeout=60).exit_status == 0
    data = b"".join(open(p, "rb").read() for p in rotated + [path])
    assert crilog.reassemble(data) == b"".join(b"line-%d\n" % i for i in range(n))
    assert sum(1 for p in rotated if os.path.getsize(p)) >= 2  # the output did span a rotation


def test_long_and_binary_lines_reach_the_log_exactly(contract_env):
    script = "head -c 100000 /dev/zero | tr '\\0' 'x'; echo; printf 'a\\001\\377b\\n'; printf 'last'"
    c, _ = contract_env.run(["sh", "-c", script], cid="long")
    assert c.wait(timeout=20).exit_status == 0
    raw = open(contract_env.log_path("long"), "rb").read()
    assert crilog.reassemble(raw) == b"x" * 100000 + b"\na\x01\xffb\nlast"
    tags = [crilog.parse_record(r)[2] for r in crilog.split_records(raw)]
    assert tags == ["P"] * 6 + ["F", "F", "P"]  # 6 x 16 KiB + rest, the binary line, the unterminated tail


def test_a_prompt_without_newline_reaches_the_log_while_the_container_runs(contract_env):
    c, _ = contract_env.run(["sh", "-c", "printf 'Continue? [y/N] '; sleep 1000"], cid="prompt")
    raw = wait_for(lambda: open(contract_env.log_path("prompt"), "rb").read(), timeout=5, what="the prompt in the log")
    assert [crilog.parse_record(r)[1:] for r in crilog.split_records(raw)] == [("stdout", "P", b"Continue? [y/N] ")]
    assert c.state().status == shim_pb2.RUNNING


def test_oom_kill_is_reported(contract_env):
    cfg = contract_env.bundle(["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"], name="oom")[1]
    cfg["linux"]["resources"]["memory"] = {"limit": 24 << 20, "swap": 24 << 20}
    c, state = contract_env.start(cfg=cfg, cid="oom")
    c.create()
    c.start()
    w = c.wait(timeout=60)
    assert w.reason == "OOMKilled", (w, c.state())
    assert json.load(open(os.path.join(state, "exit")))["reason"] == "OOMKilled"


def test_oom_kill_of_a_child_is_seen_live_while_the_container_runs(contract_env):
    # the subshell that builds a 100 MB string in a 24 MiB cgroup is the victim; the init lives on.  The
    # subshell (and what it forks) asks to be chosen first: the kernel may kill twice before the first
    # victim's memory is freed, and the second choice must not be the init
    script = "(echo 1000 > /proc/self/oom_score_adj; x=$(head -c 100000000 /dev/zero | tr '\\0' a)); echo survived; sleep 1000"
    cfg = contract_env.bundle(["sh", "-c", script], name="oomlive")[1]
    cfg["linux"]["resources"]["memory"] = {"limit": 24 << 20, "swap": 24 << 20}
    c, state = contract_env.start(cfg=cfg, cid="oomlive")
    c.create()
    assert c.stats().oom_events == 0
    c.start()
    try:
        wait_for(lambda: b"survived" in log_text(contract_env, "oomlive"), timeout=30, what="the init to survive its child")
    except AssertionError as timeout:
        pids = c.pids()
        procs = {p: open("/proc/%d/stat" % p).read()[:80] for p, _ in pids if os.path.exists("/proc/%d" % p)}
        raise AssertionError((c.state(), c.stats(), log_text(contract_env, "oomlive"), procs,
                              subprocess.run(["dmesg"], capture_output=True, text=True).stdout[-3000:])) from timeout
    s = c.stats()
    if s.cgroup_version == "v1":  # live notifications; on cgroup v2 only the counter is read (shim/oom.py)
        s = wait_for(lambda: (lambda s: s.oom_events >= 1 and s)(c.stats()), timeout=10, what="the live OOM event")
        assert s.last_oom_at_ns > 0 and s.oom_kills >= 1
        assert "OOM event" in open(os.path.join(state, "shim.log")).read()
    assert c.state().status == shim_pb2.RUNNING
    c.kill(signal.SIGKILL)
    assert c.wait(timeout=20).reason == "OOMKilled"  # the container saw an OOM kill (containerd says the same)


def test_delete_command_after_the_shim_is_gone(contract_env):
    # the rootfs is a mount of its own (as gantryd's overlay would be): delete unmounts it
    rootfs = os.path.join(contract_env.dir, "gone.rootfs")
    os.makedirs(rootfs)
    subprocess.run(["mount", "--bind", contract_env.rootfs, rootfs], check=True)
    cfg = contract_env.bundle(["sh", "-c", "exit 5"], name="gone")[1]
    c, state = contract_env.start(cfg=cfg, cid="gone", rootfs=rootfs)
    c.create()
    c.start()
    wait_for(lambda: os.path.exists(os.path.join(state, "exit")), what="the exit file")
    os.kill(c.connect().shim_pid, signal.SIGKILL)
    wait_for(lambda: not os.path.exists("/proc/%s" % open(os.path.join(state, "shim.pid")).read().strip()),
             what="the shim to die")
    argv = contract_env.launcher + ["delete", "--id", "gone", "--bundle", os.path.join(contract_env.dir, "gone.b"),
                                "--state-dir", state, "--runtime", contract_env.runtime, "--runtime-root", contract_env.runtime_root]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["exit_status"] == 5
    assert not os.path.exists(state)
    if contract_env.runtime_name != "crun":  # crun's leg unmounts inside its private mount namespace
        assert not any(line.split()[4] == rootfs for line in open("/proc/self/mountinfo"))
    else:
        subprocess.run(["umount", rootfs], check=True)


def test_call_command_prints_json(contract_env):
    c, _ = contract_env.run(["sleep", "1000"], cid="cli")
    out = subprocess.run(contract_env.launcher[:0] + [SHIM, "call", c.address, "State", "{}"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "RUNNING"
    bad = subprocess.run([SHIM, "call", c.address, "State", '{"execId": "nope"}'], capture_output=True, text=True)
    assert bad.returncode == 1 and "NOT_FOUND" in bad.stderr


def test_exec_cycles_leak_no_fd_or_zombie(contract_env):
    c, _ = contract_env.run(["sleep", "1000"], cid="leak")
    shim_pid = c.connect().shim_pid

    def fds():
        """(non-socket fds, number of sockets): the listener is the one socket of an idle shim."""
        links = open_fds(shim_pid)
        return sorted(f for f, t in links.items() if not t.startswith("socket:")), \
            sum(t.startswith("socket:") for t in links.values())
    before = wait_for(lambda: fds()[1] == 1 and fds(), timeout=5, what="the shim to be idle")
    for i in range(6):
        eid = "x%d" % i
        c.exec(eid, {"args": ["sh", "-c", "echo $0", eid], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}},
               terminal=bool(i % 2), stdin=bool(i % 3 == 0))
        with c.attach(eid) as stream:
            c.start(eid)
            assert eid.encode() in b"".join(d for _, d in stream)
        assert c.wait(eid, timeout=20).exit_status == 0
        c.delete(eid)
    # the shim closes a connection when it sees the client's hang-up, a moment after; with
    # gantry-oci it keeps one more socket after an exec: its warm process's (shim/warmexec.py)
    wait_for(lambda: fds() == (before[0], before[1] + len(warm_children(shim_pid))), timeout=5,
             what="the shim's fds to be back to %s" % (before,))
    assert len(warm_children(shim_pid)) == (1 if contract_env.runtime_name == "gantry-oci" else 0)
    wait_for(lambda: not zombie_children(shim_pid), timeout=5, what="the shim to reap every child")


def test_orphans_are_reaped_and_do_not_hold_up_wait(contract_env):
    # without a pid namespace an orphan is reparented to the shim (a child subreaper), not to
    # the container's init; it also keeps the stdout pipe open after the init exited
    script = "(sleep 0.5; read -r a b c ppid rest < /proc/self/stat; echo orphan-done ppid=$ppid) & echo init-done"
    cfg = contract_env.bundle(["sh", "-c", script], name="orph")[1]
    cfg["linux"]["namespaces"] = [ns for ns in cfg["linux"]["namespaces"] if ns["type"] != "pid"]
    c, _ = contract_env.start(cfg=cfg, cid="orph")
    c.create()
    c.start()
    shim_pid = c.connect().shim_pid
    assert c.wait(timeout=20).exit_status == 0
    wait_for(lambda: b"orphan-done" in log_text(contract_env, "orph"), what="the orphan's output in the log")
    wait_for(lambda: not zombie_children(shim_pid), timeout=5, what="the shim to reap the orphan")
    assert b"init-done\n" in log_text(contract_env, "orph")
    assert b"ppid=%d\n" % shim_pid in log_text(contract_env, "orph")  # it was the shim's child


def test_force_delete_of_a_paused_container(contract_env):
    c, state = contract_env.run(["sleep", "1000"], cid="pz")
    c.pause()
    assert c.delete(force=True).exit_status == 137
    wait_for(lambda: not os.path.exists(state), what="the shim to clean up")


def test_output_never_waits_for_a_client_that_does_not_read(contract_env):
    n = 800000  # ~10 MiB of output: more than the socket and the shim's 8 MiB buffer for a client hold
    c, _ = contract_env.start(["sh", "-c", "i=0; while [ $i -lt %d ]; do echo line-$i; i=$((i+1)); done" % n], cid="slow")
    c.create()
    stalled = c.attach()  # attached, never read
    stalled.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.start()
    assert c.wait(timeout=120).exit_status == 0
    assert crilog.reassemble(open(contract_env.log_path("slow"), "rb").read()) == b"".join(b"line-%d\n" % i for i in range(n))
    with pytest.raises(errors.Unavailable):  # the shim dropped it rather than wait for it
        while stalled.recv(timeout=10) is not None:
            pass
    stalled.close()
