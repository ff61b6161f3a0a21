"""Pipes handed over a shim connection (AttachRequest.direct): the shim's Call.accept(fds) and
gantryd's reading of them, over a real socketpair."""
import os
import socket

import pytest
from gantry.api import framing
from gantry.highlevel import errors, shimclient
from gantry.shim import server


class FakeLoop:
    def forget(self, fd):
        pass


class FakeServer:
    loop = FakeLoop()
    connections = set()

    def on_drained(self, conn):
        pass


def pair():
    shim_end, client_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    shim_end.setblocking(False)
    conn = object.__new__(shimclient._Connection)
    conn.sock, conn.decoder, conn.frames, conn.address = client_end, framing.Decoder(), [], "test.sock"
    return server.Connection(FakeServer(), shim_end), conn


def open_fds():
    return set(os.listdir("/proc/self/fd"))


def test_the_fds_arrive_with_the_response_and_are_the_same_pipes():
    shim, client = pair()
    r, w = os.pipe()
    server.Call(shim, 1, "Attach").accept([r, w])
    frame, fds = shimclient._response_with_fds(client, 5, "Attach")
    assert frame.kind == framing.RESPONSE and frame.id == 1 and len(fds) == 2
    os.write(fds[1], b"through the copy")
    assert os.read(r, 100) == b"through the copy"
    for fd in (r, w, *fds):
        os.close(fd)
    shim.close()
    client.close()


@pytest.mark.parametrize("count,error", [(3, None), (4, errors.Internal)])
def test_at_most_three_fds_are_taken_and_none_leak(count, error):
    shim, client = pair()
    pipes = [os.pipe() for _ in range(2)]
    ends = [fd for p in pipes for fd in p][:count]
    before = open_fds()
    server.Call(shim, 1, "Attach").accept(ends)
    if error:
        with pytest.raises(error):
            shimclient._response_with_fds(client, 5, "Attach")
        assert open_fds() == before
    else:
        _, fds = shimclient._response_with_fds(client, 5, "Attach")
        assert len(fds) == 3
        for fd in fds:
            os.close(fd)
    for fd in [fd for p in pipes for fd in p]:
        os.close(fd)
    shim.close()
    client.close()


def test_fds_are_refused_behind_buffered_replies():
    shim, client = pair()
    shim.out += b"still queued"
    r, w = os.pipe()
    with pytest.raises(OSError):
        shim.write(framing.response(1), [r])
    for fd in (r, w):
        os.close(fd)
    client.close()
