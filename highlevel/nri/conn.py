"""One plugin's socket: ttrpc over NRI's mux, in threads (the I/O of ttrpc.py and mux.py).

    conn = Connection(sock, serve, on_close)    serve(service, method, payload) -> result bytes
    conn.start()                                a reader thread; each request in gets a thread
    conn.call(service, method, payload, timeout) -> result bytes, or CallError
    conn.close()

The runtime is the ttrpc *client* on mux conn 1 (the plugin's service) and the
ttrpc *server* on mux conn 2 (the runtime service); a plugin (tests) swaps them
with ``call_on=2, serve_on=1``.  ``serve`` raises CallError to
answer with a status; any other exception answers UNKNOWN with its text.
A call left without answer past its timeout raises CallTimeout (ttrpc has no
way to cancel it; a late answer is dropped).
"""
import logging
import socket
import threading

from . import mux, ttrpc

log = logging.getLogger("gantry.nri")


class CallError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class CallTimeout(CallError):
    def __init__(self, message):
        super().__init__(ttrpc.DEADLINE_EXCEEDED, message)


class Closed(CallError):
    def __init__(self, message):
        super().__init__(ttrpc.UNAVAILABLE, message)


class Connection:
    def __init__(self, sock, serve, on_close=None, name="plugin", call_on=mux.PLUGIN_SERVICE_CONN,
                 serve_on=mux.RUNTIME_SERVICE_CONN):
        self.sock = sock
        self.call_on, self.serve_on = call_on, serve_on
        self.name = name
        self._serve = serve
        self._on_close = on_close
        self._write_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pending = {}            # stream id -> [threading.Event, result]
        self._ids = ttrpc.StreamIds()
        self._closed = False
        self._reader = None

    # -- life --------------------------------------------------------------------------------
    def start(self):
        self._reader = threading.Thread(target=self._read_loop, name="nri-conn", daemon=True)
        self._reader.start()

    @property
    def closed(self):
        return self._closed

    def close(self):
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending, self._pending = self._pending, {}
        for waiter in pending.values():
            waiter[1] = Closed("nri %s: connection closed" % self.name)
            waiter[0].set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self._on_close is not None:
            self._on_close(self)

    # -- calls out ---------------------------------------------------------------------------
    def call(self, service, method, payload, timeout):
        waiter = [threading.Event(), None]
        with self._lock:
            if self._closed:
                raise Closed("nri %s: %s: connection closed" % (self.name, method))
            sid = self._ids.next()
            self._pending[sid] = waiter
        frame = ttrpc.request(sid, service, method, payload, timeout_ns=int(timeout * 1e9) if timeout else 0)
        self._send(self.call_on, frame)
        if not waiter[0].wait(timeout):
            with self._lock:
                self._pending.pop(sid, None)
            raise CallTimeout("nri %s: %s: no answer in %.1fs" % (self.name, method, timeout))
        result = waiter[1]
        if isinstance(result, CallError):
            raise result
        return result

    def _send(self, conn_id, data):
        try:
            with self._write_lock:
                self.sock.sendall(mux.encode(conn_id, data))
        except OSError as exc:
            self.close()
            raise Closed("nri %s: write: %s" % (self.name, exc)) from exc

    # -- reading ---------------------------------------------------------------------------
    def _read_loop(self):
        demux, client, server = mux.Demux(), ttrpc.FrameDecoder(), ttrpc.FrameDecoder()
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                for conn_id, chunk in demux.feed(data):
                    if conn_id == self.call_on:
                        for frame in client.feed(chunk):
                            self._answered(frame)
                    elif conn_id == self.serve_on:
                        for frame in server.feed(chunk):
                            self._requested(frame)
        except (OSError, ttrpc.ProtocolError, mux.MuxError) as exc:
            if not self._closed:
                log.warning("nri connection failed", extra={"fields": {"plugin": self.name, "error": str(exc)}})
        finally:
            self.close()

    def _answered(self, frame):
        code, message, payload = ttrpc.parse_response(frame)
        with self._lock:
            waiter = self._pending.pop(frame.stream_id, None)
        if waiter is None:
            return                      # answer to a call that timed out
        waiter[1] = payload if code == ttrpc.OK else CallError(code, message)
        waiter[0].set()

    def _requested(self, frame):
        req = ttrpc.parse_request(frame)
        threading.Thread(target=self._answer, args=(frame.stream_id, req), name="nri-serve", daemon=True).start()

    def _answer(self, sid, req):
        try:
            out = ttrpc.response(sid, self._serve(req.service, req.method, req.payload))
        except CallError as exc:
            out = ttrpc.response(sid, code=exc.code, message=str(exc))
        except Exception as exc:  # noqa: BLE001 - any failure becomes the caller's error status
            out = ttrpc.response(sid, code=ttrpc.UNKNOWN, message=str(exc))
        try:
            self._send(self.serve_on, out)
        except Closed:
            pass
