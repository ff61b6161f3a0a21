"""gantryctl's WebSocket session against a server that answers everything at once (socketpair, wsproto server)."""
import io
import socket

import pytest
from gantry.highlevel.ctl import channels
from gantry.highlevel.ctl.client import CtlError
from gantry.highlevel.ctl.wsclient import Session, _request
from gantry.highlevel.streaming import remotecommand as rc
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Request


def _session(reply):
    """A client Session whose server sends, in one write after the request: the 101 answer and
    reply(ws) (bytes), then closes its socket."""
    mine, theirs = socket.socketpair()
    client = WSConnection(ConnectionType.CLIENT)
    mine.sendall(client.send(_request("127.0.0.1", "/exec/token")))
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(theirs.recv(65536))
    request = next(server.events())
    assert isinstance(request, Request)
    theirs.sendall(server.send(AcceptConnection(subprotocol=request.subprotocols[0])) + reply(server))
    theirs.close()
    session = Session(mine, client, None, "exec in test")
    session._handshake()
    return session


def _message(ws, channel, data):
    return ws.send(BytesMessage(data=channels.encode(channel, data)))


def test_output_status_and_close_that_came_with_the_101_are_all_read():
    """A fast server's whole answer can arrive with the upgrade; the EOF after it must not hide it
    (wsproto puts its abnormal-closure event ahead of frames it still holds)."""
    session = _session(lambda ws: _message(ws, channels.STDOUT, b"from the host\n")
                       + _message(ws, channels.STDERR, b"oops\n")
                       + _message(ws, channels.ERROR, rc.exit_status(3))
                       + ws.send(CloseConnection(code=1000)))
    out, err = io.BytesIO(), io.BytesIO()
    assert session.run(stdout=out, stderr=err) == 3
    assert (out.getvalue(), err.getvalue()) == (b"from the host\n", b"oops\n")


def test_success_status_is_exit_0():
    session = _session(lambda ws: _message(ws, channels.ERROR, rc.success_status()) + ws.send(CloseConnection(code=1000)))
    assert session.run(stdout=io.BytesIO(), stderr=io.BytesIO()) == 0


def test_a_connection_cut_without_status_or_close_is_an_error_not_exit_0():
    session = _session(lambda ws: _message(ws, channels.STDOUT, b"partial"))
    out = io.BytesIO()
    with pytest.raises(CtlError, match="without an exit status"):
        session.run(stdout=out, stderr=io.BytesIO())
    assert out.getvalue() == b"partial"
