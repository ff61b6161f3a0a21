"""dirspread: the T attribute on ext2/3/4, a quiet no-op elsewhere, other errors raised."""
import errno
import fcntl
import os
import struct

import pytest
from gantry.highlevel.images import dirspread


def test_sets_topdir_where_the_file_system_has_it(tmp_path):
    if not dirspread.spread_subdirs(str(tmp_path)):
        pytest.skip("the file system under %s has no inode flags (not ext2/3/4)" % tmp_path)
    fd = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        flags = struct.unpack("i", fcntl.ioctl(fd, dirspread.FS_IOC_GETFLAGS, struct.pack("i", 0)))[0]
    finally:
        os.close(fd)
    assert flags & dirspread.FS_TOPDIR_FL
    assert dirspread.spread_subdirs(str(tmp_path)) is True       # idempotent


@pytest.mark.parametrize("code,result", [(errno.ENOTTY, False), (errno.EOPNOTSUPP, False), (errno.EPERM, False),
                                         (errno.EIO, None)])
def test_unsupported_is_false_other_errors_raise(tmp_path, monkeypatch, code, result):
    def ioctl(*_args):
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(dirspread.fcntl, "ioctl", ioctl)
    if result is None:
        with pytest.raises(OSError):
            dirspread.spread_subdirs(str(tmp_path))
    else:
        assert dirspread.spread_subdirs(str(tmp_path)) is result


def test_missing_directory_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        dirspread.spread_subdirs(str(tmp_path / "nope"))
