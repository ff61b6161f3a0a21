"""Seccomp filters from the OCI ``linux.seccomp`` section, compiled by libseccomp.

``validate(seccomp)`` checks the whole schema and raises SeccompError naming
the field.  ``plan(seccomp)`` is the pure translation: numeric actions, the
architectures, filter attributes for the flags, and one rule per syscall name
(several when one argument index appears twice, as runc does: conditions on
the same argument are alternatives, conditions on different ones must all
hold).  ``load(sys, seccomp)`` drives libseccomp through the Syscalls object:

    ctx = seccomp_init(defaultAction)
    seccomp_attr_set(ctx, CTL_NNP, 0)          # no_new_privs only if the config asks
    seccomp_arch_add(ctx, token)               # each listed architecture
    seccomp_attr_set(ctx, TSYNC/LOG/SSB, 1)    # the flags
    seccomp_rule_add_array(ctx, action, nr, conditions)   # each rule
    seccomp_load(ctx)       # or: ENOSYS stub + seccomp_export_bpf(ctx) -> seccomp(2)
    seccomp_release(ctx)

Decisions, written down:
- A syscall name libseccomp does not know on this architecture is skipped (a
  profile lists syscalls of every architecture; runc does the same); load()
  returns the skipped names.
- A rule whose action equals the default action is skipped (libseccomp refuses
  it and it changes nothing).
- errnoRet/defaultErrnoRet only go with ERRNO and TRACE; without them ERRNO
  returns EPERM and TRACE passes EPERM as its data.
- SCMP_ACT_NOTIFY needs a seccomp agent (listenerPath); gantry-oci does not
  talk to agents, so it is a clear error.
- Syscalls newer than the profile (numbered above the highest it names, per
  architecture) get ENOSYS instead of the default action, as with runc: a few
  classic-BPF instructions go in front of libseccomp's program, and the whole
  filter is installed with seccomp(2) (flags passed as the kernel's own).
  Default actions ALLOW, LOG and ERRNO(ENOSYS) need no stub and keep
  libseccomp's seccomp_load().

When to load (the init's job): without noNewPrivileges, loading needs
CAP_SYS_ADMIN, so the filter goes in before capabilities.finish(); with
noNewPrivileges, set PR_SET_NO_NEW_PRIVS and load as the last step before
execve.  Either way every syscall the init makes afterwards must be allowed.
"""
import errno
import struct

ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000,
    "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000,
    "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000,
    "SCMP_ACT_ALLOW": 0x7FFF0000,
    "SCMP_ACT_NOTIFY": 0x7FC00000,
}
WITH_DATA = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")

OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
             "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}

# OCI architecture name -> libseccomp's name for seccomp_arch_resolve_name()
ARCHITECTURES = {
    "SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
    "SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64",
    "SCMP_ARCH_MIPS": "mips", "SCMP_ARCH_MIPS64": "mips64", "SCMP_ARCH_MIPS64N32": "mips64n32",
    "SCMP_ARCH_MIPSEL": "mipsel", "SCMP_ARCH_MIPSEL64": "mipsel64", "SCMP_ARCH_MIPSEL64N32": "mipsel64n32",
    "SCMP_ARCH_PPC": "ppc", "SCMP_ARCH_PPC64": "ppc64", "SCMP_ARCH_PPC64LE": "ppc64le",
    "SCMP_ARCH_S390": "s390", "SCMP_ARCH_S390X": "s390x",
    "SCMP_ARCH_PARISC": "parisc", "SCMP_ARCH_PARISC64": "parisc64",
    "SCMP_ARCH_RISCV64": "riscv64", "SCMP_ARCH_LOONGARCH64": "loongarch64",
    "SCMP_ARCH_M68K": "m68k", "SCMP_ARCH_SH": "sh", "SCMP_ARCH_SHEB": "sheb",
}

# libseccomp filter attributes (enum scmp_filter_attr)
ATTR_CTL_NNP = 3
ATTR_CTL_TSYNC = 4
ATTR_CTL_LOG = 6
ATTR_CTL_SSB = 7
ATTR_API_SYSRAWRC = 9
FLAGS = {"SECCOMP_FILTER_FLAG_TSYNC": ATTR_CTL_TSYNC,
         "SECCOMP_FILTER_FLAG_LOG": ATTR_CTL_LOG,
         "SECCOMP_FILTER_FLAG_SPEC_ALLOW": ATTR_CTL_SSB}
UNSUPPORTED_FLAGS = ("SECCOMP_FILTER_FLAG_NEW_LISTENER", "SECCOMP_FILTER_FLAG_TSYNC_ESRCH",
                     "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
MAX_ARGS = 6
UNKNOWN_SYSCALL = -1    # __NR_SCMP_ERROR; other negative numbers are libseccomp's multiplexed calls


class SeccompError(ValueError):
    """linux.seccomp is malformed or asks for something unsupported."""


def _int(value, where, bits=64):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise SeccompError("%s: %r is not an unsigned %d-bit number" % (where, value, bits))
    return value


def action_value(name, errno_ret, where):
    """The numeric libseccomp action for an OCI action name and its errnoRet."""
    if name not in ACTIONS:
        raise SeccompError("%s: unknown action %r" % (where, name))
    if name == "SCMP_ACT_NOTIFY":
        raise SeccompError("%s: SCMP_ACT_NOTIFY needs a seccomp agent (listenerPath), which gantry-oci "
                           "does not support" % where)
    if errno_ret is not None and name not in WITH_DATA:
        raise SeccompError("%s: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s"
                           % (where, name))
    if name in WITH_DATA:
        data = errno.EPERM if errno_ret is None else _int(errno_ret, where + ".errnoRet", 16)
        return ACTIONS[name] | data
    return ACTIONS[name]


def _conditions(args, where):
    conds = []
    for i, arg in enumerate(args or ()):
        at = "%s.args[%d]" % (where, i)
        if not isinstance(arg, dict):
            raise SeccompError("%s: must be an object" % at)
        index = arg.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < MAX_ARGS:
            raise SeccompError("%s.index: %r is not an argument index 0..5" % (at, index))
        op = arg.get("op")
        if op not in OPERATORS:
            raise SeccompError("%s.op: unknown operator %r" % (at, op))
        value = _int(arg.get("value", 0), at + ".value")
        value_two = _int(arg.get("valueTwo", 0), at + ".valueTwo")
        # MASKED_EQ: (arg & value) == valueTwo; the others compare with value.
        conds.append((index, OPERATORS[op], value, value_two if op == "SCMP_CMP_MASKED_EQ" else 0))
    return conds


def _split(conds):
    """One rule with every condition, or one rule per condition when an index repeats."""
    if not conds:
        return [()]
    indexes = [c[0] for c in conds]
    if len(set(indexes)) != len(indexes):
        return [(c,) for c in conds]
    return [tuple(conds)]


def plan(seccomp):
    """(default_action, [arch names], [(attr, value)], [(action, syscall name, conditions)]).

    Raises SeccompError for anything malformed: this is the validation.
    """
    if not isinstance(seccomp, dict):
        raise SeccompError("linux.seccomp: must be an object")
    if "defaultAction" not in seccomp:
        raise SeccompError("linux.seccomp.defaultAction: required")
    default = action_value(seccomp["defaultAction"], seccomp.get("defaultErrnoRet"), "linux.seccomp.defaultAction")
    arches = []
    for name in seccomp.get("architectures") or ():
        if name not in ARCHITECTURES:
            raise SeccompError("linux.seccomp.architectures: unknown architecture %r" % (name,))
        arches.append(ARCHITECTURES[name])
    attrs = []
    for flag in seccomp.get("flags") or ():
        if flag in UNSUPPORTED_FLAGS:
            raise SeccompError("linux.seccomp.flags: %s is not supported" % flag)
        if flag not in FLAGS:
            raise SeccompError("linux.seccomp.flags: unknown flag %r" % (flag,))
        attrs.append((FLAGS[flag], 1))
    rules = []
    for i, entry in enumerate(seccomp.get("syscalls") or ()):
        where = "linux.seccomp.syscalls[%d]" % i
        if not isinstance(entry, dict):
            raise SeccompError("%s: must be an object" % where)
        names = entry.get("names")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise SeccompError("%s.names: must be a non-empty list of syscall names" % where)
        action = action_value(entry.get("action"), entry.get("errnoRet"), where + ".action")
        conds = _conditions(entry.get("args"), where)
        if action == default:
            continue
        for name in names:
            for group in _split(conds):
                rules.append((action, name, group))
    return default, arches, attrs, rules


def features(sys=None):
    """The runtime-spec features document's "seccomp" object: what validate() and load() accept."""
    archs = sorted(ARCHITECTURES)
    try:
        if sys is None:
            from .syscalls import get
            sys = get()
        archs = [a for a in archs if sys.seccomp_arch_known(ARCHITECTURES[a])]
    except (OSError, AttributeError, ImportError):
        pass   # no libseccomp here: list what the table knows
    return {"enabled": True,
            "actions": sorted(a for a in ACTIONS if a != "SCMP_ACT_NOTIFY"),
            "operators": sorted(OPERATORS),
            "archs": archs,
            "knownFlags": sorted(set(FLAGS) | set(UNSUPPORTED_FLAGS)),
            "supportedFlags": sorted(FLAGS)}


def preload(sys=None):
    """Open libseccomp now: the init calls this before pivot_root, after which the
    host's shared libraries are out of reach and load() could not dlopen it."""
    if sys is None:
        from .syscalls import get
        sys = get()
    sys.seccomp_preload()


def validate(seccomp):
    if seccomp is not None:
        plan(seccomp)


# ---------------------------------------------------------------- ENOSYS stub
# A profile written before a syscall existed would answer it with the default
# action, often EPERM; C libraries fall back to older calls only on ENOSYS
# (clone3 -> clone, fchmodat2 -> fchmodat).  So, as runc does, syscalls numbered
# above the highest one the profile names (per architecture) get ENOSYS from a
# few classic-BPF instructions placed before libseccomp's program.
AUDIT_ARCH = {"x86_64": 0xC000003E, "x86": 0x40000003, "aarch64": 0xC00000B7, "arm": 0x40000028,
              "ppc64le": 0xC0000015, "ppc64": 0x80000015, "s390x": 0x80000016, "riscv64": 0xC00000F3}
X32_BIT = 0x40000000
RET_ENOSYS = 0x00050000 | errno.ENOSYS
KERNEL_FLAGS = {ATTR_CTL_TSYNC: 1, ATTR_CTL_LOG: 2, ATTR_CTL_SSB: 4}
_LD_ABS_W, _JEQ, _JGT, _JSET, _JA, _RET = 0x20, 0x15, 0x25, 0x45, 0x05, 0x06


def enosys_stub(maxima):
    """sock_filter bytes: for each (arch name, highest syscall number) answer higher numbers with ENOSYS.

    ``maxima`` maps libseccomp arch names to the highest number the profile names; "x32"
    shares x86_64's audit arch and is told apart by the X32 bit.  Everything else falls
    through to the program that follows the stub.
    """
    code = []   # instructions (op, jt, jf, k) with label names as jump targets, and ("label", name) marks
    blocks = [a for a in maxima if a in AUDIT_ARCH]
    for i, arch in enumerate(blocks):
        nxt = "arch%d" % (i + 1)
        code += [(_LD_ABS_W, 0, 0, 4),                          # A = arch
                 (_JEQ, 0, nxt, AUDIT_ARCH[arch]),
                 (_LD_ABS_W, 0, 0, 0)]                          # A = syscall number
        if arch == "x86_64" and "x32" in maxima:
            code += [(_JSET, "x32", 0, X32_BIT),
                     (_JGT, "enosys", "program", maxima["x86_64"]),
                     ("label", "x32"),
                     (_JGT, "enosys", "program", maxima["x32"])]
        else:
            if arch == "x86_64":
                code.append((_JSET, "program", 0, X32_BIT))      # x32 calls: libseccomp's program decides
            code.append((_JGT, "enosys", "program", maxima[arch]))
        code.append(("label", nxt))
    code += [(_JA, 0, 0, "program"), ("label", "enosys"), (_RET, 0, 0, RET_ENOSYS), ("label", "program")]
    labels, pc = {}, 0
    for item in code:
        if item[0] == "label":
            labels[item[1]] = pc
        else:
            pc += 1
    out, pc = [], 0
    for item in code:
        if item[0] == "label":
            continue
        op, jt, jf, k = item
        if op == _JA:
            k = labels[k] - pc - 1
        jt = labels[jt] - pc - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - pc - 1 if isinstance(jf, str) else jf
        out.append(struct.pack("<HBBI", op, jt, jf, k))
        pc += 1
    return b"".join(out)


def _maxima(sys, arches, names):
    maxima = {}
    for arch in arches:
        numbers = [sys.seccomp_syscall_resolve_name_arch(arch, name) for name in names]
        numbers = [n & ~X32_BIT if arch == "x32" else n for n in numbers if n >= 0]
        if numbers:
            maxima[arch] = max(numbers) | (X32_BIT if arch == "x32" else 0)
    return maxima


def _wants_stub(default, seccomp):
    return (default not in (ACTIONS["SCMP_ACT_ALLOW"], ACTIONS["SCMP_ACT_LOG"], RET_ENOSYS)
            and any(entry.get("names") for entry in seccomp.get("syscalls") or ()))


def load(sys, seccomp):
    """Compile and install the filter in this process; returns the syscall names skipped."""
    default, arches, attrs, rules = plan(seccomp)
    ctx = sys.seccomp_init(default)
    skipped = []
    try:
        sys.seccomp_attr_set(ctx, ATTR_CTL_NNP, 0)
        try:
            sys.seccomp_attr_set(ctx, ATTR_API_SYSRAWRC, 1)
        except OSError:
            pass  # older libseccomp: errors are less precise, nothing else changes
        for arch in arches:
            sys.seccomp_arch_add(ctx, arch)
        for attr, value in attrs:
            sys.seccomp_attr_set(ctx, attr, value)
        numbers = {}
        for action, name, conds in rules:
            if name not in numbers:
                numbers[name] = sys.seccomp_syscall_resolve_name(name)
                if numbers[name] == UNKNOWN_SYSCALL:
                    skipped.append(name)
            if numbers[name] != UNKNOWN_SYSCALL:
                sys.seccomp_rule_add(ctx, action, numbers[name], conds, what=name)
        if _wants_stub(default, seccomp):
            _load_with_stub(sys, ctx, seccomp, arches, attrs)
        else:
            sys.seccomp_load(ctx)
    finally:
        sys.seccomp_release(ctx)
    return skipped


def _load_with_stub(sys, ctx, seccomp, arches, attrs):
    """Install ENOSYS stub + libseccomp's program with seccomp(2) and the kernel's flags."""
    names = sorted({n for entry in seccomp.get("syscalls") or () for n in entry.get("names") or ()})
    in_filter = list(dict.fromkeys([sys.seccomp_arch_native_name()] + list(arches)))
    flags = 0
    for attr, _ in attrs:
        flags |= KERNEL_FLAGS[attr]
    program = enosys_stub(_maxima(sys, in_filter, names)) + sys.seccomp_export_program(ctx)
    sys.seccomp_set_mode_filter(program, flags)
