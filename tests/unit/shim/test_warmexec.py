"""The shim's warm process (shim/warmexec.py): its state table, and the adapter on real processes.

The warm process here is a real `gantry-oci warm` (no root needed: it is asked for
`--version`), or a stand-in that dies, refuses or never answers.
"""
import os
import signal
import sys
import time

import pytest
from gantry.shim import warmexec
from gantry.shim.runtime import Runtime, RuntimeFailed

GANTRY_OCI = os.path.join(os.path.dirname(sys.executable), "gantry-oci")
EVENTS = ("executed", "take", "idle", "died", "give_up", "close")
CHANGES = {
    ("COLD", "executed"): "WARM", ("COLD", "give_up"): "DISABLED", ("COLD", "close"): "CLOSED",
    ("WARM", "take"): "COLD", ("WARM", "idle"): "COLD", ("WARM", "died"): "COLD", ("WARM", "close"): "CLOSED",
    ("DISABLED", "close"): "CLOSED",
}


@pytest.mark.parametrize("state", list(warmexec.TRANSITIONS))
@pytest.mark.parametrize("event", EVENTS)
def test_table(state, event):
    assert warmexec.next_state(state, event) == CHANGES.get((state, event), state)


@pytest.mark.parametrize("binary, env, expected", [
    ("/usr/local/bin/gantry-oci", {}, True),
    ("gantry-oci", {}, True),
    ("/usr/bin/runc", {}, False),
    ("crun", {}, False),
    ("/opt/gantry-oci-wrapper", {}, False),
    ("gantry-oci", {"GANTRY_NO_WARM_EXEC": "1"}, False),
])
def test_only_gantry_oci_gets_a_warm_process(binary, env, expected):
    assert warmexec.runtime_supports(binary, env) is expected


class FakeLoop:
    def __init__(self):
        self.timers = []

    def call_later(self, delay, callback):
        entry = [delay, callback]
        self.timers.append(entry)
        return entry

    @staticmethod
    def cancel_timer(entry):
        entry[1] = None

    def fire(self, delay=None):
        """Run the due timers (all, or those of this delay); how many ran."""
        due = [t for t in self.timers if t[1] and (delay is None or t[0] == delay)]
        self.timers = [t for t in self.timers if t not in due]
        for t in due:
            t[1]()
        return len(due)


@pytest.fixture
def pipes():
    opened = []

    def make():
        r, w = os.pipe()
        opened.extend([r, w])
        return r, w
    yield make
    for fd in opened:
        try:
            os.close(fd)
        except OSError:
            pass


def _warm(spawn=Runtime.spawn, enabled=True, binary=GANTRY_OCI):
    loop = FakeLoop()
    w = warmexec.WarmExec(loop, spawn, enabled)
    w.executed(binary)
    assert loop.fire(warmexec.SPAWN_DELAY) == 1
    return loop, w


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _version_via(w, pipes):
    r, out = pipes()
    null = os.open(os.devnull, os.O_RDWR)
    try:
        pid = w.take([GANTRY_OCI, "--version"], (null, out, null))
    finally:
        os.close(null)
    os.close(out)
    return pid, r


def test_take_runs_the_command_in_the_warm_process_and_the_next_one_starts_at_once(pipes):
    loop, w = _warm()
    assert w.state == warmexec.WARM
    first = w.pid
    pid, r = _version_via(w, pipes)
    assert pid == first
    assert w.state == warmexec.WARM and w.pid not in (0, first) and w.sock is not None   # the next one
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert os.read(r, 100).startswith(b"gantry-oci version")
    second = w.pid
    w.executed(GANTRY_OCI)   # after the exec: there is one already
    assert loop.fire(warmexec.SPAWN_DELAY) == 0 and w.pid == second
    pid, r = _version_via(w, pipes)
    assert pid == second and os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    third = w.pid
    w.close()
    assert w.state == warmexec.CLOSED and not _alive(third)


def test_run_through_the_runtime_uses_it(pipes):
    _, w = _warm()
    first = w.pid
    out = Runtime(GANTRY_OCI).run([GANTRY_OCI, "--version"], warm=w)
    assert out.startswith(b"gantry-oci version") and w.state == warmexec.WARM and w.pid != first
    with pytest.raises(ChildProcessError):
        os.waitpid(first, os.WNOHANG)   # the runtime waited for it, as for a fresh spawn
    w.close()


def test_a_warm_process_killed_before_use_falls_back_and_is_reaped(pipes):
    _, w = _warm()
    pid = w.pid
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.05)
    assert w.take([GANTRY_OCI, "--version"], (0, 1, 2)) is None
    assert w.state == warmexec.COLD
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)   # reaped by take, no zombie left
    out = Runtime(GANTRY_OCI).run([GANTRY_OCI, "--version"], warm=w)   # the plain path
    assert out.startswith(b"gantry-oci version")


def test_kills_reaped_by_the_loop_go_cold_and_never_disable():
    loop, w = _warm()
    for _ in range(warmexec.MAX_FAILURES + 2):
        pid = w.pid
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)        # what the shim's reaper does
        assert w.on_exit(pid, status)
        assert not w.on_exit(pid, status)      # once
        assert w.state == warmexec.COLD
        w.executed(GANTRY_OCI)
        loop.fire(warmexec.SPAWN_DELAY)
        assert w.state == warmexec.WARM
    w.close()


def test_exits_of_its_own_disable_it_after_max_failures():
    """A runtime that does not know `warm` exits 1 at once: after MAX_FAILURES, the plain path for good."""
    loop, w = _warm(binary="/bin/false")
    for n in range(1, warmexec.MAX_FAILURES + 1):
        pid = w.pid
        _, status = os.waitpid(pid, 0)
        assert w.on_exit(pid, status)
        if n < warmexec.MAX_FAILURES:
            assert w.state == warmexec.COLD
            w.executed("/bin/false")
            loop.fire(warmexec.SPAWN_DELAY)
    assert w.state == warmexec.DISABLED
    w.executed(GANTRY_OCI)
    assert loop.fire() == 0 and w.take([GANTRY_OCI], (0, 1, 2)) is None


def test_failures_found_at_take_count_too():
    loop, w = _warm(binary="/bin/false")
    for _ in range(warmexec.MAX_FAILURES):
        time.sleep(0.05)
        assert w.take(["/bin/false", "exec", "x"], (0, 1, 2)) is None
        w.executed("/bin/false")
        loop.fire(warmexec.SPAWN_DELAY)
    assert w.state == warmexec.DISABLED


def test_an_unrelated_pid_is_not_the_warm_process():
    _, w = _warm()
    assert not w.on_exit(1, 0) and not w.on_exit(0, 0)
    assert w.state == warmexec.WARM
    w.close()


def test_idle_ends_it_with_eof():
    loop, w = _warm()
    pid = w.pid
    assert loop.fire(warmexec.IDLE_SECONDS) == 1
    assert w.state == warmexec.COLD and w.sock is None
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0   # it exited by itself on EOF


def test_close_kills_and_reaps_and_no_more_start():
    loop, w = _warm()
    pid = w.pid
    w.close()
    assert w.state == warmexec.CLOSED and not _alive(pid)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    w.executed(GANTRY_OCI)
    assert loop.fire() == 0


def test_close_cancels_a_pending_start():
    loop = FakeLoop()
    w = warmexec.WarmExec(loop, Runtime.spawn, True)
    w.executed(GANTRY_OCI)
    w.close()
    assert loop.fire() == 0 and w.pid == 0


def test_a_runtime_that_does_not_know_warm_falls_back():
    _, w = _warm(binary="/bin/false")   # exits at once without an ACK
    assert w.take(["/bin/false", "exec", "x"], (0, 1, 2)) is None
    assert w.state == warmexec.COLD


def test_a_warm_process_that_never_answers_is_killed(monkeypatch, tmp_path):
    script = tmp_path / "mute"
    script.write_text("#!/bin/sh\nexec sleep 100\n")
    script.chmod(0o755)
    monkeypatch.setattr(warmexec, "ACK_TIMEOUT", 0.2)
    _, w = _warm(binary=str(script))
    pid = w.pid
    assert w.take([str(script), "exec"], (0, 1, 2)) is None
    assert not _alive(pid)


def test_spawn_failure_disables_it():
    def spawn(argv, stdio):
        raise RuntimeFailed("%s: runtime not found" % argv[0])
    _, w = _warm(spawn=spawn)
    assert w.state == warmexec.DISABLED and w.sock is None


def test_disabled_from_the_start():
    loop = FakeLoop()
    w = warmexec.WarmExec(loop, Runtime.spawn, False)
    w.executed(GANTRY_OCI)
    assert loop.fire() == 0 and w.take([GANTRY_OCI], (0, 1, 2)) is None
