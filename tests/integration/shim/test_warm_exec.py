"""Execs through the shim on three legs: gantry-oci with its warm process (shim/warmexec.py),
gantry-oci the plain way (GANTRY_NO_WARM_EXEC=1) and runc.  Every leg passes the same tests;
on the warm leg they also check that the warm process was the runtime of the execs after the
first, and that it goes away with the container, after a kill, and survives its starter.

Shims come from a template, as gantryd starts them.
"""
import os
import shutil
import signal

import pytest
from gantry.highlevel import errors, shimclient
from gantry.highlevel.runtime.execsync import start_failure_code

from tests.integration.shim.conftest import ShimEnv, open_fds, wait_for, warm_children, zombie_children

pytestmark = pytest.mark.root

LEGS = {"gantry-oci-warm": ("gantry-oci", {"GANTRY_NO_WARM_EXEC": ""}),
        "gantry-oci-plain": ("gantry-oci", {"GANTRY_NO_WARM_EXEC": "1"}),
        "runc": ("runc", {})}
SPEC = {"cwd": "/", "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0}}


@pytest.fixture(params=list(LEGS))
def leg(request, busybox_rootfs):
    runtime, env_vars = LEGS[request.param]
    if runtime == "gantry-oci":
        problem = request.getfixturevalue("gantry_oci_problem")
        if problem:
            pytest.fail("gantry-oci is broken: %s" % problem)
    elif not shutil.which(runtime):
        pytest.skip("%s is not installed (make install)" % runtime)
    env = ShimEnv(runtime, busybox_rootfs, "template", shim_env=env_vars)
    env.warm = request.param == "gantry-oci-warm"
    yield env
    env.cleanup()


def run_exec(c, eid, args, terminal=False, stdin=None):
    """(output bytes, exit status) of one exec; stdin: bytes to send, then close."""
    c.exec(eid, dict(SPEC, args=args), terminal=terminal, stdin=stdin is not None)
    with c.attach(eid, stdin=stdin is not None) as stream:
        c.start(eid)
        if stdin is not None:
            stream.send(stdin, close_stdin=True)
        out = b"".join(data for _, data in stream)
    status = c.wait(eid, timeout=20).exit_status
    c.delete(eid)
    return out, status


def settled_warm(env, shim_pid):
    """The one warm process the shim keeps (warm leg), or None (the others have none)."""
    if not env.warm:
        assert warm_children(shim_pid) == []
        return None
    return wait_for(lambda: (lambda w: len(w) == 1 and w[0])(warm_children(shim_pid)), timeout=10,
                    what="the shim's warm process")


def test_exec_output_and_exit_codes(leg):
    c, _ = leg.run(["sleep", "1000"])
    shim_pid = c.connect().shim_pid
    assert warm_children(shim_pid) == []   # none before the first exec
    used = []
    for i in range(4):
        warm = settled_warm(leg, shim_pid) if i else None
        out, status = run_exec(c, "e%d" % i, ["sh", "-c", "echo out-$0; echo err-$0 >&2; exit $0", str(i + 3)])
        assert (sorted(out.split()), status) == ([b"err-%d" % (i + 3), b"out-%d" % (i + 3)], i + 3)
        if warm:
            used.append(warm)
    if leg.warm:   # each exec after the first ran in the warm process of its time
        assert len(set(used)) == 3 and not set(used) & set(warm_children(shim_pid))
    settled_warm(leg, shim_pid)
    assert not zombie_children(shim_pid) or wait_for(lambda: not zombie_children(shim_pid), what="no zombie")


def test_exec_with_a_terminal(leg):
    c, _ = leg.run(["sleep", "1000"])
    shim_pid = c.connect().shim_pid
    for i in range(3):
        if i:
            settled_warm(leg, shim_pid)
        c.exec("t%d" % i, dict(SPEC, args=["sh", "-c", "tty; stty size"], consoleSize={"height": 30, "width": 90}),
               terminal=True)
        with c.attach("t%d" % i) as stream:
            c.start("t%d" % i)
            out = b"".join(d for _, d in stream)
        assert b"/dev/pts/" in out and b"30 90" in out, out
        assert c.wait("t%d" % i, timeout=20).exit_status == 0
        c.delete("t%d" % i)


@pytest.mark.parametrize("args, code", [(["/no/such/binary"], 127), (["/etc/passwd"], 126)])
def test_a_process_that_cannot_start_is_127_or_126(leg, args, code):
    c, _ = leg.run(["sleep", "1000"])
    shim_pid = c.connect().shim_pid
    assert run_exec(c, "ok", ["true"]) == (b"", 0)
    for i in range(2):   # the second after the first failure: a new warm process
        settled_warm(leg, shim_pid)
        eid = "bad%d" % i
        c.exec(eid, dict(SPEC, args=args))
        with pytest.raises(errors.GantryError) as e:
            c.start(eid)
        assert start_failure_code(str(e.value)) == code, str(e.value)
        c.delete(eid, force=True)
    assert run_exec(c, "after", ["sh", "-c", "echo fine"]) == (b"fine\n", 0)


def test_stdin_close_ends_the_process(leg):
    c, _ = leg.run(["sleep", "1000"])
    shim_pid = c.connect().shim_pid
    for i in range(3):
        if i:
            settled_warm(leg, shim_pid)
        out, status = run_exec(c, "in%d" % i, ["sh", "-c", "cat; echo eof"], stdin=b"line %d\n" % i)
        assert (out, status) == (b"line %d\neof\n" % i, 0)


def test_warm_process_killed_between_execs(leg):
    """Killed and reaped by the shim while idle, or killed a moment before the exec (not yet
    reaped): either way the exec runs (the plain way) and a new warm process follows."""
    c, _ = leg.run(["sleep", "1000"])
    shim_pid = c.connect().shim_pid
    assert run_exec(c, "first", ["true"]) == (b"", 0)
    for i, pause in enumerate((0.3, 0.0, 0.3)):
        warm = settled_warm(leg, shim_pid)
        if warm:
            os.kill(warm, signal.SIGKILL)
            if pause:
                wait_for(lambda w=warm: not os.path.exists("/proc/%d" % w), what="the shim to reap it")
        out, status = run_exec(c, "k%d" % i, ["sh", "-c", "echo after-kill-$0", str(i)])
        assert (out, status) == (b"after-kill-%d\n" % i, 0)
    settled_warm(leg, shim_pid)
    wait_for(lambda: not zombie_children(shim_pid), what="the shim to reap every child")


def test_container_deleted_while_a_warm_process_waits(leg):
    c, state = leg.run(["sleep", "1000"])
    shim_pid = c.connect().shim_pid
    assert run_exec(c, "e", ["true"]) == (b"", 0)
    warm = settled_warm(leg, shim_pid)
    c.kill(signal.SIGKILL)
    c.wait(timeout=20)
    c.delete()
    wait_for(lambda: not os.path.exists("/proc/%d" % shim_pid) or
             open("/proc/%d/stat" % shim_pid).read().rsplit(")", 1)[1].split()[0] == "Z", what="the shim to exit")
    if warm:
        assert not os.path.exists("/proc/%d" % warm), "the warm process outlived its container"
    assert not os.path.exists(state)


def test_delete_of_the_last_exec_leaves_no_fd_but_the_warm_socket(leg):
    c, _ = leg.run(["sleep", "1000"])
    shim_pid = c.connect().shim_pid

    def files():
        return sorted(f for f, t in open_fds(shim_pid).items() if not t.startswith("socket:"))

    def sockets():
        return sum(t.startswith("socket:") for t in open_fds(shim_pid).values())
    before = wait_for(lambda: sockets() == 1 and files(), timeout=5, what="the shim to be idle")
    for i in range(4):
        run_exec(c, "f%d" % i, ["true"], terminal=bool(i % 2), stdin=b"" if i == 2 else None)
    warm = settled_warm(leg, shim_pid)
    expected = 1 + (1 if warm else 0)   # the listener, and the warm process's socketpair end
    wait_for(lambda: sockets() == expected, timeout=5, what="%d sockets in the shim" % expected)
    wait_for(lambda: files() == before, timeout=5, what="the shim's fds to be back to %s" % (before,))


def test_a_new_client_after_the_starter_is_gone(leg):
    """As after a gantryd restart: the template that forked the shim is killed, a new client
    connects; the shim, its container and its warm process go on."""
    c, _ = leg.run(["sleep", "1000"])
    shim_pid = c.connect().shim_pid
    assert run_exec(c, "before", ["true"]) == (b"", 0)
    warm = settled_warm(leg, shim_pid)
    leg.template.kill()
    leg.template.wait()
    leg.template = None
    again = shimclient.ShimClient(c.address, timeout=30)
    assert again.connect().shim_pid == shim_pid
    out, status = run_exec(again, "after", ["sh", "-c", "echo still-here"])
    assert (out, status) == (b"still-here\n", 0)
    if warm:
        assert not os.path.exists("/proc/%d" % warm) or warm not in warm_children(shim_pid)   # it ran the exec
        settled_warm(leg, shim_pid)
