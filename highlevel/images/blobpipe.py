"""A bounded in-memory pipe from a download to an unpacker running in another thread.

    pipe = BlobPipe()
    downloader thread:  pipe.write(chunk) ... pipe.close()      (or pipe.fail(exc))
    unpacker thread:    pipe.read(n) until b""                  (a file object for tarfile/zlib)
                        pipe.abandon(exc) when it gives up, so the writer stops too

``write`` blocks while ``max_chunks`` chunks wait unread (the download slows
to the unpacker's pace instead of buffering a whole layer).  Either side's
failure reaches the other: ``read`` raises what ``fail`` was given, and
``write`` raises once the reader has abandoned the stream.
"""
import collections
import threading

from ..errors import Internal


class PipeAbandoned(Exception):
    """The reader stopped; the writer should stop too (its own error is elsewhere)."""


class BlobPipe:
    def __init__(self, max_chunks=16):
        self._chunks = collections.deque()
        self._max = max_chunks
        self._cond = threading.Condition()
        self._closed = False
        self._error = None      # set by the writer's fail()
        self._abandoned = None  # set by the reader's abandon()
        self._head = memoryview(b"")

    # -- writer side ---------------------------------------------------------
    def write(self, data):
        if not data:
            return 0
        with self._cond:
            while len(self._chunks) >= self._max and self._abandoned is None:
                self._cond.wait()
            if self._abandoned is not None:
                raise PipeAbandoned("unpacker stopped: %s" % self._abandoned)
            if self._closed:
                raise Internal("blob pipe: write after close")
            self._chunks.append(bytes(data))
            self._cond.notify_all()
        return len(data)

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def fail(self, exc):
        with self._cond:
            self._error = exc
            self._closed = True
            self._cond.notify_all()

    # -- reader side ---------------------------------------------------------
    def read(self, n=-1):
        if not self._head:
            with self._cond:
                while not self._chunks and not self._closed:
                    self._cond.wait()
                if self._error is not None:
                    raise self._error
                if not self._chunks:
                    return b""
                chunk = self._chunks.popleft()
                self._cond.notify_all()
            if n is None or n < 0 or n >= len(chunk):
                return chunk        # a whole chunk as it was written: no copy
            self._head = memoryview(chunk)
        if n is None or n < 0 or n >= len(self._head):
            out, self._head = self._head, memoryview(b"")
        else:
            out, self._head = self._head[:n], self._head[n:]
        return bytes(out)

    def readable(self):
        return True

    def abandon(self, exc):
        with self._cond:
            self._abandoned = exc
            self._chunks.clear()
            self._cond.notify_all()
