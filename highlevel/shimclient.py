"""gantryd's client for gantry-shim: blocking calls over the shim API framing.

gantryd is threaded (gRPC), so this client is too: every call opens its own
connection to the shim's unix socket, sends one REQUEST and reads until its
answer (``gantry.api.framing`` draws the exchange).  A connection costs tens
of microseconds on a unix socket; in exchange no connection is shared
between threads, a Wait that blocks for hours holds only its own socket, and
a dead shim shows up as ``Unavailable`` on the next call.  Wait can be called
again on a new connection after gantryd restarts: the shim answers at once
for a process that already exited.

    client = ShimClient(address)
    client.create(); client.start()
    with client.attach(exec_id="e1", stdout=True, stderr=True) as stream:
        client.start("e1")
        for which, data in stream: ...        # which: "stdout" | "stderr"
    status = client.wait("e1").exit_status

Shim errors become gantryd's domain errors (highlevel/errors.py), which the
CRI layer maps to gRPC codes in its one place.  ``TemplateClient`` asks a
shim template (``gantry-shim template``, started with ``start_template``) to
fork a shim; see shim/template.py for why gantryd never forks itself.
"""
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import time

from gantry.api import framing, shim_pb2, shimcalls, shimstate

from . import errors

CODE_ERRORS = {
    framing.CANCELLED: errors.GantryError,
    framing.INVALID_ARGUMENT: errors.InvalidArgument,
    framing.DEADLINE_EXCEEDED: errors.DeadlineExceeded,
    framing.NOT_FOUND: errors.NotFound,
    framing.ALREADY_EXISTS: errors.AlreadyExists,
    framing.FAILED_PRECONDITION: errors.FailedPrecondition,
    framing.UNIMPLEMENTED: errors.Unimplemented,
    framing.INTERNAL: errors.Internal,
    framing.UNAVAILABLE: errors.Unavailable,
}
STREAM_NAMES = {shim_pb2.STDOUT: "stdout", shim_pb2.STDERR: "stderr"}


def error_for(code, message):
    return CODE_ERRORS.get(code, errors.GantryError)(message)


class _Connection:
    """One socket, one decoder; reads frames with a deadline."""

    def __init__(self, address, timeout):
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(address)
        except OSError as e:
            self.sock.close()
            raise errors.Unavailable("connect to shim %s: %s" % (address, e)) from e
        self.decoder = framing.Decoder()
        self.frames = []

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise errors.Unavailable("send to shim %s: %s" % (self.address, e)) from e

    def next_frame(self, timeout, what):
        """The next frame; None on timeout (only when timeout is not None)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.frames:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.sock.settimeout(left)
            elif self.sock.gettimeout() is not None:  # settimeout costs an ioctl: not once per frame
                self.sock.settimeout(None)
            try:
                data = self.sock.recv(framing.RECV_SIZE)
            except socket.timeout:
                return None
            except OSError as e:
                raise errors.Unavailable("%s: shim %s: %s" % (what, self.address, e)) from e
            if not data:
                raise errors.Unavailable("%s: shim %s closed the connection" % (what, self.address))
            try:
                self.frames.extend(self.decoder.feed(data))
            except framing.FramingError as e:
                raise errors.Internal("%s: shim %s sent a malformed frame: %s" % (what, self.address, e)) from e
        return self.frames.pop(0)

    def close(self):
        self.sock.close()


def _answer(frame, method, address, response):
    """The decoded answer to call 1 in frame, or the domain error it carries."""
    if frame.kind == framing.ERROR:
        raise error_for(frame.code, frame.payload.decode("utf-8", "replace"))
    if frame.kind != framing.RESPONSE or frame.id != 1:
        raise errors.Internal("%s: shim %s answered with %r" % (method, address, frame))
    return response.FromString(frame.payload)


def _unary(address, calls, method, request, timeout, connect_timeout):
    spec = calls[method]
    conn = _Connection(address, connect_timeout)
    try:
        conn.send(framing.request(1, method, request.SerializeToString()))
        frame = conn.next_frame(timeout, method)
        if frame is None:
            raise errors.DeadlineExceeded("%s: shim %s did not answer within %ss" % (method, address, timeout))
        return _answer(frame, method, address, spec.response)
    finally:
        conn.close()


class PendingWait:
    """A Wait call in flight on its own connection: its caller looks in now and then, no thread needed."""

    def __init__(self, conn):
        self.conn = conn

    def result(self, timeout=None):
        """The WaitResponse once the process exited; None if timeout (seconds) passed first."""
        frame = self.conn.next_frame(timeout, "Wait")
        if frame is None:
            return None
        return _answer(frame, "Wait", self.conn.address, shim_pb2.WaitResponse)

    def close(self):
        self.conn.close()


class AttachStream:
    """Output of one process as (stream name, bytes) pairs; stdin the other way."""

    def __init__(self, conn, method):
        self.conn = conn
        self.method = method
        self.ended = False

    def recv(self, timeout=None):
        """The next (stream, data); None when the output has ended.  Raises DeadlineExceeded on timeout."""
        if self.ended:
            return None
        frame = self.conn.next_frame(timeout, self.method)
        if frame is None:
            raise errors.DeadlineExceeded("%s: no output within %ss" % (self.method, timeout))
        if frame.kind == framing.END:
            self.ended = True
            return None
        if frame.kind == framing.ERROR:
            self.ended = True
            raise error_for(frame.code, frame.payload.decode("utf-8", "replace"))
        message = shim_pb2.AttachResponse.FromString(frame.payload)
        return STREAM_NAMES.get(message.stream, "stdout"), message.data

    def __iter__(self):
        while True:
            item = self.recv()
            if item is None:
                return
            yield item

    def send(self, data=b"", close_stdin=False):
        self.conn.send(framing.data(1, shim_pb2.AttachRequest(data=data, close_stdin=close_stdin).SerializeToString()))

    def close_stdin(self):
        self.send(close_stdin=True)

    def close(self):
        if not self.ended:
            try:
                self.conn.send(framing.cancel(1))
            except errors.GantryError:
                pass
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class DirectStdio:
    """An exec's own pipes, handed over by its shim (AttachRequest.direct): ``stdout`` and ``stderr``
    read ends, ``stdin`` write end (None without stdin), all blocking.  The holder closes the fds it uses up (and
    sets them to None); ``close`` closes what is left and the call's connection."""

    def __init__(self, conn, stdout, stderr, stdin):
        self.conn = conn
        self.stdout, self.stderr, self.stdin = stdout, stderr, stdin

    def close(self):
        for name in ("stdout", "stderr", "stdin"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                os.close(fd)
        self.conn.close()


def _response_with_fds(conn, timeout, what):
    """The first frame on conn and the fds that came with it (SCM_RIGHTS)."""
    fds = []
    try:
        conn.sock.settimeout(timeout)
        while not conn.frames:
            try:
                data, got, flags, _ = socket.recv_fds(conn.sock, framing.RECV_SIZE, 3)
            except socket.timeout:
                raise errors.DeadlineExceeded("%s: shim %s did not answer within %ss" % (what, conn.address, timeout)) from None
            except OSError as e:
                raise errors.Unavailable("%s: shim %s: %s" % (what, conn.address, e)) from e
            fds += got
            if flags & socket.MSG_CTRUNC:
                raise errors.Internal("%s: shim %s sent more fds than 3" % (what, conn.address))
            if not data:
                raise errors.Unavailable("%s: shim %s closed the connection" % (what, conn.address))
            try:
                conn.frames.extend(conn.decoder.feed(data))
            except framing.FramingError as e:
                raise errors.Internal("%s: shim %s sent a malformed frame: %s" % (what, conn.address, e)) from e
        return conn.frames.pop(0), fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


class ShimClient:
    """The shim task API of one shim.  Every method is one call (see proto/shim.proto)."""

    def __init__(self, address, timeout=30.0, connect_timeout=5.0):
        self.address = address
        self.timeout = timeout
        self.connect_timeout = connect_timeout

    def call(self, method, request=None, timeout=-1):
        """Any unary call by name; timeout None waits forever, -1 uses the client's default."""
        spec = shimcalls.CALLS[method]
        if spec.streaming:
            raise ValueError("%s streams: use attach()" % method)
        return _unary(self.address, shimcalls.CALLS, method, request if request is not None else spec.request(),
                      self.timeout if timeout == -1 else timeout, self.connect_timeout)

    def connect(self):
        return self.call("Connect")

    def create(self, terminal=False, stdin=False, log_path=""):
        return self.call("Create", shim_pb2.CreateRequest(terminal=terminal, stdin=stdin, log_path=log_path)).pid

    def start(self, exec_id=""):
        return self.call("Start", shim_pb2.StartRequest(exec_id=exec_id)).pid

    def state(self, exec_id=""):
        return self.call("State", shim_pb2.StateRequest(exec_id=exec_id))

    def kill(self, signal=15, exec_id="", all=False):
        self.call("Kill", shim_pb2.KillRequest(exec_id=exec_id, signal=signal, all=all))

    def wait(self, exec_id="", timeout=None):
        """Block until the process exited (timeout None: forever); a WaitResponse."""
        return self.call("Wait", shim_pb2.WaitRequest(exec_id=exec_id), timeout=timeout)

    def begin_wait(self, exec_id=""):
        """Send Wait and return at once: a PendingWait (close it when done with it)."""
        conn = _Connection(self.address, self.connect_timeout)
        try:
            conn.send(framing.request(1, "Wait", shim_pb2.WaitRequest(exec_id=exec_id).SerializeToString()))
        except BaseException:
            conn.close()
            raise
        return PendingWait(conn)

    def delete(self, exec_id="", force=False):
        return self.call("Delete", shim_pb2.DeleteRequest(exec_id=exec_id, force=force))

    def exec(self, exec_id, process_spec, terminal=False, stdin=False, log_path=""):
        """Register an exec process; process_spec is an OCI process dict (or its JSON bytes)."""
        spec = process_spec if isinstance(process_spec, bytes) else json.dumps(process_spec).encode()
        self.call("Exec", shim_pb2.ExecRequest(exec_id=exec_id, spec=spec, terminal=terminal, stdin=stdin,
                                               log_path=log_path))

    def resize_pty(self, width, height, exec_id=""):
        self.call("ResizePty", shim_pb2.ResizePtyRequest(exec_id=exec_id, width=width, height=height))

    def close_io(self, exec_id=""):
        self.call("CloseIO", shim_pb2.CloseIORequest(exec_id=exec_id))

    def reopen_log(self, exec_id=""):
        self.call("ReopenLog", shim_pb2.ReopenLogRequest(exec_id=exec_id))

    def stats(self):
        return self.call("Stats")

    def update(self, resources):
        data = resources if isinstance(resources, bytes) else json.dumps(resources).encode()
        self.call("Update", shim_pb2.UpdateRequest(resources=data))

    def pause(self):
        self.call("Pause")

    def resume(self):
        self.call("Resume")

    def pids(self):
        return [(p.pid, p.exec_id) for p in self.call("Pids").processes]

    def shutdown(self, now=False):
        self.call("Shutdown", shim_pb2.ShutdownRequest(now=now))

    def attach(self, exec_id="", stdin=False, stdout=True, stderr=True, timeout=None):
        """Attach to a process; returns an AttachStream once the shim has registered us
        (output produced from then on is delivered)."""
        conn = _Connection(self.address, self.connect_timeout)
        try:
            request = shim_pb2.AttachRequest(exec_id=exec_id, stdin=stdin, stdout=stdout, stderr=stderr)
            conn.send(framing.request(1, "Attach", request.SerializeToString()))
            frame = conn.next_frame(self.timeout if timeout is None else timeout, "Attach")
            if frame is None:
                raise errors.DeadlineExceeded("Attach: shim %s did not answer" % self.address)
            if frame.kind == framing.ERROR:
                raise error_for(frame.code, frame.payload.decode("utf-8", "replace"))
            if frame.kind != framing.RESPONSE:
                raise errors.Internal("Attach: shim %s answered with %r" % (self.address, frame))
        except BaseException:
            conn.close()
            raise
        return AttachStream(conn, "Attach")

    def attach_direct(self, exec_id, stdin=False, timeout=None):
        """Take an exec's pipes (before Start, as its only client): a DirectStdio."""
        conn = _Connection(self.address, self.connect_timeout)
        fds = []
        try:
            request = shim_pb2.AttachRequest(exec_id=exec_id, stdin=stdin, stdout=True, stderr=True, direct=True)
            conn.send(framing.request(1, "Attach", request.SerializeToString()))
            frame, fds = _response_with_fds(conn, self.timeout if timeout is None else timeout, "Attach")
            if frame.kind == framing.ERROR:
                raise error_for(frame.code, frame.payload.decode("utf-8", "replace"))
            if frame.kind != framing.RESPONSE or len(fds) != (3 if stdin else 2):
                raise errors.Internal("Attach: shim %s answered a direct attach with %r and %d fds"
                                      % (self.address, frame, len(fds)))
            for fd in fds:   # the shim's ends were non-blocking; ours are only ours now
                os.set_blocking(fd, True)
            return DirectStdio(conn, fds[0], fds[1], fds[2] if stdin else None)
        except BaseException:
            for fd in fds:
                os.close(fd)
            conn.close()
            raise


def address_in(state_dir):
    """The API address a shim published in its state dir (after a gantryd restart), or None."""
    return shimstate.read_address(state_dir)


def exit_record(state_dir):
    """The exit file a shim wrote when its container exited, readable with the shim gone:
    {"pid", "status", "exited_at_ns", "reason"} or None (format: gantry.api.shimstate; written
    atomically, so a torn file does not exist)."""
    return shimstate.read_exit(state_dir)


class TemplateClient:
    """Ask a shim template for shims."""

    def __init__(self, address, timeout=30.0):
        self.address = address
        self.timeout = timeout

    def spawn(self, id, bundle, runtime, state_dir, runtime_root="", log_path="", terminal=False, stdin=False):
        """Fork a shim (or find the running one); returns a SpawnResponse (address, pid, already_running)."""
        request = shim_pb2.SpawnRequest(id=id, bundle=bundle, runtime=runtime, runtime_root=runtime_root,
                                        state_dir=state_dir, log_path=log_path, terminal=terminal, stdin=stdin)
        return _unary(self.address, shimcalls.TEMPLATE_CALLS, "Spawn", request, self.timeout, self.timeout)


def shim_executable():
    here = os.path.join(os.path.dirname(sys.executable), "gantry-shim")
    return here if os.path.exists(here) else (shutil.which("gantry-shim") or "gantry-shim")


def start_template(socket_path, executable=None, timeout=10.0, **popen_kw):
    """Start `gantry-shim template` as a child process; returns the Popen once it serves socket_path.

    Shims it forks are detached (own session, reparented away), so stopping
    the template never stops a container."""
    proc = subprocess.Popen([executable or shim_executable(), "template", "--socket", socket_path],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, close_fds=True, **popen_kw)
    line = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                proc.kill()
                proc.wait()
                raise errors.Unavailable("shim template did not start within %ss" % timeout)
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                proc.wait()
                raise errors.Unavailable("shim template exited with status %s" % proc.returncode)
            line += chunk
    proc.stdout.close()
    return proc
