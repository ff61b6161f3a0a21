"""The mount sequence of rootfs.prepare/finish against the recording fake: exact mount() arguments, no root."""
import os

import pytest
from gantry.lowlevel import rootfs
from gantry.lowlevel.syscalls import (
    AT_EMPTY_PATH,
    AT_RECURSIVE,
    MNT_DETACH,
    MOUNT_ATTR_RDONLY,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_SLAVE,
    MS_STRICTATIME,
)
from gantry.lowlevel.syscalls.fake import FakeSyscalls


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "chown", lambda *a: None)   # devices are chowned to 0:0 (needs root)
    r = tmp_path / "bundle" / "rootfs"
    (r / "etc").mkdir(parents=True)
    (tmp_path / "bundle" / "data").mkdir()
    return str(tmp_path / "bundle"), str(r)


def mounts(sys):
    return [c for c in sys.calls if c[0] in ("mount", "mount_setattr", "umount2", "pivot_root")]


def test_prepare_mount_sequence(tree):
    bundle, root = tree
    cfg = {"mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755"]},
        {"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro", "rprivate"]},
        {"destination": "/rro", "type": "bind", "source": "data", "options": ["rbind", "rro"]},
    ]}
    sys = FakeSyscalls()
    rootfs.prepare(sys, cfg, rootfs.MountContext(root, bundle))
    got = mounts(sys)
    assert got[0] == ("mount", None, "/", None, MS_SLAVE | MS_REC, None)
    # the mount holding the rootfs's parent becomes private (pivot_root refuses shared parents)
    assert got[1][0] == "mount" and got[1][4] == MS_PRIVATE and root.startswith(got[1][2])
    assert got[2] == ("mount", root, root, "bind", MS_BIND | MS_REC, None)
    assert got[3:] == [
        ("mount", "proc", root + "/proc", "proc", 0, None),
        ("mount", "tmpfs", root + "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755"),
        ("mount", bundle + "/data", root + "/data", None, MS_BIND | MS_REC, None),
        ("mount", None, root + "/data", None, MS_REMOUNT | MS_BIND | MS_RDONLY, None),
        ("mount", None, root + "/data", None, MS_PRIVATE | MS_REC, None),
        ("mount", bundle + "/data", root + "/rro", None, MS_BIND | MS_REC, None),
        ("mount_setattr", root + "/rro", AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0, 0),
    ]
    # default devices and /dev symlinks
    nodes = sorted(c[1][len(root):] for c in sys.calls if c[0] == "mknod")
    assert nodes == ["/dev/full", "/dev/null", "/dev/random", "/dev/tty", "/dev/urandom", "/dev/zero"]
    assert os.readlink(root + "/dev/fd") == "/proc/self/fd"
    assert os.readlink(root + "/dev/stderr") == "/proc/self/fd/2"


def test_symlinked_destination_stays_inside(tree, tmp_path):
    bundle, root = tree
    outside = tmp_path / "host-secret"
    outside.mkdir()
    os.symlink(str(outside), root + "/evil")     # absolute link pointing at a host dir
    cfg = {"mounts": [{"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"}]}
    sys = FakeSyscalls()
    rootfs.prepare(sys, cfg, rootfs.MountContext(root, bundle))
    targets = [c[2] for c in mounts(sys) if c[0] == "mount" and c[3] == "tmpfs"]
    assert targets == [root + str(outside) + "/x"]
    assert not os.path.exists(str(outside / "x"))


def test_bind_source_missing_names_it(tree):
    bundle, root = tree
    cfg = {"mounts": [{"destination": "/x", "type": "bind", "source": "/does/not/exist", "options": ["bind"]}]}
    with pytest.raises(OSError, match="bind mount /does/not/exist to /x: source"):
        rootfs.prepare(FakeSyscalls(), cfg, rootfs.MountContext(root, bundle))


def test_failure_carries_operation_and_target(tree):
    bundle, root = tree
    cfg = {"mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}]}
    sys = FakeSyscalls(fail={("mount", root + "/proc"): 1})
    with pytest.raises(OSError) as err:
        rootfs.prepare(sys, cfg, rootfs.MountContext(root, bundle))
    assert str(err.value) == "mount %s/proc: EPERM (Operation not permitted)" % root


def test_userns_binds_devices_instead_of_mknod(tree):
    bundle, root = tree
    sys = FakeSyscalls()
    rootfs.prepare(sys, {"mounts": []}, rootfs.MountContext(root, bundle, userns=True))
    assert not [c for c in sys.calls if c[0] == "mknod"]
    binds = [(c[1], c[2]) for c in sys.calls if c[0] == "mount" and c[4] == MS_BIND]
    assert ("/dev/null", root + "/dev/null") in binds


def test_pivot_sequence(tree):
    _, root = tree
    sys = FakeSyscalls()
    cwd = os.getcwd()
    try:
        rootfs.pivot(sys, root)
    finally:
        os.chdir(cwd)
    assert mounts(sys) == [("pivot_root", ".", "."), ("mount", None, ".", None, MS_SLAVE | MS_REC, None),
                           ("umount2", ".", MNT_DETACH)]


def test_finish_masks_and_readonly(tmp_path, monkeypatch):
    (tmp_path / "proc" / "sys").mkdir(parents=True)
    (tmp_path / "proc" / "kcore").write_text("")
    monkeypatch.chdir(tmp_path)
    p = str(tmp_path)
    cfg = {"root": {"readonly": True},
           "linux": {"readonlyPaths": [p + "/proc/sys", p + "/absent"],
                     "maskedPaths": [p + "/proc/kcore", p + "/proc/sys", p + "/absent"]}}
    sys = FakeSyscalls()
    rootfs.finish(sys, cfg)
    calls = mounts(sys)
    assert calls[4][1].startswith("/proc/self/fd/")    # the checked /dev/null, by its descriptor
    calls[4] = calls[4][:1] + ("/dev/null",) + calls[4][2:]
    assert calls == [
        ("mount", p + "/proc/sys", p + "/proc/sys", None, MS_BIND | MS_REC, None),
        ("mount", None, p + "/proc/sys", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC, None),
        ("mount", p + "/absent", p + "/absent", None, MS_BIND | MS_REC, None),
        ("mount", None, p + "/absent", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC, None),
        ("mount", "/dev/null", p + "/proc/kcore", None, MS_BIND, None),
        ("mount", "tmpfs", p + "/proc/sys", "tmpfs", MS_RDONLY, None),
        ("mount", None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY, None),
    ]


def test_masking_refuses_a_dev_null_that_is_not_the_null_device(tmp_path, monkeypatch):
    (tmp_path / "secret").write_text("")
    real_open = os.open

    def swapped_open(path, flags, *args, **kw):   # as if the container's /dev/null were a plain file
        return real_open(str(tmp_path / "secret") if path == "/dev/null" else path, flags, *args, **kw)
    monkeypatch.setattr(os, "open", swapped_open)
    sys = FakeSyscalls()
    with pytest.raises(OSError, match="not the null device"):
        rootfs.mask_path(sys, str(tmp_path / "secret"))
    assert sys.calls == []


def test_cgroup_mount_binds_own_cgroups_read_only(tree):
    bundle, root = tree
    cfg = {"mounts": [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                       "options": ["nosuid", "noexec", "nodev", "ro"]}]}
    ctx = rootfs.MountContext(root, bundle, cgroup_view=lambda: {"/sys/fs/cgroup/memory": "/c1"})
    sys = FakeSyscalls()
    rootfs.prepare(sys, cfg, ctx)
    got = [c for c in mounts(sys) if "/sys/fs/cgroup" in str(c[2])]
    ro = MS_NOSUID | MS_NODEV | MS_NOEXEC
    assert got == [
        ("mount", "tmpfs", root + "/sys/fs/cgroup", "tmpfs", ro, "mode=755"),
        ("mount", "/sys/fs/cgroup/memory/c1", root + "/sys/fs/cgroup/memory", None, MS_BIND | MS_REC, None),
        ("mount", None, root + "/sys/fs/cgroup/memory", None, MS_REMOUNT | MS_BIND | ro | MS_RDONLY, None),
        ("mount", None, root + "/sys/fs/cgroup", None, MS_REMOUNT | ro | MS_RDONLY, "mode=755"),
    ]
