"""Layout detection (v1 / v2 / hybrid) from fake mountinfo, path rules, and the
manager's routing against a fake cgroup tree in a temp dir."""
import json

import pytest
from gantry.lowlevel.cgroups import from_state, manager_for
from gantry.lowlevel.cgroups.errors import CgroupError
from gantry.lowlevel.cgroups.layout import HYBRID, V1, V2, Layout, detect, parse_mountinfo, parse_proc_cgroup
from gantry.lowlevel.cgroups.paths import CgroupPathError, directory, inner_path, systemd_to_cgroupfs

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
"""
V2_MOUNTINFO = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw\n"
V1_MOUNTINFO = "\n".join(line for line in HYBRID_MOUNTINFO.splitlines() if "cgroup2" not in line)


def test_parse_hybrid():
    v1, unified = parse_mountinfo(HYBRID_MOUNTINFO)
    assert v1["cpu"].mountpoint == "/sys/fs/cgroup/cpu,cpuacct" and v1["cpuacct"] is v1["cpu"]
    assert v1["cpu"].options == {"cpu", "cpuacct"}
    assert v1["name=systemd"].mountpoint == "/sys/fs/cgroup/systemd"
    assert "xattr" not in v1 and "rw" not in v1
    assert unified.mountpoint == "/sys/fs/cgroup/unified"
    assert Layout(v1=v1, unified=unified).mode == HYBRID


def test_modes():
    assert Layout(*parse_mountinfo(V2_MOUNTINFO)).mode == V2
    assert Layout(*parse_mountinfo(V1_MOUNTINFO)).mode == V1


def test_controller_home_in_hybrid():
    v1, unified = parse_mountinfo(HYBRID_MOUNTINFO)
    layout = Layout(v1=v1, unified=unified, unified_controllers=frozenset({"hugetlb", "memory"}))
    assert layout.controller_home("memory") == V1   # v1 wins when both offer it
    assert layout.controller_home("hugetlb") == V2
    assert layout.controller_home("pids") is None


def test_detect_reads_the_given_files(tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text(HYBRID_MOUNTINFO)
    layout = detect(str(info), read_controllers=lambda mnt: ["hugetlb"] if mnt.endswith("unified") else [])
    assert layout.mode == HYBRID and layout.unified_controllers == {"hugetlb"}


def test_escaped_mountpoint():
    v1, _ = parse_mountinfo("1 2 0:1 / /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,pids\n")
    assert v1["pids"].mountpoint == "/sys/fs/cgroup/my dir"


def test_parse_proc_cgroup():
    text = "9:name=systemd:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/x\n0::/init.scope\n"
    paths = parse_proc_cgroup(text)
    assert paths == {"name=systemd": "/", "memory": "/process_api/abc", "cpu": "/x", "cpuacct": "/x",
                     "": "/init.scope"}


@pytest.mark.parametrize("given,expected", [
    ("/kubepods/pod1/c1", "/kubepods/pod1/c1"),
    ("mygroup/c1", "mygroup/c1"),
    ("", "c1"),
    (None, "c1"),
    ("/a/../../etc", "/etc"),
    ("rel/../../up", "up"),
    ("system.slice:gantry:c1", "/system.slice/gantry-c1.scope"),
    ("kubepods-besteffort.slice:cri-containerd:abc",
     "/kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope"),
    (":gantry:c1", "/system.slice/gantry-c1.scope"),
    ("user.slice::c1", "/user.slice/c1.scope"),
])
def test_inner_path(given, expected):
    assert inner_path(given, "c1") == expected


@pytest.mark.parametrize("bad", ["-bad.slice:p:n", "a--b.slice:p:n", "notaslice:p:n", "system.slice:p:", "/", ".."])
def test_inner_path_errors(bad):
    with pytest.raises(CgroupPathError):
        inner_path(bad, "c1")


def test_systemd_unit_name_kept():
    assert systemd_to_cgroupfs("machine.slice:x:foo.scope") == "/machine.slice/foo.scope"


def test_directory_absolute_relative_and_cgroupns_root():
    assert directory("/sys/fs/cgroup/memory", "/", "/process_api/x", "/k/c1") == "/sys/fs/cgroup/memory/k/c1"
    assert directory("/sys/fs/cgroup/memory", "/", "/process_api/x", "c1") == "/sys/fs/cgroup/memory/process_api/x/c1"
    # mounted from /outer (as inside a cgroup namespace): our /outer/me is /me in the mount
    assert directory("/sys/fs/cgroup", "/outer", "/outer/me", "c1") == "/sys/fs/cgroup/me/c1"


# ---------------------------------------------------------------- manager on a fake tree

V1_FILES = {
    "cpu": ["cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.stat"],
    "cpuset": ["cpuset.cpus", "cpuset.mems", "cpuset.effective_cpus", "cpuset.effective_mems"],
    "memory": ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.oom_control", "memory.stat"],
    "devices": ["devices.allow", "devices.deny"],
    "systemd": [],
}


def _fake_hybrid(tmp_path, container="/k/c1"):
    root = tmp_path / "cg"
    mounts = []
    for i, (name, files) in enumerate(V1_FILES.items()):
        opts = "xattr,name=systemd" if name == "systemd" else name
        mounts.append("%d 1 0:%d / %s/%s rw - cgroup cgroup rw,%s" % (30 + i, i, root, name, opts))
        for level in ("", "/k", container):
            d = root / (name + level)
            d.mkdir(parents=True, exist_ok=True)
            for f in files + ["cgroup.procs"]:
                (d / f).write_text("")
    (root / "cpuset" / "cpuset.cpus").write_text("0-1\n")
    (root / "cpuset" / "cpuset.mems").write_text("0\n")
    mounts.append("50 1 0:50 / %s/unified rw - cgroup2 cgroup2 rw" % root)
    for level in ("", "/k", container):
        d = root / ("unified" + level)
        d.mkdir(parents=True, exist_ok=True)
        for f in ("cgroup.procs", "cgroup.controllers", "cgroup.subtree_control", "hugetlb.2MB.max",
                  "cgroup.freeze", "cgroup.events"):
            (d / f).write_text("")
    (root / "unified" / "cgroup.controllers").write_text("hugetlb\n")
    (root / "unified" / "k" / "cgroup.controllers").write_text("hugetlb\n")
    info = tmp_path / "mountinfo"
    info.write_text("\n".join(mounts) + "\n")
    return root, detect(str(info))


def test_manager_routes_writes_to_each_hierarchy(tmp_path):
    root, layout = _fake_hybrid(tmp_path)
    m = manager_for({"cgroupsPath": "/k/c1"}, "c1", layout=layout, own={})
    assert m.mode == HYBRID and m.v2_controllers == {"hugetlb"}
    m.create()
    c = "k/c1"
    # cpuset inherited from the parent chain
    assert (root / "cpuset" / c / "cpuset.cpus").read_text() == "0-1"
    # hybrid: the host's cgroup2 tree is left alone until a limit needs a controller there
    assert (root / "unified" / "cgroup.subtree_control").read_text() == ""
    m.add(4242)
    for h in ("cpu", "memory", "devices", "systemd", "unified"):
        assert (root / h / c / "cgroup.procs").read_text() == "4242"
    m.apply({"cpu": {"shares": 100, "quota": 1000, "period": 10000, "cpus": "1"},
             "memory": {"limit": 1000, "swap": 2000},
             "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
             "devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 4, "access": "rw"}]})
    assert (root / "cpu" / c / "cpu.cfs_quota_us").read_text() == "1000"
    assert (root / "cpuset" / c / "cpuset.cpus").read_text() == "1"
    assert (root / "memory" / c / "memory.memsw.limit_in_bytes").read_text() == "2000"
    assert (root / "unified" / c / "hugetlb.2MB.max").read_text() == "2097152"
    assert (root / "unified" / "cgroup.subtree_control").read_text() == "+hugetlb"
    assert (root / "unified" / "k" / "cgroup.subtree_control").read_text() == "+hugetlb"
    # writes to the same file overwrite in a plain dir: the last device rule landed
    assert (root / "devices" / c / "devices.allow").read_text() == "c 10:200 rwm"
    with pytest.raises(CgroupError, match="pids controller is not available"):
        m.apply({"pids": {"limit": 5}})
    with pytest.raises(CgroupError, match="net_cls"):
        m.apply({"network": {"classID": 5}})


def test_manager_state_round_trip(tmp_path):
    _, layout = _fake_hybrid(tmp_path)
    m = manager_for({"cgroupsPath": "/k/c1", "devices": [{"type": "c", "major": 10, "minor": 200}]}, "c1",
                    layout=layout, own={})
    again = from_state(json.loads(json.dumps(m.paths())))
    assert again.paths() == m.paths()
    assert again.home("hugetlb") == V2 and again.home("memory") == V1 and again.home("freezer") == V2


def test_manager_destroy_removes_every_directory(tmp_path):
    root, layout = _fake_hybrid(tmp_path, container="/k/c2")
    m = manager_for({"cgroupsPath": "/k/c2"}, "c2", layout=layout, own={})
    for d in m._dirs():  # a fake cgroup dir holds regular files that rmdir refuses; empty them
        for f in list(__import__("os").listdir(d)):
            __import__("os").unlink(d + "/" + f)
    m.destroy()
    m.destroy()  # idempotent
    assert not any((root / h / "k" / "c2").exists() for h in ("cpu", "memory", "unified"))
    assert (root / "memory" / "k").exists()


def test_relative_path_goes_below_own_cgroup(tmp_path):
    _, layout = _fake_hybrid(tmp_path)
    m = manager_for({"cgroupsPath": "sub"}, "c1", layout=layout, own={"memory": "/k", "": "/k"})
    assert m.v1["memory"].endswith("/memory/k/sub") and m.unified.endswith("/unified/k/sub")
    assert m.v1["cpu"].endswith("/cpu/sub")  # own path "/" in hierarchies not listed


def _fake_v2(tmp_path):
    root = tmp_path / "cg2"
    files = ("cgroup.procs", "cgroup.controllers", "cgroup.subtree_control", "cgroup.freeze", "cgroup.events",
             "memory.max", "memory.swap.max", "memory.low", "cpu.max", "cpu.weight", "pids.max", "io.weight",
             "io.max", "cpuset.cpus")
    for level in ("", "/k", "/k/c1"):
        d = root / level.lstrip("/") if level else root
        d.mkdir(parents=True, exist_ok=True)
        for f in files:
            (d / f).write_text("")
    for level in ("", "/k"):
        (root / level.lstrip("/") / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    info = tmp_path / "mountinfo"
    info.write_text("30 23 0:26 / %s rw shared:4 - cgroup2 cgroup2 rw\n" % root)
    return root, detect(str(info), read_controllers=lambda mnt: ["cpuset", "cpu", "io", "memory", "pids"])


class BpfRecorder:
    def __init__(self):
        self.calls = []

    def bpf_prog_query(self, fd, attach_type):
        return []

    def bpf_prog_load(self, prog_type, insns, license):
        self.calls.append(("load", len(insns) // 8))
        return __import__("os").open("/dev/null", 0)

    def bpf_prog_attach(self, fd, prog_fd, attach_type, flags):
        self.calls.append(("attach", attach_type, flags))


def test_pure_v2_manager(tmp_path):
    root, layout = _fake_v2(tmp_path)
    assert layout.mode == V2
    m = manager_for({"cgroupsPath": "/k/c1"}, "c1", layout=layout, own={"": "/"})
    assert m.v1 == {} and m.unified == str(root / "k" / "c1")
    m.sys = BpfRecorder()
    m.create()
    enabled = "+cpu +cpuset +io +memory +pids"
    assert (root / "cgroup.subtree_control").read_text() == enabled
    assert (root / "k" / "cgroup.subtree_control").read_text() == enabled
    m.apply({"memory": {"limit": 100, "swap": 300}, "cpu": {"shares": 1024, "quota": 5000},
             "pids": {"limit": 7}, "blockIO": {"weight": 10}, "devices": []})
    c = root / "k" / "c1"
    assert (c / "memory.max").read_text() == "100" and (c / "memory.swap.max").read_text() == "200"
    assert (c / "cpu.weight").read_text() == "39" and (c / "cpu.max").read_text() == "5000 100000"
    assert (c / "pids.max").read_text() == "7" and (c / "io.weight").read_text() == "default 1"
    assert [call[0] for call in m.sys.calls] == ["load", "attach"]
    (c / "memory.current").write_text("4096\n")
    with pytest.raises(CgroupError, match="below the current usage 4096"):
        m.apply({"memory": {"limit": 1000, "checkBeforeUpdate": True}})
    m.apply({"memory": {"limit": 8192, "checkBeforeUpdate": True}})
    assert (c / "memory.max").read_text() == "8192"
    (c / "cgroup.events").write_text("populated 1\nfrozen 1\n")   # what the kernel reports once frozen
    m.freeze()
    assert (c / "cgroup.freeze").read_text() == "1" and m.state() == "frozen"


def test_unified_with_only_a_named_v1_hierarchy_drives_everything_through_cgroup2(tmp_path):
    # systemd's "unified" layout with the legacy name=systemd hierarchy kept for old tools
    text = ("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
            "31 30 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n")
    v1, unified = parse_mountinfo(text)
    layout = Layout(v1, unified, frozenset({"cpu", "memory", "pids", "io"}))
    m = manager_for({"cgroupsPath": "/k/c1"}, "c1", layout=layout, own={})
    assert m.mode == HYBRID and set(m.v1) == {"name=systemd"}
    assert [m.home(c) for c in ("memory", "cpu", "blkio", "freezer", "devices", "hugetlb")] == [
        V2, V2, V2, V2, V2, None]


def test_remove_tree_retries_ebusy(tmp_path, monkeypatch):
    import errno
    import os

    from gantry.lowlevel.cgroups import fs
    target = tmp_path / "c"
    (target / "sub").mkdir(parents=True)
    real_rmdir, busy = os.rmdir, {"left": 2}

    def flaky(path):
        if path == str(target) and busy["left"]:
            busy["left"] -= 1
            raise OSError(errno.EBUSY, "Device or resource busy")
        real_rmdir(path)
    monkeypatch.setattr(os, "rmdir", flaky)
    fs.remove_tree(str(target), delay=0.001)
    assert not target.exists() and busy["left"] == 0

    stuck = tmp_path / "stuck"
    stuck.mkdir()
    monkeypatch.setattr(os, "rmdir", lambda p: (_ for _ in ()).throw(OSError(errno.EBUSY, "busy")))
    with pytest.raises(CgroupError, match="rmdir .*stuck: busy"):
        fs.remove_tree(str(stuck), attempts=3, delay=0.001)
