"""Ask ext2/3/4 to spread the subdirectories of a directory across the disk (the ``T`` attribute).

gantryd sets it on ``<root>/images/snapshots``: every snapshot directory then gets an inode
block group of its own choosing, as a top-level directory would (ext4's Orlov allocator),
instead of the group of its parent.  It matters on ext4 without a journal (this project's
machines): for 30 s after files are deleted there, every new inode skips the recently freed
ones of its group one by one (ext4 ialloc.c, recently_deleted()), so unpacking a layer next
to where ~6,000 files were just removed made open(O_CREAT) cost ~0.4 ms per file; measured
unpacking the 4 layers of bench/pull right after such a delete: 7.4-10.6 s plain, 1.8-2.2 s
with the attribute on the parent.  Elsewhere (other file systems, or no permission) it is a
no-op.
"""
import errno
import fcntl
import os
import struct

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_TOPDIR_FL = 0x00020000
_IGNORED = (errno.ENOTTY, errno.EOPNOTSUPP, errno.EINVAL, errno.EPERM, errno.EACCES, errno.EROFS)


def spread_subdirs(path):
    """Set FS_TOPDIR_FL on the directory ``path``; True when it is set, False where unsupported."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        flags = struct.unpack("i", fcntl.ioctl(fd, FS_IOC_GETFLAGS, struct.pack("i", 0)))[0]
        if not flags & FS_TOPDIR_FL:
            fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("i", flags | FS_TOPDIR_FL))
        return True
    except OSError as exc:
        if exc.errno in _IGNORED:
            return False
        raise
    finally:
        os.close(fd)
