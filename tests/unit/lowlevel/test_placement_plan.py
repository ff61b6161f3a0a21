"""Who puts stage 1 and its child into the container's cgroups, and when (init.placement_plan)."""
import pytest
from gantry.lowlevel.process.init import placement_plan
from gantry.lowlevel.syscalls import CLONE_NEWCGROUP, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWTIME

HYBRID = {"v1": ["/sys/fs/cgroup/memory/c"], "unified": "/sys/fs/cgroup/unified/c"}
V1_ONLY = {"v1": ["/sys/fs/cgroup/memory/c"], "unified": None}
EXEC_JOIN = [("ipc", "/proc/9/ns/ipc"), ("pid", "/proc/9/ns/pid"), ("mount", "/proc/9/ns/mnt")]
FIELDS = ("place", "early", "late", "own", "own_now", "forks")


@pytest.mark.parametrize("late_init, flags, join, userns, where, expected", [
    # the container init: placed late by the parent, or by itself when it may
    (True, CLONE_NEWPID | CLONE_NEWNS, [], False, None, ("init", False, True, False, False, True)),
    (True, CLONE_NEWPID | CLONE_NEWNS, [], False, HYBRID, ("self", False, True, True, False, True)),
    (True, CLONE_NEWNS, [], False, HYBRID, ("init", False, True, False, False, False)),   # no fork: no cgroup2 birth
    (True, CLONE_NEWNS, [], False, V1_ONLY, ("self", False, True, True, False, False)),
    (True, CLONE_NEWPID, [("mount", "/proc/9/ns/mnt")], False, HYBRID, ("self", False, True, True, True, True)),
    (True, CLONE_NEWPID | CLONE_NEWCGROUP, [], False, HYBRID, ("stage", True, False, False, False, True)),
    (True, CLONE_NEWPID, [], True, HYBRID, ("init", False, True, False, False, True)),     # user namespace
    (True, CLONE_NEWTIME, [], False, HYBRID, ("self", False, True, True, False, True)),
    # an exec: places itself before it joins anything whenever it can
    (False, 0, EXEC_JOIN, False, HYBRID, ("self", False, False, True, True, True)),
    (False, 0, EXEC_JOIN + [("cgroup", "/proc/9/ns/cgroup")], False, HYBRID, ("self", True, False, True, True, True)),
    (False, 0, EXEC_JOIN, False, None, ("stage", False, False, False, False, True)),       # no cgroups recorded
    (False, 0, EXEC_JOIN, True, HYBRID, ("stage", False, False, False, False, True)),      # user namespace
    (False, 0, [("mount", "/proc/9/ns/mnt")], False, HYBRID, ("stage", False, False, False, False, False)),
    (False, 0, [("mount", "/proc/9/ns/mnt")], False, V1_ONLY, ("self", False, False, True, True, False)),
])
def test_placement_plan(late_init, flags, join, userns, where, expected):
    plan = placement_plan(late_init, flags, join, userns, where)
    assert tuple(getattr(plan, f) for f in FIELDS) == expected, plan
