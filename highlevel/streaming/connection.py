"""One streaming connection, after the listener accepted it (server.py): HTTP request, upgrade, session.

    client                              gantryd (this module, one thread per connection)
    GET /{exec,attach,portforward}/TOKEN, Upgrade: SPDY/3.1 or websocket
                                        token -> the CRI request it was issued for (tokens.py)
                                   <--  101 Switching Protocols (+ negotiated protocol)
    streams (SPDY) or channels (WebSocket) <-> the container's process (execio.py, portforward.py)

Imported on the first connection only (server.py), with h11, wsproto and the SPDY session.
"""
import logging

import h11
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, RejectConnection, Request
from wsproto.utilities import RemoteProtocolError as WsProtocolError

from .. import errors
from . import execio, portforward, wschannel, wsportforward
from . import remotecommand as rc
from .server import KINDS, MAX_REQUEST_HEAD, HttpError
from .spdysession import SpdySession
from .transport import LINGER, SocketTransport, WsTransport

log = logging.getLogger("gantry.highlevel.streaming.server")

# streams a SPDY client may hold open at once (each has a bounded buffer): exec/attach use five
MAX_STREAMS = {"exec": 8, "attach": 8, "portforward": 2 * portforward.MAX_PAIRS + 16}


class Connection:
    def __init__(self, backend, tokens):
        self.backend = backend
        self.tokens = tokens

    def serve(self, sock, request_timeout):
        sock.settimeout(request_timeout)
        http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_HEAD)
        request = _read_request(sock, http)
        parts = request.target.decode("latin-1").split("?", 1)[0].strip("/").split("/")
        if len(parts) != 2 or parts[0] not in KINDS:
            raise HttpError(404, "not found")
        kind, token = parts
        req = self.tokens.consume(kind, token)
        if req is None:
            raise HttpError(404, "unknown or expired token")
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
            raise HttpError(400, "unable to upgrade: missing upgrade headers in request")

    def _spdy(self, sock, http, headers, kind, req):
        offered = rc.header_values(v.decode("latin-1") for v in headers.get(b"x-stream-protocol-version", []))
        supported = (rc.PORTFORWARD_PROTOCOL,) if kind == "portforward" else rc.SPDY_PROTOCOLS
        protocol = rc.negotiate(offered, supported)
        if protocol is None:
            raise HttpError(403, "unable to upgrade: unable to negotiate protocol: client supports %s, server "
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
            raise HttpError(400, "bad websocket handshake: %s" % e) from None
        if not isinstance(event, Request):
            raise HttpError(400, "bad websocket handshake")
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
            raise HttpError(400, "port-forward to %s: %s" % (req.pod_sandbox_id, e)) from None
        allowed = set(req.port)
        if allowed and not allowed.issuperset(ports):
            raise HttpError(400, "port-forward to %s: ports %s were not in the PortForward request %s"
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
        finally:
            io.run_deferred()


def _log_upgrade(kind, transport, protocol):
    log.debug("streaming upgrade", extra={"fields": {"kind": kind, "transport": transport,
                                                     "protocol": protocol or "(none)"}})


def _read_request(sock, http):
    request = None
    while True:
        try:
            event = http.next_event()
        except h11.RemoteProtocolError as e:
            raise HttpError(e.error_status_hint, "bad request: %s" % e) from None
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
                raise HttpError(408, "reading the request: %s" % e) from None
            http.receive_data(data)
            if not data:
                raise HttpError(400, "connection closed before a complete request")
        else:
            raise HttpError(400, "unexpected %s" % type(event).__name__)


def _headers(request):
    out = {}
    for name, value in request.headers:
        out.setdefault(name.lower(), []).append(value)
    return out
