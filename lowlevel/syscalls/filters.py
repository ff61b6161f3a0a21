"""Syscalls methods for seccomp (libseccomp) and bpf(2) (helper B's section).

Mixed into Syscalls; declarations are in ffibuild.py (SECCOMP, BPF).  libseccomp
is opened on first use only, so a container without seccomp never loads it.
libseccomp reports failure as a negative errno; bpf(2) as -1 and errno.
"""
import os

_BPF_NR = {"x86_64": 321, "aarch64": 280, "ppc64le": 361, "s390x": 351, "riscv64": 280}
_SECCOMP_NR = {"x86_64": 317, "aarch64": 277, "ppc64le": 358, "s390x": 348, "riscv64": 277}

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16


class FilterCalls:
    """seccomp_* and bpf_* methods; needs self.ffi, self.lib, self._check (see Syscalls)."""

    _seccomp = None

    def _libseccomp(self):
        if self._seccomp is None:
            try:
                type(self)._seccomp = self.ffi.dlopen("libseccomp.so.2")
            except OSError as err:
                raise OSError(2, "seccomp: cannot load libseccomp.so.2 (install libseccomp2): %s" % err) from None
        return self._seccomp

    def _scmp(self, rc, operation):
        from . import SyscallError
        if rc < 0:
            raise SyscallError(-rc, operation)
        return rc

    # -------------------------------------------------------------- seccomp
    def seccomp_preload(self):
        """dlopen libseccomp while the host's /usr/lib is still reachable."""
        self._libseccomp()

    def seccomp_init(self, default_action):
        ctx = self._libseccomp().seccomp_init(default_action)
        if ctx == self.ffi.NULL:
            from . import SyscallError
            raise SyscallError(22, "seccomp_init default action %#x" % default_action)
        return ctx

    def seccomp_release(self, ctx):
        self._libseccomp().seccomp_release(ctx)

    def seccomp_attr_set(self, ctx, attr, value):
        self._scmp(self._libseccomp().seccomp_attr_set(ctx, attr, value), "seccomp_attr_set %d=%d" % (attr, value))

    def seccomp_arch_add(self, ctx, arch_name):
        lib = self._libseccomp()
        token = lib.seccomp_arch_resolve_name(arch_name.encode())
        if token == 0:
            from . import SyscallError
            raise SyscallError(22, "seccomp architecture %s: unknown to libseccomp" % arch_name)
        rc = lib.seccomp_arch_add(ctx, token)
        if rc != -17:  # EEXIST: the native architecture is in every new filter
            self._scmp(rc, "seccomp_arch_add %s" % arch_name)

    def seccomp_syscall_resolve_name(self, name):
        """The native number, a libseccomp pseudo number (< -1), or -1 when unknown."""
        return self._libseccomp().seccomp_syscall_resolve_name(name.encode())

    def seccomp_arch_known(self, arch_name):
        """Whether this libseccomp can build filters for ``arch_name``."""
        return self._libseccomp().seccomp_arch_resolve_name(arch_name.encode()) != 0

    def seccomp_syscall_resolve_name_arch(self, arch_name, name):
        """The number of ``name`` on ``arch_name`` (libseccomp's arch name), negative when it has none."""
        lib = self._libseccomp()
        token = lib.seccomp_arch_resolve_name(arch_name.encode())
        return lib.seccomp_syscall_resolve_name_arch(token, name.encode()) if token else -1

    def seccomp_arch_native_name(self):
        """libseccomp's name of this machine's architecture."""
        return {0xC000003E: "x86_64", 0xC00000B7: "aarch64", 0x40000028: "arm", 0x40000003: "x86",
                0xC0000015: "ppc64", 0x80000015: "ppc64le", 0x80000016: "s390x",
                0xC00000F3: "riscv64"}.get(self._libseccomp().seccomp_arch_native(), "x86_64")

    def seccomp_export_program(self, ctx):
        """The filter libseccomp generated, as sock_filter bytes."""
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            self.seccomp_export_bpf(ctx, fd)
            size = os.lseek(fd, 0, os.SEEK_END)
            return os.pread(fd, size, 0)
        finally:
            os.close(fd)

    def seccomp_set_mode_filter(self, program, flags):
        """seccomp(SECCOMP_SET_MODE_FILTER, flags, program): install sock_filter bytes in this thread."""
        ffi = self.ffi
        code = ffi.new("char[]", program)
        prog = ffi.new("struct sock_fprog *", {"len": len(program) // 8, "filter": code})
        nr = _SECCOMP_NR.get(os.uname().machine, 317)
        rc = self.lib.syscall(ffi.cast("long", nr), ffi.cast("unsigned int", 1), ffi.cast("unsigned int", flags),
                              prog)
        self._check(rc, "seccomp SECCOMP_SET_MODE_FILTER (%d instructions, flags %#x)" % (len(program) // 8, flags))

    def seccomp_rule_add(self, ctx, action, number, conditions, what=""):
        ffi = self.ffi
        arr = ffi.new("struct scmp_arg_cmp[]", [{"arg": a, "op": op, "datum_a": x, "datum_b": y}
                                                for a, op, x, y in conditions] or 1)
        rc = self._libseccomp().seccomp_rule_add_array(ctx, action, number, len(conditions), arr)
        self._scmp(rc, "seccomp rule for %s (action %#x)" % (what or number, action))

    def seccomp_load(self, ctx):
        self._scmp(self._libseccomp().seccomp_load(ctx), "seccomp_load")

    def seccomp_export_bpf(self, ctx, fd):
        self._scmp(self._libseccomp().seccomp_export_bpf(ctx, fd), "seccomp_export_bpf")

    # ------------------------------------------------------------------ bpf
    def _bpf(self, cmd, attr, operation):
        ffi = self.ffi
        nr = _BPF_NR.get(os.uname().machine, 321)
        rc = self.lib.syscall(ffi.cast("long", nr), ffi.cast("int", cmd), attr,
                              ffi.cast("unsigned int", ffi.sizeof(attr[0])))
        return self._check(rc, operation)

    def bpf_prog_load(self, prog_type, insns, license):
        ffi = self.ffi
        code = ffi.new("char[]", insns)
        lic = ffi.new("char[]", license)
        log = ffi.new("char[]", 65536)
        attr = ffi.new("struct bpf_load_attr *")
        attr.prog_type = prog_type
        attr.insn_cnt = len(insns) // 8
        attr.insns = int(ffi.cast("uintptr_t", code))
        attr.license = int(ffi.cast("uintptr_t", lic))
        attr.log_level = 1
        attr.log_size = len(log)
        attr.log_buf = int(ffi.cast("uintptr_t", log))
        try:
            return self._bpf(BPF_PROG_LOAD, attr, "bpf BPF_PROG_LOAD type %d" % prog_type)
        except OSError as err:
            verifier = ffi.string(log).decode(errors="replace").strip()
            if verifier:
                raise OSError(err.errno, "%s; verifier: %s" % (err, verifier[-500:])) from None
            raise

    def bpf_prog_attach(self, target_fd, prog_fd, attach_type, flags):
        attr = self.ffi.new("struct bpf_attach_attr *", {"target_fd": target_fd, "attach_bpf_fd": prog_fd,
                                                         "attach_type": attach_type, "attach_flags": flags})
        self._bpf(BPF_PROG_ATTACH, attr, "bpf BPF_PROG_ATTACH type %d to %s" % (attach_type, _fd_path(target_fd)))

    def bpf_prog_detach(self, target_fd, prog_fd, attach_type):
        attr = self.ffi.new("struct bpf_attach_attr *", {"target_fd": target_fd, "attach_bpf_fd": prog_fd,
                                                         "attach_type": attach_type})
        self._bpf(BPF_PROG_DETACH, attr, "bpf BPF_PROG_DETACH type %d from %s" % (attach_type, _fd_path(target_fd)))

    def bpf_prog_query(self, target_fd, attach_type):
        """Ids of the programs attached to target_fd for attach_type."""
        ffi = self.ffi
        ids = ffi.new("uint32_t[]", 64)
        attr = ffi.new("struct bpf_query_attr *", {"target_fd": target_fd, "attach_type": attach_type,
                                                   "prog_ids": int(ffi.cast("uintptr_t", ids)), "prog_cnt": 64})
        self._bpf(BPF_PROG_QUERY, attr, "bpf BPF_PROG_QUERY %s" % _fd_path(target_fd))
        return [ids[i] for i in range(attr.prog_cnt)]

    def bpf_prog_get_fd_by_id(self, prog_id):
        attr = self.ffi.new("struct bpf_id_attr *", {"prog_id": prog_id})
        return self._bpf(BPF_PROG_GET_FD_BY_ID, attr, "bpf BPF_PROG_GET_FD_BY_ID %d" % prog_id)


def _fd_path(fd):
    try:
        return os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        return "fd %d" % fd
