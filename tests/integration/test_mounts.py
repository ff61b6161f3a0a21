"""highlevel/mounts.py against the kernel: a tmpfs mounted with flags and data, unmounted, and errors."""
import errno
import os

import pytest
from gantry.highlevel import mounts
from gantry.highlevel.images.snapshots import is_mounted

pytestmark = pytest.mark.root


def mount_options(path):
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == path:
                return set(fields[5].split(",")), set(line.split(" - ")[1].split()[2].split(","))
    return None


def test_tmpfs_with_flags_and_data_then_umount(tmp_path):
    target = str(tmp_path / "shm")
    os.mkdir(target)
    mounts.mount("shm", target, "tmpfs", mounts.MS_NOSUID | mounts.MS_NODEV | mounts.MS_NOEXEC,
                 "mode=1777,size=1048576")
    try:
        flags, data = mount_options(target)
        assert {"nosuid", "nodev", "noexec"} <= flags
        assert "size=1024k" in data                   # mode=1777 is tmpfs's default: not listed
        assert os.stat(target).st_mode & 0o7777 == 0o1777
    finally:
        mounts.umount(target)
    assert not is_mounted(target)


def test_errors_name_the_operation_and_path(tmp_path):
    with pytest.raises(OSError) as exc:
        mounts.umount(str(tmp_path))
    assert exc.value.errno == errno.EINVAL and str(tmp_path) in str(exc.value) and "umount" in str(exc.value)
    with pytest.raises(OSError) as exc:
        mounts.mount("shm", str(tmp_path / "missing"), "tmpfs")
    assert exc.value.errno == errno.ENOENT and "mount tmpfs on" in str(exc.value)


def test_detach_unmounts_a_busy_mount(tmp_path):
    target = str(tmp_path / "m")
    os.mkdir(target)
    mounts.mount("t", target, "tmpfs")
    fd = os.open(target, os.O_RDONLY)          # a busy mount: umount would say EBUSY
    try:
        with pytest.raises(OSError) as exc:
            mounts.umount(target)
        assert exc.value.errno == errno.EBUSY
        mounts.umount(target, mounts.MNT_DETACH)
        assert not is_mounted(target)
    finally:
        os.close(fd)
