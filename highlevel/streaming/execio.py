"""The streams of one exec or attach, whatever the wire: what a backend reads and writes.

    io.stdin.read(n)     bytes; b"" at the client's EOF (None when no stdin was asked for)
    io.stdin.pipe(f)     or: f(bytes) in the connection's reader thread, f(b"") at the EOF
    io.release()         the backend is done: wakes its stdin and resize readers at once
    io.stdout.write(b)   blocks while the client is slow; BrokenPipeError once it is gone
    io.resizes.get()     (width, height); None when the client sends no more
    io.gone              Event: the connection ended (the backend kills what it started)
    io.defer(f)          f() once the status is out (finish) or the connection is given up
                         (run_deferred): clean-up the client need not wait for

``for_spdy`` waits for the streams the request implies (kubelet gives the
client 30 s); ``for_websocket`` demultiplexes channels in its own reader
thread.  ``finish`` writes the error stream (remotecommand.error_payload)
and closes the connection.
"""
import queue
import threading
import time

from . import remotecommand as rc
from . import wschannel

STREAM_TIMEOUT = 30.0


class StreamSetupError(Exception):
    pass


class _ResizeReader:
    """TerminalSizes read from a SPDY resize stream."""

    def __init__(self, stream):
        self.stream = stream
        self.decoder = rc.ResizeDecoder()
        self.ready = []

    def get(self, timeout=None):
        """The next (width, height); None at the end; queue.Empty on timeout (like queue.Queue)."""
        while not self.ready:
            data = self.stream.read(timeout=timeout)
            if data is None:
                raise queue.Empty
            if not data:
                return None
            try:
                self.ready.extend(self.decoder.feed(data))
            except ValueError:
                return None
        return self.ready.pop(0)

    def close(self):
        self.stream.inbound.discard()


class _NoResizes:
    def get(self, timeout=None):
        return None

    def close(self):
        pass


class _ResizeQueue(queue.Queue):
    def close(self):
        self.put(None)


class ExecIO:
    def __init__(self, version, stdin, stdout, stderr, error_writer, resizes, gone, closer):
        self.version = version
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.error_writer = error_writer
        self.resizes = resizes
        self.gone = gone
        self.closer = closer
        self.deferred = []

    def defer(self, fn):
        self.deferred.append(fn)

    def run_deferred(self):
        while self.deferred:
            self.deferred.pop(0)()

    def release(self):
        """Wake whoever waits for stdin or a resize: the backend is done with them."""
        if self.stdin is not None:
            self.stdin.discard()
        self.resizes.close()

    def finish(self, code=0, command=None, message=None):
        payload = rc.error_payload(self.version, code, command, message)
        try:
            if payload:
                self.error_writer.write(payload)
            for w in (self.stdout, self.stderr, self.error_writer):
                if w is not None:
                    w.close()
        except OSError:
            pass
        try:
            self.closer()
        finally:
            self.run_deferred()


def for_spdy(session, version, stdin, stdout, stderr, tty, timeout=STREAM_TIMEOUT):
    """Wait for the client's streams; an ExecIO, or StreamSetupError naming what is missing."""
    expected = rc.expected_streams(version, stdin, stdout, stderr, tty)
    got = {}
    deadline = time.monotonic() + timeout
    while set(got) != expected:
        stream = session.accept(timeout=0.5)
        if session.closed.is_set():
            raise StreamSetupError("connection closed before the streams were set up")
        if time.monotonic() > deadline:
            raise StreamSetupError("timed out waiting for streams %s (have %s)" % (sorted(expected), sorted(got)))
        if stream is None:
            continue
        kind = stream.header("streamtype")
        if kind not in expected or kind in got:
            stream.reset()
            continue
        if kind not in (rc.STDIN, rc.RESIZE):
            stream.inbound.discard()  # we only write to it: whatever the client sends there is dropped
        got[kind] = stream
    resizes = _ResizeReader(got[rc.RESIZE]) if rc.RESIZE in got else _NoResizes()
    return ExecIO(version, got.get(rc.STDIN), got.get(rc.STDOUT), got.get(rc.STDERR), got[rc.ERROR],
                  resizes, session.closed, session.close)


class _ChannelWriter:
    def __init__(self, transport, protocol, channel):
        self.transport, self.protocol, self.channel = transport, protocol, channel

    def write(self, data):
        is_text, payload = wschannel.encode(self.protocol, self.channel, data)
        self.transport.send_message(payload, text=is_text)

    def close(self):
        pass  # channels end with the connection


class WsChannels:
    """The reader thread of a channel-protocol WebSocket: stdin bytes, resize events, close."""

    def __init__(self, transport, protocol, stdin):
        from .buffer import ByteBuffer

        self.transport = transport
        self.protocol = protocol
        self.stdin = ByteBuffer() if stdin else None
        self.resizes = _ResizeQueue()
        self.gone = threading.Event()
        self.decoder = rc.ResizeDecoder()
        self.thread = threading.Thread(target=self._loop, name="ws-channels", daemon=True)

    def _loop(self):
        try:
            while True:
                message = self.transport.recv_message()
                if message is None:
                    return
                try:
                    channel, data = wschannel.decode(self.protocol, message[1])
                    self._channel(channel, data)
                except ValueError as e:
                    self.transport.close(1002, str(e)[:100])
                    return
        except OSError:
            return
        finally:
            self.gone.set()
            if self.stdin is not None:
                self.stdin.close()
            self.resizes.put(None)
            self.transport.abort()

    def _channel(self, channel, data):
        if channel == rc.CHANNELS[rc.STDIN]:
            if self.stdin is not None:
                self.stdin.put(data)
        elif channel == rc.CHANNELS[rc.RESIZE]:
            for size in self.decoder.feed(data):
                self.resizes.put(size)
        elif channel == rc.CLOSE_CHANNEL and wschannel.PROTOCOLS[self.protocol][1] >= 5:
            if data[:1] == bytes([rc.CHANNELS[rc.STDIN]]) and self.stdin is not None:
                self.stdin.close()


def for_websocket(transport, protocol, stdin, stdout, stderr, tty):
    channels = WsChannels(transport, protocol, stdin)
    version = wschannel.PROTOCOLS[protocol][1]
    out = _ChannelWriter(transport, protocol, rc.CHANNELS[rc.STDOUT]) if stdout else None
    err = _ChannelWriter(transport, protocol, rc.CHANNELS[rc.STDERR]) if stderr and not tty else None
    error = _ChannelWriter(transport, protocol, rc.CHANNELS[rc.ERROR])
    (out or err or error).write(b"")  # kubelet's "connected" message on the lowest channel it writes
    channels.thread.start()
    return ExecIO(version, channels.stdin, out, err, error, channels.resizes, channels.gone,
                  lambda: transport.close(1000)), channels.thread
