"""Structure-aware mutation of protobuf messages, driven by their descriptors.

What atheris-libprotobuf-mutator does, by hand: it is not installable here (PyPI
has only its sdist, whose build needs Bazel and the protobuf C++ sources).  A
harness's inputs are serialized messages (or programs of them); libFuzzer's
byte-level mutations mostly make them unparseable, so the target passes
``mutate_message`` to atheris as its custom mutator: parse, change one thing
the schema allows, serialize.  Mutations, chosen by a seeded ``random.Random``
(libFuzzer gives the seed, so a run is reproducible):

- a scalar field: an interesting value for its type (0, -1, limits, bit
  patterns), a nearby value, or any value; enums also get unknown numbers;
- a string/bytes field: a token from ``STRINGS`` (paths, ``..``, NUL, CRI and
  OCI vocabulary), an edit (insert, delete, duplicate, truncate), or empty;
- a message field: set (with random content), cleared, or descended into;
- a repeated field: an element added, removed, duplicated or mutated;
- a map: an entry added (a token key), removed or its value mutated.

``random_message`` fills a fresh message the same way, to bounded depth.
"""
import random

from google.protobuf.descriptor import FieldDescriptor as F

STRINGS = [
    "", "/", "..", "../..", "/..", "/../../etc", "/etc/passwd", "/proc/self", "/dev/null", "/dev/shm", "/sys",
    "/tmp", "relative/path", "a\0b", "\0", "\n", "=", "A=B", "PATH", "PATH=/bin", ".", "x" * 300, "\u00e9\u4e2d",
    "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"), "ALL", "all", "CAP_SYS_ADMIN",
    "NET_ADMIN", "cap_chown", "CAP_NOPE", "runtime/default", "docker/default", "unconfined", "localhost/",
    "localhost/relative", "localhost//etc/profile.json", "root", "nobody", "0", "1000", "0:0", "1000:1000",
    "root:root", "nobody:nogroup", "65535", "-1", "4294967296", "rwm", "r", "rwx", "m", "sh", "/bin/sh",
    "busybox", "busybox:latest", "docker.io/library/busybox:1", "sha256:" + "a" * 64, "@sha256:abc",
    "kernel.shm_rmid_forced", "net.ipv4.ip_forward", "kernel.hostname", "fs.mqueue.msg_max", "vm.swappiness",
    "io.kubernetes.cri.sandbox-id", "kubernetes.io/ingress-bandwidth", "10M", "1Gi", "0-1", "0", "default",
    "kube-system", "pod", "ctr", "gantry-oci", "runc", "", "TCP", "UDP", "SCTP", "10.0.0.1", "::1",
    "memory.high", "cpu.weight", "2Mi", "1Gi", "/var/log/pods", "x.log", "../x.log",
    "@image", "@ref",     # fuzz_cri: the id / name of the image its gantryd holds
]
INTS = [0, 1, -1, 2, 7, 255, 256, 1000, 1001, -1000, -1001, 4096, 65535, 65536, 2**31 - 1, -2**31, 2**31,
        2**32 - 1, 2**32, 2**63 - 1, -2**63, 2**64 - 1]
_RANGES = {
    F.TYPE_INT32: (-2**31, 2**31 - 1), F.TYPE_SINT32: (-2**31, 2**31 - 1), F.TYPE_SFIXED32: (-2**31, 2**31 - 1),
    F.TYPE_INT64: (-2**63, 2**63 - 1), F.TYPE_SINT64: (-2**63, 2**63 - 1), F.TYPE_SFIXED64: (-2**63, 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1), F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1), F.TYPE_FIXED64: (0, 2**64 - 1),
}
MAX_DEPTH = 6
MAX_REPEATED = 8


def _is_map(field):
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _repeated(field):
    return field.is_repeated


def random_scalar(field, rng, old=None):
    t = field.type
    if t == F.TYPE_BOOL:
        return not old if old is not None and rng.random() < 0.7 else rng.random() < 0.5
    if t in (F.TYPE_FLOAT, F.TYPE_DOUBLE):
        return rng.choice([0.0, -1.0, 1.5, 1e30, -1e-30, float(rng.randint(-1000, 1000))])
    if t == F.TYPE_ENUM:
        values = [v.number for v in field.enum_type.values]
        return rng.choice(values) if rng.random() < 0.9 else rng.choice([-1, max(values) + 1, 2**31 - 1])
    if t in _RANGES:
        lo, hi = _RANGES[t]
        r = rng.random()
        if r < 0.5:
            value = rng.choice(INTS)
        elif r < 0.7 and old is not None:
            value = old + rng.choice([-1, 1, -2, 2, 10])
        else:
            value = rng.randint(lo, hi) if rng.random() < 0.3 else rng.randint(-5000, 70000)
        return min(max(value, lo), hi)
    if t == F.TYPE_STRING:
        return _string(rng, old)
    if t == F.TYPE_BYTES:
        return _string(rng, None if old is None else old.decode("utf-8", "replace")).encode("utf-8", "surrogatepass")
    raise TypeError("field %s: type %d" % (field.full_name, t))


def _string(rng, old):
    r = rng.random()
    if old and r < 0.45:
        i = rng.randint(0, len(old))
        op = rng.randrange(5)
        if op == 0:
            return old[:i] + rng.choice(STRINGS)[:40] + old[i:]
        if op == 1:
            return old[:i] + old[i + rng.randint(1, 8):]
        if op == 2:
            return old[:i]
        if op == 3:
            return old + old[i:]
        return old[:i] + chr(rng.choice([0, 10, 47, 46, 58, 61, 44, 0xe9, rng.randint(32, 126)])) + old[i:]
    if r < 0.9:
        return rng.choice(STRINGS)
    return "".join(chr(rng.randint(32, 126)) for _ in range(rng.randint(0, 12)))


def random_message(msg, rng, depth=0):
    """Fill ``msg`` (cleared first) with random fields, to depth MAX_DEPTH."""
    msg.Clear()
    if depth >= MAX_DEPTH:
        return msg
    for field in msg.DESCRIPTOR.fields:
        if rng.random() < 0.55:
            continue
        _add_value(msg, field, rng, depth)
    return msg


def _add_value(msg, field, rng, depth):
    if _is_map(field):
        entry = field.message_type
        key = random_scalar(entry.fields_by_name["key"], rng)
        container = getattr(msg, field.name)
        vfield = entry.fields_by_name["value"]
        if vfield.message_type is not None:
            random_message(container[key], rng, depth + 1)
        else:
            container[key] = random_scalar(vfield, rng)
    elif _repeated(field):
        container = getattr(msg, field.name)
        if len(container) >= MAX_REPEATED:
            return
        if field.message_type is not None:
            random_message(container.add(), rng, depth + 1)
        else:
            container.append(random_scalar(field, rng))
    elif field.message_type is not None:
        random_message(getattr(msg, field.name), rng, depth + 1)
    else:
        setattr(msg, field.name, random_scalar(field, rng))


def mutate(msg, rng, depth=0):
    """Change one thing in ``msg`` (in place), somewhere in its tree."""
    fields = list(msg.DESCRIPTOR.fields)
    if not fields:
        return
    # prefer fields that are set: that is where a seed's structure is
    present = [f for f, _ in msg.ListFields()]
    field = rng.choice(present) if present and rng.random() < 0.6 else rng.choice(fields)
    r = rng.random()
    if _is_map(field):
        container = getattr(msg, field.name)
        keys = list(container)
        if keys and r < 0.3:
            del container[rng.choice(keys)]
        elif keys and r < 0.6 and field.message_type.fields_by_name["value"].message_type is not None:
            mutate(container[rng.choice(keys)], rng, depth + 1)
        elif keys and r < 0.6:
            key = rng.choice(keys)
            container[key] = random_scalar(field.message_type.fields_by_name["value"], rng, container[key])
        else:
            _add_value(msg, field, rng, depth)
    elif _repeated(field):
        container = getattr(msg, field.name)
        n = len(container)
        if n and r < 0.25:
            del container[rng.randrange(n)]
        elif n and r < 0.6:
            i = rng.randrange(n)
            if field.message_type is not None:
                mutate(container[i], rng, depth + 1)
            else:
                container[i] = random_scalar(field, rng, container[i])
        elif n and r < 0.7 and n < MAX_REPEATED:
            if field.message_type is not None:
                container.add().CopyFrom(container[rng.randrange(n)])
            else:
                container.append(container[rng.randrange(n)])
        elif n and r < 0.75:
            del container[:]
        else:
            _add_value(msg, field, rng, depth)
    elif field.message_type is not None:
        if msg.HasField(field.name) and r < 0.15:
            msg.ClearField(field.name)
        elif msg.HasField(field.name) and r < 0.85 and depth < MAX_DEPTH:
            mutate(getattr(msg, field.name), rng, depth + 1)
        else:
            random_message(getattr(msg, field.name), rng, depth + 1)
    elif r < 0.1:
        msg.ClearField(field.name)
    else:
        setattr(msg, field.name, random_scalar(field, rng, getattr(msg, field.name)))


def mutate_message(cls, data, max_size, seed, tries=4):
    """The custom mutator of a harness whose input is one serialized ``cls``: parse, mutate 1-3 times, serialize.

    Input that does not parse starts from an empty message."""
    rng = random.Random(seed)
    msg = cls()
    try:
        msg.ParseFromString(data)
    except Exception:  # noqa: BLE001 - protobuf's DecodeError and friends: start over
        msg.Clear()
    for _ in range(tries):
        trial = cls()
        trial.CopyFrom(msg)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            mutate(trial, rng)
        out = trial.SerializeToString()
        if len(out) <= max_size:
            return out
    return data[:max_size]
