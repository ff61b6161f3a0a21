"""devices controller: linux.resources.devices, an ordered allow/deny list.

Semantics (as runc): start from "deny everything", apply the rules in order,
the last rule that matches an access decides.  After the config's rules come
the devices every container gets (null, zero, full, random, urandom, tty,
ptmx, pts, net/tun, and mknod of anything: runc's list) and one rwm allow per device
in linux.devices, so those always work.

v1: the kernel's list is computed from the rules (emulate) and compared with
devices.list; only the difference is written when that is possible (see v1()).
v2: the same list compiled into an eBPF program (devices_bpf.py).
"""
from .errors import CgroupError

WILDCARD = -1

# type, major, minor, access: runc's always-allowed devices.
DEFAULT_ALLOWED = (
    ("c", WILDCARD, WILDCARD, "m"), ("b", WILDCARD, WILDCARD, "m"),
    ("c", 1, 3, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 7, "rwm"), ("c", 5, 0, "rwm"),
    ("c", 1, 5, "rwm"), ("c", 1, 9, "rwm"), ("c", 136, WILDCARD, "rwm"), ("c", 5, 2, "rwm"),
    ("c", 10, 200, "rwm"),   # /dev/net/tun, which runc 1.1 allows too
)


def normalize(rule):
    """An OCI device rule as (allow, type, major, minor, access), checked."""
    if not isinstance(rule, dict) or not isinstance(rule.get("allow"), bool):
        raise CgroupError("linux.resources.devices: each rule needs a boolean 'allow': %r" % (rule,))
    kind = rule.get("type") or "a"
    if kind not in ("a", "c", "b", "u", "p"):
        raise CgroupError("linux.resources.devices: unknown device type %r" % kind)
    if kind in ("u", "p"):
        kind = "c"  # unbuffered char and fifo are char devices to the cgroup
    access = rule.get("access") or "rwm"
    if not access or set(access) - set("rwm"):
        raise CgroupError("linux.resources.devices: access %r is not made of r, w, m" % access)
    access = "".join(c for c in "rwm" if c in access)
    major = rule.get("major")
    minor = rule.get("minor")
    major = WILDCARD if major is None or major == -1 else int(major)
    minor = WILDCARD if minor is None or minor == -1 else int(minor)
    return (rule["allow"], kind, major, minor, access)


def effective_rules(resources_devices, linux_devices=()):
    """The config's rules, then the always-allowed devices and the created ones."""
    rules = [normalize(r) for r in resources_devices or ()]
    rules += [(True,) + d for d in DEFAULT_ALLOWED]
    for dev in linux_devices or ():
        kind = dev.get("type", "c")
        rules.append((True, "b" if kind == "b" else "c", int(dev.get("major", 0)), int(dev.get("minor", 0)), "rwm"))
    return rules


def rule_text(rule):
    _, kind, major, minor, access = rule
    num = lambda n: "*" if n == WILDCARD else str(n)  # noqa: E731
    return "%s %s:%s %s" % (kind, num(major), num(minor), access)


def _is_reset(kind, major, minor, access):
    return kind == "a" and major == WILDCARD and minor == WILDCARD and access == "rwm"


def emulate(rules):
    """What the v1 kernel list becomes: (default_allow, {(type, major, minor): access set}).

    The kernel keeps a default and exact-match exceptions: a full "a" rule resets both;
    a rule against the default adds access bits to its exception; a rule agreeing with
    the default takes bits away from an exception with exactly the same numbers.  A
    partial "a" rule is two rules, "c" and "b" (the kernel would read "a" as a reset).
    """
    default_allow, exceptions = False, {}
    for allow, kind, major, minor, access in rules:
        if _is_reset(kind, major, minor, access):
            default_allow, exceptions = allow, {}
            continue
        for k in (("c", "b") if kind == "a" else (kind,)):
            key = (k, major, minor)
            if allow != default_allow:
                exceptions.setdefault(key, set()).update(access)
            elif key in exceptions:
                exceptions[key] -= set(access)
                if not exceptions[key]:
                    del exceptions[key]
    return default_allow, exceptions


def parse_list(text):
    """devices.list -> (default_allow, exceptions); exceptions are None when the kernel hides them."""
    exceptions = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        kind, numbers, access = parts
        major, _, minor = numbers.partition(":")
        major = WILDCARD if major == "*" else int(major)
        minor = WILDCARD if minor == "*" else int(minor)
        if _is_reset(kind, major, minor, access):
            return True, None   # default allow: the deny exceptions are not listed
        exceptions.setdefault((kind, major, minor), set()).update(access)
    return False, exceptions


def _text(key, access):
    return rule_text((None,) + key + ("".join(c for c in "rwm" if c in access),))


def v1(rules, current_list=None):
    """[(file, value)] taking a v1 devices cgroup from ``current_list`` to what ``rules`` say.

    When both are allow-lists (every container's case after the first apply) only the
    difference is written, allows first, so a running container never loses a device it
    keeps (an update that rewrote everything would deny all for a moment, as runc's fixed
    bug did).  Otherwise the cgroup is reset with "a" and the exceptions follow.
    """
    target_allow, target = emulate(rules)
    current_allow, current = parse_list(current_list) if current_list is not None else (True, None)
    if not target_allow and not current_allow and current is not None:
        files = []
        for key, access in target.items():
            missing = access - current.get(key, set())
            if missing:
                files.append(("devices.allow", _text(key, missing)))
        for key, access in current.items():
            extra = access - target.get(key, set())
            if extra:
                files.append(("devices.deny", _text(key, extra)))
        return files
    files = [("devices.allow" if target_allow else "devices.deny", "a")]
    for key, access in target.items():
        files.append(("devices.deny" if target_allow else "devices.allow", _text(key, access)))
    return files
