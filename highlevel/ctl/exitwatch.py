"""Waiting for a container's exit: the runtime's GetContainerEvents stream, ContainerStatus behind it.

    watch = ExitWatch(client, cid)     # before StartContainer: no event can be missed
    watch.wait(0.05)                   # True once the runtime has recorded the exit (or the container is gone)
    watch.close()

A thread reads the event stream and wakes ``wait`` the moment the runtime reports the container
stopped (or deleted).  The stream cannot promise two things: that the server subscribed before
the exit happened (a server stream says nothing until its first event), and that it exists at
all (containerd 1.6 answers UNIMPLEMENTED; gantryd drops a subscriber that falls behind).  So
ContainerStatus is asked too: at once, then on a schedule that backs off (``next_interval``): to
a second while the stream is up (it only covers the subscription's first moments), to a quarter
of a second without it.

What "exited" promises about the CRI log: gantryd records the exit from its shim's Wait, which
answers only after the shim has read the container's pipes to the end and written the last
records (shim/service.py on_child_exit); containerd updates the status after its task delete,
which waits for the log copy to finish.  So once ``wait`` is True, reading the log file to its
end gives every line.
"""
import threading
import time

from gantry.api import cri_pb2

FIRST = 0.02            # the first status re-check; each next one waits twice as long,
MAX_STREAMING = 1.0     # up to this while the event stream is up,
MAX_POLLING = 0.25      # and up to this without it
END_EVENTS = (cri_pb2.CONTAINER_STOPPED_EVENT, cri_pb2.CONTAINER_DELETED_EVENT)
LIVE = (cri_pb2.CONTAINER_CREATED, cri_pb2.CONTAINER_RUNNING)


def next_interval(every, streaming):
    """The wait before the next ContainerStatus after one that waited ``every`` (pure)."""
    return min(every * 2, MAX_STREAMING if streaming else MAX_POLLING)


def is_end_event(event, cid):
    """Does this ContainerEventResponse say ``cid`` is no longer running? (pure)"""
    return event.container_id == cid and event.container_event_type in END_EVENTS


def state(client, cid):
    """The container's CRI state, or None when the runtime no longer knows it."""
    try:
        return client.runtime.ContainerStatus(cri_pb2.ContainerStatusRequest(container_id=cid),
                                              timeout=client.timeout).status.state
    except client.grpc.RpcError as exc:
        if exc.code() == client.grpc.StatusCode.NOT_FOUND:
            return None
        raise client.error("status " + cid, exc) from None


class ExitWatch:
    def __init__(self, client, cid, events=True):
        self.client, self.cid = client, cid
        self._ended = False
        self._wake = threading.Event()
        self._every = FIRST
        self._next_check = 0.0           # the first wait asks at once
        self._call = None
        self.streaming = False
        if events:
            self._call = client.runtime.GetContainerEvents(cri_pb2.GetEventsRequest())
            self.streaming = True
            threading.Thread(target=self._listen, name="exit-events", daemon=True).start()

    def _listen(self):
        try:
            for event in self._call:
                if is_end_event(event, self.cid):
                    self._ended = True
                    break
        except self.client.grpc.RpcError:
            pass            # UNIMPLEMENTED, dropped, cancelled: the status checks carry on alone
        finally:
            self.streaming = False
            self._next_check = 0.0
            self._wake.set()

    def ended(self):
        return self._ended

    def wait(self, timeout=None):
        """True once the runtime has recorded the exit (or forgot the container); False when
        ``timeout`` seconds passed first (None: wait as long as it takes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._wake.clear()
            if self._ended:
                return True
            now = time.monotonic()
            if now >= self._next_check:
                if state(self.client, self.cid) not in LIVE:
                    self._ended = True
                    return True
                self._every = next_interval(self._every, self.streaming)
                self._next_check = now + self._every
            if deadline is not None and now >= deadline:
                return False
            until = self._next_check if deadline is None else min(self._next_check, deadline)
            self._wake.wait(max(0.0, until - now))

    def close(self):
        if self._call is not None:
            self._call.cancel()
