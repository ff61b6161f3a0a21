"""One pre-started ``gantry-oci warm`` per container, to take an exec's interpreter start off its path.

A streamed exec spends ~18 ms in ``gantry-oci exec``, ~10 ms of it starting
Python and importing.  After a container's first exec (probes exec again and
again) the shim posix_spawns ``gantry-oci warm`` with one end of a socketpair
as its stdin; it imports what exec needs and waits.  The next exec hands it
its arguments and stdio (the wire below) instead of spawning a fresh runtime;
from then on it is that command, a one-shot child the shim waits for exactly
like a fresh spawn (orphans still reparent to the shim, the subreaper).

The next warm process is started the moment one is taken, before the shim waits
for it: its ~15 ms of start-up (interpreter, imports) then run beside the exec on
the other core and in the gap before the next exec.  Started after the exec
instead, it was not ready for back-to-back execs (a probe loop, ExecSync then a
streamed exec): the next exec waited for its imports and was slower than a fresh
spawn.  After an exec that took the plain path, one is started once the reply is
out (SPAWN_DELAY).

    event:       executed     take        idle        died        give_up     close
    COLD         WARM*                                            DISABLED    CLOSED
    WARM                      COLD*       COLD        COLD                    CLOSED
    DISABLED                                                                  CLOSED
    CLOSED
    (* a warm process is started: COLD -> WARM once it is spawned; after take at once, so
     WARM again; an event a state does not list changes nothing)

- executed: an exec ran (either way); start a warm process if there is none;
- take: the warm process took a request (it is the runtime now); the next one is started;
- idle: nobody used it for IDLE_SECONDS (60 s): it is ended (EOF on its socket);
- died: it exited unused (killed, or a runtime that does not know ``warm``);
- give_up: MAX_FAILURES in a row exited unused with a non-zero status of their own (a runtime
  that does not know ``warm``, an interpreter that cannot import it), or spawning failed: the
  plain path for good.  One killed by a signal (an operator, the OOM killer) is not a failure;
- close: the container is deleted; an idle warm process is killed and reaped.

Only for gantry-oci (``runtime_supports``); runc and crun, ``GANTRY_NO_WARM_EXEC=1``, and every
failure (the warm process gone, refusing, not answering) take the plain spawn, silently.

The wire, one SOCK_SEQPACKET message each way (lowlevel/warm.py is the other side; the same
bytes there and here, pinned by tests/unit/test_warm_wire.py):

    shim -> warm   REQUEST_MAGIC + each argument after the program name + NUL; SCM_RIGHTS: 3 fds
    warm -> shim   ACK (taken: its exit status is now the command's); EOF: refused or dead
"""
import os
import select
import signal
import socket

REQUEST_MAGIC = b"GOWARM1\n"
ACK = b"GOWARM1 taken\n"
MAX_REQUEST = 65536
COMMAND = "warm"
ENV_DISABLE = "GANTRY_NO_WARM_EXEC"
IDLE_SECONDS = 60.0    # an unused one is ended after this long (idle: ~10 MiB RSS, 4-6 MiB PSS; bench/streaming)
SPAWN_DELAY = 0.0      # after an exec, before the next warm process starts (0: once the reply is out)
ACK_TIMEOUT = 5.0      # a warm process still importing on a loaded machine answers within this
MAX_FAILURES = 3

COLD, WARM, DISABLED, CLOSED = "COLD", "WARM", "DISABLED", "CLOSED"
TRANSITIONS = {
    COLD: {"executed": WARM, "give_up": DISABLED, "close": CLOSED},
    WARM: {"take": COLD, "idle": COLD, "died": COLD, "close": CLOSED},
    DISABLED: {"close": CLOSED},
    CLOSED: {},
}


def next_state(state, event):
    """The state after event (pure); an event the state does not list leaves it as it is."""
    return TRANSITIONS[state].get(event, state)


def encode_request(args):
    """The request bytes for gantry-oci's arguments (without the program name)."""
    if not args:
        raise ValueError("warm request: no arguments")
    encoded = [os.fsencode(a) for a in args]
    if any(b"\0" in a for a in encoded):
        raise ValueError("warm request: an argument contains a NUL byte")
    message = REQUEST_MAGIC + b"".join(a + b"\0" for a in encoded)
    if len(message) > MAX_REQUEST:
        raise ValueError("warm request: %d bytes, over %d" % (len(message), MAX_REQUEST))
    return message


def runtime_supports(binary, environ=os.environ):
    return os.path.basename(binary) == "gantry-oci" and not environ.get(ENV_DISABLE)


class WarmExec:
    """The warm process of one container: its state, pid and socket, and the loop timers."""

    def __init__(self, loop, spawn, enabled):
        """spawn(argv, stdio) -> pid starts a process (Runtime.spawn)."""
        self.loop = loop
        self.spawn = spawn
        self.state = COLD if enabled else DISABLED
        self.pid = 0
        self.sock = None
        self.failures = 0
        self.timer = None
        self.binary = None

    def _event(self, event):
        self.state = next_state(self.state, event)

    def _forget(self):
        if self.timer is not None:
            self.loop.cancel_timer(self.timer)
            self.timer = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.pid = 0

    # -- the shim's calls ------------------------------------------------------
    def executed(self, binary):
        """An exec ran with binary: start the next warm process a moment later."""
        if self.state != COLD or self.timer is not None:
            return
        self.binary = binary
        self.timer = self.loop.call_later(SPAWN_DELAY, self._start)

    def _start(self):
        self.timer = None
        if self.state != COLD:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            # stderr: the shim's own (shim.log), so a warm process that cannot start says why there
            self.pid = self.spawn([self.binary, COMMAND], (theirs.fileno(), null, 2))
        except Exception:   # (RuntimeFailed, OSError): the plain path will say what is wrong
            ours.close()
            self._event("give_up")
            return
        finally:
            theirs.close()
            os.close(null)
        self.sock = ours
        self._event("executed")
        self.timer = self.loop.call_later(IDLE_SECONDS, self._idle)

    def _idle(self):
        self.timer = None
        if self.state == WARM:
            self._forget()   # EOF: it exits 0; the reaper collects it
            self._event("idle")

    def take(self, argv, stdio):
        """The pid now running argv with stdio, or None: run it the plain way."""
        if self.state != WARM:
            return None
        pid, sock = self.pid, self.sock
        self.sock = None   # ours to use and close now
        self._forget()
        self._event("take")
        try:
            socket.send_fds(sock, [encode_request(argv[1:])], list(stdio))
            ready, _, _ = select.select([sock], [], [], ACK_TIMEOUT)
            answer = sock.recv(len(ACK) + 1) if ready else b""
        except (OSError, ValueError):
            answer = b""
        finally:
            sock.close()
        if answer == ACK:
            self.failures = 0
            self._start()   # the next one starts now, while this exec runs (see above)
            return pid
        self._failed(self._reap(pid))   # gone, refusing or stuck: not the runtime of this command
        return None

    @staticmethod
    def _reap(pid):
        """SIGKILL and collect pid; its wait status, or None when the loop's reaper had it."""
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            return os.waitpid(pid, 0)[1]
        except ChildProcessError:
            return None

    def _failed(self, wait_status):
        """Count an exit of its own with a non-zero status; give up after MAX_FAILURES in a row."""
        if wait_status is not None and os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) != 0:
            self.failures += 1
            if self.failures >= MAX_FAILURES:
                self._event("give_up")

    def on_exit(self, pid, wait_status):
        """True when pid was the idle warm process (reaped by the loop): it died unused."""
        if not pid or pid != self.pid:
            return False
        self._forget()
        self._event("died")
        self._failed(wait_status)
        return True

    def close(self):
        """The container is gone: kill and reap an idle warm process; never start another."""
        pid = self.pid
        self._forget()
        if self.state == WARM:
            self._reap(pid)
        self._event("close")
