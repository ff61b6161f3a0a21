"""shim/server.py + service.py: bytes on a shim's socket, dispatched to the task API, with no container.

The input is what a client sends on one connection (frames, or junk).  The
server never raises; every handler raises only ShimError kinds (a bug
answered as INTERNAL "Method: TypeError: ..." counts as a crash); every
request gets exactly one RESPONSE or ERROR unless it is a call that answers
later (Wait, Attach); what the shim sends decodes as frames; nothing outside
the scratch root changes.

The shim trusts gantryd with paths (its socket is mode 0600): a Create's
log_path is where the shim writes.  The harness maps log paths into the scratch
root so that it can check that nothing else is touched; the runtime is a
missing binary, so a Create fails the way a runtime failure does."""
import os
import shutil

from gantry.api import framing, shimcalls
from gantry.shim import errors as shim_errors
from gantry.shim import io as shim_io
from gantry.shim import server, service

from .harness import Target
from .scratch import Scratch

_scratch = None
LATER = ("Wait", "Attach")


class FakeLoop:
    def __init__(self):
        self.readers, self.writers = {}, {}

    def add_reader(self, fd, cb):
        self.readers[fd] = cb

    def remove_reader(self, fd):
        self.readers.pop(fd, None)

    def add_writer(self, fd, cb):
        self.writers[fd] = cb

    def remove_writer(self, fd):
        self.writers.pop(fd, None)

    def forget(self, fd):
        self.readers.pop(fd, None)
        self.writers.pop(fd, None)

    def call_later(self, delay, cb):
        return object()

    def call_at(self, when, cb):
        return object()

    @staticmethod
    def cancel_timer(entry):
        pass


class FakeSocket:
    """The client's end, seen from the shim: recv gives the input in pieces, send collects."""

    def __init__(self, data, step):
        self.data, self.step, self.pos, self.sent, self.closed = data, step, 0, bytearray(), False

    def fileno(self):
        return 1000

    def recv(self, n):
        out = self.data[self.pos:self.pos + min(n, self.step)]
        self.pos += len(out)
        return out

    def send(self, data):
        self.sent += data
        return len(data)

    def setblocking(self, flag):
        pass

    def close(self):
        self.closed = True


class ScratchProcessIO(shim_io.ProcessIO):
    def __init__(self, loop, terminal=False, stdin=False, log_path="", **kw):
        if log_path:
            log_path = os.path.join(_scratch.path("logs"), os.path.abspath(log_path).lstrip("/"))
        super().__init__(loop, terminal, stdin, log_path, **kw)


def setup():
    global _scratch
    _scratch = Scratch()
    os.mkdir(_scratch.path("bundle"))


def _guarded(name, handler, bugs):
    def call(request, c):
        try:
            return handler(request, c)
        except shim_errors.ShimError:
            raise
        except Exception as e:
            bugs.append((name, e))
            raise
    return call


def check(data):
    if not data:
        return
    real, service.ProcessIO = service.ProcessIO, ScratchProcessIO   # only while this input runs
    try:
        _check(data)
    finally:
        service.ProcessIO = real


def _check(data):
    step, data = data[0] * 7 + 1, data[1:]
    for name in ("state", "logs"):
        shutil.rmtree(_scratch.path(name), ignore_errors=True)
        os.mkdir(_scratch.path(name))
    loop = FakeLoop()
    cfg = service.Config("fuzz", _scratch.path("bundle"), "/nonexistent/gantry-oci-fuzz", _scratch.path("state"))
    svc = service.ShimService(loop, cfg)
    bugs = []
    handlers = {name: _guarded(name, h, bugs) for name, h in svc.handlers().items()}
    listener = FakeSocket(b"", 1)
    srv = server.Server(loop, listener, handlers, shimcalls.CALLS)
    sock = FakeSocket(data, step)
    conn = server.Connection(srv, sock)
    srv.connections.add(conn)
    requests = []          # what the shim must answer: requests before anything that makes it hang up
    mirror, hung_up = framing.Decoder(), False
    while not conn.closed and sock.pos < len(data):
        before = sock.pos
        try:
            for f in mirror.feed(data[before:before + step]):
                hung_up = hung_up or f.kind in (framing.RESPONSE, framing.ERROR)   # a client never sends these
                if f.kind == framing.REQUEST and not hung_up:
                    requests.append(f)
        except framing.FramingError:
            pass
        conn.on_readable()
    if not conn.closed:
        conn.close()
    assert not bugs, "a handler raised %s" % ["%s: %s: %s" % (n, type(e).__name__, e) for n, e in bugs]
    replies = framing.Decoder().feed(bytes(sock.sent))
    answered = {}
    for f in replies:
        assert f.kind in (framing.RESPONSE, framing.ERROR, framing.DATA, framing.END), f
        if f.kind in (framing.RESPONSE, framing.ERROR):
            answered[f.id] = answered.get(f.id, 0) + 1
    for req in requests:
        if req.method not in LATER:
            assert answered.get(req.id, 0) >= 1, "request %r got no answer" % (req,)
    assert not loop.readers or set(loop.readers) == {listener.fileno()}
    _scratch.assert_outside_unchanged()


TARGET = Target("shim_server", check, ("gantry.shim.server", "gantry.shim.service", "gantry.api.framing"),
                setup=setup)
