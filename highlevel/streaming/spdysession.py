"""A SPDY/3.1 server connection over a byte transport, threaded (the I/O around spdy.py).

One reader thread feeds the core and dispatches its events: each stream the
client opens is answered with SYN_REPLY at once (client-go waits for it) and
queued for the handler (``accept``); its data goes into the stream's bounded
buffer; PING echoes and GOAWAYs go out as the core queues them.  Writers
(handler threads) take the connection's one lock for the core and the
transport together, because header compression state and frame order are
shared.  The transport is a socket, or WebSocket messages for SPDY tunnelled
in WebSocket (websession.WsTransport); both offer recv(), sendall(), close().
"""
import logging
import queue
import threading

from . import spdy
from .buffer import ByteBuffer

log = logging.getLogger(__name__)


class SpdyStream:
    """One client-opened stream: read what the client sends, write what we send."""

    def __init__(self, session, stream_id, headers):
        self.session = session
        self.id = stream_id
        self.headers = headers
        self.inbound = ByteBuffer()
        self.reset_by_peer = False

    def header(self, name, default=""):
        return self.headers.get(name.lower(), default)

    def read(self, n=65536, timeout=None):
        """Up to n bytes; b"" at the client's FIN (or reset, or the connection's end); None on timeout."""
        data = self.inbound.read(n, timeout)
        if data:
            try:
                self.session.send(self.session.conn.consumed, self.id, len(data))
            except OSError:
                pass  # the connection is going away; the reader will see it
        return data

    def pipe(self, consumer):
        """consumer(data) gets what the client sends, in the reader's thread (ByteBuffer.pipe);
        the window opens again as each call returns, so a blocking consumer stops the client."""
        def take(data):
            consumer(data)
            if data:
                try:
                    self.session.send(self.session.conn.consumed, self.id, len(data))
                except OSError:
                    pass
        self.inbound.pipe(take)

    def discard(self):
        """We read no more from this stream: what the client still sends is dropped."""
        self.inbound.discard()

    def write(self, data):
        """Send data (blocks while the transport is full); BrokenPipeError once the stream or connection is gone."""
        if self.reset_by_peer or self.session.closed.is_set():
            raise BrokenPipeError("stream %d is closed" % self.id)
        try:
            self.session.send(self.session.conn.send_data, self.id, data)
        except spdy.LocalProtocolError as e:
            raise BrokenPipeError(str(e)) from None

    def close(self):
        """FIN our half (a no-op when it is already closed or reset)."""
        try:
            self.session.send(self.session.conn.send_data, self.id, b"", True)
        except (spdy.LocalProtocolError, OSError):
            pass
        self.inbound.discard()

    def reset(self):
        try:
            self.session.send(self.session.conn.reset, self.id, spdy.CANCEL)
        except OSError:
            pass
        self.inbound.discard()


class SpdySession:
    def __init__(self, transport, max_streams=1000):
        self.transport = transport
        self.conn = spdy.Connection(max_streams=max_streams)
        self.lock = threading.Lock()
        self.streams = {}
        self.opened = queue.Queue()
        self.closed = threading.Event()
        self.reader = threading.Thread(target=self._read_loop, name="spdy-reader", daemon=True)

    def start(self):
        self.reader.start()

    def send(self, make, *args):
        """Call a core method that returns bytes and send them, in one critical section."""
        with self.lock:
            data = make(*args)
            if data:
                self.transport.sendall(data)

    def accept(self, timeout=None):
        """The next stream the client opened; None on timeout or once the connection is closed."""
        try:
            stream = self.opened.get(timeout=timeout)
        except queue.Empty:
            return None
        return stream

    def _read_loop(self):
        try:
            while not self.closed.is_set():
                try:
                    data = self.transport.recv()
                except OSError:
                    data = b""
                events = self.conn.receive_data(data)
                with self.lock:
                    out = self.conn.data_to_send()
                    if out:
                        self.transport.sendall(out)
                for event in events:
                    self._dispatch(event)
                if not data or self.conn.failed or self.conn.goaway_received:
                    if self.conn.failed:
                        log.info("spdy: closing the connection: %s", self.conn.failed)
                    return
        except OSError:
            return
        finally:
            self._shutdown()

    def _dispatch(self, event):
        if isinstance(event, spdy.StreamOpened):
            stream = SpdyStream(self, event.stream_id, event.headers)
            self.streams[event.stream_id] = stream
            if event.fin:
                stream.inbound.close()
            try:
                self.send(self.conn.reply, event.stream_id, {})
            except spdy.LocalProtocolError:
                return  # reset in the same read, before we could answer
            self.opened.put(stream)
        elif isinstance(event, spdy.DataReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                if event.data:
                    stream.inbound.put(event.data)
                if event.fin:
                    stream.inbound.close()
        elif isinstance(event, spdy.StreamReset):
            stream = self.streams.pop(event.stream_id, None)
            if stream is not None:
                stream.reset_by_peer = event.by_peer
                stream.inbound.close()

    def close(self):
        """GOAWAY, then we send nothing more; the reader ends when the client closes its side."""
        if self.closed.is_set():
            return
        try:
            with self.lock:
                if not self.conn.goaway_sent:
                    self.transport.sendall(self.conn.goaway(spdy.GOAWAY_OK))
                self.transport.close()
        except OSError:
            self.transport.abort()

    def abort(self):
        """Shut the transport both ways: every reader and writer wakes up."""
        self.transport.abort()

    def _shutdown(self):
        if self.closed.is_set():
            return
        self.closed.set()
        self.transport.abort()
        for stream in list(self.streams.values()):
            stream.inbound.close()
            stream.reset_by_peer = True
        self.opened.put(None)

    def join(self, timeout=None):
        self.reader.join(timeout)
