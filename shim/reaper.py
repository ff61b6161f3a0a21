"""Reap every child: the container's processes and orphans reparented to us.

The shim is a child subreaper (PR_SET_CHILD_SUBREAPER), so the container's
init becomes its child once the runtime exits, and so does every orphan of
the runtime's or the container's.  SIGCHLD only wakes the loop (through
``signal.set_wakeup_fd``); the reaping itself, ``waitpid(-1, WNOHANG)`` until
nothing is left, runs in the loop, never in a signal handler, and never while
a runtime command is being waited for (those run synchronously, and
``Runtime.run`` collects its own child with waitpid(pid) first).  Statuses of pids nobody asked about (runtime
helpers, orphans) are dropped: they only had to stop being zombies.
"""
import ctypes
import os
import signal

PR_SET_CHILD_SUBREAPER = 36


def status_of(wait_status):
    """The exit status a waitpid status stands for: the code, or 128 + the signal."""
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


_libc = []


def libc():
    if not _libc:
        _libc.append(ctypes.CDLL(None, use_errno=True))
    return _libc[0]


def become_subreaper():
    if libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "prctl(PR_SET_CHILD_SUBREAPER): %s" % os.strerror(err))


def reap_all():
    """[(pid, wait status)] of every child that has exited; never blocks."""
    out = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return out
        except InterruptedError:
            continue
        if pid == 0:
            return out
        out.append((pid, status))


class Reaper:
    """Wakes on SIGCHLD and hands (pid, status) of interesting children to on_exit."""

    def __init__(self, loop, on_exit):
        self.loop = loop
        self.on_exit = on_exit
        self.r, self.w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.w, warn_on_full_buffer=False)
        loop.add_reader(self.r, self.on_wakeup)

    def on_wakeup(self):
        try:
            while os.read(self.r, 4096):
                pass
        except BlockingIOError:
            pass
        self.reap()

    def reap(self):
        for pid, status in reap_all():
            self.on_exit(pid, status)

    def close(self):
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.loop.forget(self.r)
        os.close(self.r)
        os.close(self.w)
