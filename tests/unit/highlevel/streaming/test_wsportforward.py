"""Pure parts of the legacy WebSocket port-forward: the query's ports, channel numbers, port prefixes."""
import socket
import struct
import threading
import time

import pytest
from gantry.highlevel.streaming import wsportforward as wpf

PORTS = [
    ("port=80", "channel.k8s.io", [80]),
    ("port=80&port=8080", "v4.channel.k8s.io", [80, 8080]),
    ("ports=80,81&x=1", "v4.channel.k8s.io", [80, 81]),
    ("port=1&port=65535", "v4.base64.channel.k8s.io", [1, 65535]),
    ("&".join("port=%d" % p for p in range(1, 17)), "channel.k8s.io", list(range(1, 17))),
]


@pytest.mark.parametrize("query,protocol,expect", PORTS)
def test_parse_ports(query, protocol, expect):
    assert wpf.parse_ports(query, protocol) == expect


PORT_ERRORS = [
    ("", "channel.k8s.io", "'port' is required"),
    ("other=1", "channel.k8s.io", "'port' is required"),
    ("port=", "channel.k8s.io", "unable to parse ''"),
    ("port=http", "channel.k8s.io", "unable to parse 'http'"),
    ("port=0", "channel.k8s.io", "out of range"),
    ("port=65536", "channel.k8s.io", "out of range"),
    ("port=-1", "channel.k8s.io", "out of range"),
    ("&".join("port=%d" % p for p in range(1, 18)), "channel.k8s.io", "at most 16"),
    ("&".join("port=%d" % p for p in range(1, 7)), "v4.base64.channel.k8s.io", "at most 5"),
]


@pytest.mark.parametrize("query,protocol,error", PORT_ERRORS)
def test_parse_ports_errors(query, protocol, error):
    with pytest.raises(wpf.PortsError, match=error):
        wpf.parse_ports(query, protocol)


def test_channels_and_prefix():
    assert [wpf.channels(i) for i in range(3)] == [(0, 1), (2, 3), (4, 5)]
    assert wpf.port_prefix(80) == b"\x50\x00" and wpf.port_prefix(0x1f90) == b"\x90\x1f"


class _ClientGone:
    """A WsTransport whose client has closed already; close() takes a while (a slow peer)."""

    def __init__(self):
        self.sent, self.closed, self.aborted = [], False, False

    def send_message(self, payload, text=False):
        self.sent.append(payload)

    def recv_message(self):
        return None

    def close(self, code=1000, reason=""):
        time.sleep(0.3)
        self.closed = True

    def abort(self):
        self.aborted = True


def test_serve_returns_only_after_its_close_ended():
    """The caller closes the socket when serve returns: the thread that closes the WebSocket once the
    pod side ended must be done by then (it used to run on, into a closed socket: EBADF)."""
    transport = _ClientGone()
    pod_end, ours = socket.socketpair()
    ours.close()                                  # the pod side ends at once
    wpf.serve(transport, "channel.k8s.io", [80], "pod-1", lambda pod_id, port: pod_end)
    assert transport.closed and not transport.aborted
    assert not [t for t in threading.enumerate() if t.name.startswith("ws-portforward")]
    assert transport.sent[:2] == [b"\x00" + struct.pack("<H", 80), b"\x01" + struct.pack("<H", 80)]
