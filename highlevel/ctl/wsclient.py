"""A streaming URL (CRI Exec/Attach) spoken over WebSocket: the I/O around channels.py.

    session = Session.connect("http://127.0.0.1:34567/exec/TOKEN", timeout=30)
    code = session.run(stdin=sys.stdin.buffer if -i else None, tty=-t)

``run`` copies stdin into channel 0 from a thread, writes channels 1 and 2 to stdout and
stderr, sends the terminal size on channel 4 (at start and on SIGWINCH), and returns the exit
code the error channel reports (None when the stream ended without one, as attach may).
"""
import os
import signal
import socket
import threading
import urllib.parse

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason

from . import channels
from .client import CtlError

RECV = 65536


class Rejected(CtlError):
    """The server answered the upgrade with an HTTP status (e.g. it speaks only SPDY)."""


class Session:
    def __init__(self, sock, ws, protocol, what):
        self.sock, self.ws, self.protocol, self.what = sock, ws, protocol, what
        self.lock = threading.Lock()
        self.closed = False
        self.abnormal = False   # the server went away without a close frame

    @classmethod
    def connect(cls, url, timeout=30.0, what="stream"):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https", "ws", "wss"):
            raise CtlError("%s: unsupported streaming URL %s" % (what, url))
        if u.scheme in ("https", "wss"):
            raise CtlError("%s: TLS streaming URLs are not supported (%s)" % (what, url))
        port = u.port or 80
        try:
            sock = socket.create_connection((u.hostname, port), timeout=timeout)
        except OSError as exc:
            raise CtlError("%s: connect %s:%d: %s" % (what, u.hostname, port, exc.strerror or exc)) from None
        ws = WSConnection(ConnectionType.CLIENT)
        target = u.path + ("?" + u.query if u.query else "")
        host = u.netloc
        sock.sendall(ws.send(_request(host, target)))
        session = cls(sock, ws, None, what)
        session._handshake()
        sock.settimeout(None)
        return session

    def _handshake(self):
        body = b""
        while True:
            data = self.sock.recv(RECV)
            if not data:
                raise CtlError("%s: the server closed the connection during the WebSocket upgrade" % self.what)
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, AcceptConnection):
                    self.protocol = event.subprotocol or ""
                    if self.protocol not in channels.PROTOCOLS:
                        raise CtlError("%s: the server chose subprotocol %r; gantryctl speaks %s"
                                       % (self.what, self.protocol, ", ".join(channels.PROTOCOLS)))
                    return
                if isinstance(event, RejectConnection):
                    status = event.status_code
                    if not event.has_body:
                        raise Rejected("%s: WebSocket upgrade refused: HTTP %d" % (self.what, status))
                elif isinstance(event, RejectData):
                    body += event.data
                    if event.body_finished:
                        raise Rejected("%s: WebSocket upgrade refused: HTTP %d: %s"
                                       % (self.what, status, body.decode("utf-8", "replace").strip()[:200]))

    def send(self, message):
        with self.lock:
            if not self.closed:
                self.sock.sendall(self.ws.send(BytesMessage(data=message)))

    def messages(self):
        """Complete binary messages from the server until it closes.

        The events are taken before each read: frames that came in with the 101 answer (a fast
        server sends its output, status and close at once) wait in wsproto, and after an EOF fed to
        it wsproto hands out its "abnormal closure" ahead of them."""
        pending = bytearray()
        ended = False
        while True:
            for event in self.ws.events():
                if isinstance(event, BytesMessage):
                    pending += event.data
                    if event.message_finished:
                        yield bytes(pending)
                        pending = bytearray()
                elif isinstance(event, TextMessage):
                    raise channels.ProtocolError("a text message on a binary channel protocol")
                elif isinstance(event, Ping):
                    with self.lock:
                        self.sock.sendall(self.ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    # 1006 is never sent: wsproto reports an EOF without a close frame so
                    self.abnormal = event.code == CloseReason.ABNORMAL_CLOSURE
                    with self.lock:
                        if not self.closed:
                            try:
                                self.sock.sendall(self.ws.send(event.response()))
                            except Exception:
                                pass
                            self.closed = True
                    return
            if ended:
                return
            try:
                data = self.sock.recv(RECV)
            except OSError:
                data = b""
            ended = not data
            self.ws.receive_data(data or None)

    def run(self, stdin=None, stdout=None, stderr=None, tty=False):
        import sys

        stdout = stdout or sys.stdout.buffer
        stderr = stderr or sys.stderr.buffer
        restore = None
        if tty and stdin is not None and os.isatty(stdin.fileno()):
            restore = _raw(stdin.fileno())
            self._send_size(stdin.fileno())
            signal.signal(signal.SIGWINCH, lambda *_: self._send_size(stdin.fileno()))
        if stdin is not None:
            threading.Thread(target=self._pump_stdin, args=(stdin,), daemon=True, name="stdin").start()
        code, message = None, ""
        try:
            for msg in self.messages():
                ch, data = channels.decode(msg)
                if ch == channels.STDOUT:
                    stdout.write(data)
                    stdout.flush()
                elif ch == channels.STDERR:
                    stderr.write(data)
                    stderr.flush()
                elif ch == channels.ERROR and data:
                    code, message = channels.exit_status(data)
        finally:
            if restore is not None:
                restore()
                signal.signal(signal.SIGWINCH, signal.SIG_DFL)
            self.close()
        if code is None and message:
            raise CtlError("%s: %s" % (self.what, message))
        if code is None and self.abnormal:
            raise CtlError("%s: the server closed the connection without an exit status" % self.what)
        return code

    def _send_size(self, fd):
        try:
            cols, rows = os.get_terminal_size(fd)
            self.send(channels.resize(cols, rows))
        except OSError:
            pass

    def _pump_stdin(self, stdin):
        fd = stdin.fileno()
        try:
            while True:
                data = os.read(fd, 32768)
                if not data:
                    break
                self.send(channels.encode(channels.STDIN, data))
            end = channels.close_stdin(self.protocol)
            if end is not None:
                self.send(end)
        except OSError:
            pass

    def close(self):
        with self.lock:
            if not self.closed:
                self.closed = True
                try:
                    self.sock.sendall(self.ws.send(CloseConnection(code=1000)))
                except Exception:
                    pass
        try:
            self.sock.close()
        except OSError:
            pass


def _request(host, target):
    from wsproto.events import Request

    return Request(host=host, target=target, subprotocols=list(channels.PROTOCOLS))


def _raw(fd):
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    return lambda: termios.tcsetattr(fd, termios.TCSADRAIN, saved)
