from gantry.highlevel import errors
from gantry.highlevel.streaming.backend import _Pumps
from gantry.highlevel.streaming.buffer import ByteBuffer


class _Stream:
    def __init__(self, fail_after=None):
        self.sent, self.fail_after = [], fail_after

    def send(self, data):
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise errors.Unavailable("send to shim: gone")
        self.sent.append(data)


class _IO:
    def __init__(self):
        self.stdin = ByteBuffer()


def test_stdin_goes_to_the_shim_then_eof_once():
    io, stream, eofs = _IO(), _Stream(), []
    pumps = _Pumps(io, stream, tty=False)
    io.stdin.put(b"early")
    pumps.pipe_stdin(lambda: eofs.append(1))
    io.stdin.put(b"x")
    io.stdin.close()
    assert stream.sent == [b"early", b"x"] and eofs == [1]


def test_a_failed_send_stops_stdin_without_raising_in_the_reader():
    io, stream, eofs = _IO(), _Stream(fail_after=1), []
    pumps = _Pumps(io, stream, tty=False)
    pumps.pipe_stdin(lambda: eofs.append(1))
    io.stdin.put(b"a")
    io.stdin.put(b"b")      # raises inside: swallowed
    io.stdin.put(b"c")
    io.stdin.close()
    assert stream.sent == [b"a"] and eofs == []


def test_nothing_reaches_the_shim_once_the_pumps_are_done():
    io, stream, eofs = _IO(), _Stream(), []
    pumps = _Pumps(io, stream, tty=False)
    pumps.pipe_stdin(lambda: eofs.append(1))
    pumps.done.set()
    io.stdin.put(b"late")
    io.stdin.close()
    assert stream.sent == [] and eofs == []
