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

Unterminated output.  ``LineEncoder`` turns a stream of output chunks into
records, holding at most one unterminated line (< MAX_LINE bytes) until more
output comes.  It is not held forever: a container that prints a prompt or a
progress bar without a newline should be seen by ``kubectl logs -f`` at
once, not when a newline comes.  The peers differ: conmon (CRI-O) writes
whatever one read() returned, an unterminated end as a P record at once;
containerd's CRI logger holds it until a newline, its buffer limit or the end
of the stream.  We take the user's side with a short grace: a tail held for
PARTIAL_FLUSH_NS (100 ms) is written as a P record (``flush_due``; the shim
arms a timer for ``due_at``), so a line written in a few quick pieces still
becomes one F record, and nothing waits more than 100 ms.  The line's rest
then follows as its own record(s), and the last one is F; kubelet joins P
records with what follows, so ``kubectl logs`` shows the line whole.  At the
stream's end ``flush`` writes the tail as a P record (there is no newline to
end it).  ``reassemble`` turns records back into the bytes.
"""
import time

MAX_LINE = 16 * 1024
PARTIAL_FLUSH_NS = 100_000_000  # an unterminated tail is logged (as P) after 100 ms
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
        self._held_since = 0  # when the tail became non-empty (ns), for flush_due

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
        if not self._tail or start > 0:  # a new tail (or none) starts its wait now
            self._held_since = now_ns
        self._tail = buf[start:]
        return b"".join(out)

    def flush(self, now_ns):
        """The held unterminated line as a P record (the stream ended without \\n)."""
        if not self._tail:
            return b""
        tail, self._tail = self._tail, b""
        return record(timestamp(now_ns), self.stream, PARTIAL, tail)

    def due_at(self, age_ns=PARTIAL_FLUSH_NS):
        """When the held tail is due to be flushed (ns on feed's clock), or None when none is held."""
        return self._held_since + age_ns if self._tail else None

    def flush_due(self, now_ns, age_ns=PARTIAL_FLUSH_NS):
        """The held tail as a P record once it has waited age_ns, else b""."""
        due = self.due_at(age_ns)
        return self.flush(now_ns) if due is not None and now_ns >= due else b""


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
