"""The shim's socket side: connections, frames in, frames out, calls in flight.

Frames are decoded with the shared codec (``gantry.api.framing``, whose
docstring draws the exchange); each REQUEST becomes a ``Call`` handed to the
service's handler for that method.  A handler either returns the response
message (a unary call answered at once) or ``PENDING`` and answers later
through the Call (Wait, Attach).  Errors become ERROR frames here, in one
place.  A client that does not read its replies fast enough is disconnected:
the shim never waits for a client.
"""
import errno
import os
import socket

from gantry.api import framing

from .errors import ShimError

PENDING = object()
MAX_BUFFERED = 8 << 20  # unread reply bytes after which a client is dropped


class Call:
    """One call in flight: answer it once, or stream DATA then END."""

    def __init__(self, conn, fid, method):
        self.conn = conn
        self.id = fid
        self.method = method
        self.done = False
        self.on_data = None  # callable(payload) for client DATA frames (Attach)
        self.on_cancel = None  # callable() when the client cancels or hangs up

    def reply(self, message=None):
        if not self.done:
            self.done = True
            self.conn.finish(self)
            self.conn.write(framing.response(self.id, message.SerializeToString() if message is not None else b""))

    def accept(self, fds=()):
        """Streaming calls: say 'attached' without ending the call (fds ride along as SCM_RIGHTS)."""
        if not self.done:
            self.conn.write(framing.response(self.id), fds)

    def fail(self, code, message):
        if not self.done:
            self.done = True
            self.conn.finish(self)
            self.conn.write(framing.error(self.id, code, message))

    def send(self, message):
        if not self.done:
            self.conn.write(framing.data(self.id, message.SerializeToString()))

    def end(self):
        if not self.done:
            self.done = True
            self.conn.finish(self)
            self.conn.write(framing.end(self.id))


class Connection:
    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.fd = sock.fileno()
        self.decoder = framing.Decoder()
        self.out = bytearray()
        self.calls = {}
        self.closed = False
        self.paused = False

    def pause_reading(self):
        """Back-pressure: read nothing more from this client until resume_reading (what it sends
        has nowhere to go yet: a process that does not read its stdin)."""
        if not self.closed and not self.paused:
            self.paused = True
            self.server.loop.remove_reader(self.fd)

    def resume_reading(self):
        if not self.closed and self.paused:
            self.paused = False
            self.server.loop.add_reader(self.fd, self.on_readable)

    def on_readable(self):
        try:
            data = self.sock.recv(framing.RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close()
            return
        try:
            frames = self.decoder.feed(data)
        except framing.FramingError:
            self.close()
            return
        for frame in frames:
            if self.closed:
                return
            self.server.on_frame(self, frame)

    def write(self, data, fds=()):
        """Send data now, or buffer the rest for on_writable; fds go with its first byte, so
        only when nothing is buffered (else OSError: the caller fails the call)."""
        if self.closed:
            if fds:
                raise OSError(errno.EPIPE, "send fds: the connection is closed")
            return
        if fds and self.out:
            raise OSError(errno.EAGAIN, "send fds: earlier replies are still buffered")
        if not self.out:
            try:
                n = socket.send_fds(self.sock, [data], list(fds)) if fds else self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                if fds:   # nothing went, the fds neither: not worth a queue of fds for one reply
                    raise OSError(errno.EAGAIN, "send fds: the socket is full") from None
                n = 0
            except OSError:
                self.close()
                return
            if n == len(data):
                return
            data = data[n:]
            self.server.loop.add_writer(self.fd, self.on_writable)
        self.out += data
        if len(self.out) > MAX_BUFFERED:
            self.close()

    def on_writable(self):
        try:
            n = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        del self.out[:n]
        if not self.out:
            self.server.loop.remove_writer(self.fd)
            self.server.on_drained(self)

    def finish(self, call):
        self.calls.pop(call.id, None)

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.server.loop.forget(self.fd)
        self.sock.close()
        self.server.connections.discard(self)
        for call in list(self.calls.values()):
            call.done = True
            if call.on_cancel:
                call.on_cancel()
        self.calls.clear()
        self.server.on_drained(self)


class Server:
    """Accepts connections on a listening unix socket and dispatches calls to handlers.

    handlers: {method name: callable(request message, Call) -> response | PENDING}
    calls: the table from gantry.api.shimcalls (request/response classes)."""

    def __init__(self, loop, listener, handlers, calls):
        self.loop = loop
        self.listener = listener
        self.handlers = handlers
        self.calls = calls
        self.connections = set()
        self.drained_callbacks = []
        listener.setblocking(False)
        loop.add_reader(listener.fileno(), self.on_accept)

    def on_accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ECONNABORTED):
                    return
                raise
            sock.setblocking(False)
            conn = Connection(self, sock)
            self.connections.add(conn)
            self.loop.add_reader(conn.fd, conn.on_readable)

    def on_frame(self, conn, frame):
        kind = frame.kind
        if kind == framing.REQUEST:
            self.dispatch(conn, frame)
        elif kind == framing.DATA:
            call = conn.calls.get(frame.id)
            if call and call.on_data:
                call.on_data(frame.payload)
        elif kind in (framing.CANCEL, framing.END):
            call = conn.calls.get(frame.id)
            if call and kind == framing.CANCEL:
                conn.finish(call)
                call.done = True
                if call.on_cancel:
                    call.on_cancel()
        else:
            conn.close()  # a client never sends RESPONSE or ERROR

    def dispatch(self, conn, frame):
        call = Call(conn, frame.id, frame.method)
        if frame.id in conn.calls:
            call.fail(framing.INVALID_ARGUMENT, "request id %d already in flight" % frame.id)
            return
        spec = self.calls.get(frame.method)
        handler = self.handlers.get(frame.method)
        if spec is None or handler is None:
            call.fail(framing.UNIMPLEMENTED, "method %r is not part of this API" % frame.method)
            return
        try:
            request = spec.request.FromString(frame.payload)
        except Exception as e:  # protobuf DecodeError
            call.fail(framing.INVALID_ARGUMENT, "%s: malformed request: %s" % (frame.method, e))
            return
        conn.calls[frame.id] = call
        try:
            result = handler(request, call)
        except ShimError as e:
            call.fail(e.code, str(e))
            return
        except Exception as e:  # a bug or an unexpected OS error: answer, do not die
            call.fail(framing.INTERNAL, "%s: %s: %s" % (frame.method, type(e).__name__, e))
            return
        if result is not PENDING:
            call.reply(result)

    def on_drained(self, conn):
        for cb in list(self.drained_callbacks):
            cb()

    def pending_output(self):
        return any(c.out for c in self.connections)

    def close(self):
        for conn in list(self.connections):
            conn.close()
        self.loop.forget(self.listener.fileno())
        self.listener.close()


def listen(path, backlog=64):
    """A unix stream socket bound at path with mode 0600 (no window where it is wider)."""
    if len(path.encode()) > 107:
        raise OSError(errno.ENAMETOOLONG, "socket path longer than 107 bytes (use a shorter state dir)", path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    old = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(backlog)
    return sock
