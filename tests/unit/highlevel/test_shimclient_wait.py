"""ShimClient.begin_wait: a Wait in flight that its caller polls (the streaming exec's wait, no thread)."""
import socket
import threading

import pytest
from gantry.api import framing, shim_pb2
from gantry.highlevel import errors
from gantry.highlevel.shimclient import ShimClient


class OneCallShim:
    """A unix socket that takes one request and answers with ``answer(frame)`` once ``release`` is set."""

    def __init__(self, path, answer):
        self.path, self.answer = path, answer
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(1)
        self.release = threading.Event()
        self.requests = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.listener.accept()
        decoder = framing.Decoder()
        frames = []
        while not frames:
            frames = decoder.feed(conn.recv(65536))
        self.requests.append(frames[0])
        self.release.wait(10)
        conn.sendall(self.answer(frames[0]))
        conn.recv(1)   # until the client closes
        conn.close()

    def close(self):
        self.release.set()
        self.thread.join(10)
        self.listener.close()


@pytest.fixture
def shim(tmp_path):
    made = []

    def make(answer):
        made.append(OneCallShim(str(tmp_path / "shim.sock"), answer))
        return made[-1]
    yield make
    for s in made:
        s.close()


def test_result_is_none_until_the_exit_then_the_response(shim):
    s = shim(lambda f: framing.response(f.id, shim_pb2.WaitResponse(exit_status=7, exited_at_ns=5).SerializeToString()))
    pending = ShimClient(s.path).begin_wait("e1")
    try:
        assert pending.result(timeout=0.05) is None
        assert pending.result(timeout=0.05) is None
        s.release.set()
        got = pending.result(timeout=10)
        assert (got.exit_status, got.exited_at_ns) == (7, 5)
    finally:
        pending.close()
    frame = s.requests[0]
    assert (frame.kind, frame.method) == (framing.REQUEST, "Wait")
    assert shim_pb2.WaitRequest.FromString(frame.payload).exec_id == "e1"


@pytest.mark.parametrize("code, error", [(framing.NOT_FOUND, errors.NotFound),
                                         (framing.FAILED_PRECONDITION, errors.FailedPrecondition)])
def test_an_error_answer_is_the_domain_error(shim, code, error):
    s = shim(lambda f: framing.error(f.id, code, "wait exec 'e1': nope"))
    s.release.set()
    pending = ShimClient(s.path).begin_wait("e1")
    try:
        with pytest.raises(error, match="nope"):
            pending.result(timeout=10)
    finally:
        pending.close()


def test_a_shim_that_is_not_there_is_unavailable(tmp_path):
    with pytest.raises(errors.Unavailable):
        ShimClient(str(tmp_path / "gone.sock")).begin_wait("e1")
