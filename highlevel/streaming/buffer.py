"""A bounded byte buffer between a connection's reader thread and a handler.

The reader ``put``s what the peer sent and blocks while the buffer holds
``limit`` bytes (so a slow consumer stops the reader, and TCP stops the
peer); the handler ``read``s.  ``close`` marks the end of input (b"" after
the rest is read); ``discard`` says nobody will read any more (puts are
dropped, never block).
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

    def put(self, data):
        with self.cond:
            while len(self.data) >= self.limit and not (self.eof or self.discarding):
                self.cond.wait()
            if self.eof or self.discarding:
                return
            self.data += data
            self.cond.notify_all()

    def close(self):
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def discard(self):
        with self.cond:
            self.discarding = True
            self.data.clear()
            self.cond.notify_all()

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
