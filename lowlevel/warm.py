"""`gantry-oci warm`: a gantry-oci started ahead of time that runs one command when asked.

Hidden command (like runc's ``init``), used by gantry-shim to take the
interpreter's start and exec's imports (~10 ms of a ~18 ms ``exec``) out of a
streamed exec.  The shim posix_spawns ``gantry-oci warm`` with one end of a
SOCK_SEQPACKET socketpair as its stdin; this process imports what ``exec``
needs and blocks on that socket.  The exchange, one message each way:

    shim -> warm   MAGIC + the arguments after the program name, each ended by
                   a NUL byte; SCM_RIGHTS: exactly 3 fds, the command's stdin,
                   stdout and stderr
    warm -> shim   ACK: the request is taken; from here on this process *is*
                   that command (it dup2s the fds onto 0, 1, 2, closes the
                   socket and runs gantry-oci's main with the arguments), and
                   its exit status is the command's
    EOF (shim closed its end, or the shim died): exit 0 without running anything

It stays a one-shot child of the shim, which waits for it as for a fresh
spawn: no fork server, no threads.  A malformed request is refused (exit 2,
no ACK): the shim then runs the command the plain way.  gantry-shim speaks the
same bytes (shim/warmexec.py; tests/unit/test_warm_wire.py holds both sides to
them).  The wire is a private contract between gantry-shim and gantry-oci of
the same installation; it is versioned by MAGIC.
"""
import os

MAGIC = b"GOWARM1\n"
ACK = b"GOWARM1 taken\n"
MAX_REQUEST = 65536
STDIO_FDS = 3
COMMAND = "warm"
# What `exec` imports (cli -> execute -> process.parent, and what the forked child's process.init
# loads: init.preload), loaded ahead of the request; nothing else, so the idle process stays small.
PRELOAD = ("cliargs", "log", "state", "container", "execute", "jsonio", "foreground", "console", "spec",
           "capabilities", "seccomp", "tricks", "process.parent", "process.channel", "process.init",
           "process.rlimits", "process.users", "cgroups.manager", "cgroups.freezer", "syscalls")


class BadRequest(ValueError):
    pass


def decode_request(message, fds):
    """The argument list of a request (pure); BadRequest if it is not one."""
    if not message.startswith(MAGIC):
        raise BadRequest("warm request: bad magic %r" % message[:len(MAGIC)])
    if len(fds) != STDIO_FDS:
        raise BadRequest("warm request: %d fds, want %d" % (len(fds), STDIO_FDS))
    body = message[len(MAGIC):]
    if not body.endswith(b"\0"):
        raise BadRequest("warm request: arguments not NUL-terminated")
    return [os.fsdecode(a) for a in body[:-1].split(b"\0")]


def preload():
    import importlib
    for name in PRELOAD:
        importlib.import_module("gantry.lowlevel." + name)
    from . import syscalls, tricks
    syscalls.get()
    tricks.signal_module()
    tricks.socket_module()


def serve(fd=0):
    """Wait for the shim's request on fd; the arguments to run, None at EOF (exit 0).
    BadRequest (exit 2, no ACK) for anything that is not a request."""
    from .tricks import fds_of, socket_module
    preload()
    sock_mod = socket_module()
    sock = sock_mod.socket(fileno=fd)
    try:
        message, ancillary, flags, _ = sock.recvmsg(MAX_REQUEST, sock_mod.CMSG_SPACE(STDIO_FDS * 4),
                                                    sock_mod.MSG_CMSG_CLOEXEC)
    except OSError as e:
        sock.detach()
        raise BadRequest("warm: receive: %s" % e) from None
    fds = fds_of(ancillary, sock_mod)
    try:
        if not message and not fds:
            return None
        if flags & (sock_mod.MSG_TRUNC | sock_mod.MSG_CTRUNC):
            raise BadRequest("warm request: over %d bytes or %d fds" % (MAX_REQUEST, STDIO_FDS))
        args = decode_request(message, fds)
    except BadRequest:
        for f in fds:
            os.close(f)
        raise
    finally:
        sock.detach()
    os.write(fd, ACK)
    for target, f in enumerate(fds):
        os.dup2(f, target)   # (replaces the socket at 0)
    for f in fds:
        if f > 2:
            os.close(f)
    return args
