"""devices controller: linux.resources.devices, an ordered allow/deny list.

Semantics (as runc): start from "deny everything", apply the rules in order,
the last rule that matches an access decides.  After the config's rules come
the devices every container gets (null, zero, full, random, urandom, tty,
ptmx, pts, net/tun, and mknod of anything: runc's list) and one rwm allow per device
in linux.devices, so those always work.

v1: "a" is written to devices.deny first (reset to deny-all), then each rule
to devices.allow or devices.deny as "type major:minor access".
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


def v1(rules):
    """[(file, value)] for a v1 devices cgroup: reset to deny-all, then each rule in order."""
    files = [("devices.deny", "a")]
    for rule in rules:
        files.append(("devices.allow" if rule[0] else "devices.deny", rule_text(rule)))
    return files
