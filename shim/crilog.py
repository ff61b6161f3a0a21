"""Writing the CRI container log: output chunks in, records out (pure; the format is gantry.api.crilog).

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
from gantry.api.crilog import (  # noqa: F401
    FULL,
    MAX_LINE,
    PARTIAL,
    STREAMS,
    MalformedRecord,
    parse_record,
    reassemble,
    record,
    split_records,
    timestamp,
)

PARTIAL_FLUSH_NS = 100_000_000  # an unterminated tail is logged (as P) after 100 ms


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
