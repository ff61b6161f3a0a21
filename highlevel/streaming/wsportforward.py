"""Port-forward in kubelet's older WebSocket form: ``/portforward/<token>?port=80&port=81``.

What gantryctl and kubelet's legacy WebSocket port-forward clients speak (no SPDY inside).  One
WebSocket carries one connection to each port named in the query, two channels per port:

    port i (query order)   data channel 2i, error channel 2i+1
    server -> client       [2i] + port (uint16 LE), [2i+1] + port (uint16 LE)   first, on each channel
    client -> server       [2i] + bytes             into the pod's connection to port i
    server -> client       [2i] + bytes             what the pod sent
    server -> client       [2i+1] + text            the dial or the copy failed
    server closes          once every port's pod side has ended (the client sees the end)
    client closes          every pod connection is shut down

Subprotocols: ``v4.channel.k8s.io``, ``channel.k8s.io`` (binary) and their base64 forms, or none
(binary).  ``parse_ports`` and ``port_prefix`` are pure; ``serve`` is the thin adapter.
"""
import logging
import socket
import struct
import threading
from urllib.parse import parse_qs

from . import wschannel
from .transport import LINGER

log = logging.getLogger(__name__)

PROTOCOLS = ("v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io")
DEFAULT_PROTOCOL = "channel.k8s.io"
MAX_PORTS = 16   # 32 channels; the base64 form has single-digit channels only (see max_ports)
CHUNK = 32768


class PortsError(ValueError):
    """The query does not name forwardable ports."""


def parse_ports(query, protocol=DEFAULT_PROTOCOL):
    """Ports from a request query (``port=80&port=81`` or ``ports=80,81``), in order."""
    values = []
    for key, items in parse_qs(query, keep_blank_values=True).items():
        if key in ("port", "ports"):
            for item in items:
                values.extend(v for v in item.split(",") if v != "" or key == "port")
    if not values:
        raise PortsError("query parameter 'port' is required")
    ports = []
    for text in values:
        try:
            port = int(text, 10)
        except ValueError:
            raise PortsError("unable to parse %r as a port" % text) from None
        if not 0 < port < 65536:
            raise PortsError("port %d is out of range 1-65535" % port)
        ports.append(port)
    if len(ports) > max_ports(protocol):
        raise PortsError("%d ports asked, at most %d on %s" % (len(ports), max_ports(protocol), protocol))
    return ports


def max_ports(protocol):
    return 5 if wschannel.PROTOCOLS[protocol][0] == "base64" else MAX_PORTS


def port_prefix(port):
    return struct.pack("<H", port)


def channels(index):
    """(data channel, error channel) of the index-th port."""
    return 2 * index, 2 * index + 1


class _Port:
    def __init__(self, index, port):
        self.index, self.port = index, port
        self.data, self.error = channels(index)
        self.conn = None


def serve(transport, protocol, ports, pod_id, dial):
    """Forward until every pod side ended or the client closed; transport is a WsTransport."""
    slots = [_Port(i, p) for i, p in enumerate(ports)]

    def send(channel, data):
        is_text, payload = wschannel.encode(protocol, channel, data)
        transport.send_message(payload, text=is_text)

    copies, watcher = [], None
    try:
        for slot in slots:
            send(slot.data, port_prefix(slot.port))
            send(slot.error, port_prefix(slot.port))
        for slot in slots:
            try:
                slot.conn = dial(pod_id, slot.port)
            except Exception as e:  # any dial failure goes to the client on the error channel
                send(slot.error, ("error forwarding port %d to pod %s: %s" % (slot.port, pod_id, e)).encode())
                continue
            t = threading.Thread(target=_from_pod, args=(slot, send, pod_id), name="ws-portforward", daemon=True)
            t.start()
            copies.append(t)
        if not copies:
            return
        watcher = threading.Thread(target=_close_when_done, args=(copies, transport), name="ws-portforward-end",
                                   daemon=True)
        watcher.start()
        _to_pods(transport, protocol, {s.data: s for s in slots if s.conn is not None})
    except OSError as e:
        log.info("port-forward to pod %s: client gone: %s", pod_id, e)
    finally:
        for slot in slots:
            if slot.conn is not None:
                _shutdown(slot.conn, socket.SHUT_RDWR)
        for t in copies:
            t.join()
        if watcher is not None:       # the caller closes the socket once we return: nobody may still use it
            watcher.join(LINGER)
            if watcher.is_alive():    # stuck sending our close to a client that reads nothing
                transport.abort()
                watcher.join()
        for slot in slots:
            if slot.conn is not None:
                slot.conn.close()


def _to_pods(transport, protocol, by_channel):
    """Client messages to the pod connections until the client closes (or breaks the framing)."""
    while True:
        message = transport.recv_message()
        if message is None:
            return
        is_text, payload = message
        try:
            channel, data = wschannel.decode(protocol, payload)
        except wschannel.ChannelError as e:
            transport.close(1002, "port-forward: %s" % e)
            return
        slot = by_channel.get(channel)
        if slot is None or not data:
            continue  # an error channel, an unknown one, or a port whose dial failed: ignored
        try:
            slot.conn.sendall(data)
        except OSError:
            pass  # the pod side ended; _from_pod reports it


def _from_pod(slot, send, pod_id):
    while True:
        try:
            chunk = slot.conn.recv(CHUNK)
        except OSError as e:
            try:
                send(slot.error, ("error forwarding port %d to pod %s: %s" % (slot.port, pod_id, e)).encode())
            except OSError:
                pass
            return
        if not chunk:
            return
        try:
            send(slot.data, chunk)
        except OSError:
            _shutdown(slot.conn, socket.SHUT_RDWR)  # the client is gone
            return


def _close_when_done(copies, transport):
    for t in copies:
        t.join()
    transport.close(1000)


def _shutdown(conn, how):
    try:
        conn.shutdown(how)
    except OSError:
        pass
