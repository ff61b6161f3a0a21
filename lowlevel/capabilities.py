"""Linux capabilities of the container process (OCI ``process.capabilities``).

The five sets arrive as lists of names (``CAP_SYS_ADMIN``...).  An unknown name is
an error here (runc and crun only warn and go on, which hides typos in configs).
A known capability that the running kernel lacks (its number is above
/proc/sys/kernel/cap_last_cap) is skipped, as runc does, so one config runs on
older kernels too.

Order of operations in the container init (the kernel's rules decide it):

1. ``prepare(sys, caps)`` while still uid 0 with the full set: drop every
   capability not in ``bounding`` from the bounding set (PR_CAPBSET_DROP needs
   CAP_SETPCAP in the effective set, so it must come before the capset below),
   then PR_SET_KEEPCAPS=1 so the permitted set survives a setuid away from 0.
2. the caller switches user (setgroups/setgid/setuid); the kernel clears the
   effective set there, which is why the sets are written afterwards.
3. ``finish(sys, caps)``: PR_SET_KEEPCAPS=0, one capset() writing effective,
   permitted and inheritable, then PR_CAP_AMBIENT_RAISE for each ambient
   capability (the kernel only accepts those present in both permitted and
   inheritable, so ambient comes last).

An ambient capability the kernel would refuse to raise (EPERM: not in the
permitted or not in the inheritable set, as in the config ``runc spec`` writes,
which has no inheritable set) is left out with a warning, as runc and crun do:
``refused_ambient(caps)`` names them, pure, so the parent logs the warning
before it forks and ``plan()`` never asks the kernel for them.  Combinations the
kernel refuses in capset() itself (effective not within permitted, inheritable
outside bounding) stay errors, as they are for runc and crun.

``apply(sys, caps, switch_user)`` runs the three steps in that order.  Seccomp
without no_new_privs needs CAP_SYS_ADMIN, so the init loads it before step 3
unless noNewPrivileges is set (see seccomp.py).

``sys`` is the Syscalls object (lowlevel/syscalls/); it needs ``prctl(option,
arg2, arg3, arg4, arg5)`` and ``capset(effective, permitted, inheritable)`` with
64-bit masks.
"""

# Capability numbers from include/uapi/linux/capability.h, in order.
NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
    "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
    "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)
NUMBERS = {name: number for number, name in enumerate(NAMES)}
SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")

PR_CAPBSET_DROP = 24
PR_SET_KEEPCAPS = 8
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4


class CapabilityError(ValueError):
    """The process.capabilities section is malformed or names an unknown capability."""


PR_CAPBSET_READ = 23


def last_cap(path="/proc/sys/kernel/cap_last_cap", sys=None):
    """Highest capability number the running kernel knows.

    From /proc; when that is not there (a container without /proc mounted), by asking
    the kernel with PR_CAPBSET_READ, which fails with EINVAL past the last one.
    """
    try:
        with open(path) as f:
            return int(f.read())
    except (OSError, ValueError):
        pass
    if sys is not None:
        for number in range(63, -1, -1):
            try:
                sys.prctl(PR_CAPBSET_READ, number, 0, 0, 0)
                return number
            except OSError:
                continue
    return len(NAMES) - 1


def validate(caps):
    """Check the shape and every name; raise CapabilityError naming the set and the name."""
    if caps is None:
        return
    if not isinstance(caps, dict):
        raise CapabilityError("process.capabilities: must be an object, got %s" % type(caps).__name__)
    for key, names in caps.items():
        if key not in SETS:
            raise CapabilityError("process.capabilities: unknown set %r (known: %s)" % (key, ", ".join(SETS)))
        if names is None:
            continue
        if not isinstance(names, list):
            raise CapabilityError("process.capabilities.%s: must be a list of names" % key)
        for name in names:
            if not isinstance(name, str) or name.upper() not in NUMBERS:
                raise CapabilityError("process.capabilities.%s: unknown capability %r" % (key, name))


def mask(names, cap_last=None):
    """64-bit mask of the named capabilities, leaving out those above cap_last."""
    value = 0
    for name in names or ():
        number = NUMBERS[name.upper()]
        if cap_last is None or number <= cap_last:
            value |= 1 << number
    return value


def names_of(value):
    """Capability names set in a mask (for /proc/PID/status CapEff style values)."""
    return [name for number, name in enumerate(NAMES) if value >> number & 1]


def refused_ambient(caps, cap_last=None):
    """[(name, why)] for each ambient capability the kernel would refuse to raise; pure.

    PR_CAP_AMBIENT_RAISE fails with EPERM unless the capability is in both the
    permitted and the inheritable set written just before it.
    """
    caps = caps or {}
    permitted = mask(caps.get("permitted"), cap_last)
    inheritable = mask(caps.get("inheritable"), cap_last)
    refused = []
    for name in caps.get("ambient") or ():
        number = NUMBERS[name.upper()]
        if cap_last is not None and number > cap_last:
            continue
        missing = [s for s, m in (("permitted", permitted), ("inheritable", inheritable)) if not m >> number & 1]
        if missing:
            refused.append((name.upper(), " and ".join(missing)))
    return refused


def ambient_warnings(caps, cap_last=None):
    """The log lines for refused_ambient(caps): what is left out and why."""
    return ["process.capabilities.ambient: %s is not raised: it is not in the %s set "
            "(the kernel refuses ambient capabilities outside permitted and inheritable)" % (name, why)
            for name, why in refused_ambient(caps, cap_last)]


def plan(caps, cap_last):
    """The kernel calls for ``caps``, in order, as (step, call, args) tuples; pure.

    step is "prepare" or "finish"; call names a Syscalls method.
    """
    caps = caps or {}
    steps = []
    keep = mask(caps.get("bounding"), cap_last)
    for number in range(cap_last + 1):
        if not keep >> number & 1:
            steps.append(("prepare", "prctl", (PR_CAPBSET_DROP, number, 0, 0, 0)))
    steps.append(("prepare", "prctl", (PR_SET_KEEPCAPS, 1, 0, 0, 0)))
    steps.append(("finish", "prctl", (PR_SET_KEEPCAPS, 0, 0, 0, 0)))
    steps.append(("finish", "capset", (mask(caps.get("effective"), cap_last),
                                       mask(caps.get("permitted"), cap_last),
                                       mask(caps.get("inheritable"), cap_last))))
    steps.append(("finish", "prctl", (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)))
    refused = {name for name, _ in refused_ambient(caps, cap_last)}
    for number in sorted({NUMBERS[n.upper()] for n in caps.get("ambient") or ()} - {NUMBERS[n] for n in refused}):
        if number <= cap_last:
            steps.append(("finish", "prctl", (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, number, 0, 0)))
    return steps


def _run(sys, caps, step, cap_last):
    for when, call, args in plan(caps, cap_last):
        if when != step:
            continue
        try:
            getattr(sys, call)(*args)
        except OSError as err:
            if call == "capset":
                raise OSError(err.errno, _capset_failure(sys, args, err)) from None
            raise OSError(err.errno, "%s%r (capabilities %s): %s" % (call, args, step, err.strerror)) from None


def _capset_failure(sys, args, err):
    """Name the capabilities the runtime cannot grant because it lacks them itself."""
    wanted = args[0] | args[1] | args[2]
    try:
        _, permitted, _ = sys.capget()
    except (OSError, AttributeError, ValueError):
        return "capset: %s" % err.strerror
    missing = names_of(wanted & ~permitted)
    if missing:
        return ("capset: %s: gantry-oci itself does not hold %s (this host or VM does not grant it), "
                "so the container cannot get it" % (err.strerror, ", ".join(missing)))
    return "capset effective=%#x permitted=%#x inheritable=%#x: %s" % (args + (err.strerror,))


def prepare(sys, caps, cap_last=None):
    """Step 1: shrink the bounding set and keep permitted caps across the user switch."""
    _run(sys, caps, "prepare", last_cap(sys=sys) if cap_last is None else cap_last)


def finish(sys, caps, cap_last=None):
    """Step 3: write effective/permitted/inheritable, then raise the ambient caps."""
    _run(sys, caps, "finish", last_cap(sys=sys) if cap_last is None else cap_last)


def apply(sys, caps, switch_user=None, cap_last=None):
    """prepare, switch_user() if given, finish: the whole sequence in kernel order."""
    cap_last = last_cap(sys=sys) if cap_last is None else cap_last
    prepare(sys, caps, cap_last)
    if switch_user is not None:
        switch_user()
    finish(sys, caps, cap_last)
