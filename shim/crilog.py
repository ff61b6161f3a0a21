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
* content: the bytes of the line, without its ``\\n``; a ``\\r`` right before
  the ``\\n`` is dropped too (as containerd does, so ``\\r\\n`` programs log
  clean lines).  Content may hold any other byte, including NUL and invalid
  UTF-8: the format is byte-transparent.

``LineEncoder`` turns a stream of output chunks into records, holding at most
one unterminated line (< MAX_LINE bytes) until more output comes; ``flush``
writes that tail as a P record when the stream ends.  ``reassemble`` turns
records back into the bytes the container wrote.
"""
import time

MAX_LINE = 16 * 1024
STREAMS = ("stdout", "stderr")
PARTIAL, FULL = b"P", b"F"

_second_cache = [None, b""]


def timestamp(ns):
    """RFC 3339 UTC timestamp with 9 fraction digits, as bytes."""
    sec, frac = divmod(ns, 1_000_000_000)
    if _second_cache[0] != sec:
        _second_cache[0] = sec
        _second_cache[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)).encode()
    return b"%s.%09dZ" % (_second_cache[1], frac)


def record(ts, stream, tag, content):
    """One record's bytes; ts is from ``timestamp``, stream b"stdout"/b"stderr"."""
    return b"%s %s %s %s\n" % (ts, stream, tag, content)


class LineEncoder:
    """Records for one stream of one process."""

    def __init__(self, stream, max_line=MAX_LINE, strip_cr=True):
        if stream not in STREAMS:
            raise ValueError("stream must be stdout or stderr, not %r" % (stream,))
        self.stream = stream.encode()
        self.max_line = max_line
        self.strip_cr = strip_cr
        self._tail = b""

    @property
    def pending(self):
        """The unterminated line held back (shorter than max_line)."""
        return self._tail

    def feed(self, data, now_ns):
        """Records for the complete lines (and over-long pieces) that data finishes."""
        if not data:
            return b""
        buf = self._tail + data if self._tail else data
        ts = timestamp(now_ns)
        out = []
        start = 0
        n = len(buf)
        while start < n:
            nl = buf.find(b"\n", start, start + self.max_line + 1)
            if nl < 0:
                if n - start <= self.max_line:
                    break  # unterminated and short: hold it
                out.append(record(ts, self.stream, PARTIAL, buf[start:start + self.max_line]))
                start += self.max_line
                continue
            end = nl
            if self.strip_cr and end > start and buf[end - 1] == 13:
                end -= 1
            if end - start > self.max_line:  # only possible when max_line bytes then "\r\n"
                out.append(record(ts, self.stream, PARTIAL, buf[start:start + self.max_line]))
                start += self.max_line
                continue
            out.append(record(ts, self.stream, FULL, buf[start:end]))
            start = nl + 1
        self._tail = buf[start:]
        return b"".join(out)

    def flush(self, now_ns):
        """The held unterminated line as a P record (the stream ended without \\n)."""
        if not self._tail:
            return b""
        tail, self._tail = self._tail, b""
        return record(timestamp(now_ns), self.stream, PARTIAL, tail)


class MalformedRecord(ValueError):
    pass


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
