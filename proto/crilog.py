"""The Kubernetes CRI container log format, pure (no I/O).

One record per line::

    <timestamp> <stream> <tag> <content>\\n
    2026-11-30T04:12:12.123456789Z stdout F hello

* timestamp: RFC 3339 with nanoseconds, UTC, always 9 fraction digits
  (kubelet parses it with Go's RFC3339Nano, which accepts that);
* stream: ``stdout`` or ``stderr`` (a container with a tty has only stdout);
* tag: ``F`` (full) ends a line, ``P`` (partial) says the line goes on in the
  next record of the same stream.  A line longer than MAX_LINE (16 KiB, the
  limit containerd and CRI-O use) becomes P records of MAX_LINE bytes and a
  final F record;
* content: the bytes of the line, without its ``\\n``.  By default a ``\\r``
  right before the ``\\n`` is dropped too, so a ``\\r\\n`` line is logged
  exactly like a ``\\n`` line (containerd does the same; ``strip_cr=False``
  keeps it).  A ``\\r`` anywhere else stays.  Content may hold any other byte,
  including NUL and invalid UTF-8: the format is byte-transparent, so
  ``reassemble`` gives back what the container wrote, less those ``\\r``.
``parse_record`` raises MalformedRecord for a line that is not a record; readers
(gantryctl logs, tests) decide whether to skip it.  The writer is gantry-shim
(shim/crilog.py), the readers gantryd's tools; containerd and conmon write the same.
"""
import calendar
import re
import time

MAX_LINE = 16 * 1024
STREAMS = ("stdout", "stderr")
PARTIAL, FULL = b"P", b"F"

_TS = re.compile(rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")
_second_cache = [None, b""]


class MalformedRecord(ValueError):
    pass


class BadTime(ValueError):
    pass


def timestamp(ns):
    """RFC 3339 UTC timestamp with 9 fraction digits, as bytes."""
    sec, frac = divmod(ns, 1_000_000_000)
    if _second_cache[0] != sec:
        _second_cache[0] = sec
        _second_cache[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)).encode()
    return b"%s.%09dZ" % (_second_cache[1], frac)


def parse_time(text):
    """RFC 3339 (nanoseconds, Z or an offset) -> ns since the epoch."""
    m = _TS.match(text if isinstance(text, bytes) else text.encode())
    if not m:
        raise BadTime("not an RFC 3339 time: %r" % text)
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac = (m.group(7) or b"").ljust(9, b"0")
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    zone = m.group(8)
    if zone != b"Z":
        sign = 1 if zone[:1] == b"+" else -1
        secs -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return secs * 1_000_000_000 + int(frac)


def record(ts, stream, tag, content):
    """One record's bytes; ts is from ``timestamp``, stream b"stdout"/b"stderr"."""
    return b"%s %s %s %s\n" % (ts, stream, tag, content)


def parse_record(line):
    """(timestamp, stream, tag, content) of one record line, with or without its \\n."""
    if line.endswith(b"\n"):
        line = line[:-1]
    parts = line.split(b" ", 3)
    if len(parts) < 3 or parts[1].decode("ascii", "replace") not in STREAMS or parts[2] not in (PARTIAL, FULL):
        raise MalformedRecord("not a CRI log record: %r" % line[:80])
    return parts[0], parts[1].decode(), parts[2].decode(), parts[3] if len(parts) == 4 else b""


def split_records(data):
    """Record lines of a log file's bytes (the last one may lack its \\n)."""
    return [r for r in data.split(b"\n") if r] if data else []


def reassemble(data, stream=None):
    """The bytes a container wrote, from a log file's content: F adds a \\n, P does not.
    With stream set, only that stream's records count."""
    out = []
    for line in split_records(data):
        _, s, tag, content = parse_record(line)
        if stream is None or s == stream:
            out.append(content)
            if tag == "F":
                out.append(b"\n")
    return b"".join(out)
