"""Start a shim as a detached process: fork, setsid, fork, serve.

Two ways in, one way out.  ``gantry-shim start`` (a fresh interpreter) calls
``spawn``; the template calls ``spawn_for_connection`` for each accepted
connection carrying one Spawn request.  Both are single-threaded, which is
what makes fork safe.

    starter (start / template)      child                 shim (grandchild)
    [start: lock state/shim.lock]
    fork ───────────────────────────▶ setsid (new session and process group:
                                     a SIGKILL to the starter's group misses it)
                                     fork ────────────────▶ [template: read Spawn, lock]
    waitpid(child) ◀── _exit(0) ────                       stdio → /dev/null, shim.log
                                                           close every other fd
                                                           bind, write address
    [start: read "ok PID ADDRESS"] ◀──────────────────────── ready: pipe line / Spawn RESPONSE
                                                           serve ...

The flock on ``shim.lock`` is taken on an open file description the shim
inherits (or opens itself), so it is held exactly as long as the shim lives;
a second start or Spawn for the same state dir finds it held and answers with
the running shim's address.  With the template, everything request-specific
(decoding, locking) happens in the grandchild: the template itself only
accepts and forks, so it writes almost nothing to the pages its shims share
with it (each page it writes after a fork is a page that shim no longer
shares).
"""
import errno
import fcntl
import gc
import os
import signal
import time

from gantry.api import framing, shim_pb2, shimstate

from . import daemon
from .service import Config


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


def _claim(config):
    """Lock the state dir for a new shim: (lock_fd, None), or (None, (address, pid)) of the running one."""
    os.makedirs(config.state_dir, mode=0o711, exist_ok=True)
    lock_fd = os.open(config.path(daemon.LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(lock_fd)
        if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
            raise
        return None, _running_shim(config.state_dir)
    if shimstate.read_exit(config.state_dir) is not None:
        os.close(lock_fd)
        raise SpawnError("%s: container %s already exited here (gantry-shim delete first)" % (
            config.state_dir, config.id))
    return lock_fd, None


def _close_fds_except(keep):
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _become_shim(config, lock_fd, keep_fd, notify):
    """In the grandchild: a clean process that serves the shim API."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN if sig in (signal.SIGPIPE, signal.SIGHUP) else signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    gc.enable()  # the template's objects are frozen: collections see only the shim's own
    _close_fds_except({lock_fd, keep_fd})
    null = os.open(os.devnull, os.O_RDWR)
    log = os.open(config.path("shim.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    os.chdir("/")
    daemon.serve_detached(config, notify)


def _detach(body):
    """fork; the child calls setsid and forks body() into a grandchild; returns the child's pid."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                body()
        finally:
            os._exit(0)
    return pid


# -- gantry-shim start ---------------------------------------------------------------------------
def spawn(config):
    """Start a shim for config unless one runs; returns (address, pid, already_running)."""
    lock_fd, running = _claim(config)
    if running:
        return running[0], running[1], True
    try:
        r, w = os.pipe2(os.O_CLOEXEC)

        def notify(ok, pid, text):
            os.write(w, ("%s %d %s\n" % ("ok" if ok else "error", pid, text)).encode())
            os.close(w)
        child = _detach(lambda: (os.close(r), _become_shim(config, lock_fd, w, notify)))
        os.close(w)
        os.waitpid(child, 0)
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
    raise SpawnError("shim %s did not start: %s" % (config.id, words[2] if len(words) == 3 else "no reply"))


# -- the template ---------------------------------------------------------------------------------
def read_request(conn, timeout=10.0):
    """The one REQUEST frame a template connection carries."""
    conn.settimeout(timeout)
    decoder = framing.Decoder()
    while True:
        data = conn.recv(65536)
        if not data:
            raise SpawnError("the client hung up before its request")
        for frame in decoder.feed(data):
            if frame.kind == framing.REQUEST:
                return frame


def config_from_spawn(req):
    if not (req.id and req.bundle and req.runtime and req.state_dir):
        raise ValueError("spawn: id, bundle, runtime and state_dir are required")
    return Config(req.id, req.bundle, req.runtime, req.state_dir, runtime_root=req.runtime_root,
                  log_path=req.log_path, terminal=req.terminal, stdin=req.stdin)


def _answer_spawn(conn):
    """The grandchild's side of a template connection: decode, claim, become the shim."""
    fid = 0
    try:
        frame = read_request(conn)
        fid = frame.id
        if frame.method != "Spawn":
            conn.sendall(framing.error(fid, framing.UNIMPLEMENTED, "template: method %r unknown" % frame.method))
            return
        config = config_from_spawn(shim_pb2.SpawnRequest.FromString(frame.payload))
        lock_fd, running = _claim(config)
    except ValueError as e:
        conn.sendall(framing.error(fid, framing.INVALID_ARGUMENT, str(e)))
        return
    except (SpawnError, OSError) as e:
        conn.sendall(framing.error(fid, framing.INTERNAL, "spawn: %s" % e))
        return
    if running:
        conn.sendall(framing.response(fid, shim_pb2.SpawnResponse(
            address=running[0], pid=running[1], already_running=True).SerializeToString()))
        return

    def notify(ok, pid, text):
        if ok:
            conn.sendall(framing.response(fid, shim_pb2.SpawnResponse(address=text, pid=pid).SerializeToString()))
        else:
            conn.sendall(framing.error(fid, framing.INTERNAL, "shim %s did not start: %s" % (config.id, text)))
        conn.close()
    _become_shim(config, lock_fd, conn.fileno(), notify)


def spawn_for_connection(conn):
    """In the template: detach a grandchild that answers conn's Spawn; returns the child's pid."""
    def body():
        try:
            _answer_spawn(conn)
        except OSError:
            pass
    return _detach(body)
