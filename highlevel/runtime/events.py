"""Container and pod events for CRI GetContainerEvents: publish once, every subscriber gets a copy.

    events = Events()
    with events.subscribe() as sub:          # from now on
        for event in sub: ...                # blocks; ends when the broker closes
    events.publish(event)                    # never blocks: a subscriber that falls more than
                                             # ``backlog`` events behind is dropped (its stream ends)

An event is whatever the caller publishes (the CRI layer sends
ContainerEventResponse messages).  The kubelet reconnects when its stream ends
and relists, which is also what a dropped slow subscriber must do.
"""
import collections
import threading

_END = object()


class Subscription:
    def __init__(self, broker, backlog):
        self._broker = broker
        self._queue = collections.deque()
        self._cond = threading.Condition()
        self._backlog = backlog
        self._ended = False

    def _put(self, item):
        with self._cond:
            if self._ended:
                return False
            if item is not _END and len(self._queue) >= self._backlog:
                self._ended = True
                self._queue.append(_END)
                self._cond.notify_all()
                return False
            self._queue.append(item)
            self._cond.notify_all()
            return item is not _END

    def get(self, timeout=None):
        """The next event; None on timeout; StopIteration-like _END handled by __iter__."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._queue, timeout):
                return None
            return self._queue.popleft()

    def __iter__(self):
        while True:
            item = self.get(timeout=1.0)
            if item is None:
                continue
            if item is _END:
                return
            yield item

    def close(self):
        self._broker._remove(self)
        self._put(_END)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Events:
    def __init__(self, backlog=1000):
        self.backlog = backlog
        self._subs = set()
        self._lock = threading.Lock()

    def subscribe(self):
        sub = Subscription(self, self.backlog)
        with self._lock:
            self._subs.add(sub)
        return sub

    def _remove(self, sub):
        with self._lock:
            self._subs.discard(sub)

    def publish(self, event):
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            if not sub._put(event):
                self._remove(sub)

    def close(self):
        with self._lock:
            subs, self._subs = list(self._subs), set()
        for sub in subs:
            sub._put(_END)
