"""Byte transports under a streaming session: a TCP socket, or WebSocket messages.

Both offer ``recv()`` (b"" at the end), ``sendall(data)``, ``close()`` (we
send nothing more; the peer's answer is still read) and ``abort()`` (shut
the socket both ways: wakes every blocked reader and writer).  The server's
connection thread owns the socket and closes its fd after every thread using
it has ended, so no fd is closed under a thread still using it.
"""
import socket
import threading

from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, TextMessage

from .wschannel import MAX_MESSAGE

LINGER = 10.0  # seconds the peer gets to answer our close before reads time out


def _shutdown(sock, how):
    try:
        sock.shutdown(how)
    except OSError:
        pass


class SocketTransport:
    def __init__(self, sock, leftover=b""):
        self.sock = sock
        self.leftover = leftover

    def recv(self):
        if self.leftover:
            data, self.leftover = self.leftover, b""
            return data
        return self.sock.recv(65536)

    def sendall(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.settimeout(LINGER)
        _shutdown(self.sock, socket.SHUT_WR)

    def abort(self):
        _shutdown(self.sock, socket.SHUT_RDWR)


class WsTransport:
    """A wsproto server connection (handshake done) over a socket: whole messages in and out."""

    def __init__(self, sock, ws):
        self.sock = sock
        self.ws = ws
        self.lock = threading.Lock()
        self.pending = []       # complete messages not yet returned
        self.partial = []
        self.partial_size = 0
        self.ended = False

    def _send_event(self, event):
        with self.lock:
            if self.ws.state not in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
                return
            self.sock.sendall(self.ws.send(event))

    def recv_message(self):
        """The next message as (is_text, bytes|str); None once the connection is closed.

        Events first, then a read: frames that came with the request wait in wsproto, and after an
        EOF wsproto hands out its "abnormal closure" ahead of frames it still holds."""
        while True:
            for event in self.ws.events():
                self._event(event)
            if self.pending:
                return self.pending.pop(0)
            if self.ended:
                return None
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            self.ws.receive_data(data or None)
            if not data:
                self.ended = True

    def _event(self, event):
        if isinstance(event, Message):
            self.partial.append(event.data)
            self.partial_size += len(event.data)
            if self.partial_size > MAX_MESSAGE:
                self.ended = True
                self._send_event(CloseConnection(code=1009, reason="message larger than %d bytes" % MAX_MESSAGE))
                return
            if event.message_finished:
                joined = ("" if isinstance(event, TextMessage) else b"").join(self.partial)
                self.pending.append((isinstance(event, TextMessage), joined))
                self.partial, self.partial_size = [], 0
        elif isinstance(event, Ping):
            self._send_event(event.response())
        elif isinstance(event, CloseConnection):
            self._send_event(event.response())
            self.ended = True

    def recv(self):
        """Bytes of the next binary message (SPDY tunnelled in WebSocket); b"" at the end."""
        while True:
            message = self.recv_message()
            if message is None:
                return b""
            is_text, payload = message
            if is_text:
                self._send_event(CloseConnection(code=1003, reason="text message in a binary tunnel"))
                return b""
            if payload:
                return payload

    def send_message(self, payload, text=False):
        event = TextMessage(data=payload) if text else BytesMessage(data=payload)
        with self.lock:
            if self.ws.state != ConnectionState.OPEN:
                raise BrokenPipeError("websocket is closed")
            self.sock.sendall(self.ws.send(event))

    def sendall(self, data):
        self.send_message(bytes(data))

    def close(self, code=1000, reason=""):
        try:
            self._send_event(CloseConnection(code=code, reason=reason))
        except OSError:
            pass
        self.sock.settimeout(LINGER)
        _shutdown(self.sock, socket.SHUT_WR)

    def abort(self):
        _shutdown(self.sock, socket.SHUT_RDWR)
