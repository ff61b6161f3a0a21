"""gantryd's streaming server: the URLs that CRI Exec, Attach and PortForward return.

    CRI call (gRPC thread)          get_exec(req) → validate, backend.check_exec, token → URL
    client  GET|POST /exec/<token>  h11 reads the request; the token is spent (unknown/replayed/expired: 404)
            Upgrade: SPDY/3.1       X-Stream-Protocol-Version negotiated → 101 → spdysession
            Upgrade: websocket      Sec-WebSocket-Protocol negotiated (wsproto) → 101 → channels,
                                    or SPDY tunnelled in WebSocket (port-forward)
    then    exec: backend.exec(...) with the streams; the exit status on the error stream; close
            attach: backend.attach(...); port-forward: portforward.serve(...)

One thread per connection (at most ``max_connections``; more get 503), plus
the threads a session needs (reader, pumps, port-forward copies), all ending
with the connection.  ``stop`` shuts every connection down and joins them.
"""
import logging
import socket
import threading

from .. import errors
from .tokens import TokenCache

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 64
REQUEST_TIMEOUT = 30.0
MAX_REQUEST_HEAD = 16 << 10
KINDS = ("exec", "attach", "portforward")


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def validate_exec(req):
    if not req.container_id:
        raise errors.InvalidArgument("exec: missing required container_id")
    if not req.cmd:
        raise errors.InvalidArgument("exec in %s: cmd is empty" % req.container_id)
    _validate_streams("exec", req)


def validate_attach(req):
    if not req.container_id:
        raise errors.InvalidArgument("attach: missing required container_id")
    _validate_streams("attach", req)


def _validate_streams(what, req):
    if req.tty and req.stderr:
        raise errors.InvalidArgument("%s in %s: tty and stderr cannot both be true" % (what, req.container_id))
    if not (req.stdin or req.stdout or req.stderr):
        raise errors.InvalidArgument("%s in %s: one of stdin, stdout, or stderr must be set" % (what, req.container_id))


def validate_port_forward(req):
    if not req.pod_sandbox_id:
        raise errors.InvalidArgument("port-forward: missing required pod_sandbox_id")
    for port in req.port:
        if not 0 < port < 65536:
            raise errors.InvalidArgument("port-forward to %s: invalid port %d" % (req.pod_sandbox_id, port))


class StreamingServer:
    def __init__(self, backend, address="127.0.0.1", port=0, max_connections=MAX_CONNECTIONS, tokens=None):
        self.backend = backend
        self.address = address
        self.port = port
        self.tokens = tokens or TokenCache()
        self.slots = threading.BoundedSemaphore(max_connections)
        self.listener = None
        self.acceptor = None
        self.connections = {}  # thread -> socket
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    # -- lifecycle ------------------------------------------------------------
    def start(self):
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.address, self.port))
        except OSError as e:
            listener.close()
            raise errors.Unavailable("streaming server: bind %s:%d: %s" % (self.address, self.port, e)) from e
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self.listener = listener
        self.acceptor = threading.Thread(target=self._accept_loop, name="streaming-accept", daemon=True)
        self.acceptor.start()

    @property
    def url_base(self):
        host = "[%s]" % self.address if ":" in self.address else self.address
        return "http://%s:%d" % (host, self.port)

    def stop(self):
        self.stopping.set()
        if self.listener is not None:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.listener.close()
        if self.acceptor is not None:
            self.acceptor.join()
        with self.lock:
            items = list(self.connections.items())
        for _, sock in items:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread, _ in items:
            thread.join()

    def active_connections(self):
        with self.lock:
            return len(self.connections)

    # -- CRI side ---------------------------------------------------------------
    def get_exec(self, req):
        validate_exec(req)
        self.backend.check_exec(req.container_id)
        return self._url("exec", req)

    def get_attach(self, req):
        validate_attach(req)
        self.backend.check_attach(req.container_id)
        return self._url("attach", req)

    def get_port_forward(self, req):
        validate_port_forward(req)
        self.backend.check_port_forward(req.pod_sandbox_id)
        return self._url("portforward", req)

    def _url(self, kind, req):
        copy = type(req)()
        copy.CopyFrom(req)
        return "%s/%s/%s" % (self.url_base, kind, self.tokens.insert(kind, copy))

    # -- connections ------------------------------------------------------------
    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if sock.family in (socket.AF_INET, socket.AF_INET6):   # keystrokes and echoes go out at once
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if not self.slots.acquire(blocking=False):
                respond(sock, 503, "too many streaming connections")
                sock.close()
                continue
            thread = threading.Thread(target=self._connection, args=(sock,), name="streaming-conn", daemon=True)
            with self.lock:
                self.connections[thread] = sock
            thread.start()

    def _connection(self, sock):
        try:
            try:
                # the HTTP/SPDY/WebSocket machinery (h11, wsproto, zlib dictionaries) is imported
                # with the first connection: a gantryd nobody execs into never pays its memory
                from .connection import Connection

                Connection(self.backend, self.tokens).serve(sock, REQUEST_TIMEOUT)
            except HttpError as e:
                respond(sock, e.status, str(e))
            except Exception:  # one connection's bug must not take the server down
                log.exception("streaming connection failed")
        finally:
            sock.close()
            with self.lock:
                self.connections.pop(threading.current_thread(), None)
            self.slots.release()

def respond(sock, status, message):
    body = (message + "\n").encode()
    reason = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
              503: "Service Unavailable"}.get(status, "Error")
    head = "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
    try:
        sock.settimeout(5)
        sock.sendall((head % (status, reason, len(body))).encode() + body)
    except OSError:
        pass
