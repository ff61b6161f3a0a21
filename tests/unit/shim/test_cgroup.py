"""Locating a container's cgroups (shim/cgroup.py) from /proc texts, and the exit file."""
from gantry.api import shimstate
from gantry.shim import cgroup

MOUNTINFO = """31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
PROC = """12:pids:/c1
9:memory:/c1
7:cpuacct:/c1
1:name=systemd:/c1
0::/c1
"""


def test_hybrid():
    dirs = cgroup.parse(PROC, MOUNTINFO)
    assert dirs == {"pids": "/sys/fs/cgroup/pids/c1", "memory": "/sys/fs/cgroup/memory/c1",
                    "cpuacct": "/sys/fs/cgroup/cpuacct/c1", "unified": "/sys/fs/cgroup/unified/c1"}
    assert cgroup.Cgroups(dirs).version == "v1"


def test_hybrid_process_left_in_the_unified_root():
    dirs = cgroup.parse(PROC.replace("0::/c1", "0::/"), MOUNTINFO)
    assert "unified" not in dirs and dirs["memory"] == "/sys/fs/cgroup/memory/c1"


def test_pure_v2():
    dirs = cgroup.parse("0::/pod/c1\n", "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
    assert dirs == {"unified": "/sys/fs/cgroup/pod/c1"}
    assert cgroup.Cgroups(dirs).version == "v2"


def test_unified_unmounted_in_a_private_namespace():
    mi = "\n".join(line for line in MOUNTINFO.splitlines() if "unified" not in line)
    assert "unified" not in cgroup.parse(PROC, mi)


def test_v2_stats_from_files(tmp_path):
    (tmp_path / "memory.current").write_text("1000\n")
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "memory.stat").write_text("anon 10\ninactive_file 300\n")
    (tmp_path / "cpu.stat").write_text("usage_usec 5\nuser_usec 3\n")
    (tmp_path / "pids.current").write_text("2\n")
    (tmp_path / "pids.max").write_text("64\n")
    (tmp_path / "memory.events").write_text("low 0\noom 1\noom_kill 1\n")
    s = cgroup.Cgroups({"unified": str(tmp_path)}).stats()
    assert (s["memory_usage_bytes"], s["memory_limit_bytes"], s["memory_working_set_bytes"]) == (1000, 0, 700)
    assert (s["cpu_usage_ns"], s["pids_current"], s["pids_limit"], s["oom_kills"]) == (5000, 2, 64, 1)


def test_exit_file_atomic_round_trip(tmp_path):
    assert shimstate.read_exit(str(tmp_path)) is None
    shimstate.write_exit(str(tmp_path), 42, 137, 123, "OOMKilled")
    assert shimstate.read_exit(str(tmp_path)) == {"pid": 42, "status": 137, "exited_at_ns": 123, "reason": "OOMKilled"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exit"]
    (tmp_path / "exit").write_text('{"pid": 1, "sta')  # a torn file is never read as valid
    assert shimstate.read_exit(str(tmp_path)) is None


def test_heapfill_parses_the_allocator_report():
    from gantry.shim import heapfill
    report = """Small block threshold = 512, in 32 size classes.

class   size   num pools   blocks in use  avail blocks
-----   ----   ---------   -------------  ------------
    0     16           1              42           979
    2     48           7            2352            28

# arenas allocated total           =                    3
"""
    assert heapfill.parse(report) == {16: 979, 48: 28}
    before = heapfill.free_slots()
    assert before and all(isinstance(v, int) for v in before.values())
