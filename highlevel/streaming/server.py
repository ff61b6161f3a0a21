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

import h11
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, RejectConnection, Request
from wsproto.utilities import RemoteProtocolError as WsProtocolError

from .. import errors
from . import execio, portforward, wschannel, wsportforward
from . import remotecommand as rc
from .spdysession import SpdySession
from .tokens import TokenCache
from .transport import LINGER, SocketTransport, WsTransport

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 64
REQUEST_TIMEOUT = 30.0
MAX_REQUEST_HEAD = 16 << 10
KINDS = ("exec", "attach", "portforward")
# streams a SPDY client may hold open at once (each has a bounded buffer): exec/attach use five
MAX_STREAMS = {"exec": 8, "attach": 8, "portforward": 2 * portforward.MAX_PAIRS + 16}


class _HttpError(Exception):
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
                _respond(sock, 503, "too many streaming connections")
                sock.close()
                continue
            thread = threading.Thread(target=self._connection, args=(sock,), name="streaming-conn", daemon=True)
            with self.lock:
                self.connections[thread] = sock
            thread.start()

    def _connection(self, sock):
        try:
            try:
                self._serve(sock)
            except _HttpError as e:
                _respond(sock, e.status, str(e))
            except Exception:  # one connection's bug must not take the server down
                log.exception("streaming connection failed")
        finally:
            sock.close()
            with self.lock:
                self.connections.pop(threading.current_thread(), None)
            self.slots.release()

    def _serve(self, sock):
        sock.settimeout(REQUEST_TIMEOUT)
        http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_HEAD)
        request = _read_request(sock, http)
        parts = request.target.decode("latin-1").split("?", 1)[0].strip("/").split("/")
        if len(parts) != 2 or parts[0] not in KINDS:
            raise _HttpError(404, "not found")
        kind, token = parts
        req = self.tokens.consume(kind, token)
        if req is None:
            raise _HttpError(404, "unknown or expired token")
        headers = _headers(request)
        upgrade = headers.get(b"upgrade", [b""])[0].decode("latin-1").lower()
        connection = rc.header_values(v.decode("latin-1").lower() for v in headers.get(b"connection", []))
        if "upgrade" not in connection:
            upgrade = ""
        sock.settimeout(None)
        if upgrade == "websocket":
            self._websocket(sock, request, http.trailing_data[0], kind, req)
        elif upgrade == "spdy/3.1":
            self._spdy(sock, http, headers, kind, req)
        else:
            raise _HttpError(400, "unable to upgrade: missing upgrade headers in request")

    def _spdy(self, sock, http, headers, kind, req):
        offered = rc.header_values(v.decode("latin-1") for v in headers.get(b"x-stream-protocol-version", []))
        supported = (rc.PORTFORWARD_PROTOCOL,) if kind == "portforward" else rc.SPDY_PROTOCOLS
        protocol = rc.negotiate(offered, supported)
        if protocol is None:
            raise _HttpError(403, "unable to upgrade: unable to negotiate protocol: client supports %s, server "
                                  "supports %s" % (offered, list(supported)))
        answer = [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1")]
        if protocol:
            answer.append(("X-Stream-Protocol-Version", protocol))
        sock.sendall(http.send(h11.InformationalResponse(status_code=101, headers=answer)))
        _log_upgrade(kind, "spdy", protocol)
        leftover = http.trailing_data[0]
        session = SpdySession(SocketTransport(sock, leftover), MAX_STREAMS[kind])
        self._run_spdy(session, kind, req, rc.version_of(protocol))

    def _run_spdy(self, session, kind, req, version):
        session.start()
        try:
            if kind == "portforward":
                portforward.serve(session, req.pod_sandbox_id, self.backend.dial)
                return
            try:
                io = execio.for_spdy(session, version, req.stdin, req.stdout, req.stderr, req.tty)
            except execio.StreamSetupError as e:
                log.info("%s %s: %s", kind, req.container_id, e)
                return
            self._run_command(kind, req, io)
        finally:
            session.close()
            session.join(LINGER + 1)
            session.abort()
            session.join()

    def _websocket(self, sock, request, leftover, kind, req):
        ws = WSConnection(ConnectionType.SERVER)
        try:
            ws.initiate_upgrade_connection(request.headers, request.target)
            if leftover:
                ws.receive_data(leftover)
            event = next(ws.events(), None)
        except WsProtocolError as e:
            raise _HttpError(400, "bad websocket handshake: %s" % e) from None
        if not isinstance(event, Request):
            raise _HttpError(400, "bad websocket handshake")
        if kind == "portforward":
            self._websocket_port_forward(sock, ws, event, request, req)
            return
        protocol = wschannel.choose(event.subprotocols, tuple(wschannel.PROTOCOLS))
        if protocol is None and event.subprotocols:
            sock.sendall(ws.send(RejectConnection(status_code=400)))
            return
        sock.sendall(ws.send(AcceptConnection(subprotocol=protocol)))
        _log_upgrade(kind, "websocket", protocol)
        transport = WsTransport(sock, ws)
        io, reader = execio.for_websocket(transport, protocol or "channel.k8s.io", req.stdin, req.stdout,
                                          req.stderr, req.tty)
        try:
            self._run_command(kind, req, io)
        finally:
            transport.close(1000)
            reader.join(LINGER + 1)
            transport.abort()
            reader.join()

    def _websocket_port_forward(self, sock, ws, event, request, req):
        """SPDY tunnelled in WebSocket when offered; else the legacy ``?port=`` channel form."""
        if wschannel.SPDY_TUNNEL in event.subprotocols:
            sock.sendall(ws.send(AcceptConnection(subprotocol=wschannel.SPDY_TUNNEL)))
            _log_upgrade("portforward", "websocket", wschannel.SPDY_TUNNEL)
            self._run_spdy(SpdySession(WsTransport(sock, ws), MAX_STREAMS["portforward"]), "portforward", req, 0)
            return
        protocol = wschannel.choose(event.subprotocols, wsportforward.PROTOCOLS)
        if protocol is None and event.subprotocols:
            sock.sendall(ws.send(RejectConnection(status_code=400)))
            return
        offered = protocol
        protocol = protocol or wsportforward.DEFAULT_PROTOCOL
        query = request.target.decode("latin-1").partition("?")[2]
        try:
            ports = wsportforward.parse_ports(query, protocol)
        except wsportforward.PortsError as e:
            raise _HttpError(400, "port-forward to %s: %s" % (req.pod_sandbox_id, e)) from None
        allowed = set(req.port)
        if allowed and not allowed.issuperset(ports):
            raise _HttpError(400, "port-forward to %s: ports %s were not in the PortForward request %s"
                             % (req.pod_sandbox_id, sorted(set(ports) - allowed), sorted(allowed)))
        sock.sendall(ws.send(AcceptConnection(subprotocol=offered)))
        _log_upgrade("portforward", "websocket", protocol)
        transport = WsTransport(sock, ws)
        try:
            wsportforward.serve(transport, protocol, ports, req.pod_sandbox_id, self.backend.dial)
        finally:
            transport.close(1000)
            transport.abort()

    def _run_command(self, kind, req, io):
        try:
            if kind == "exec":
                code = self.backend.exec(req.container_id, list(req.cmd), req.tty, io)
                io.finish(code, list(req.cmd))
            else:
                self.backend.attach(req.container_id, req.tty, io)
                io.finish(0)
        except errors.GantryError as e:
            io.finish(message="%s in container %s: %s" % (kind, req.container_id, e))
        except OSError as e:  # the client went away while the backend wrote to it
            log.info("%s in container %s: client gone: %s", kind, req.container_id, e)


def _log_upgrade(kind, transport, protocol):
    log.debug("streaming upgrade", extra={"fields": {"kind": kind, "transport": transport,
                                                     "protocol": protocol or "(none)"}})


def _read_request(sock, http):
    request = None
    while True:
        try:
            event = http.next_event()
        except h11.RemoteProtocolError as e:
            raise _HttpError(e.error_status_hint, "bad request: %s" % e) from None
        if isinstance(event, h11.Request):
            request = event
            continue
        if (event is h11.PAUSED or isinstance(event, h11.EndOfMessage)) and request is not None:
            return request
        if isinstance(event, h11.Data):
            continue  # a body is not part of the protocol: ignored
        if event is h11.NEED_DATA:
            try:
                data = sock.recv(65536)
            except OSError as e:
                raise _HttpError(408, "reading the request: %s" % e) from None
            http.receive_data(data)
            if not data:
                raise _HttpError(400, "connection closed before a complete request")
        else:
            raise _HttpError(400, "unexpected %s" % type(event).__name__)


def _headers(request):
    out = {}
    for name, value in request.headers:
        out.setdefault(name.lower(), []).append(value)
    return out


def _respond(sock, status, message):
    body = (message + "\n").encode()
    reason = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
              503: "Service Unavailable"}.get(status, "Error")
    head = "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
    try:
        sock.settimeout(5)
        sock.sendall((head % (status, reason, len(body))).encode() + body)
    except OSError:
        pass
