"""mount(2) and umount2(2) for gantryd, called directly instead of through a mount(8)/umount(8) child.

A child costs ~4 ms here (fork of a large process, exec, the binary's start-up), and a pod
cycle had seven of them.  gantryd is threaded, but neither call depends on the calling
thread (unlike chdir or setns), so they are made from whichever thread needs them.  Only
what needs no option parsing goes through here: unmounting, and mounts whose flags and
data the caller spells out (a pod's /dev/shm tmpfs).  Overlay and bind mounts of
snapshots keep mount(8) (option strings, relative layer paths from a working directory).

Errors are OSError(errno, "<operation> <path>: <strerror>"), for the caller to wrap in its
domain error, as it did with mount(8)'s stderr.
"""
import ctypes
import os

MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x2, 0x4, 0x8
MNT_DETACH = 0x2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.mount.restype = ctypes.c_int
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
_libc.umount2.restype = ctypes.c_int


def _fail(what, path):
    err = ctypes.get_errno()
    return OSError(err, "%s %s: %s" % (what, path, os.strerror(err)))


def mount(source, target, fstype, flags=0, data=""):
    if _libc.mount(os.fsencode(source), os.fsencode(target), os.fsencode(fstype), flags,
                   os.fsencode(data) if data else None) != 0:
        raise _fail("mount %s on" % fstype, target)


def umount(target, flags=0):
    if _libc.umount2(os.fsencode(target), flags) != 0:
        raise _fail("umount", target)
