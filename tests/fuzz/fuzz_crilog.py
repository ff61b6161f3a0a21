"""shim/crilog.py: the CRI log format, both ways.

The input is what a container writes, cut into reads of an input-chosen size,
encoded with an input-chosen line limit.  Every record parses, holds at most
max_line bytes and no newline, and reassemble(records) gives back the output
(byte for byte with strip_cr=False; less only '\\r' bytes with strip_cr=True).
The input read as a log file parses or raises MalformedRecord, nothing else."""
import re

from gantry.shim import crilog

from .harness import Target

LIMITS = (1, 2, 3, 5, 16, 64, crilog.MAX_LINE)
_TS = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z\Z")
T0 = 1_764_000_000_000_000_000


def check(data):
    if len(data) < 2:
        return
    flags, step, output = data[0], data[1] + 1, data[2:]
    strip_cr, max_line = bool(flags & 1), LIMITS[(flags >> 1) % len(LIMITS)]
    stream = crilog.STREAMS[(flags >> 4) & 1]
    enc = crilog.LineEncoder(stream, max_line=max_line, strip_cr=strip_cr)
    log = bytearray()
    now = T0
    for i in range(0, len(output), step):
        now += 7_000_000 * (output[i] & 31)
        log += enc.feed(output[i:i + step], now)
        if flags & 0x40:
            log += enc.flush_due(now)
        assert len(enc.pending) <= max_line
    log += enc.flush(now + 1)
    for line in crilog.split_records(bytes(log)):
        ts, s, tag, content = crilog.parse_record(line)
        assert _TS.match(ts) and s == stream and tag in ("P", "F")
        assert len(content) <= max_line and b"\n" not in content
    back = crilog.reassemble(bytes(log))
    if strip_cr:
        assert back.replace(b"\r", b"") == output.replace(b"\r", b"")
    else:
        assert back == output
    assert crilog.reassemble(bytes(log), stream="stderr" if stream == "stdout" else "stdout") == b""
    try:
        crilog.reassemble(output)
    except crilog.MalformedRecord:
        pass


TARGET = Target("crilog", check, ("gantry.shim.crilog",))
