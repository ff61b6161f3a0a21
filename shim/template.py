"""The shim template: a warm, single-threaded process that forks shims on request.

Why (numbers in shim/__init__.py): a fresh interpreter needs ~85 ms and
~8 MiB PSS per shim; a fork of a process that has already imported
everything a shim runs, with its heap frozen out of the garbage collector's
reach (``gc.freeze``), shares those pages copy-on-write with the template
and its siblings: ~2 MiB PSS and a few ms to a socket that answers.

gantryd runs gRPC threads, so it must not fork; it starts one template as a
child process (``gantry-shim template --socket PATH``) and sends it Spawn
calls (shim.proto, service Template) over the same framing as the shim API,
one call per connection: the template accepts and forks, and the forked shim
reads the request and answers it once it serves (so the template's own
memory stays untouched and shared).  A template refuses to fork while it
runs more than one thread.  Shims it
forks call setsid and are reparented away from it at once (double fork), so
SIGKILL of the template, of gantryd or of their process group spares them.
The template itself gets SIGTERM when the process that started it dies.
"""
import errno
import gc
import os
import signal
import sys
import time

from gantry.api import framing

from . import daemon, detach, heapfill, reaper, tricks, warmup
from .server import listen

PR_SET_PDEATHSIG = 1
TRANSIENT = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.ECONNABORTED, errno.EINTR}


def thread_count():
    return len(os.listdir("/proc/self/task"))


def serve(socket_path, announce=sys.stdout):
    """Accept connections forever; fork a detached shim for each (one Spawn per connection).

    The loop is deliberately tiny (accept, count threads, fork, close, reap the short-lived
    child): every page the template writes after a fork stops being shared with that shim,
    so the request itself is read and decoded in the forked shim (detach.spawn_for_connection)."""
    if thread_count() != 1:
        raise RuntimeError("gantry-shim template must start single-threaded")
    # The template lives and dies with whoever started it (gantryd); the shims it forked do
    # not (the death signal is not inherited across fork).
    parent = os.getppid()
    reaper.libc().prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        raise RuntimeError("gantry-shim template: its starter exited already")
    assert daemon.Shim and detach.spawn_for_connection  # every module a shim runs is imported
    tricks.run("bytecode warm-up", warmup.warm_up)
    listener = listen(socket_path)
    listener.setblocking(True)
    gc.collect()
    gc.freeze()
    tricks.run("heap fill", heapfill.fill)
    announce.write(socket_path + "\n")
    announce.flush()
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError as e:
                if e.errno not in TRANSIENT:
                    raise
                time.sleep(0.05)  # out of fds or memory for a moment: keep serving
                continue
            threads = thread_count()
            if threads != 1:
                refuse(conn, framing.FAILED_PRECONDITION, "spawn: the template runs %d threads; forking it is unsafe" % threads)
                continue
            try:
                child = detach.spawn_for_connection(conn)
            except OSError as e:
                refuse(conn, framing.UNAVAILABLE, "spawn: fork: %s" % e)
                continue
            conn.close()
            os.waitpid(child, 0)
    finally:
        try:
            os.unlink(socket_path)
        except FileNotFoundError:
            pass


def refuse(conn, code, message):
    try:
        frame = detach.read_request(conn, timeout=2.0)
        conn.sendall(framing.error(frame.id, code, message))
    except (OSError, detach.SpawnError):
        pass
    conn.close()
