"""CRI log format (shim/crilog.py): records, splitting, byte-exact round trips."""
import os
import random

import pytest
from gantry.shim import crilog

T0 = 1_796_012_414_058_679_902  # 2026-11-30T04:20:14.058679902Z
TS = b"2026-11-30T04:20:14.058679902Z"


def encode_all(chunks, stream="stdout", max_line=crilog.MAX_LINE, strip_cr=True):
    enc = crilog.LineEncoder(stream, max_line=max_line, strip_cr=strip_cr)
    out = b"".join(enc.feed(c, T0) for c in chunks)
    return out + enc.flush(T0)


def test_timestamp_is_rfc3339_nano_utc():
    assert crilog.timestamp(T0) == TS
    assert crilog.timestamp(0) == b"1970-01-01T00:00:00.000000000Z"
    assert crilog.timestamp(T0 + 1_000_000_000) == b"2026-11-30T04:20:15.058679902Z"


@pytest.mark.parametrize("chunks, expected", [
    ([b"hello\n"], [b"F hello"]),
    ([b"a\nb\n"], [b"F a", b"F b"]),
    ([b"hel", b"lo\n"], [b"F hello"]),
    ([b"\n"], [b"F "]),
    ([b"no newline"], [b"P no newline"]),
    ([b"dos\r\n"], [b"F dos"]),
    ([b"cr in\rmiddle\n"], [b"F cr in\rmiddle"]),
    ([b"split cr\r", b"\n"], [b"F split cr"]),
    ([b"x" * 10 + b"\n"], [b"P " + b"x" * 4, b"P " + b"x" * 4, b"F xx"]),
    ([b"x" * 8 + b"\n"], [b"P " + b"x" * 4, b"F xxxx"]),
    ([b"x" * 9], [b"P " + b"x" * 4, b"P " + b"x" * 4, b"P x"]),
    ([b"\x00\xff binary\x1b[0m\n"], [b"F \x00\xff binary\x1b[0m"]),
], ids=repr)
def test_records(chunks, expected):
    max_line = 4 if any(len(c) > 7 and c.startswith(b"x") for c in chunks) else crilog.MAX_LINE
    out = encode_all(chunks, max_line=max_line)
    assert out == b"".join(TS + b" stdout " + e + b"\n" for e in expected)


def test_stderr_and_stream_filter():
    log = encode_all([b"out\n"]) + encode_all([b"err\n"], stream="stderr")
    assert crilog.reassemble(log, "stdout") == b"out\n"
    assert crilog.reassemble(log, "stderr") == b"err\n"


def test_holds_at_most_one_short_line():
    enc = crilog.LineEncoder("stdout", max_line=8)
    assert enc.feed(b"abc", T0) == b""
    assert enc.pending == b"abc"
    assert enc.feed(b"defghij", T0) == TS + b" stdout P abcdefgh\n"
    assert enc.pending == b"ij"


@pytest.mark.parametrize("payload", [
    b"", b"plain text\nlines\n", b"no trailing newline", b"\n\n\n",
    bytes(range(256)) * 3,  # every byte value, including \n and \r, not as \r\n pairs... see below
    b"y" * (crilog.MAX_LINE * 3 + 17) + b"\n" + b"z" * crilog.MAX_LINE + b"\n",
    b"x" * crilog.MAX_LINE + b"\n",
    b"x" * (crilog.MAX_LINE - 1) + b"\n",
    b"x" * (crilog.MAX_LINE + 1) + b"\n",
    b"\x00" * 100000,
], ids=lambda p: "%d bytes" % len(p))
@pytest.mark.parametrize("chunk", [1, 7, 4096, 65536, 1 << 30])
def test_byte_exact_round_trip(payload, chunk):
    chunks = [payload[i:i + chunk] for i in range(0, len(payload), chunk)]
    out = encode_all(chunks, strip_cr=False)
    assert crilog.reassemble(out) == payload
    for rec in crilog.split_records(out):
        assert len(crilog.parse_record(rec)[3]) <= crilog.MAX_LINE


def test_round_trip_of_random_binary_with_default_cr_handling():
    rnd = random.Random(5)
    payload = bytes(rnd.getrandbits(8) for _ in range(300000))
    out = encode_all([payload[i:i + 5000] for i in range(0, len(payload), 5000)])
    # the only change the default makes: "\r\n" is logged as "\n"
    assert crilog.reassemble(out) == payload.replace(b"\r\n", b"\n")


def test_every_record_is_one_line():
    payload = os.urandom(200000)
    out = encode_all([payload], strip_cr=False)
    for rec in crilog.split_records(out):
        ts, stream, tag, _ = crilog.parse_record(rec)
        assert ts == TS and stream == "stdout" and tag in ("P", "F")


@pytest.mark.parametrize("line", [b"", b"garbage", b"ts stdin F x", b"ts stdout X x"])
def test_malformed_records(line):
    with pytest.raises(crilog.MalformedRecord):
        crilog.parse_record(line)


def test_unknown_stream_refused():
    with pytest.raises(ValueError):
        crilog.LineEncoder("stdin")


def test_held_tail_is_due_after_the_grace_and_not_before():
    enc = crilog.LineEncoder("stdout")
    age = crilog.PARTIAL_FLUSH_NS
    assert enc.due_at() is None
    assert enc.feed(b"prompt> ", T0) == b""
    assert enc.due_at() == T0 + age
    assert enc.feed(b"more", T0 + 50) == b""  # the same tail grows: its wait does not restart
    assert enc.due_at() == T0 + age
    assert enc.flush_due(T0 + age - 1) == b""
    assert enc.flush_due(T0 + age) == crilog.timestamp(T0 + age) + b" stdout P prompt> more\n"
    assert enc.due_at() is None and enc.flush_due(T0 + 2 * age) == b""
    assert enc.feed(b"\n", T0 + 2 * age) == crilog.timestamp(T0 + 2 * age) + b" stdout F \n"  # the line's end follows as its own record


def test_a_new_tail_waits_from_when_it_began():
    enc = crilog.LineEncoder("stderr")
    enc.feed(b"old", T0)
    assert enc.feed(b"\nnew", T0 + 70) == crilog.timestamp(T0 + 70) + b" stderr F old\n"
    assert enc.due_at() == T0 + 70 + crilog.PARTIAL_FLUSH_NS


def test_flushed_tails_reassemble_to_the_written_bytes():
    enc = crilog.LineEncoder("stdout")
    out, t = b"", T0
    for piece in (b"50%", b"\r75%", b"\r100%\n", b"done", b"\n"):
        out += enc.feed(piece, t)
        t += crilog.PARTIAL_FLUSH_NS
        out += enc.flush_due(t)
    assert crilog.reassemble(out) == b"50%\r75%\r100%\ndone\n"
    assert [crilog.parse_record(r)[2] for r in crilog.split_records(out)] == ["P", "P", "F", "P", "F"]
