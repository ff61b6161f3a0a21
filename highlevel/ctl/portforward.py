"""port-forward: local TCP ports to a pod's ports through the streaming URL of CRI PortForward.

The WebSocket form kubelet's streaming server offers (containerd serves it), one local
connection per WebSocket, the remote port in the query (``<url>?port=80``), subprotocol
``v4.channel.k8s.io`` (binary channels, as for exec):

    server -> client   [0] + port (uint16, little endian)     first message of the data channel
    server -> client   [1] + port (uint16, little endian)     first message of the error channel
    both ways          [0] + bytes                            the connection's data
    server -> client   [1] + text                             the pod side failed (e.g. refused)
    either side closes the WebSocket: the connection ends

A new PortForward call (a fresh URL: servers spend a token per connection) is made for each
accepted connection.  ``parse_mapping`` is pure.
"""
import socket
import struct
import sys
import threading

from gantry.api import cri_pb2

from . import channels, resolve
from .client import CtlError

DATA, ERROR = 0, 1


def parse_mapping(text):
    """``8080:80`` -> (8080, 80); ``80`` -> (80, 80); ``:80`` -> (0, 80) (any free local port)."""
    local, sep, remote = text.rpartition(":") if ":" in text else ("", "", text)
    try:
        remote_port = int(remote)
        local_port = int(local) if local else (0 if sep else remote_port)
    except ValueError:
        raise CtlError("port-forward %s: expected [LOCAL:]REMOTE port numbers" % text) from None
    if not 0 < remote_port < 65536 or not 0 <= local_port < 65536:
        raise CtlError("port-forward %s: ports are 1-65535" % text)
    return local_port, remote_port


def port_prefix(data):
    """The port number a channel's first message carries, or None if it is not one."""
    return struct.unpack("<H", data)[0] if len(data) == 2 else None


def cmd_port_forward(client, args, out):
    pod = resolve.pod_id(client, args.pod)
    listeners = []
    for text in args.ports:
        local, remote = parse_mapping(text)
        sock = socket.socket(socket.AF_INET6 if ":" in args.address else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((args.address, local))
        except OSError as exc:
            raise CtlError("port-forward: listen on %s:%d: %s" % (args.address, local, exc.strerror)) from None
        sock.listen(16)
        listeners.append((sock, remote))
        out.write("Forwarding from %s:%d -> %d\n" % (args.address, sock.getsockname()[1], remote))
    out.flush()
    for sock, remote in listeners:
        threading.Thread(target=_accept_loop, args=(client, pod, sock, remote), daemon=True).start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        return 0


def _accept_loop(client, pod, listener, remote):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_forward, args=(client, pod, conn, remote), daemon=True).start()


def _forward(client, pod, conn, remote):
    from .wsclient import Session

    what = "port-forward %d" % remote
    try:
        url = client.call(what, client.runtime.PortForward,
                          cri_pb2.PortForwardRequest(pod_sandbox_id=pod, port=[remote])).url
        session = Session.connect(url + ("&" if "?" in url else "?") + "port=%d" % remote, client.timeout, what)
    except CtlError as exc:
        sys.stderr.write("gantryctl: %s\n" % exc)
        conn.close()
        return
    threading.Thread(target=_local_to_remote, args=(conn, session), daemon=True).start()
    seen = set()
    try:
        for msg in session.messages():
            ch, data = channels.decode(msg)
            if ch not in seen:              # each channel opens with the port it serves
                seen.add(ch)
                if port_prefix(data) == remote:
                    continue
            if ch == DATA:
                conn.sendall(data)
            elif ch == ERROR and data:
                sys.stderr.write("gantryctl: %s: %s\n" % (what, data.decode("utf-8", "replace").strip()))
                break                       # the pod side failed: end this connection
    except (OSError, channels.ProtocolError):
        pass
    finally:
        session.close()
        conn.close()


def _local_to_remote(conn, session):
    try:
        while True:
            data = conn.recv(32768)
            if not data:
                break
            session.send(channels.encode(DATA, data))
    except OSError:
        pass
    session.close()
