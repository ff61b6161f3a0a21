"""The shim-based streaming backend: exec, attach and port-forward for real containers.

gantryd gives it two lookups (id -> ContainerRef / PodRef, raising
errors.NotFound); everything else goes through the container's gantry-shim
(proto/shim.proto):

    exec:   Exec(exec_id, process) → Attach(exec_id) → Start → Wait; ResizePty on resize,
            the attach's close_stdin at the client's EOF; Kill(SIGKILL) if the client vanishes;
            Delete(exec_id) at the end.  Without a terminal the Attach is direct: the shim hands
            over the process's pipes and gantryd moves the bytes itself (directio.py).  A process the runtime cannot start (missing binary,
            not executable) exits 127 / 126, as a shell or runc-based kubelet reports it.
    attach: Attach("") to the init, as many clients at once as like.
    port-forward: a TCP connection to 127.0.0.1:port inside the pod's netns (netns.py).

Back-pressure: the pumps block on the client's writes; the shim itself never
waits for a client and drops one that falls 8 MiB behind (shim/server.py),
which ends that client's output.
"""
import queue
import secrets
import signal
import socket
import threading
import time
from dataclasses import dataclass, field

from .. import errors
from ..runtime.execsync import start_failure_code
from ..runtime.specgen import exec_process
from ..shimclient import ShimClient
from . import netns
from .directio import DirectPumps

POLL = 0.25
FIRST_SIZE_WAIT = 0.2  # how long a tty exec waits for the client's first terminal size
OUTPUT_DRAIN = 2.0  # after the exit: how long the output may stay silent (a pty held open by a leftover child)


@dataclass
class ContainerRef:
    id: str
    shim_address: str
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False
    running: bool = True
    process: dict = field(default_factory=dict)


@dataclass
class PodRef:
    id: str
    netns_path: str | None = None  # None: host network


def _wake(stream):
    try:
        stream.conn.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _first_size(io):
    """The size a tty client sends right after its streams are up (client-go does), or None."""
    try:
        return io.resizes.get(timeout=FIRST_SIZE_WAIT)
    except queue.Empty:
        return None


def _forget(client, exec_id):
    """Delete the exec's record in the shim (its process has exited, or is killed now)."""
    try:
        client.delete(exec_id, force=True)
    except errors.GantryError:
        pass


class _Pumps:
    """The threads that move one process's bytes; all end once ``done`` is set or their source ends."""

    def __init__(self, io, stream, tty):
        self.io, self.stream, self.tty = io, stream, tty
        self.done = threading.Event()
        self.threads = []
        self.waiting_since = None
        self.sending = threading.Lock()  # held while stdin goes to the shim (see pipe_stdin)
        self.stdin_failed = False

    def start(self, target, *args):
        t = threading.Thread(target=target, args=args, daemon=True, name="stream-pump")
        t.start()
        self.threads.append(t)
        return t

    def output(self):
        """Shim output to the client until the stream ends; blocks on a slow client.

        ``waiting_since`` is when the pump last started waiting for the shim (None while it
        writes to the client): the exec ends the pump only after it waited OUTPUT_DRAIN in vain."""
        try:
            while True:
                self.waiting_since = time.monotonic()
                item = self.stream.recv()
                self.waiting_since = None
                if item is None:
                    return
                which, data = item
                writer = self.io.stdout if self.tty or which == "stdout" else self.io.stderr
                if writer is not None:
                    writer.write(data)
        except (OSError, errors.GantryError):
            pass

    def close_stdin(self):
        self.stream.close_stdin()

    def close(self):
        self.stream.close()

    def pipe_stdin(self, on_eof):
        """The client's stdin to the shim from the connection's reader thread: no thread and no
        wake-up of ours in between.  A shim that stops reading blocks the send, so the reader
        and then the client (TCP) wait: the same back-pressure as a full stdin buffer."""
        def take(data):
            with self.sending:
                if self.done.is_set() or self.stdin_failed:
                    return
                try:
                    if data:
                        self.stream.send(data)
                    else:
                        on_eof()
                except (errors.GantryError, OSError):
                    self.stdin_failed = True
        self.io.stdin.pipe(take)

    def resizes(self, resize):
        while not self.done.is_set():
            try:
                size = self.io.resizes.get(timeout=POLL)
            except queue.Empty:
                continue
            if size is None:
                return
            try:
                resize(*size)
            except errors.GantryError:
                pass  # a resize the process cannot take is not worth ending the session for

    def stop(self):
        self.done.set()
        self.io.release()
        _wake(self.stream)
        for t in self.threads:
            t.join()
        with self.sending:  # a stdin send in flight has ended (the wake above unblocked it)
            pass


class ShimBackend:
    def __init__(self, lookup_container, lookup_pod):
        self.lookup_container = lookup_container
        self.lookup_pod = lookup_pod

    def _running(self, container_id, what):
        ref = self.lookup_container(container_id)
        if not ref.running:
            raise errors.FailedPrecondition("%s in container %s: the container is not running" % (what, container_id))
        return ref

    # -- checks at URL time (the CRI call) -----------------------------------------
    def check_exec(self, container_id):
        self._running(container_id, "exec")

    def check_attach(self, container_id):
        self._running(container_id, "attach")

    def check_port_forward(self, pod_id):
        self.lookup_pod(pod_id)

    # -- the streams ------------------------------------------------------------
    def exec(self, container_id, cmd, tty, io):
        """Run cmd in the container with io; returns its exit code (raises a domain error if it could not run)."""
        ref = self._running(container_id, "exec")
        client = ShimClient(ref.shim_address)
        exec_id = "exec-" + secrets.token_hex(8)
        spec = exec_process({"process": ref.process}, cmd, tty)
        if tty:
            size = _first_size(io)
            if size is not None:  # the terminal starts at the client's size: no race with a resize
                spec["consoleSize"] = {"width": size[0], "height": size[1]}
        client.exec(exec_id, spec, terminal=tty, stdin=io.stdin is not None)
        deferred = False
        try:
            if tty:
                pumps = _Pumps(io, client.attach(exec_id, stdin=io.stdin is not None, stdout=True, stderr=False), tty)
            else:
                pumps = DirectPumps(io, client.attach_direct(exec_id, stdin=io.stdin is not None))
            try:
                try:
                    client.start(exec_id)
                except errors.GantryError as e:
                    code = start_failure_code(str(e))
                    if code is None:
                        raise
                    writer = io.stderr or io.stdout
                    if writer is not None:
                        writer.write(("%s\n" % e).encode())
                    return code
                code = self._run(client, exec_id, io, pumps)
            finally:
                pumps.stop()
                pumps.close()
            io.defer(lambda: _forget(client, exec_id))   # after the status: the client does not wait for it
            deferred = True
            return code
        finally:
            if not deferred:
                _forget(client, exec_id)

    def _run(self, client, exec_id, io, pumps):
        output = pumps.start(pumps.output)
        if io.stdin is not None:
            pumps.pipe_stdin(pumps.close_stdin)
        if pumps.tty:   # without a terminal there is nothing to resize
            pumps.start(pumps.resizes, lambda w, h: client.resize_pty(w, h, exec_id))
        status = self._wait(client, exec_id, io)
        exited = time.monotonic()
        while output.is_alive() and not io.gone.is_set():
            output.join(POLL)
            since = pumps.waiting_since
            if since is not None and time.monotonic() - max(since, exited) > OUTPUT_DRAIN:
                break  # a leftover child holds the pty open: the process's own output is over
        if isinstance(status, errors.GantryError):
            raise status
        return status.exit_status

    @staticmethod
    def _wait(client, exec_id, io):
        """The process's WaitResponse, or the GantryError that ended the wait.  Looks at the
        client every POLL meanwhile (in this thread: no waiter thread to start per exec) and
        kills the process (SIGKILL) once the client is gone, then waits for that exit."""
        try:
            pending = client.begin_wait(exec_id)
        except errors.GantryError as e:
            return e
        killed = False
        try:
            while True:
                status = pending.result(timeout=None if killed else POLL)
                if status is not None:
                    return status
                if io.gone.is_set():
                    killed = True
                    try:
                        client.kill(signal.SIGKILL, exec_id)
                    except errors.GantryError:
                        pass
        except errors.GantryError as e:
            return e
        finally:
            pending.close()

    def attach(self, container_id, tty, io):
        """Attach io to the container's init until its output ends, the client leaves or detaches.

        The client's stdin EOF (as containerd does): with stdin_once and no tty it closes the
        container's stdin and the attach lasts until the output ends; otherwise it detaches."""
        ref = self._running(container_id, "attach")
        client = ShimClient(ref.shim_address)
        want_stdin = io.stdin is not None and ref.stdin
        stream = client.attach("", stdin=want_stdin, stdout=io.stdout is not None,
                               stderr=io.stderr is not None and not ref.tty)
        pumps = _Pumps(io, stream, ref.tty)
        detached = threading.Event()
        try:
            output = pumps.start(pumps.output)
            if want_stdin:
                on_eof = stream.close_stdin if ref.stdin_once and not ref.tty else detached.set
                pumps.pipe_stdin(on_eof)
            if ref.tty:
                pumps.start(pumps.resizes, lambda w, h: client.resize_pty(w, h))
            while output.is_alive() and not io.gone.is_set() and not detached.is_set():
                output.join(POLL)
        finally:
            pumps.stop()
            stream.close()

    def dial(self, pod_id, port):
        ref = self.lookup_pod(pod_id)
        return netns.dial(ref.netns_path, port)
