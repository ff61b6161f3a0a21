"""The gRPC server of gantryd: a unix socket, one error-mapping interceptor.

Life cycle::

    server = CriServer(path, servicers)   # nothing bound yet
    server.start()                        # checks the path, binds with mode 0600, serves
    server.stop(grace)                    # stops serving, removes the socket it created, waits
                                          # (bounded) for handler threads to return

The socket is created under ``umask 0177`` and checked afterwards, so it is
never reachable by anyone but its owner, not even for an instant.  A socket
path that another live server answers on is refused (never stolen); a stale
socket left by a killed gantryd is replaced.

Errors: service code raises ``gantry.highlevel.errors`` exceptions; the one
interceptor below turns them into gRPC status codes with ``errors.grpc_code``
and the exception's message.  An OSError that escapes keeps a meaningful code
for a few errnos (ENOSPC -> RESOURCE_EXHAUSTED, EACCES -> PERMISSION_DENIED,
EROFS -> FAILED_PRECONDITION); anything else becomes INTERNAL, logged with its
traceback.  Every call is logged at debug level with its code and duration.
"""
import errno
import logging
import os
import socket
import stat
import threading
import time
from concurrent import futures

import grpc

from . import errors, malloctune

log = logging.getLogger("gantry.server")
SOCKET_MODE = 0o600
DIR_MODE = 0o711


# OS errors that escape domain code still say something a client can act on
_ERRNO_KINDS = {
    errno.ENOSPC: errors.ResourceExhausted, errno.EDQUOT: errors.ResourceExhausted,
    errno.EMFILE: errors.ResourceExhausted, errno.ENFILE: errors.ResourceExhausted,
    errno.EACCES: errors.PermissionDenied, errno.EPERM: errors.PermissionDenied,
    errno.EROFS: errors.FailedPrecondition,
}


def _as_domain(exc):
    kind = _ERRNO_KINDS.get(exc.errno) if isinstance(exc, OSError) else None
    return kind(str(exc)) if kind else exc


def _abort(context, method, exc):
    exc = _as_domain(exc)
    code = errors.grpc_code(exc)
    if isinstance(exc, errors.GantryError):
        message = str(exc) or type(exc).__name__
        log.info("rpc failed", extra={"fields": {"method": method, "code": code.name, "error": message}})
    else:
        message = "%s: internal error: %s" % (method.rsplit("/", 1)[-1], exc)
        log.error("rpc crashed", exc_info=exc, extra={"fields": {"method": method}})
    context.abort(code, message)


def _log_done(method, start, code="OK"):
    if log.isEnabledFor(logging.DEBUG):
        ms = int((time.monotonic() - start) * 1000)
        log.debug("rpc done", extra={"fields": {"method": method, "code": code, "ms": ms}})


class InFlight:
    """Counts handlers still running, so shutdown can wait for them (grpc cancels calls, not threads)."""

    def __init__(self):
        self._count = 0
        self._cond = threading.Condition()

    def __enter__(self):
        with self._cond:
            self._count += 1

    def __exit__(self, *exc):
        with self._cond:
            self._count -= 1
            self._cond.notify_all()

    @property
    def count(self):
        return self._count

    def wait_idle(self, timeout):
        """True when no handler runs any more, False after ``timeout`` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: self._count == 0, timeout)


class ErrorInterceptor(grpc.ServerInterceptor):
    """Maps domain exceptions to status codes for unary and server-streaming handlers."""

    def __init__(self):
        self.in_flight = InFlight()

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        if handler.unary_unary:
            inner = handler.unary_unary

            def unary(request, context):
                start = time.monotonic()
                try:
                    with self.in_flight:
                        response = inner(request, context)
                except Exception as exc:  # noqa: BLE001 - translated, never swallowed
                    if _aborted(context):
                        raise
                    _abort(context, method, exc)
                _log_done(method, start)
                return response

            return grpc.unary_unary_rpc_method_handler(
                unary, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            def stream(request, context):
                start = time.monotonic()
                try:
                    with self.in_flight:
                        yield from inner_stream(request, context)
                except Exception as exc:  # noqa: BLE001
                    if _aborted(context):
                        raise
                    _abort(context, method, exc)
                _log_done(method, start)

            return grpc.unary_stream_rpc_method_handler(
                stream, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        return handler  # the CRI has no client-streaming methods


def _aborted(context):
    # context.abort() raises a bare Exception after recording the status; pass that through untouched
    # (grpc has no public accessor for it, hence the private attribute)
    state = getattr(context, "_state", None)
    return bool(getattr(state, "aborted", False))


class CriServer:
    def __init__(self, path, register, max_workers=64):
        """``register(server)`` adds the servicers (``add_*Servicer_to_server``).

        ``max_workers`` bounds concurrent calls: long pulls each hold a thread, and the kubelet's
        Version/Status probes must still find one free (threads start only when needed)."""
        self.path = path
        self._register = register
        self._max_workers = max_workers
        self._server = None
        self._inode = None
        self._interceptor = ErrorInterceptor()

    def start(self):
        _prepare_path(self.path)
        malloctune.limit_arenas()        # before the worker threads exist (malloctune.py says why)
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="cri"),
            interceptors=[self._interceptor],
            options=[("grpc.max_receive_message_length", 16 * 1024 * 1024),
                     ("grpc.max_send_message_length", 16 * 1024 * 1024)],
        )
        self._register(server)
        old = os.umask(0o177)
        try:
            if server.add_insecure_port("unix:" + self.path) == 0:
                raise errors.Unavailable("listen unix:%s: bind failed" % self.path)
            server.start()
        finally:
            os.umask(old)
        st = os.lstat(self.path)
        if not stat.S_ISSOCK(st.st_mode) or stat.S_IMODE(st.st_mode) & 0o077:
            server.stop(None)
            raise errors.Internal("listen unix:%s: socket has mode %o" % (self.path, stat.S_IMODE(st.st_mode)))
        os.chmod(self.path, SOCKET_MODE)
        self._inode = (st.st_dev, st.st_ino)
        self._server = server
        log.info("serving", extra={"fields": {"address": self.path}})

    def stop(self, grace=5.0, drain=10.0):
        """Stop serving: new calls are refused at once, running ones get ``grace`` seconds before
        they are cancelled; then up to ``drain`` seconds for their handler threads to return.
        Returns True when no handler runs any more (False: the caller should exit without them)."""
        if self._server is None:
            return True
        self._server.stop(grace).wait()
        self._server = None
        self._remove_socket()
        idle = self._interceptor.in_flight.wait_idle(drain)
        log.info("stopped serving", extra={"fields": {"address": self.path,
                                                      "still_running": self._interceptor.in_flight.count}})
        return idle

    def _remove_socket(self):
        # grpc core normally unlinks its unix socket itself on shutdown; if not, remove it here,
        # but only the socket we created (same inode), never a successor's
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if (st.st_dev, st.st_ino) == self._inode:
            os.unlink(self.path)


def _prepare_path(path):
    """Create the socket's directory; refuse a live socket or a non-socket; remove a stale one."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=DIR_MODE, exist_ok=True)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise errors.FailedPrecondition("listen unix:%s: exists and is not a socket" % path)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except OSError:
        os.unlink(path)  # stale: nobody listens
        return
    finally:
        probe.close()
    raise errors.FailedPrecondition("listen unix:%s: another server is listening there" % path)
