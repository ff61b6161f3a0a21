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

    def cloexec_from(self, first):
        self._record("cloexec_from", first)

    def default_signal(self, sig):
        self._record("default_signal", sig)

    def join_session_keyring(self, name):
        self._record("join_session_keyring", name)
        return 1

    def chroot(self, path):
        self._record("chroot", path)

    def unshare(self, flags):
        self._record("unshare", flags)

    def fork_into_cgroup(self, cgroup_fd, what=""):
        self._record("fork_into_cgroup", what)
        return 0

    def clone3(self, flags, cgroup_fd=-1, what=""):
        self._record("clone3", flags, what)
        return 0

    def setrlimit(self, resource, soft, hard, what=""):
        self._record("setrlimit", resource, soft, hard)

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

    def personality(self, persona):
        self._record("personality", persona)

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

    # ---------------------------------------------------- seccomp and bpf (helper B; see filters.py)
    def seccomp_preload(self):
        self._record("seccomp_preload")

    def seccomp_init(self, default_action):
        self._record("seccomp_init", default_action)
        return "seccomp-ctx"

    def seccomp_release(self, ctx):
        self._record("seccomp_release", ctx)

    def seccomp_attr_set(self, ctx, attr, value):
        self._record("seccomp_attr_set", attr, value)

    def seccomp_arch_add(self, ctx, arch_name):
        self._record("seccomp_arch_add", arch_name)

    def seccomp_arch_known(self, arch_name):
        return arch_name in ("x86_64", "x86", "x32", "aarch64", "arm")

    def seccomp_arch_native_name(self):
        return "x86_64"

    def seccomp_syscall_resolve_name(self, name):
        """A made-up but stable number per name; names starting with "unknown" are unknown (-1)."""
        return -1 if name.startswith("unknown") else sum(map(ord, name)) % 400

    def seccomp_syscall_resolve_name_arch(self, arch_name, name):
        return self.seccomp_syscall_resolve_name(name)

    def seccomp_rule_add(self, ctx, action, number, conditions, what=""):
        self._record("seccomp_rule_add", what or number, action, tuple(conditions))

    def seccomp_load(self, ctx):
        self._record("seccomp_load")

    def seccomp_export_bpf(self, ctx, fd):
        os.write(fd, self.seccomp_export_program(ctx))

    def seccomp_export_program(self, ctx):
        return b"\x06\x00\x00\x00\x00\x00\xff\x7f"   # ret ALLOW: stands for libseccomp's program

    def seccomp_set_mode_filter(self, program, flags):
        self._record("seccomp_set_mode_filter", len(program) // 8, flags)

    def bpf_prog_query(self, target_fd, attach_type):
        self._record("bpf_prog_query", attach_type)
        return list(getattr(self, "attached_programs", ()))

    def bpf_prog_load(self, prog_type, insns, license):
        self._record("bpf_prog_load", prog_type, len(insns) // 8, license)
        return os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)

    def bpf_prog_attach(self, target_fd, prog_fd, attach_type, flags):
        self._record("bpf_prog_attach", attach_type, flags)

    def bpf_prog_detach(self, target_fd, prog_fd, attach_type):
        self._record("bpf_prog_detach", attach_type)

    def bpf_prog_get_fd_by_id(self, prog_id):
        self._record("bpf_prog_get_fd_by_id", prog_id)
        return os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
