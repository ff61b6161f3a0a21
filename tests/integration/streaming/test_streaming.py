"""The streaming server end to end: real containers (template → shim → gantry-oci), real clients.

Clients are tests/fixtures/streamclient.py's, speaking what client-go sends:
SPDY/3.1 with v4.channel.k8s.io / portforward.k8s.io, WebSocket v5 / v4
base64 channels, and SPDY tunnelled in WebSocket for port-forward.
"""
import base64
import json
import os
import socket
import threading
import time

import pytest
from gantry.api import cri_pb2
from gantry.highlevel.streaming import spdy
from gantry.highlevel.streaming.backend import PodRef

from tests.fixtures.streamclient import SpdyClient, WsClient, http_request
from tests.integration.shim.conftest import wait_for
from tests.integration.streaming.conftest import open_fds

pytestmark = [pytest.mark.root]


def exec_url(stack, ref, cmd, stdin=False, tty=False, stderr=True):
    return stack.server.get_exec(cri_pb2.ExecRequest(container_id=ref.id, cmd=cmd, stdin=stdin, stdout=True,
                                                     stderr=stderr and not tty, tty=tty))


def spdy_exec(url, stdin=None, tty=False, resize=None):
    """Run one exec over SPDY v4 as client-go does; returns (stdout, stderr, status dict)."""
    c = SpdyClient.connect(url, ["v4.channel.k8s.io", "v3.channel.k8s.io"])
    assert c.protocol == "v4.channel.k8s.io"
    ids = {"error": c.open({"streamtype": "error"})}
    if stdin is not None:
        ids["stdin"] = c.open({"streamtype": "stdin"})
    ids["stdout"] = c.open({"streamtype": "stdout"})
    if tty:
        ids["resize"] = c.open({"streamtype": "resize"})
    else:
        ids["stderr"] = c.open({"streamtype": "stderr"})
    if resize:
        c.send(ids["resize"], json.dumps({"Width": resize[0], "Height": resize[1]}).encode())
    if stdin is not None:
        for chunk in stdin:
            time.sleep(0.2)
            c.send(ids["stdin"], chunk)
        c.send(ids["stdin"], b"", fin=True)
    out = c.read_all(ids["stdout"], timeout=30)
    err = c.read_all(ids["stderr"]) if "stderr" in ids else b""
    status = json.loads(c.read_all(ids["error"]))
    c.close()
    return out, err, status


def exit_code(status):
    if status["status"] == "Success":
        return 0
    assert status["reason"] == "NonZeroExitCode", status
    return int(status["details"]["causes"][0]["message"])


def test_exec_spdy_output_and_exit_codes(stack):
    ref, _ = stack.container(["sleep", "1000"])
    out, err, status = spdy_exec(exec_url(stack, ref, ["sh", "-c", "echo out; echo err >&2"]))
    assert (out, err, exit_code(status)) == (b"out\n", b"err\n", 0)
    out, err, status = spdy_exec(exec_url(stack, ref, ["sh", "-c", "exit 1"]))
    assert exit_code(status) == 1
    out, err, status = spdy_exec(exec_url(stack, ref, ["no-such-binary"]))
    assert exit_code(status) == 127 and b"executable file not found" in err
    out, err, status = spdy_exec(exec_url(stack, ref, ["/etc/passwd"]))
    assert exit_code(status) == 126 and b"permission denied" in err


def test_exec_spdy_stdin(stack):
    ref, _ = stack.container(["sleep", "1000"])
    out, _, status = spdy_exec(exec_url(stack, ref, ["sh", "-c", "cat; echo done"], stdin=True),
                               stdin=[b"hello ", b"world\n"])
    assert out == b"hello world\ndone\n" and exit_code(status) == 0


def test_exec_spdy_tty_resize(stack):
    ref, _ = stack.container(["sleep", "1000"])
    out, _, status = spdy_exec(exec_url(stack, ref, ["sh", "-c", "read x; stty size; exit 4"], stdin=True, tty=True),
                               stdin=[b"go\n"], tty=True, resize=(101, 33))
    assert b"33 101" in out and exit_code(status) == 4


def test_exec_tty_starts_at_the_client_size(stack):
    """The first size arrives with the streams: the process sees it from its first instruction."""
    ref, _ = stack.container(["sleep", "1000"])
    for _ in range(3):
        out, _, status = spdy_exec(exec_url(stack, ref, ["stty", "size"], tty=True), tty=True, resize=(77, 21))
        assert out.strip() == b"21 77" and exit_code(status) == 0


def test_exec_websocket_v5_and_base64(stack):
    ref, _ = stack.container(["sleep", "1000"])
    w = WsClient.connect(exec_url(stack, ref, ["sh", "-c", "cat; echo e >&2; exit 3"], stdin=True),
                         ["v5.channel.k8s.io", "v4.channel.k8s.io"])
    assert w.subprotocol == "v5.channel.k8s.io"
    w.send(0, b"via websocket\n")
    w.close_channel(0)
    got = w.collect()
    w.close()
    assert got[1] == b"via websocket\n" and got[2] == b"e\n"
    assert exit_code(json.loads(got[3])) == 3 and w.close_code == 1000
    assert w.messages[0] == (False, b"\x01")  # kubelet's empty "connected" message on stdout

    w = WsClient.connect(exec_url(stack, ref, ["sh", "-c", "echo b64"]), ["v4.base64.channel.k8s.io"])
    w.wait_closed()
    w.close()
    texts = [m for is_text, m in w.messages if is_text]
    assert "1YjY0Cg==" in texts and json.loads(base64.b64decode(
        [t for t in texts if t.startswith("3")][0][1:]))["status"] == "Success"


def test_attach_two_clients(stack):
    ref, client = stack.container(["cat"], stdin=True)
    url = lambda: stack.server.get_attach(cri_pb2.AttachRequest(container_id=ref.id, stdin=True, stdout=True,  # noqa: E731
                                                                stderr=True))
    a = SpdyClient.connect(url(), ["v4.channel.k8s.io"])
    a_ids = {t: a.open({"streamtype": t}) for t in ("error", "stdin", "stdout", "stderr")}
    b = WsClient.connect(url(), ["v5.channel.k8s.io"])
    time.sleep(0.5)  # both attached in the shim
    a.send(a_ids["stdin"], b"from a\n")
    wait_for(lambda: b"from a\n" in a.received(a_ids["stdout"]), what="a sees its echo")
    b.send(0, b"from b\n")
    assert b.wait_for(lambda ms: b"".join(m[1:] for t, m in ms if not t and m[:1] == b"\x01") == b"from a\nfrom b\n")
    wait_for(lambda: a.received(a_ids["stdout"]) == b"from a\nfrom b\n", what="a sees b's input")
    client.kill(9)
    status = json.loads(a.read_all(a_ids["error"]))
    assert status["status"] == "Success"
    assert b.wait_closed() and b.close_code == 1000
    a.close()
    b.close()


def attach_spdy(stack, ref, stdin_data):
    url = stack.server.get_attach(cri_pb2.AttachRequest(container_id=ref.id, stdin=True, stdout=True, stderr=True))
    c = SpdyClient.connect(url, ["v4.channel.k8s.io"])
    ids = {t: c.open({"streamtype": t}) for t in ("error", "stdin", "stdout", "stderr")}
    time.sleep(0.3)
    c.send(ids["stdin"], stdin_data, fin=True)
    out, status = c.read_all(ids["stdout"]), json.loads(c.read_all(ids["error"]))
    c.close()
    return out, status


def test_attach_stdin_eof(stack):
    """stdin_once without tty: EOF closes the container's stdin (kubectl run -i); otherwise the client detaches."""
    ref, client = stack.container(["sh"], stdin=True, stdin_once=True)
    out, status = attach_spdy(stack, ref, b"echo hello\n")
    assert out == b"hello\n" and status["status"] == "Success"
    assert client.wait(timeout=10).exit_status == 0  # sh read EOF and exited
    ref, client = stack.container(["cat"], stdin=True, stdin_once=False)
    out, status = attach_spdy(stack, ref, b"one\n")
    assert status["status"] == "Success"
    assert client.state().status == 2  # RUNNING: detached, the container keeps its stdin
    out, status = attach_spdy(stack, ref, b"two\n")
    assert status["status"] == "Success" and client.state().status == 2
    log = stack.env.log_path(ref.id)  # the echo may come after the detach: the log has it
    wait_for(lambda: open(log, "rb").read().count(b" one\n") + open(log, "rb").read().count(b" two\n") == 2,
             what="both inputs echoed into the log")


def test_port_forward_two_connections(stack, pod_netns):
    port = pod_netns.serve("echo")
    stack.pods["pod1"] = PodRef("pod1", pod_netns.path)
    url = stack.server.get_port_forward(cri_pb2.PortForwardRequest(pod_sandbox_id="pod1", port=[port]))
    c = SpdyClient.connect(url, ["portforward.k8s.io"])
    assert c.protocol == "portforward.k8s.io"
    pairs = []
    for rid in ("0", "1"):
        h = {"streamtype": "error", "port": str(port), "requestid": rid}
        err = c.open(h)
        c.send(err, b"", fin=True)
        pairs.append((err, c.open(dict(h, streamtype="data"))))
    # both connections live at once: interleave
    for i in range(3):
        for n, (_, data) in enumerate(pairs):
            c.send(data, b"c%d-%d;" % (n, i))
    for n, (err, data) in enumerate(pairs):
        expect = b"".join(b"c%d-%d;" % (n, i) for i in range(3))
        wait_for(lambda data=data, expect=expect: c.received(data) == expect, what="echo on connection %d" % n)
        c.send(data, b"", fin=True)
        assert c.read_all(data) == expect and c.read_all(err) == b""
        c.reset(data)
    # a port nobody listens on: the error stream says so, the session lives on
    h = {"streamtype": "error", "port": "1", "requestid": "2"}
    err = c.open(h)
    c.open(dict(h, streamtype="data"))
    assert b"error forwarding port 1" in c.read_all(err)
    c.close()

    # the same through SPDY tunnelled in WebSocket (critest --websocket-portforward)
    url = stack.server.get_port_forward(cri_pb2.PortForwardRequest(pod_sandbox_id="pod1", port=[port]))
    w = WsClient.connect(url, ["SPDY/3.1+portforward.k8s.io"])
    assert w.subprotocol == "SPDY/3.1+portforward.k8s.io"
    t = SpdyClient(w.tunnel())
    h = {"streamtype": "error", "port": str(port), "requestid": "0"}
    err = t.open(h)
    data = t.open(dict(h, streamtype="data"))
    t.send(data, b"tunnelled", fin=True)
    assert t.read_all(data) == b"tunnelled" and t.read_all(err) == b""
    t.close()


def test_port_forward_legacy_websocket_channels(stack, pod_netns, tmp_path):
    """kubelet's older WebSocket port-forward (gantryctl's): ``?port=``, two channels per port, each opened
    with the port number; the server closes once every pod side ended."""
    port = pod_netns.serve("echo")
    stack.pods["pod1"] = PodRef("pod1", pod_netns.path)

    def url(ports, query):
        return stack.server.get_port_forward(cri_pb2.PortForwardRequest(pod_sandbox_id="pod1", port=ports)) + query

    w = WsClient.connect(url([port, 1], "?port=%d&port=1" % port), ["v4.channel.k8s.io"])
    assert w.subprotocol == "v4.channel.k8s.io"
    prefix = port.to_bytes(2, "little")
    assert w.wait_for(lambda m: len(m) >= 5)      # four port prefixes, then port 1's refusal
    assert w.messages[:4] == [(False, b"\x00" + prefix), (False, b"\x01" + prefix),
                              (False, b"\x02\x01\x00"), (False, b"\x03\x01\x00")]
    assert w.messages[4][1][0] == 3 and b"error forwarding port 1" in w.messages[4][1]
    w.send(0, b"legacy ")
    w.send(2, b"ignored: port 1 was refused")
    w.send(0, b"form")
    assert w.wait_for(lambda m: b"".join(p[1:] for _, p in m[5:] if p[:1] == b"\x00") == b"legacy form")
    w.close()
    wait_for(lambda: stack.server.active_connections() == 0, what="the connection to end")

    # base64 text frames; the pod closing its side ends the WebSocket
    closer = pod_netns.serve("flood", total=65536 * 2, progress=str(tmp_path / "sent"))
    w = WsClient.connect(url([closer], "?port=%d" % closer), ["v4.base64.channel.k8s.io"])
    assert w.wait_closed() and w.close_code == 1000
    data = b"".join(base64.b64decode(m[1:]) for is_text, m in w.messages if is_text and m[0] == "0")
    assert data == closer.to_bytes(2, "little") + b"x" * 65536 * 2
    w.close()

    # no port, a port the PortForward call did not name, an unknown subprotocol
    for query, protocols in (("", ["v4.channel.k8s.io"]), ("?port=%d" % (port + 1), ["v4.channel.k8s.io"]),
                             ("?port=x", []), ("?port=%d" % port, ["v9.channel.k8s.io"])):
        with pytest.raises(ConnectionError):
            WsClient.connect(url([port], query), protocols)
    wait_for(lambda: stack.server.active_connections() == 0, what="refused connections to end")


def test_port_forward_slow_reader_backpressure(stack, pod_netns, tmp_path):
    progress = str(tmp_path / "sent")
    total = 256 << 20
    port = pod_netns.serve("flood", total, progress)
    stack.pods["pod1"] = PodRef("pod1", pod_netns.path)
    url = stack.server.get_port_forward(cri_pb2.PortForwardRequest(pod_sandbox_id="pod1", port=[port]))
    status, hdrs, rest, sock = http_request(url, "POST", [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"),
                                                          ("X-Stream-Protocol-Version", "portforward.k8s.io")])
    assert status == 101
    codec = spdy.ClientCodec()
    h = {"streamtype": "error", "port": str(port), "requestid": "0"}
    sock.sendall(codec.syn_stream(1, h, fin=True) + codec.syn_stream(3, dict(h, streamtype="data")))
    read = len(rest)
    while read < (1 << 20):  # read 1 MiB, then stop reading
        read += len(sock.recv(65536))
    time.sleep(3)
    sent = int(open(progress).read())
    assert sent < 64 << 20, "the pod wrote %d MiB while the client read 1 MiB: no back-pressure" % (sent >> 20)
    # reading resumes: the flow continues
    deadline = time.monotonic() + 30
    while read < (16 << 20) and time.monotonic() < deadline:
        read += len(sock.recv(1 << 20))
    assert read >= 16 << 20
    assert int(open(progress).read()) > sent
    sock.close()
    wait_for(lambda: stack.server.active_connections() == 0, what="the connection to end")


class SlowTransport:
    """Reads at most 16 KiB per 10 ms (~1.6 MB/s)."""

    def __init__(self, inner):
        self.inner, self.pending = inner, b""

    def recv(self):
        time.sleep(0.01)
        if not self.pending:
            self.pending = self.inner.recv()
        data, self.pending = self.pending[:16384], self.pending[16384:]
        return data

    def sendall(self, data):
        self.inner.sendall(data)

    def close(self):
        self.inner.close()


def test_exec_slow_reader_gets_everything(stack):
    """5 MB read at ~1.6 MB/s: the process has long exited when the last byte is read, nothing is cut off."""
    ref, _ = stack.container(["sleep", "1000"])
    url = exec_url(stack, ref, ["sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' y"])
    c = SpdyClient.connect(url, ["v4.channel.k8s.io"], wrap=SlowTransport)
    err, out = c.open({"streamtype": "error"}), c.open({"streamtype": "stdout"})
    c.open({"streamtype": "stderr"})
    assert c.read_all(out, timeout=60) == b"y" * 5000000
    assert json.loads(c.read_all(err))["status"] == "Success"
    c.close()


def test_vanished_client_leaves_nothing(stack, pod_netns):
    ref, client = stack.container(["sleep", "1000"])
    port = pod_netns.serve("hold")
    stack.pods["pod1"] = PodRef("pod1", pod_netns.path)
    time.sleep(0.3)
    threads, fds = threading.active_count(), open_fds()
    # port-forward with an idle connection to the pod, then the client is gone
    for transport in ("spdy", "websocket"):
        url = stack.server.get_port_forward(cri_pb2.PortForwardRequest(pod_sandbox_id="pod1", port=[port]))
        if transport == "spdy":
            c = SpdyClient.connect(url, ["portforward.k8s.io"])
        else:
            w = WsClient.connect(url, ["SPDY/3.1+portforward.k8s.io"])
            c = SpdyClient(w.tunnel())
        h = {"streamtype": "error", "port": str(port), "requestid": "0"}
        c.open(h)
        data = c.open(dict(h, streamtype="data"))
        c.send(data, b"x")
        wait_for(lambda c=c, data=data: c.received(data) == b"x", what="the pod connection")
        c.close()
        wait_for(lambda: stack.server.active_connections() == 0, timeout=15, what="the connection to end")
    for transport in ("spdy", "websocket"):
        url = exec_url(stack, ref, ["sleep", "1000"], stdin=True)
        if transport == "spdy":
            c = SpdyClient.connect(url, ["v4.channel.k8s.io"])
            for t in ("error", "stdin", "stdout", "stderr"):
                c.open({"streamtype": t})
        else:
            c = WsClient.connect(url, ["v5.channel.k8s.io"])
        wait_for(lambda: len(client.pids()) == 2, what="the exec process to run")
        c.close()  # gone without a word
        wait_for(lambda: len(client.pids()) == 1, timeout=15, what="the exec process to be killed")
        wait_for(lambda: stack.server.active_connections() == 0, timeout=15, what="the connection to end")
    wait_for(lambda: threading.active_count() <= threads, what="threads back to %d" % threads)
    wait_for(lambda: open_fds() <= fds, what="fds back to %d" % fds)


def test_replayed_and_unknown_tokens_are_404(stack):
    ref, _ = stack.container(["sleep", "1000"])
    url = exec_url(stack, ref, ["true"])
    spdy_exec(url)
    status, _, _, sock = http_request(url, "POST", [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1")])
    sock.close()
    assert status == 404
    status, _, _, sock = http_request(stack.server.url_base + "/exec/nonsense", "GET")
    sock.close()
    assert status == 404
    # an attach token is not an exec token
    url = stack.server.get_attach(cri_pb2.AttachRequest(container_id=ref.id, stdout=True))
    status, _, _, sock = http_request(url.replace("/attach/", "/exec/"), "GET")
    sock.close()
    assert status == 404
    assert os.path.basename(url)  # the attach token was spent by the failed try as well
    status, _, _, sock = http_request(url, "GET", [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1")])
    sock.close()
    assert status == 404


def test_socket_unused(stack):
    """A connection that sends nothing is closed after the request timeout, not kept forever (shortened here)."""
    from gantry.highlevel.streaming import server as server_mod
    old = server_mod.REQUEST_TIMEOUT
    server_mod.REQUEST_TIMEOUT = 0.5
    try:
        host, port = stack.server.url_base.rsplit("/", 1)[1].split(":")
        s = socket.create_connection((host, int(port)))
        s.settimeout(5)
        assert b"408" in s.recv(1000)
        s.close()
    finally:
        server_mod.REQUEST_TIMEOUT = old
