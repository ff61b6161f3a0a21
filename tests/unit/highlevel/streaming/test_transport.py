"""WsTransport (the server's WebSocket side) with frames that came in with the upgrade request."""
import socket

from gantry.highlevel.streaming.transport import WsTransport
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, Request


def _upgraded(pipelined):
    """A server WsTransport whose client sent ``pipelined`` messages right behind its upgrade request,
    in the same write (before any 101); the client's socket is returned too, still open."""
    mine, theirs = socket.socketpair()
    client = WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    request = client.send(Request(host="127.0.0.1", target="/exec/token"))
    server.receive_data(request)
    assert isinstance(next(server.events()), Request)
    client.receive_data(server.send(AcceptConnection()))
    list(client.events())
    theirs.sendall(b"".join(client.send(BytesMessage(data=m)) for m in pipelined))
    server.receive_data(mine.recv(65536))        # as connection.py feeds the request's leftover bytes
    mine.settimeout(2)                           # a read that waits for more fails the test, not hangs it
    return WsTransport(mine, server), theirs


def test_pipelined_messages_are_returned_without_waiting_for_more_bytes():
    transport, peer = _upgraded([b"\x00stdin", b"\x00more"])
    assert transport.recv_message() == (False, b"\x00stdin")
    assert transport.recv_message() == (False, b"\x00more")
    assert not transport.ended                   # they did not wait for a read (that times out here)
    peer.shutdown(socket.SHUT_WR)
    assert transport.recv_message() is None
