"""A bounded byte buffer between a connection's reader thread and a handler.

The reader ``put``s what the peer sent and blocks while the buffer holds
``limit`` bytes (so a slow consumer stops the reader, and TCP stops the
peer); the handler ``read``s.  ``close`` marks the end of input (b"" after
the rest is read); ``discard`` says nobody will read any more (puts are
dropped, never block).  ``pipe(consumer)`` hands the rest of the input to
``consumer(data)`` in the reader's own thread instead (``consumer(b"")`` once
at the end): no handler thread and no wake-up between reader and handler; a
consumer that blocks stops the reader just as a full buffer does.
"""
import threading

LIMIT = 256 << 10


class ByteBuffer:
    def __init__(self, limit=LIMIT):
        self.limit = limit
        self.data = bytearray()
        self.eof = False
        self.discarding = False
        self.cond = threading.Condition()
        self.consumer = None
        self.delivering = threading.Lock()  # held around consumer calls: in order, one at a time
        self.ended = False                  # consumer(b"") was called

    def put(self, data):
        if not data:
            return
        with self.cond:
            while len(self.data) >= self.limit and not (self.eof or self.discarding or self.consumer):
                self.cond.wait()
            if self.eof or self.discarding:
                return
            if self.consumer is None:
                self.data += data
                self.cond.notify_all()
                return
        self._deliver(data)

    def close(self):
        with self.cond:
            self.eof = True
            self.cond.notify_all()
            piped = self.consumer is not None
        if piped:
            self._deliver(b"")

    def discard(self):
        with self.cond:
            self.discarding = True
            self.data.clear()
            self.cond.notify_all()

    def pipe(self, consumer):
        """From now on consumer(data) gets the input (what is buffered first), consumer(b"") at its end."""
        with self.delivering:
            with self.cond:
                if self.consumer is not None:
                    raise RuntimeError("the buffer is piped already")
                pending, ended = bytes(self.data), self.eof
                self.data.clear()
                self.consumer = consumer
                self.cond.notify_all()
            if pending:
                self._call(pending)
            if ended:
                self._call(b"")

    def _deliver(self, data):
        with self.delivering:
            self._call(data)

    def _call(self, data):
        if self.discarding or self.ended:
            return
        if not data:
            self.ended = True
        self.consumer(data)

    def read(self, n=65536, timeout=None):
        """Up to n bytes; b"" at end of input; None on timeout."""
        with self.cond:
            if not self.cond.wait_for(lambda: self.data or self.eof or self.discarding, timeout):
                return None
            if not self.data:
                return b""
            out = bytes(self.data[:n])
            del self.data[:n]
            self.cond.notify_all()
            return out
