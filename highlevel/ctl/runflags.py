"""docker-style flags as CRI fields, pure: -p, -v, -e, -l, --memory, --cpus, --user.

Each parser takes the flag's text and returns plain values, or raises CtlError
naming the flag and what it expected.
"""
import os
import re

from .client import CtlError

PROTOCOLS = ("tcp", "udp", "sctp")
CPU_PERIOD = 100_000          # µs, the CFS default: --cpus 0.5 -> quota 50000
MEMORY_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _port(text, flag):
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise CtlError("%s: %r is not a port (1-65535)" % (flag, text))
    return int(text)


def parse_publish(text):
    """``[IP:]HOST:CTR[/PROTO]`` or ``CTR`` -> {host_ip, host_port, container_port, protocol}."""
    flag = "-p %s" % text
    spec, _, proto = text.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise CtlError("%s: protocol must be one of %s" % (flag, ", ".join(PROTOCOLS)))
    if spec.startswith("["):                      # [::1]:8080:80
        end = spec.find("]")
        if end < 0:
            raise CtlError("%s: unterminated [IPv6 address]" % flag)
        host_ip, rest = spec[1:end], spec[end + 2:].split(":")
    else:
        parts = spec.split(":")
        host_ip, rest = (parts[0], parts[1:]) if len(parts) == 3 else ("", parts)
    if len(rest) == 1:
        host, ctr = "", rest[0]
    elif len(rest) == 2:
        host, ctr = rest
    else:
        raise CtlError("%s: expected [IP:]HOST:CONTAINER[/PROTO]" % flag)
    return {"host_ip": host_ip, "host_port": _port(host, flag) if host else 0,
            "container_port": _port(ctr, flag), "protocol": proto}


def parse_volume(text):
    """``SRC:DST[:ro|rw]`` -> {host_path (absolute), container_path, readonly}."""
    parts = text.split(":")
    readonly = False
    if len(parts) == 3 and parts[2] in ("ro", "rw"):
        readonly = parts[2] == "ro"
        parts = parts[:2]
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise CtlError("-v %s: expected SRC:DST[:ro]" % text)
    src, dst = parts
    if not dst.startswith("/"):
        raise CtlError("-v %s: the container path %r must be absolute" % (text, dst))
    return {"host_path": os.path.abspath(src), "container_path": dst, "readonly": readonly}


def parse_env(text, environ=os.environ):
    """``K=V`` -> (K, V); a bare ``K`` takes the value from gantryctl's environment (as docker)."""
    key, sep, value = text.partition("=")
    if not key or not re.fullmatch(r"[^=\s]+", key):
        raise CtlError("-e %s: expected KEY=VALUE" % text)
    if not sep:
        if key not in environ:
            raise CtlError("-e %s: no value given and %s is not set here" % (text, key))
        value = environ[key]
    return key, value


def parse_label(text):
    key, sep, value = text.partition("=")
    if not key or not sep:
        raise CtlError("--label %s: expected KEY=VALUE" % text)
    return key, value


def parse_memory(text):
    """``512m``, ``1g``, ``1.5G``, ``1048576`` -> bytes."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?", text.strip().lower())
    if not m:
        raise CtlError("--memory %s: expected a size like 512m, 1g or a number of bytes" % text)
    n = int(float(m.group(1)) * MEMORY_UNITS[m.group(2)])
    if n <= 0:
        raise CtlError("--memory %s: must be more than 0" % text)
    return n


def parse_cpus(value):
    """--cpus N -> (cpu_quota, cpu_period) in µs."""
    if not value > 0:
        raise CtlError("--cpus %s: must be more than 0" % value)
    return int(round(value * CPU_PERIOD)), CPU_PERIOD


def parse_user(text):
    """``1000``, ``1000:1000``, ``nobody`` -> {run_as_user | run_as_username, run_as_group?}."""
    user, sep, group = text.partition(":")
    out = {}
    if not user:
        raise CtlError("--user %s: expected UID[:GID] or NAME" % text)
    if user.isdigit():
        out["run_as_user"] = int(user)
    else:
        out["run_as_username"] = user
    if sep:
        if not group.isdigit():
            raise CtlError("--user %s: the group must be numeric (CRI has no group names)" % text)
        out["run_as_group"] = int(group)
    return out
