"""--log / --log-format: JSON lines (level, msg, time) or text; errors also go to stderr.

containerd and podman read the last ``"level":"error"`` line of the log file
to report why the runtime failed, so every failure is written there once.
"""
import os
import sys
import time


def _now():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


class Log:
    def __init__(self, path=None, fmt="text", debug=False):
        self.path = path
        self.fmt = fmt
        self.debug_on = debug

    def _write(self, level, msg):
        if not self.path:
            return
        if self.fmt == "json":
            from .jsonio import dumps
            line = dumps({"level": level, "msg": msg, "time": _now()})
        else:
            line = 'time="%s" level=%s msg="%s"' % (_now(), level, msg.replace('"', '\\"'))
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
        except OSError:
            pass

    def error(self, msg):
        self._write("error", msg)
        sys.stderr.write("gantry-oci: %s\n" % msg)
        sys.stderr.flush()

    def warn(self, msg):
        self._write("warning", msg)
        if not self.path:
            sys.stderr.write("gantry-oci: warning: %s\n" % msg)

    def debug(self, msg):
        if self.debug_on:
            self._write("debug", msg)


def rfc3339_now():
    return _now()


def describe(exc):
    """The one-line text of an exception: SyscallError as is, OSError without "[Errno N]"."""
    from .syscalls import SyscallError
    if isinstance(exc, OSError) and not isinstance(exc, SyscallError) and exc.strerror:
        return "%s: %s" % (exc.filename, exc.strerror) if exc.filename else exc.strerror
    return str(exc) or exc.__class__.__name__
