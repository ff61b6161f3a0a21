"""bench/streaming's client side: one client per transport, the same for every peer.

The clients are the project's own test clients (tests/fixtures/streamclient.py): SPDY/3.1 as
client-go speaks it (v4.channel.k8s.io for exec, portforward.k8s.io) and WebSocket (v4 channels;
port-forward in kubelet's ``?port=`` form, which containerd 1.6 and gantryd both serve).  Every
function makes its own CRI call (a fresh streaming URL: tokens are single-use) and returns seconds
(or bytes, seconds for a download).
"""
import json
import time

from gantry.api import cri_pb2

from tests.fixtures.streamclient import SpdyClient, WsClient

RPC_TIMEOUT = 60
HTTP_GET = b"GET /blob HTTP/1.0\r\nHost: bench\r\n\r\n"


def execsync(peer, cid):
    t0 = time.perf_counter()
    r = peer.runtime.ExecSync(cri_pb2.ExecSyncRequest(container_id=cid, cmd=["true"], timeout=10), timeout=RPC_TIMEOUT)
    took = time.perf_counter() - t0
    if r.exit_code != 0:
        raise RuntimeError("%s: ExecSync true exited %d" % (peer.name, r.exit_code))
    return took


def _exec_url(peer, cid, cmd, stdin=False):
    return peer.runtime.Exec(cri_pb2.ExecRequest(container_id=cid, cmd=cmd, stdin=stdin, stdout=True, stderr=True),
                             timeout=RPC_TIMEOUT).url


def exec_spdy(peer, cid):
    """Exec ``true`` through SPDY v4: the CRI call, the upgrade, the streams, the status."""
    t0 = time.perf_counter()
    c = SpdyClient.connect(_exec_url(peer, cid, ["true"]), ["v4.channel.k8s.io"])
    try:
        err = c.open({"streamtype": "error"})
        c.open({"streamtype": "stdout"})
        c.open({"streamtype": "stderr"})
        status = json.loads(c.read_all(err, timeout=30))
        took = time.perf_counter() - t0
    finally:
        c.close()
    if status.get("status") != "Success":
        raise RuntimeError("%s: exec true over SPDY: %s" % (peer.name, status))
    return took


def exec_ws(peer, cid):
    """Exec ``true`` through WebSocket v4: the CRI call, the upgrade, until the status on channel 3."""
    t0 = time.perf_counter()
    w = WsClient.connect(_exec_url(peer, cid, ["true"]), ["v4.channel.k8s.io"])
    try:
        if not w.wait_for(lambda m: any(not t and p[:1] == b"\x03" and len(p) > 1 for t, p in m), timeout=30):
            raise RuntimeError("%s: exec true over WebSocket: no status (%d messages)" % (peer.name, len(w.messages)))
        took = time.perf_counter() - t0
        status = json.loads([p[1:] for t, p in w.messages if not t and p[:1] == b"\x03" and len(p) > 1][0])
    finally:
        w.close()
    if status.get("status") != "Success":
        raise RuntimeError("%s: exec true over WebSocket: %s" % (peer.name, status))
    return took


def echo_spdy(peer, cid, count):
    """``count`` one-byte round trips through a running ``exec cat`` over SPDY; seconds each."""
    c = SpdyClient.connect(_exec_url(peer, cid, ["cat"], stdin=True), ["v4.channel.k8s.io"])
    out = []
    try:
        err = c.open({"streamtype": "error"})
        sin = c.open({"streamtype": "stdin"})
        sout = c.open({"streamtype": "stdout"})
        c.open({"streamtype": "stderr"})
        for i in range(count):
            t0 = time.perf_counter()
            c.send(sin, b"x")
            c.wait(lambda i=i: len(c.received(sout)) > i, "echo %d" % i)
            out.append(time.perf_counter() - t0)
        c.send(sin, b"", fin=True)
        c.read_all(err, timeout=30)
    finally:
        c.close()
    return out


def echo_ws(peer, cid, count):
    w = WsClient.connect(_exec_url(peer, cid, ["cat"], stdin=True), ["v4.channel.k8s.io"])
    out = []

    def echoed(messages):
        return sum(len(p) - 1 for t, p in messages if not t and p[:1] == b"\x01")

    try:
        for i in range(count):
            t0 = time.perf_counter()
            w.send(0, b"x")
            if not w.wait_for(lambda m, i=i: echoed(m) > i, timeout=30):
                raise RuntimeError("%s: echo %d over WebSocket never came back" % (peer.name, i))
            out.append(time.perf_counter() - t0)
    finally:
        w.close()
    return out


def _body_length(response):
    head, sep, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0] or not sep:
        raise RuntimeError("port-forward: not an HTTP 200 answer: %r" % response[:200])
    return len(body)


def _pf_url(peer, pod, port):
    return peer.runtime.PortForward(cri_pb2.PortForwardRequest(pod_sandbox_id=pod, port=[port]),
                                    timeout=RPC_TIMEOUT).url


def pf_spdy(peer, pod, port, size):
    """Download /blob (``size`` bytes) from httpd in the pod through SPDY port-forward; bytes/s."""
    c = SpdyClient.connect(_pf_url(peer, pod, port), ["portforward.k8s.io"])
    try:
        t0 = time.perf_counter()
        h = {"streamtype": "error", "port": str(port), "requestid": "0"}
        err = c.open(h)
        data = c.open(dict(h, streamtype="data"))
        c.send(data, HTTP_GET)
        body = _body_length(c.read_all(data, timeout=120))
        took = time.perf_counter() - t0
        if c.received(err):
            raise RuntimeError("%s: port-forward error: %r" % (peer.name, c.received(err)))
    finally:
        c.close()
    if body != size:
        raise RuntimeError("%s: port-forward over SPDY gave %d of %d bytes" % (peer.name, body, size))
    return size / took


def pf_ws(peer, pod, port, size):
    """The same download through WebSocket port-forward (``?port=``, data channel 0)."""
    w = WsClient.connect(_pf_url(peer, pod, port) + "?port=%d" % port, ["v4.channel.k8s.io"])
    try:
        t0 = time.perf_counter()
        w.send(0, HTTP_GET)
        if not w.wait_closed(timeout=120):
            raise RuntimeError("%s: WebSocket port-forward did not end" % peer.name)
        took = time.perf_counter() - t0
    finally:
        w.close()
    data = bytearray()
    first = True
    for is_text, payload in w.messages:
        if not is_text and payload[:1] == b"\x00":
            if first:             # the channel's first message is the port number
                first = False
                continue
            data += payload[1:]
    body = _body_length(bytes(data))
    if body != size:
        raise RuntimeError("%s: port-forward over WebSocket gave %d of %d bytes" % (peer.name, body, size))
    return size / took
