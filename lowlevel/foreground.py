"""`run` and `exec` in the foreground: wait for the process, forward signals, relay its terminal.

gantry-oci is a subreaper here (process/parent.py), so the container init or
exec process, a grandchild, is re-parented to us and waitpid() sees it.
"""
import os

from .tricks import signal_module

_signal = signal_module()  # the C module spares enum (~1.5 ms); see tricks.py

# every catchable signal but the ones about our own children, terminal and job control
_NOT_FORWARDED = {_signal.SIGKILL, _signal.SIGSTOP, _signal.SIGCHLD, _signal.SIGWINCH, _signal.SIGPIPE,
                  _signal.SIGURG, _signal.SIGTTIN, _signal.SIGTTOU, _signal.SIGTSTP, _signal.SIGCONT}
FORWARDED = tuple(s for s in range(1, _signal.NSIG) if s not in _NOT_FORWARDED and not 32 <= s < 34)


def console_pair():
    """(our end, the end the init sends the pty master on)."""
    import socket
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return ours, theirs.detach()


def receive_master(sock):
    import socket
    try:
        _, fds, _, _ = socket.recv_fds(sock, 4096, 1)
    finally:
        sock.close()
    if not fds:
        raise OSError(5, "console: the container sent no pty")
    return fds[0]


def exit_code(status):
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


class Forwarder:
    """Catches our signals from the start; once attach(pid) is called they go to pid (queued ones first)."""

    def __init__(self):
        self.pid = None
        self.pending = []
        for s in FORWARDED:
            try:
                _signal.signal(s, self._handle)
            except (OSError, ValueError):
                pass

    def _handle(self, signum, frame):
        if self.pid is None:
            self.pending.append(signum)
            return
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def attach(self, pid):
        self.pid = pid
        for signum in self.pending:
            self._handle(signum, None)
        self.pending = []


def wait(pid, master=None, forwarder=None):
    """Exit status of pid (128+N when killed by signal N), forwarding our signals to it."""
    import gc
    gc.enable()   # off for the start-up (cli.main); the wait may last as long as the container
    (forwarder or Forwarder()).attach(pid)
    if master is not None:
        return _relay(pid, master)
    while True:
        try:
            got, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255
        if got == pid:
            return exit_code(status)


def _relay(pid, master):
    """Copy stdin -> pty master and master -> stdout until pid exits."""
    import select
    import termios
    import tty
    saved = None
    if os.isatty(0):
        saved = termios.tcgetattr(0)
        tty.setraw(0)
    fds = [master, 0]
    try:
        while True:
            got, status = os.waitpid(-1, os.WNOHANG)
            if got == pid:
                _drain(master)
                return exit_code(status)
            try:
                ready, _, _ = select.select(fds, [], [], 0.05)
            except InterruptedError:
                continue
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    fds.remove(fd)
                    continue
                os.write(1 if fd == master else master, data)
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)


def _drain(master):
    import select
    while select.select([master], [], [], 0.05)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        os.write(1, data)
