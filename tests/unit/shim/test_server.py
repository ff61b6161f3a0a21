"""The shim's server over a real unix socket (no root): dispatch, errors, deferred
replies, streams, cancellation on hang-up, slow clients dropped."""
import os
import socket

import pytest
from gantry.api import framing, shim_pb2, shimcalls
from gantry.shim import server as server_mod
from gantry.shim.errors import NotFound
from gantry.shim.loop import Loop
from gantry.shim.server import PENDING, Server, listen


class Harness:
    def __init__(self, path, handlers):
        self.loop = Loop()
        self.server = Server(self.loop, listen(path), handlers, shimcalls.CALLS)
        self.path = path

    def client(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        s.setblocking(False)
        return s

    def pump(self, seconds=0.05):
        self.loop.call_later(seconds, self.loop.stop)
        self.loop.run()

    @staticmethod
    def frames(sock, decoder):
        out = []
        while True:
            try:
                data = sock.recv(1 << 20)
            except BlockingIOError:
                return out
            if not data:
                return out + ["EOF"]
            out += decoder.feed(data)


@pytest.fixture
def harness(tmp_path):
    state = {"waiters": [], "cancelled": 0}

    def connect(req, call):
        return shim_pb2.ConnectResponse(shim_pid=7, version="v")

    def state_(req, call):
        raise NotFound("exec %r: no such process" % req.exec_id)

    def wait(req, call):
        state["waiters"].append(call)

        def cancelled():
            state["cancelled"] += 1
        call.on_cancel = cancelled
        return PENDING

    def attach(req, call):
        state["attach"] = call
        call.on_data = lambda payload: call.send(shim_pb2.AttachResponse(
            data=shim_pb2.AttachRequest.FromString(payload).data.upper()))
        call.accept()
        return PENDING

    def boom(req, call):
        raise RuntimeError("bug")

    h = Harness(str(tmp_path / "s.sock"), {"Connect": connect, "State": state_, "Wait": wait, "Attach": attach,
                                            "Pids": boom})
    h.state = state
    yield h
    h.server.close()
    h.loop.close()


def test_socket_mode_is_0600(harness):
    assert os.stat(harness.path).st_mode & 0o777 == 0o600


def test_unary_error_unknown_and_malformed(harness):
    c, d = harness.client(), framing.Decoder()
    c.sendall(framing.request(1, "Connect") + framing.request(2, "State", shim_pb2.StateRequest(exec_id="x").SerializeToString())
              + framing.request(3, "Nope") + framing.request(4, "State", b"\xff\xff") + framing.request(5, "Pids"))
    harness.pump()
    got = {f.id: f for f in harness.frames(c, d)}
    assert shim_pb2.ConnectResponse.FromString(got[1].payload).shim_pid == 7
    assert (got[2].kind, got[2].code, got[2].payload) == (framing.ERROR, framing.NOT_FOUND, b"exec 'x': no such process")
    assert got[3].code == framing.UNIMPLEMENTED
    assert got[4].code == framing.INVALID_ARGUMENT
    assert got[5].code == framing.INTERNAL and b"RuntimeError: bug" in got[5].payload


def test_deferred_reply_while_other_calls_go_on(harness):
    c, d = harness.client(), framing.Decoder()
    c.sendall(framing.request(1, "Wait") + framing.request(2, "Connect"))
    harness.pump()
    assert [f.id for f in harness.frames(c, d)] == [2]
    harness.state["waiters"][0].reply(shim_pb2.WaitResponse(exit_status=3))
    harness.pump()
    (f,) = harness.frames(c, d)
    assert f.id == 1 and shim_pb2.WaitResponse.FromString(f.payload).exit_status == 3


def test_duplicate_id_in_flight_is_refused(harness):
    c, d = harness.client(), framing.Decoder()
    c.sendall(framing.request(1, "Wait") + framing.request(1, "Wait"))
    harness.pump()
    (f,) = harness.frames(c, d)
    assert f.code == framing.INVALID_ARGUMENT


def test_hang_up_cancels_calls_in_flight(harness):
    c = harness.client()
    c.sendall(framing.request(1, "Wait"))
    harness.pump()
    c.close()
    harness.pump()
    assert harness.state["cancelled"] == 1
    assert harness.server.connections == set()


def test_attach_streams_both_ways_and_ends(harness):
    c, d = harness.client(), framing.Decoder()
    c.sendall(framing.request(9, "Attach", shim_pb2.AttachRequest(stdin=True).SerializeToString()))
    harness.pump()
    assert [f.kind for f in harness.frames(c, d)] == [framing.RESPONSE]
    c.sendall(framing.data(9, shim_pb2.AttachRequest(data=b"abc").SerializeToString()))
    harness.pump()
    harness.state["attach"].end()
    harness.pump()
    f1, f2 = harness.frames(c, d)
    assert shim_pb2.AttachResponse.FromString(f1.payload).data == b"ABC" and f2.kind == framing.END


def test_garbage_closes_only_that_connection(harness):
    bad, good, d = harness.client(), harness.client(), framing.Decoder()
    bad.sendall(b"\xff\xff\xff\xff")
    good.sendall(framing.request(1, "Connect"))
    harness.pump()
    assert harness.frames(bad, framing.Decoder()) == ["EOF"]
    assert [f.id for f in harness.frames(good, d)] == [1]


def test_a_client_that_does_not_read_is_dropped(harness, monkeypatch):
    monkeypatch.setattr(server_mod, "MAX_BUFFERED", 1 << 20)
    c = harness.client()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.sendall(framing.request(9, "Attach", shim_pb2.AttachRequest().SerializeToString()))
    harness.pump()
    call = harness.state["attach"]
    chunk = shim_pb2.AttachResponse(data=b"x" * 65536)
    for _ in range(64):  # 4 MiB the client never reads
        call.send(chunk)
    assert harness.server.connections == set()


def test_a_failing_callback_does_not_stop_the_loop():
    loop = Loop()
    ran = []

    def bad():
        raise OSError("boom")
    loop.call_later(0, bad)
    loop.call_later(0.01, lambda: ran.append(1))
    loop.call_later(0.02, loop.stop)
    loop.run()
    assert ran == [1] and loop.errors == 1
    loop.close()
