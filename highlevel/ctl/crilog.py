"""Reading the Kubernetes CRI container log, pure: records, lines, --tail, --since, rotated files.

A record is ``<RFC3339Nano> <stdout|stderr> <P|F> <content>``: F ends a line, P says the line
goes on in the stream's next record (the writer is gantry-shim, containerd or conmon).  A line
here is what the container wrote up to its newline: the P records of one stream joined with
their F record.  ``Lines`` does that incrementally (``feed`` bytes as they come, complete lines
out); a line whose P records never got their F (the end of a file) comes out from ``flush``.
A rotated log keeps older parts beside it (``0.log.1``, kubelet's ``0.log.20261205-083719``,
``.gz`` too): ``order_files`` puts them oldest first by the time of their first record.
"""
import re
import time
from collections import deque
from dataclasses import dataclass

from gantry.api.crilog import STREAMS, BadTime, MalformedRecord, parse_time  # noqa: F401
from gantry.api.crilog import parse_record as _parse_record

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")
_UNITS = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9, "d": 86400e9}


@dataclass(frozen=True)
class Line:
    ts_ns: int
    ts: str           # the timestamp as written
    stream: str
    content: bytes    # without the newline
    complete: bool = True


def parse_since(text, now_ns=None):
    """``--since``: a duration back from now (``10s``, ``5m``, ``1h30m``) or an RFC 3339 time -> ns."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    if re.fullmatch(r"(?:%s)+" % _DURATION.pattern, text):
        return now_ns - int(sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text)))
    try:
        return parse_time(text)
    except BadTime:
        raise BadTime("--since %s: expected a duration (10s, 5m, 2h) or an RFC 3339 time" % text) from None


def parse_record(raw):
    """One record line (without its newline) -> (ts bytes, stream, tag bytes, content), or None if malformed."""
    try:
        ts, stream, tag, content = _parse_record(raw)
    except MalformedRecord:
        return None
    return ts, stream, tag.encode(), content


class Lines:
    """Bytes of a log in, complete lines out; P records wait (per stream) for their F."""

    def __init__(self):
        self._rest = b""
        self._partial = {}     # stream -> (first ts bytes, [content pieces])
        self.malformed = 0

    def feed(self, data):
        data = self._rest + data
        *records, self._rest = data.split(b"\n")
        out = []
        for raw in records:
            rec = parse_record(raw)
            if rec is None:
                self.malformed += raw != b""
                continue
            ts, stream, tag, content = rec
            first, pieces = self._partial.pop(stream, (ts, []))
            pieces.append(content)
            if tag == b"P":
                self._partial[stream] = (first, pieces)
                continue
            out.append(_line(first, stream, b"".join(pieces), True))
        return out

    def flush(self):
        """Lines left unterminated (a writer's P records without F, a last record without its \\n)."""
        out = self.feed(b"\n") if self._rest else []
        for stream, (first, pieces) in sorted(self._partial.items(), key=lambda kv: kv[1][0]):
            out.append(_line(first, stream, b"".join(pieces), False))
        self._partial = {}
        return out


def _line(ts, stream, content, complete):
    try:
        ns = parse_time(ts)
    except BadTime:
        ns = 0
    return Line(ns, ts.decode("ascii", "replace"), stream, content, complete)


def parse(data):
    lines = Lines()
    return lines.feed(data) + lines.flush()


def select(lines, tail=-1, since_ns=None):
    """--since first (lines at or after it), then --tail (the last N; -1: all)."""
    if since_ns is not None:
        lines = (ln for ln in lines if ln.ts_ns >= since_ns)
    if tail is not None and tail >= 0:
        return list(deque(lines, maxlen=tail)) if tail else []
    return list(lines)


def render(line, timestamps=False):
    """The bytes to print for one line (a complete line ends with \\n)."""
    prefix = line.ts.encode() + b" " if timestamps else b""
    return prefix + line.content + (b"\n" if line.complete else b"")


def first_time(data):
    """The time of a file's first well-formed record (ns), or None."""
    for raw in data.split(b"\n", 8)[:8]:
        rec = parse_record(raw)
        if rec is not None:
            try:
                return parse_time(rec[0])
            except BadTime:
                continue
    return None


def order_files(parts):
    """parts: (name, first_time or None, mtime).  Oldest first: by first record, else mtime."""
    return [name for name, first, mtime in sorted(parts, key=lambda p: (p[1] if p[1] is not None else p[2] * 1e9,
                                                                        p[2]))]
