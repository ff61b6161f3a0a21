"""A recording stand-in for Syscalls, for unit tests that run without root.

    sys = FakeSyscalls()
    rootfs.mount_all(sys, ...)
    assert sys.calls[0] == ("mount", "proc", "/r/proc", "proc", MS_NOSUID, None)

Targets given as /proc/self/fd/N are recorded as the path N points to, so
tests see real paths.  ``fail`` maps an operation name (optionally with a
target) to an errno that the next matching call raises.
"""
import os

from . import SyscallError, describe_target


class FakeSyscalls:
    def __init__(self, fail=None):
        self.calls = []
        self.fail = dict(fail or {})
        self.caps = (0, 0, 0)

    def _record(self, op, *args):
        self.calls.append((op,) + args)
        for key in (op, (op, args[0] if args else None), (op, args[1] if len(args) > 1 else None)):
            if key in self.fail:
                raise SyscallError(self.fail[key], "%s %s" % (op, args[1] if op == "mount" else args[0]))

    def mount(self, source, target, fstype, flags=0, data=None):
        self._record("mount", source, describe_target(target), fstype, flags, data)

    def umount2(self, target, flags=0):
        self._record("umount2", describe_target(target), flags)

    def pivot_root(self, new_root, put_old):
        self._record("pivot_root", new_root, put_old)

    def mount_setattr(self, dirfd, path, flags, attr_set, attr_clr=0, propagation=0):
        target = describe_target("/proc/self/fd/%d" % dirfd) if path == "" else path
        self._record("mount_setattr", target, flags, attr_set, attr_clr, propagation)

    def chroot(self, path):
        self._record("chroot", path)

    def unshare(self, flags):
        self._record("unshare", flags)

    def setns(self, fd, nstype=0, what=""):
        self._record("setns", what, nstype)

    def sethostname(self, name):
        self._record("sethostname", name)

    def setdomainname(self, name):
        self._record("setdomainname", name)

    def setgroups(self, gids):
        self._record("setgroups", list(gids))

    def prctl(self, option, arg2=0, arg3=0, arg4=0, arg5=0, what=None):
        self._record("prctl", option, arg2, arg3, arg4, arg5)
        return 0

    def mknod(self, path, mode, dev):
        self._record("mknod", path, mode, dev)
        open(path, "a").close() if os.path.isdir(os.path.dirname(path)) else None

    def loopback_up(self):
        self._record("loopback_up")

    def capget(self, pid=0):
        self._record("capget", pid)
        return self.caps

    def capset(self, effective, permitted, inheritable):
        self._record("capset", effective, permitted, inheritable)
        self.caps = (effective, permitted, inheritable)
