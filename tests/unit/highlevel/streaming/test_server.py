"""server.py with a fake backend over loopback: validation, routing, upgrades, malformed input."""
import json
import socket
import threading
import time

import pytest
from gantry.api import cri_pb2
from gantry.highlevel import errors
from gantry.highlevel.streaming import spdy
from gantry.highlevel.streaming.server import StreamingServer

from tests.fixtures.streamclient import SpdyClient, WsClient, http_request


class FakeBackend:
    """exec: echoes stdin to stdout with a prefix, "err" on stderr, exits with int(cmd[0])."""

    def __init__(self):
        self.calls = []

    def check_exec(self, cid):
        if cid == "missing":
            raise errors.NotFound("container missing not found")

    check_attach = check_exec

    def check_port_forward(self, pid):
        pass

    def exec(self, cid, cmd, tty, io):
        self.calls.append(("exec", cid, cmd, tty))
        data = b""
        while io.stdin is not None:
            chunk = io.stdin.read()
            if not chunk:
                break
            data += chunk
        io.stdout.write(b"out:" + data)
        if io.stderr is not None:
            io.stderr.write(b"err")
        if cmd[0] == "fail":
            raise errors.FailedPrecondition("the container stopped")
        return int(cmd[0])

    def attach(self, cid, tty, io):
        self.calls.append(("attach", cid, tty))
        io.stdout.write(b"attached")


@pytest.fixture
def server():
    s = StreamingServer(FakeBackend())
    s.start()
    yield s
    s.stop()


def ex(cid="c1", cmd=("0",), **kw):
    return cri_pb2.ExecRequest(container_id=cid, cmd=list(cmd), **kw)


INVALID = [
    ("get_exec", ex(cid="", stdout=True), "missing required container_id"),
    ("get_exec", ex(cmd=(), stdout=True), "cmd is empty"),
    ("get_exec", ex(tty=True, stdout=True, stderr=True), "tty and stderr cannot both be true"),
    ("get_exec", ex(), "one of stdin, stdout, or stderr must be set"),
    ("get_attach", cri_pb2.AttachRequest(container_id="c1"), "one of stdin, stdout, or stderr"),
    ("get_attach", cri_pb2.AttachRequest(stdout=True), "missing required container_id"),
    ("get_port_forward", cri_pb2.PortForwardRequest(), "missing required pod_sandbox_id"),
    ("get_port_forward", cri_pb2.PortForwardRequest(pod_sandbox_id="p", port=[70000]), "invalid port 70000"),
]


@pytest.mark.parametrize("method,req,message", INVALID)
def test_request_validation(server, method, req, message):
    with pytest.raises(errors.InvalidArgument, match=message):
        getattr(server, method)(req)
    assert len(server.tokens) == 0


def test_backend_check_errors_pass_through(server):
    with pytest.raises(errors.NotFound):
        server.get_exec(ex(cid="missing", stdout=True))


def test_url_shape(server):
    url = server.get_exec(ex(stdout=True))
    assert url.startswith("http://127.0.0.1:%d/exec/" % server.port)
    assert server.get_attach(cri_pb2.AttachRequest(container_id="c", stdout=True)).split("/")[3] == "attach"
    assert server.get_port_forward(cri_pb2.PortForwardRequest(pod_sandbox_id="p")).split("/")[3] == "portforward"


def spdy_exec(url, protocol="v4.channel.k8s.io", stdin=b"x"):
    c = SpdyClient.connect(url, [protocol])
    ids = {t: c.open({"streamtype": t}) for t in ("error", "stdin", "stdout", "stderr")}
    c.send(ids["stdin"], stdin, fin=True)
    result = c.read_all(ids["stdout"]), c.read_all(ids["stderr"]), c.read_all(ids["error"])
    c.close()
    return result


def test_spdy_exec_status_by_protocol_version(server):
    req = ex(cmd=("5",), stdin=True, stdout=True, stderr=True)
    out, err, status = spdy_exec(server.get_exec(req))
    assert (out, err) == (b"out:x", b"err")
    assert json.loads(status)["details"]["causes"][0]["message"] == "5"
    out, err, status = spdy_exec(server.get_exec(req), "v3.channel.k8s.io")
    assert status == b"command terminated with non-zero exit code: exit code 5"
    out, err, status = spdy_exec(server.get_exec(ex(cmd=("fail",), stdin=True, stdout=True, stderr=True)))
    assert "the container stopped" in json.loads(status)["message"]


def test_websocket_exec_and_attach(server):
    w = WsClient.connect(server.get_exec(ex(cmd=("0",), stdin=True, stdout=True, stderr=True)),
                         ["v4.channel.k8s.io"])
    w.send(0, b"ws")
    w.close()  # v4 has no close channel: the client ends stdin by leaving; the server must cope
    _wait(lambda: server.active_connections() == 0)
    w = WsClient.connect(server.get_attach(cri_pb2.AttachRequest(container_id="c1", stdout=True)),
                         ["v5.channel.k8s.io"])
    got = w.collect()
    w.close()
    assert got[1] == b"attached" and json.loads(got[3])["status"] == "Success"


@pytest.mark.parametrize("path,headers,status", [
    ("/nothing/here", [], 404),
    ("/exec/not-a-token", [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1")], 404),
    ("/exec/a/b", [], 404),
])
def test_routing_errors(server, path, headers, status):
    got, _, body, sock = http_request(server.url_base + path, "GET", headers)
    sock.close()
    assert got == status


def test_upgrade_errors_spend_the_token(server):
    url = server.get_exec(ex(stdout=True))
    got, _, body, sock = http_request(url, "POST")
    sock.close()
    assert got == 400 and b"missing upgrade headers" in body
    got, _, body, sock = http_request(server.get_exec(ex(stdout=True)), "POST", [("Upgrade", "SPDY/3.1")])
    sock.close()
    assert got == 400 and b"missing upgrade headers" in body  # Upgrade without Connection: Upgrade
    url = server.get_exec(ex(stdout=True))
    got, _, body, sock = http_request(url, "POST", [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"),
                                                    ("X-Stream-Protocol-Version", "v9.channel.k8s.io")])
    sock.close()
    assert got == 403 and b"unable to negotiate protocol" in body
    got, _, _, sock = http_request(url, "POST", [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1")])
    sock.close()
    assert got == 404
    with pytest.raises(ConnectionError, match="refused"):
        WsClient.connect(server.get_exec(ex(stdout=True)), ["v9.channel.k8s.io"])
    got, _, body, sock = http_request(server.get_exec(ex(stdout=True)), "GET",
                                      [("Connection", "Upgrade"), ("Upgrade", "websocket")])
    sock.close()
    assert got == 400 and b"Sec-WebSocket-Version" in body
    got, _, _, sock = http_request(server.url_base + "/exec/x", "GET", [("Bad Header", "x")])
    sock.close()
    assert got == 400


def test_malformed_spdy_gets_goaway_and_the_server_lives_on(server):
    backend = server.backend
    url = server.get_exec(ex(stdout=True))
    c = SpdyClient.connect(url, ["v4.channel.k8s.io"])
    c.send_raw(spdy.control_frame(spdy.PING, 0, b"\0" * 9))  # a PING of the wrong size
    assert c.wait_closed(10)
    assert c.goaway is not None and c.goaway[1] == spdy.GOAWAY_PROTOCOL_ERROR
    c.close()
    assert backend.calls == []
    # a client that sends half a frame and leaves
    c = SpdyClient.connect(server.get_exec(ex(stdout=True)), ["v4.channel.k8s.io"])
    c.send_raw(spdy.control_frame(spdy.PING, 0, b"\0\0\0\1")[:5])
    c.close()
    _wait(lambda: server.active_connections() == 0)
    out, err, status = spdy_exec(server.get_exec(ex(cmd=("0",), stdin=True, stdout=True, stderr=True)))
    assert out == b"out:x" and json.loads(status)["status"] == "Success"


def test_connection_limit_and_stop():
    s = StreamingServer(FakeBackend(), max_connections=1)
    s.start()
    try:
        idle = socket.create_connection(("127.0.0.1", s.port))
        _wait(lambda: s.active_connections() == 1)
        got, _, body, sock = http_request(s.url_base + "/exec/x", "GET")
        sock.close()
        assert got == 503
        before = threading.active_count()
    finally:
        s.stop()
    idle.close()
    assert s.active_connections() == 0 and threading.active_count() < before


def test_accepted_connections_have_nodelay(server):
    """Interactive exec sends small frames: Nagle's algorithm must not hold them back."""
    client = socket.create_connection(("127.0.0.1", server.port))
    try:
        _wait(lambda: server.active_connections() == 1)
        with server.lock:
            accepted = list(server.connections.values())
        assert [c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for c in accepted] == [1]
    finally:
        client.close()


def _wait(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("send,code", [
    (lambda w: w.send_text("0text on a binary protocol"), 1002),
    (lambda w: w.send_raw(b""), 1002),
    (lambda w: w.send_raw(b"\x00" + b"x" * (1 << 20)), 1009),
    (lambda w: w.sock.sendall(b"\xff\xff\xff\xff not a websocket frame"), 1002),
])
def test_malformed_websocket_input_closes_the_connection(server, send, code):
    w = WsClient.connect(server.get_exec(ex(cmd=("0",), stdin=True, stdout=True)), ["v5.channel.k8s.io"])
    send(w)
    assert w.wait_closed(10)
    w.close()
    assert w.close_code == code
    _wait(lambda: server.active_connections() == 0)
    out, err, status = spdy_exec(server.get_exec(ex(cmd=("0",), stdin=True, stdout=True, stderr=True)))
    assert json.loads(status)["status"] == "Success"


def test_spdy_exec_refuses_streams_beyond_its_limit(server):
    c = SpdyClient.connect(server.get_exec(ex(stdout=True)), ["v4.channel.k8s.io"])
    burst = b"".join(c.codec.syn_stream(1 + 2 * i, {"streamtype": "x-%d" % i}) for i in range(9))
    c.send_raw(burst)  # one write: the server reads all nine SYN_STREAMs at once
    extra = 17
    c.wait(lambda: extra in c.resets, "the extra stream to be refused")
    assert c.resets[extra] == spdy.REFUSED_STREAM
    c.close()
