"""Start a shim as a detached process: fork, setsid, fork, serve.

Used by ``gantry-shim start`` (a fresh interpreter) and by the template (a
warm one); both are single-threaded, which is what makes fork safe.

    starter                         child                 shim (grandchild)
    lock <state>/shim.lock (NB) ─┐
      held? → a shim runs: read its address, done
    pipe, fork ───────────────────▶ setsid (new session and process group:
                                    a SIGKILL to the starter's group misses it)
                                    fork ─────────────────▶ stdio → /dev/null, shim.log
    waitpid(child) ◀── exit 0 ───── _exit(0)               close every other fd
                                                           bind, write address
    read "ok PID ADDRESS" ◀──────────────────────────────── notify, serve ...

The flock is taken on an open file description the shim inherits, so it is
held exactly as long as the shim lives; a second start for the same state
dir finds it held and answers with the running shim's address.
"""
import errno
import fcntl
import gc
import os
import signal
import time

from . import daemon


class SpawnError(Exception):
    pass


def _running_shim(state_dir, timeout=5.0):
    """(address, pid) of the shim holding the lock (it may still be binding)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(os.path.join(state_dir, daemon.ADDRESS)) as f:
                address = f.read().strip()
            with open(os.path.join(state_dir, daemon.PIDFILE)) as f:
                pid = int(f.read().strip())
            if address and os.path.exists(address):
                return address, pid
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise SpawnError("%s: a shim holds the lock but published no address" % state_dir)
        time.sleep(0.005)


def _close_fds_except(keep):
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _become_shim(config, lock_fd, notify_fd):
    """In the grandchild: a clean process that serves the shim API."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN if sig in (signal.SIGPIPE, signal.SIGHUP) else signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    gc.enable()  # the template's objects are frozen: collections see only the shim's own
    _close_fds_except({lock_fd, notify_fd})
    null = os.open(os.devnull, os.O_RDWR)
    log = os.open(config.path("shim.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    os.chdir("/")
    daemon.serve_detached(config, notify_fd)


def spawn(config):
    """Start a shim for config unless one runs; returns (address, pid, already_running)."""
    os.makedirs(config.state_dir, mode=0o711, exist_ok=True)
    lock_fd = os.open(config.path(daemon.LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise
            address, pid = _running_shim(config.state_dir)
            return address, pid, True
        if os.path.exists(config.path("exit")):
            raise SpawnError("%s: container %s already exited here (gantry-shim delete first)" % (
                config.state_dir, config.id))
        r, w = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                os.setsid()
                if os.fork() == 0:
                    _become_shim(config, lock_fd, w)
            finally:
                os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        reply = b""
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            reply += chunk
        os.close(r)
    finally:
        os.close(lock_fd)
    words = reply.decode("utf-8", "replace").strip().split(" ", 2)
    if len(words) == 3 and words[0] == "ok":
        return words[2], int(words[1]), False
    raise SpawnError("shim %s did not start: %s" % (config.id, " ".join(words[1:]) or "no reply"))
