"""The JSON decoders of the remotecommand protocol: resize (TerminalSize) and Status.

fuzz_wschannel feeds resize bytes only as whole channel messages; here the
first byte picks:

- 0: a resize stream (``remotecommand.ResizeDecoder``, server side) cut into pieces
  of the second byte's size: only ValueError escapes, every size is a pair of
  ints (never bools) in 0..65535, the buffer stays bounded, and after an error the
  stream is over;
- 1: a Status from the error channel (``ctl/channels.exit_status``, client side):
  never raises, gives (None or an int, a str);
- 2: round trips: the exit code (2 bytes) and command (NUL-separated) the server
  encodes with ``error_payload`` decode to that code on the client, and a
  client's ``channels.resize(w, h)`` decodes to (w, h) on the server.
"""
from gantry.highlevel.ctl import channels
from gantry.highlevel.streaming import remotecommand as rc

from .harness import Target


def _resize(step, body):
    decoder = rc.ResizeDecoder()
    for pos in range(0, len(body), step):
        try:
            sizes = decoder.feed(body[pos:pos + step])
        except ValueError:
            return
        for w, h in sizes:
            assert type(w) is int and type(h) is int and 0 <= w < 65536 and 0 <= h < 65536, (w, h)
        assert len(decoder.buffer) <= rc.MAX_RESIZE_BUFFER


def _status(body):
    code, message = channels.exit_status(body)
    assert code is None or type(code) is int, code
    assert isinstance(message, str)


def _round_trip(body):
    code = int.from_bytes(body[:2].ljust(2, b"\0"), "big")
    command = [a.decode("utf-8", "replace") for a in body[2:].split(b"\0")] if body[2:] else None
    got, message = channels.exit_status(rc.error_payload(4, code, command))
    assert got == code, (got, code)
    assert (message == "") == (code == 0)
    w, h = code, int.from_bytes(body[2:4].ljust(2, b"\0"), "big")
    assert rc.ResizeDecoder().feed(channels.resize(w, h)[1:]) == [(w, h)]


def check(data):
    if len(data) < 2:
        return
    mode, body = data[0] % 3, data[2:]
    if mode == 0:
        _resize(data[1] + 1, body)
    elif mode == 1:
        _status(body)
    else:
        _round_trip(body)


TARGET = Target("remotecommand", check, ("gantry.highlevel.streaming.remotecommand", "gantry.highlevel.ctl.channels"))
