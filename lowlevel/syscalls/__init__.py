"""Kernel calls of gantry-oci behind one object.

Code receives a ``Syscalls`` instance; unit tests pass ``fake.FakeSyscalls``
instead and assert the exact arguments.  Every failing call raises
``SyscallError`` (an OSError) whose text names the operation and the path:
``mount proc to /proc: EPERM (Operation not permitted)``.

The cffi declarations live in ffibuild.py; ``_ffi.py`` is generated from it.
"""
import errno as _errno
import os

from .filters import FilterCalls  # seccomp_* and bpf_* methods (helper B)

# mount(2) flags
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_UNBINDABLE = 0x20000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_SHARED = 0x100000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MS_LAZYTIME = 0x2000000
MNT_DETACH = 0x2
# mount_setattr(2)
AT_RECURSIVE = 0x8000
AT_EMPTY_PATH = 0x1000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR__ATIME = 0x70
MOUNT_ATTR_RELATIME = 0x0
MOUNT_ATTR_NOATIME = 0x10
MOUNT_ATTR_STRICTATIME = 0x20
MOUNT_ATTR_NODIRATIME = 0x80
MOUNT_ATTR_NOSYMFOLLOW = 0x200000

# clone(2) namespace flags
CLONE_NEWTIME = 0x80
CLONE_NEWNS = 0x20000
CLONE_NEWCGROUP = 0x2000000
CLONE_NEWUTS = 0x4000000
CLONE_NEWIPC = 0x8000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_INTO_CGROUP = 0x200000000   # clone3 only

# prctl(2)
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

# syscall numbers without a libc wrapper (x86_64, aarch64)
_SYSCALLS = {
    "x86_64": {"pivot_root": 155, "mount_setattr": 442, "keyctl": 250, "close_range": 436, "rt_sigaction": 13,
               "clone3": 435},
    "aarch64": {"pivot_root": 41, "mount_setattr": 442, "keyctl": 219, "close_range": 436, "rt_sigaction": 134,
                "clone3": 435},
}


class SyscallError(OSError):
    """OSError whose text is ``<operation> <what>: <ERRNO> (<strerror>)``."""

    def __init__(self, err, operation):
        super().__init__(err, os.strerror(err))
        self.operation = operation

    def __str__(self):
        return "%s: %s (%s)" % (self.operation, _errno.errorcode.get(self.errno, self.errno), self.strerror)


def _c(s):
    return s.encode() if isinstance(s, str) else s


class Syscalls(FilterCalls):  # seccomp_* and bpf_* methods live in filters.py (helper B)
    """Thin wrappers over libc; each failure raises SyscallError naming its target."""

    def __init__(self):
        from ._ffi import ffi
        self.ffi = ffi
        self.lib = ffi.dlopen(None)
        self._nr = _SYSCALLS.get(os.uname().machine, _SYSCALLS["x86_64"])

    def _check(self, rc, operation):
        """rc, or SyscallError naming operation (a callable gives the text only on failure: a path
        behind /proc/self/fd costs a readlink, and most calls succeed)."""
        if rc == -1:
            err = self.ffi.errno
            raise SyscallError(err, operation() if callable(operation) else operation)
        return rc

    def mount(self, source, target, fstype, flags=0, data=None):
        ffi = self.ffi
        rc = self.lib.mount(_c(source) if source is not None else ffi.NULL, _c(target),
                            _c(fstype) if fstype is not None else ffi.NULL, flags,
                            _c(data) if data else ffi.NULL)
        self._check(rc, lambda: "mount %s to %s" % (source or fstype or "none", describe_target(target)))

    def umount2(self, target, flags=0):
        self._check(self.lib.umount2(_c(target), flags), lambda: "umount %s" % describe_target(target))

    def pivot_root(self, new_root, put_old):
        ffi = self.ffi
        rc = self.lib.syscall(ffi.cast("long", self._nr["pivot_root"]), ffi.new("char[]", _c(new_root)),
                              ffi.new("char[]", _c(put_old)))
        self._check(rc, lambda: "pivot_root %s" % describe_target(new_root))

    def mount_setattr(self, dirfd, path, flags, attr_set, attr_clr=0, propagation=0):
        ffi = self.ffi
        attr = ffi.new("struct mount_attr *", {"attr_set": attr_set, "attr_clr": attr_clr,
                                               "propagation": propagation})
        rc = self.lib.syscall(ffi.cast("long", self._nr["mount_setattr"]), ffi.cast("int", dirfd),
                              ffi.new("char[]", _c(path)), ffi.cast("unsigned int", flags), attr,
                              ffi.cast("size_t", ffi.sizeof("struct mount_attr")))
        self._check(rc, lambda: "mount_setattr %s" % describe_target(path))

    def cloexec_from(self, first):
        """close_range(first, ~0, CLOSE_RANGE_CLOEXEC): every descriptor >= first closes at execve."""
        ffi = self.ffi
        rc = self.lib.syscall(ffi.cast("long", self._nr["close_range"]), ffi.cast("unsigned int", first),
                              ffi.cast("unsigned int", 0xFFFFFFFF), ffi.cast("unsigned int", 4))
        self._check(rc, "close_range %d.. CLOEXEC" % first)

    def default_signal(self, sig):
        """rt_sigaction(sig, SIG_DFL) straight to the kernel.

        glibc's sigaction refuses signals 32 and 33 (its own SIGCANCEL and
        SIGSETXID), yet a parent may have left them ignored (GNU make does),
        and an ignored disposition survives execve into the container.  A
        zeroed kernel sigaction is SIG_DFL with no flags and an empty mask.
        """
        ffi = self.ffi
        act = ffi.new("char[]", 32)   # struct kernel_sigaction, all zero; 8-byte sigset below
        rc = self.lib.syscall(ffi.cast("long", self._nr["rt_sigaction"]), ffi.cast("int", sig), act, ffi.NULL,
                              ffi.cast("size_t", 8))
        self._check(rc, "rt_sigaction %d SIG_DFL" % sig)

    def join_session_keyring(self, name):
        """keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a new session keyring, not the host's."""
        ffi = self.ffi
        rc = self.lib.syscall(ffi.cast("long", self._nr["keyctl"]), ffi.cast("int", 1),
                              ffi.new("char[]", _c(name)))
        return self._check(rc, "keyctl join session keyring %s" % name)

    def chroot(self, path):
        self._check(self.lib.chroot(_c(path)), "chroot %s" % path)

    def unshare(self, flags):
        self._check(self.lib.unshare(flags), "unshare %s" % namespace_names(flags))

    def fork_into_cgroup(self, cgroup_fd, what=""):
        """fork(2) whose child starts in the cgroup2 directory open as cgroup_fd (clone3 with
        CLONE_INTO_CGROUP): no cgroup.procs write, so no wait for an RCU grace period.  Returns the
        child's pid, 0 in the child.  Only for a single-threaded process (Python's own after-fork
        bookkeeping is skipped: no lock is held across it and no thread is lost).
        """
        return self.clone3(0, cgroup_fd, what)

    def clone3(self, flags, cgroup_fd=-1, what=""):
        """clone3(2) as a fork: the child is born in the new namespaces of flags (CLONE_NEW*) and, when
        cgroup_fd >= 0, in that cgroup2 directory (CLONE_INTO_CGROUP).  Returns the child's pid, 0 in
        the child.  The same caveat as fork_into_cgroup: for a single-threaded process only.
        """
        ffi = self.ffi
        args = ffi.new("uint64_t[11]")   # struct clone_args, CLONE_ARGS_SIZE_VER2 (88 bytes)
        args[0] = flags | (CLONE_INTO_CGROUP if cgroup_fd >= 0 else 0)
        args[4] = 17                     # exit_signal: SIGCHLD
        args[10] = max(cgroup_fd, 0)
        rc = self.lib.syscall(ffi.cast("long", self._nr["clone3"]), args, ffi.cast("size_t", 88))
        where = " into cgroup %s" % what if cgroup_fd >= 0 else ""
        self._check(rc, "clone3 %s%s" % (namespace_names(flags) if flags else "", where))
        return rc

    def setns(self, fd, nstype=0, what=""):
        self._check(self.lib.setns(fd, nstype), "setns %s" % (what or namespace_names(nstype)))

    def sethostname(self, name):
        b = _c(name)
        self._check(self.lib.sethostname(b, len(b)), "sethostname %s" % name)

    def setdomainname(self, name):
        b = _c(name)
        self._check(self.lib.setdomainname(b, len(b)), "setdomainname %s" % name)

    def setgroups(self, gids):
        arr = self.ffi.new("uint32_t[]", list(gids) or [0])
        self._check(self.lib.setgroups(len(gids), arr), "setgroups %s" % list(gids))

    def prctl(self, option, arg2=0, arg3=0, arg4=0, arg5=0, what=None):
        return self._check(self.lib.prctl(option, arg2, arg3, arg4, arg5), what or "prctl %d" % option)

    def mknod(self, path, mode, dev):
        self._check(self.lib.mknod(_c(path), mode, dev), "mknod %s" % path)

    def setrlimit(self, resource, soft, hard, what=""):
        """setrlimit(2) (64-bit limits; RLIM_INFINITY is 2**64-1), without the resource module's dlopen."""
        lim = self.ffi.new("struct rlimit64_t *", {"cur": soft, "max": hard})
        self._check(self.lib.setrlimit(resource, lim), lambda: "setrlimit %s" % (what or resource))

    def personality(self, persona):
        """personality(2): the execution domain (PER_LINUX, PER_LINUX32 = what `uname -m` reports)."""
        self._check(self.lib.personality(persona), "personality %#x" % persona)

    def loopback_up(self):
        """Set IFF_UP on lo in the current network namespace."""
        ffi, lib = self.ffi, self.lib
        sock = self._check(lib.socket(2, 2 | 0o2000000, 0), "socket AF_INET")  # SOCK_DGRAM|SOCK_CLOEXEC
        try:
            req = ffi.new("struct ifreq_flags *")
            req.name = b"lo"
            self._check(lib.ioctl(sock, ffi.cast("unsigned long", 0x8913), req), "ioctl SIOCGIFFLAGS lo")
            req.flags |= 1
            self._check(lib.ioctl(sock, ffi.cast("unsigned long", 0x8914), req), "ioctl SIOCSIFFLAGS lo")
        finally:
            lib.close(sock)

    def capget(self, pid=0):
        """(effective, permitted, inheritable) as 64-bit ints (capability version 3)."""
        ffi = self.ffi
        hdr = ffi.new("cap_header_t *", {"version": 0x20080522, "pid": pid})
        data = ffi.new("cap_data_t[2]")
        self._check(self.lib.capget(hdr, data), "capget %d" % pid)
        return tuple(getattr(data[0], k) | (getattr(data[1], k) << 32)
                     for k in ("effective", "permitted", "inheritable"))

    def capset(self, effective, permitted, inheritable):
        ffi = self.ffi
        hdr = ffi.new("cap_header_t *", {"version": 0x20080522, "pid": 0})
        data = ffi.new("cap_data_t[2]")
        for i in (0, 1):
            data[i].effective = (effective >> (32 * i)) & 0xFFFFFFFF
            data[i].permitted = (permitted >> (32 * i)) & 0xFFFFFFFF
            data[i].inheritable = (inheritable >> (32 * i)) & 0xFFFFFFFF
        self._check(self.lib.capset(hdr, data), "capset")


_NS_NAMES = ((CLONE_NEWUSER, "user"), (CLONE_NEWNS, "mnt"), (CLONE_NEWPID, "pid"), (CLONE_NEWNET, "net"),
             (CLONE_NEWIPC, "ipc"), (CLONE_NEWUTS, "uts"), (CLONE_NEWCGROUP, "cgroup"), (CLONE_NEWTIME, "time"))


def namespace_names(flags):
    names = [n for f, n in _NS_NAMES if flags & f]
    return ",".join(names) if names else "namespaces"


def describe_target(path):
    """/proc/self/fd/N targets are shown as the path they point to."""
    p = path.decode() if isinstance(path, bytes) else path
    if p.startswith("/proc/self/fd/"):
        try:
            return os.readlink(p)
        except OSError:
            return p
    return p


_instance = None


def get():
    """The process-wide Syscalls (created on first use)."""
    global _instance
    if _instance is None:
        _instance = Syscalls()
    return _instance
