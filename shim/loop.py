"""A single-threaded event loop: selectors (epoll) for fds, a heap for timers.

The shim and the template each run one.  Nothing here blocks except
``select``; callbacks must not block for long either (runtime commands are the
one accepted exception: they take milliseconds and are rare).
"""
import heapq
import itertools
import selectors
import time
import traceback


class Loop:
    def __init__(self):
        self._sel = selectors.DefaultSelector()
        self._timers = []
        self._seq = itertools.count()
        self.running = False
        self.errors = 0

    def _update(self, fd, reader, writer):
        events = (selectors.EVENT_READ if reader else 0) | (selectors.EVENT_WRITE if writer else 0)
        try:
            key = self._sel.get_key(fd)
        except KeyError:
            key = None
        if key is None:
            if events:
                self._sel.register(fd, events, (reader, writer))
        elif events:
            self._sel.modify(fd, events, (reader, writer))
        else:
            self._sel.unregister(fd)

    def _callbacks(self, fd):
        try:
            return self._sel.get_key(fd).data
        except KeyError:
            return (None, None)

    def add_reader(self, fd, callback):
        self._update(fd, callback, self._callbacks(fd)[1])

    def remove_reader(self, fd):
        self._update(fd, None, self._callbacks(fd)[1])

    def add_writer(self, fd, callback):
        self._update(fd, self._callbacks(fd)[0], callback)

    def remove_writer(self, fd):
        self._update(fd, self._callbacks(fd)[0], None)

    def forget(self, fd):
        """Stop watching fd at all (call before closing it)."""
        self._update(fd, None, None)

    def call_later(self, delay, callback):
        entry = [time.monotonic() + delay, next(self._seq), callback]
        heapq.heappush(self._timers, entry)
        return entry

    @staticmethod
    def cancel_timer(entry):
        entry[2] = None

    def stop(self):
        self.running = False

    def close(self):
        self._sel.close()

    def run(self):
        self.running = True
        while self.running:
            timeout = None
            if self._timers:
                timeout = max(0.0, self._timers[0][0] - time.monotonic())
            for key, events in self._sel.select(timeout):
                reader, writer = key.data
                if events & selectors.EVENT_READ and reader:
                    self._call(reader)
                if events & selectors.EVENT_WRITE and writer:
                    _, writer = self._callbacks(key.fd)  # the reader may have removed it
                    if writer:
                        self._call(writer)
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                _, _, callback = heapq.heappop(self._timers)
                if callback:
                    self._call(callback)

    def _call(self, callback):
        """Run a callback; a bug in one must not end the process that owns a container."""
        try:
            callback()
        except Exception:
            traceback.print_exc()  # the shim's stderr is its shim.log
            self.errors += 1
