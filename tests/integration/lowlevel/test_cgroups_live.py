"""Real cgroups on this machine (hybrid here; v1 and v2 code paths both run):
create under a test parent, apply limits and read them back from the kernel's
files, freeze/thaw a sleeping process, update, stats, OOM count, destroy; the
cgroup v2 eBPF device filter on the cgroup2 hierarchy (a process in the cgroup
opens /dev/null but not a kmsg node; update swaps the program)."""
import json
import os
import signal
import subprocess
import sys
import uuid

import pytest
from gantry.lowlevel import syscalls
from gantry.lowlevel.cgroups import CgroupError, from_state, manager_for
from gantry.lowlevel.cgroups.layout import V2, detect
from gantry.lowlevel.cgroups.manager import Manager

pytestmark = pytest.mark.root

PARENT = "gantry-itest-%d" % os.getpid()


def _machine_mounts():
    """What this machine mounts, read from /proc (not from the layout code under test):
    ({v1 controller: True}, whether a cgroup2 hierarchy is mounted)."""
    v1, v2 = {}, False
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype, options = fields[fields.index("-") + 1], fields[-1].split(",")
            if fstype == "cgroup2":
                v2 = True
            elif fstype == "cgroup":
                v1.update({o: True for o in options})
    return v1, v2


MACHINE_V1, MACHINE_HAS_CGROUP2 = _machine_mounts()


def _read(path, name):
    with open(os.path.join(path, name)) as f:
        return f.read().strip()


def _remove_parent(layout):
    """Remove the test parent (and anything left below it) in every hierarchy."""
    mounts = [m.mountpoint for m in layout.v1.values()] + ([layout.unified.mountpoint] if layout.unified else [])
    for mnt in set(mounts):
        for top in (PARENT, "gantry.slice"):
            root = os.path.join(mnt, top)
            if os.path.isdir(root):
                for d, _dirs, _ in os.walk(root, topdown=False):
                    os.rmdir(d)


@pytest.fixture
def layout():
    layout = detect()
    control = os.path.join(layout.unified.mountpoint, "cgroup.subtree_control") if layout.unified else None
    before = set(open(control).read().split()) if control else set()
    yield layout
    _remove_parent(layout)
    if control:   # leave the host's cgroup2 root as it was (a hugetlb limit enables hugetlb there)
        added = set(open(control).read().split()) - before
        try:
            if added:
                with open(control, "w") as f:
                    f.write(" ".join("-" + c for c in sorted(added)))
        except OSError:
            pass   # EBUSY: another cgroup below uses it now; nothing of ours is left there


@pytest.fixture
def sleeper():
    procs = []

    def start():
        p = subprocess.Popen(["sleep", "60"])
        procs.append(p)
        return p
    yield start
    for p in procs:
        p.kill()
        p.wait()


def _cgroup_of(pid):
    with open("/proc/%d/cgroup" % pid) as f:
        return f.read()


def test_limits_freeze_update_stats_destroy(layout, sleeper):
    cid = uuid.uuid4().hex[:8]
    m = manager_for({"cgroupsPath": "/%s/%s" % (PARENT, cid)}, cid, layout=layout)
    m.create()
    p = sleeper()
    m.add(p.pid)
    seen = _cgroup_of(p.pid)
    assert seen.count("/%s/%s" % (PARENT, cid)) == len(set(m.v1.values())) + (1 if m.unified else 0), seen
    resources = {"cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0", "mems": "0"},
                 "memory": {"limit": 64 << 20, "swap": 96 << 20, "reservation": 32 << 20},
                 "pids": {"limit": 30}, "devices": [{"allow": False, "access": "rwm"}]}
    if m.home("hugetlb"):
        resources["hugepageLimits"] = [{"pageSize": "2MB", "limit": 4 << 20}]
    m.apply(resources)

    if m.home("memory") == "v1":
        mem = m.v1["memory"]
        assert _read(mem, "memory.limit_in_bytes") == str(64 << 20)
        assert _read(mem, "memory.memsw.limit_in_bytes") == str(96 << 20)
        assert _read(mem, "memory.soft_limit_in_bytes") == str(32 << 20)
        assert _read(m.v1["cpu"], "cpu.cfs_quota_us") == "20000"
        assert _read(m.v1["cpu"], "cpu.shares") == "512"
        assert _read(m.v1["cpuset"], "cpuset.cpus") == "0"
        assert _read(m.v1["pids"], "pids.max") == "30"
        listed = _read(m.v1["devices"], "devices.list").splitlines()
        assert "a *:* rwm" not in listed and "c 1:3 rwm" in listed and "c 136:* rwm" in listed
    if m.home("hugetlb") == V2:
        assert _read(m.unified, "hugetlb.2MB.max") == str(4 << 20)

    # freeze / thaw a real process
    m.freeze()
    assert m.state() == "frozen"
    m.freeze()   # idempotent
    m.thaw()
    assert m.state() == "thawed"
    os.kill(p.pid, 0)

    # update a live cgroup, through a manager rebuilt from the JSON state
    again = from_state(json.loads(json.dumps(m.paths())))
    again.apply({"memory": {"limit": 256 << 20, "swap": 512 << 20}, "pids": {"limit": -1}})
    stats = again.stats()
    assert stats["memory"]["usage"]["limit"] == 256 << 20
    if m.home("memory") == "v1":   # v1 reports memory+swap; v2's memory.swap.max is swap alone
        assert stats["memory"]["swap"]["limit"] == 512 << 20
    assert stats["pids"] == {"current": 1, "limit": 0}
    assert set(stats) >= {"cpu", "memory", "pids", "blkio", "hugetlb"}
    assert again.pids() == [p.pid]

    with pytest.raises(CgroupError, match="memory.swappiness: 150"):
        again.apply({"memory": {"swappiness": 150}})

    p.kill()
    p.wait()
    again.destroy()
    for d in again._dirs():
        assert not os.path.exists(d), d
    again.destroy()   # idempotent


def test_destroy_retries_while_the_last_task_exits(layout):
    cid = uuid.uuid4().hex[:8]
    m = manager_for({"cgroupsPath": "/%s/%s" % (PARENT, cid)}, cid, layout=layout)
    m.create()
    p = subprocess.Popen(["sleep", "60"])
    m.add(p.pid)
    p.send_signal(signal.SIGKILL)   # not reaped yet: the cgroup may still count it
    m.destroy()
    p.wait()
    assert not any(os.path.exists(d) for d in m._dirs())


def test_oom_kill_is_counted(layout):
    cid = uuid.uuid4().hex[:8]
    m = manager_for({"cgroupsPath": "/%s/%s" % (PARENT, cid)}, cid, layout=layout)
    m.create()
    m.apply({"memory": {"limit": 16 << 20, "swap": 16 << 20}})
    code = "import os,sys; os.read(0,1); b=bytearray(64<<20); sys.exit(0)"
    p = subprocess.Popen([sys.executable, "-S", "-c", code], stdin=subprocess.PIPE)
    m.add(p.pid)
    p.stdin.write(b"x")
    p.stdin.close()
    assert p.wait(timeout=30) == -signal.SIGKILL
    assert m.oom_kills() >= 1
    path, key = m.oom_source()
    assert key in open(path).read()
    m.destroy()


def test_relative_and_systemd_style_paths(layout):
    cid = uuid.uuid4().hex[:8]
    rel = manager_for({"cgroupsPath": "%s/rel" % PARENT}, cid, layout=layout)
    own = {line.split(":", 2)[1]: line.split(":", 2)[2] for line in open("/proc/self/cgroup").read().splitlines()}
    assert rel.v1["memory"] == os.path.normpath("/sys/fs/cgroup/memory/%s/%s/rel" % (own["memory"], PARENT))
    sd = manager_for({"cgroupsPath": "gantry-itest.slice:gantry:%s" % cid}, cid, layout=layout)
    assert sd.v1["pids"].endswith("/gantry.slice/gantry-itest.slice/gantry-%s.scope" % cid)
    sd.create()
    assert os.path.isdir(sd.v1["pids"])
    sd.destroy()
    # the relative one lives below our own memory cgroup; create and remove it
    rel.create()
    rel.destroy()
    for path in rel.v1.values():
        parent = os.path.dirname(path)
        if os.path.isdir(parent) and os.path.basename(parent) == PARENT:
            os.rmdir(parent)


def _v2_manager(layout, cid):
    """A pure-v2 manager on the cgroup2 hierarchy (this machine mounts it at /sys/fs/cgroup/unified)."""
    if not MACHINE_HAS_CGROUP2:
        pytest.skip("this machine mounts no cgroup2 hierarchy")
    assert layout.unified is not None
    root = layout.unified.mountpoint
    return Manager(V2, {}, os.path.join(root, PARENT, cid), set(layout.unified_controllers), root)


def test_v2_device_filter_denies_and_allows(layout, tmp_path):
    cid = uuid.uuid4().hex[:8]
    m = _v2_manager(layout, cid)
    m.create()
    m.apply({"devices": [{"allow": False, "access": "rwm"}]})
    os.mknod(str(tmp_path / "kmsg"), 0o600 | 0o020000, os.makedev(1, 11))
    os.mknod(str(tmp_path / "null"), 0o600 | 0o020000, os.makedev(1, 3))
    script = ("import os,sys\nopen('%s/cgroup.procs','w').write(str(os.getpid()))\n"
              "out=[]\n"
              "for name in ('null','kmsg'):\n"
              "    try:\n        os.close(os.open(sys.argv[1]+'/'+name, os.O_RDONLY|os.O_NONBLOCK)); out.append('ok')\n"
              "    except OSError as e: out.append(e.strerror)\n"
              "print(' '.join(out))\n") % m.unified
    run = subprocess.run([sys.executable, "-S", "-c", script, str(tmp_path)], capture_output=True, text=True,
                         timeout=30)
    assert run.stdout.split(" ", 1) == ["ok", "Operation not permitted\n"], run.stderr
    # update: allow kmsg too; the old program is replaced, not stacked
    m.apply({"devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 11,
                                                            "access": "r"}]})
    run = subprocess.run([sys.executable, "-S", "-c", script, str(tmp_path)], capture_output=True, text=True,
                         timeout=30)
    assert run.stdout.strip() == "ok ok", run.stderr

    fd = os.open(m.unified, os.O_RDONLY)
    try:
        assert len(syscalls.get().bpf_prog_query(fd, 6)) == 1
    finally:
        os.close(fd)
    m.destroy()


def test_v2_freeze_and_stats(layout, sleeper):
    cid = uuid.uuid4().hex[:8]
    m = _v2_manager(layout, cid)
    m.create()
    p = sleeper()
    m.add(p.pid)
    m.freeze()
    assert m.state() == "frozen"
    m.thaw()
    assert m.state() == "thawed"
    assert m.pids() == [p.pid]
    assert "usage" in m.stats()["cpu"]
    p.kill()
    p.wait()
    m.destroy()


def test_blkio_weight_uses_bfq_or_names_the_missing_file(layout):
    cid = uuid.uuid4().hex[:8]
    m = manager_for({"cgroupsPath": "/%s/%s" % (PARENT, cid)}, cid, layout=layout)
    if not MACHINE_V1.get("blkio"):
        pytest.skip("this machine mounts no cgroup v1 blkio hierarchy")
    assert m.home("blkio") == "v1"
    m.create()
    files = set(os.listdir(m.v1["blkio"]))
    if "blkio.weight" in files or "blkio.bfq.weight" in files:
        m.apply({"blockIO": {"weight": 300}})
        name = "blkio.weight" if "blkio.weight" in files else "blkio.bfq.weight"
        assert _read(m.v1["blkio"], name).split()[-1] == "300"
    with pytest.raises(CgroupError, match="blkio.leaf_weight does not exist"):
        m.apply({"blockIO": {"leafWeight": 300}})
    m.destroy()


def test_v1_device_update_changes_only_the_difference(layout, sleeper):
    cid = uuid.uuid4().hex[:8]
    m = manager_for({"cgroupsPath": "/%s/%s" % (PARENT, cid)}, cid, layout=layout)
    if not MACHINE_V1.get("devices"):
        pytest.skip("this machine mounts no cgroup v1 devices hierarchy")
    assert m.home("devices") == "v1"
    m.create()
    p = sleeper()
    m.add(p.pid)
    base = [{"allow": False, "access": "rwm"}]
    m.apply({"devices": base})
    before = set(_read(m.v1["devices"], "devices.list").splitlines())
    fuse = {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}
    again = from_state(m.paths())
    again.apply({"devices": base + [fuse]})
    assert set(_read(m.v1["devices"], "devices.list").splitlines()) == before | {"c 10:229 rw"}
    again.apply({"devices": base})
    assert set(_read(m.v1["devices"], "devices.list").splitlines()) == before
    p.kill()
    p.wait()
    m.destroy()


def test_signal_all_kills_every_member(layout):
    cid = uuid.uuid4().hex[:8]
    m = manager_for({"cgroupsPath": "/%s/%s" % (PARENT, cid)}, cid, layout=layout)
    m.create()
    procs = [subprocess.Popen(["sleep", "60"]) for _ in range(3)]
    for p in procs:
        m.add(p.pid)
    m.signal_all(signal.SIGKILL)
    assert [p.wait(timeout=10) for p in procs] == [-signal.SIGKILL] * 3
    procs = [subprocess.Popen(["sleep", "60"]) for _ in range(2)]
    for p in procs:
        m.add(p.pid)
    m.signal_all(signal.SIGTERM)   # freeze, signal, thaw
    assert [p.wait(timeout=10) for p in procs] == [-signal.SIGTERM] * 2
    assert m.state() == "thawed"
    m.destroy()


def test_unified_map_writes_cgroup2_files(layout):
    cid = uuid.uuid4().hex[:8]
    m = manager_for({"cgroupsPath": "/%s/%s" % (PARENT, cid)}, cid, layout=layout)
    if not MACHINE_HAS_CGROUP2:
        pytest.skip("this machine mounts no cgroup2 hierarchy")
    assert m.unified is not None
    m.create()
    m.apply({"unified": {"cgroup.max.descendants": "7"}})
    assert _read(m.unified, "cgroup.max.descendants") == "7"
    if "hugetlb" in m.v2_controllers:
        m.apply({"unified": {"hugetlb.2MB.max": "2097152"}})
        assert _read(m.unified, "hugetlb.2MB.max") == "2097152"
    with pytest.raises(CgroupError, match="not a cgroup file name"):
        m.apply({"unified": {"../escape": "1"}})
    m.destroy()
