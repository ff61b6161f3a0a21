"""The shim template: a warm, single-threaded process that forks shims on request.

Why (numbers in shim/__init__.py): a fresh interpreter needs ~85 ms and
~8 MiB PSS per shim; a fork of a process that has already imported
everything a shim runs, with its heap frozen out of the garbage collector's
reach (``gc.freeze``), shares those pages copy-on-write with the template
and its siblings: ~2 MiB PSS and a few ms to a socket that answers.

gantryd runs gRPC threads, so it must not fork; it starts one template as a
child process (``gantry-shim template --socket PATH``) and sends it Spawn
calls (shim.proto, service Template) over the same framing as the shim API.
A template refuses to fork while it runs more than one thread.  Shims it
forks call setsid and are reparented away from it at once (double fork), so
SIGKILL of the template, of gantryd or of their process group spares them.
"""
import gc
import os
import sys

from gantry.api import shim_pb2, shimcalls

from . import daemon, detach, reaper, warmup
from .errors import FailedPrecondition, Internal, InvalidArgument
from .loop import Loop
from .server import Server, listen
from .service import Config


def thread_count():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def spawn_request(req, call):
    threads = thread_count()
    if threads != 1:
        raise FailedPrecondition("spawn: the template runs %d threads; forking it is unsafe" % threads)
    if not (req.id and req.bundle and req.runtime and req.state_dir):
        raise InvalidArgument("spawn: id, bundle, runtime and state_dir are required")
    cfg = Config(req.id, req.bundle, req.runtime, req.state_dir, runtime_root=req.runtime_root,
                 log_path=req.log_path, terminal=req.terminal, stdin=req.stdin)
    try:
        address, pid, already = detach.spawn(cfg)
    except (detach.SpawnError, OSError) as e:
        raise Internal(str(e)) from e
    return shim_pb2.SpawnResponse(address=address, pid=pid, already_running=already)


def serve(socket_path, announce=sys.stdout):
    if thread_count() != 1:
        raise RuntimeError("gantry-shim template must start single-threaded")
    reaper.libc()  # load it here, not in every shim
    assert daemon.Shim  # every module a shim runs is imported by now
    warmup.warm_up()
    loop = Loop()
    Server(loop, listen(socket_path), {"Spawn": spawn_request}, shimcalls.TEMPLATE_CALLS)
    gc.collect()
    gc.freeze()
    announce.write(socket_path + "\n")
    announce.flush()
    try:
        loop.run()
    finally:
        try:
            os.unlink(socket_path)
        except FileNotFoundError:
            pass
