"""OomWatch (shim/oom.py): the kill counter, live v1 notifications and the exit reason.

The cgroup is a temp dir with the v1 files (event_control is a plain file, so the test
signals the eventfd itself, as the kernel would)."""
import os

from gantry.shim import oom
from gantry.shim.cgroup import Cgroups
from gantry.shim.loop import Loop


def v1_cgroup(tmp_path, kills=0):
    mem = tmp_path / "memory"
    mem.mkdir()
    (mem / "cgroup.event_control").write_text("")
    set_kills(mem, kills)
    return Cgroups({"memory": str(mem)}), mem


def set_kills(mem, kills):
    (mem / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill %d\n" % kills)


def run_once(loop):
    loop.call_later(0.01, loop.stop)
    loop.run()


def test_counter_since_create_and_kept_after_the_cgroup_is_gone(tmp_path):
    cgroups, mem = v1_cgroup(tmp_path, kills=4)  # kills before Create do not count
    w = oom.OomWatch(cgroups, clock=lambda: 77)
    assert w.reason_at_exit() == "" and w.stats() == {"oom_events": 0, "last_oom_at_ns": 0}
    set_kills(mem, 5)
    assert w.kills_since_create() == 1 and w.last_at_ns == 77
    for f in mem.iterdir():
        f.unlink()
    mem.rmdir()
    assert w.reason_at_exit() == "OOMKilled"


def test_live_event_is_counted_and_the_removal_wake_up_is_not(tmp_path, capsys):
    cgroups, mem = v1_cgroup(tmp_path)
    loop = Loop()
    w = oom.OomWatch(cgroups, clock=lambda: 99)
    assert w.watch(loop)
    efd, cfd = w._fds
    assert (mem / "cgroup.event_control").read_text() == "%d %d" % (efd, cfd)
    run_once(loop)
    assert w.events == 0  # nothing signalled
    os.eventfd_write(efd, 1)  # the OOM killer was invoked (its kill not counted yet)
    run_once(loop)
    assert w.stats() == {"oom_events": 1, "last_oom_at_ns": 99}
    assert "OOM event 1" in capsys.readouterr().err
    assert w.reason_at_exit() == "OOMKilled"
    for f in mem.iterdir():
        f.unlink()
    mem.rmdir()
    os.eventfd_write(efd, 1)  # the kernel's wake-up when the cgroup is removed
    run_once(loop)
    assert w.events == 1 and w._fds == ()
    w.close()  # twice is harmless


def test_no_live_watch_on_cgroup_v2(tmp_path):
    (tmp_path / "memory.events").write_text("oom 0\noom_kill 0\n")
    w = oom.OomWatch(Cgroups({"unified": str(tmp_path)}))
    assert not w.watch(Loop())
    (tmp_path / "memory.events").write_text("oom 1\noom_kill 1\n")
    assert w.reason_at_exit() == "OOMKilled" and w.events == 0
