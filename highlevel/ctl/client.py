"""gantryctl's connection to a CRI endpoint: one gRPC channel, errors as one line.

    client = Client.connect("unix:///run/containerd/containerd.sock", timeout=30)
    resp = client.call("pods", client.runtime.ListPodSandbox, cri_pb2.ListPodSandboxRequest())

Every failure the operator can expect (no socket, no daemon, a gRPC error)
becomes ``CtlError("<what>: <CODE>: <message>")``; main() prints it as one
line on stderr and exits 1.
"""
import os

DEFAULT_ENDPOINT = "/run/gantry/gantryd.sock"
ENV_VARS = ("GANTRY_ENDPOINT", "GANTRY_ADDRESS")


class CtlError(Exception):
    """An expected failure: printed as ``gantryctl: <message>``, exit status 1."""


def default_endpoint(environ=os.environ):
    for name in ENV_VARS:
        if environ.get(name):
            return environ[name]
    return DEFAULT_ENDPOINT


def socket_path(endpoint):
    """``unix:///run/x.sock``, ``unix:/run/x.sock`` or ``/run/x.sock`` -> ``/run/x.sock``."""
    if endpoint.startswith("unix://"):
        path = endpoint[len("unix://"):]
    elif endpoint.startswith("unix:"):
        path = endpoint[len("unix:"):]
    elif "://" in endpoint:
        raise CtlError("endpoint %s: only unix sockets are supported (unix:///path or /path)" % endpoint)
    else:
        path = endpoint
    if not path.startswith("/"):
        raise CtlError("endpoint %s: the socket path must be absolute" % endpoint)
    return path


# gRPC's own words when the channel, not the runtime, failed (the runtime's UNAVAILABLE, e.g. a
# registry it cannot reach, carries its own message)
TRANSPORT_FAILURES = ("failed to connect to all addresses", "socket closed", "connection reset",
                      "connection refused", "broken pipe", "goaway")


def call_error(what, endpoint, code_name, details):
    """The CtlError for a failed call (pure): "cannot reach" only when the connection failed."""
    details = details or ""
    if code_name == "UNAVAILABLE" and (not details or any(t in details.lower() for t in TRANSPORT_FAILURES)):
        return CtlError("%s: cannot reach %s: %s" % (what, endpoint, details or "connection failed"))
    return CtlError("%s: %s: %s" % (what, code_name, details))


class Client:
    def __init__(self, endpoint, timeout):
        import grpc
        from gantry.api import cri_pb2_grpc

        path = socket_path(endpoint)
        if not os.path.exists(path):
            raise CtlError("connect %s: no such socket (is the runtime running? --endpoint or "
                           "GANTRY_ENDPOINT names another)" % path)
        self.grpc = grpc
        self.endpoint = path
        self.channel = grpc.insecure_channel("unix:" + path)
        self.runtime = cri_pb2_grpc.RuntimeServiceStub(self.channel)
        self.images = cri_pb2_grpc.ImageServiceStub(self.channel)
        self.timeout = timeout

    def call(self, what, method, request, timeout=None):
        try:
            return method(request, timeout=timeout or self.timeout)
        except self.grpc.RpcError as exc:
            raise self.error(what, exc) from None

    def error(self, what, exc):
        return call_error(what, self.endpoint, exc.code().name, exc.details())

    def stream(self, what, method, request):
        """Iterate a server stream; gRPC errors as CtlError (cancelled: the iteration just ends)."""
        call = method(request)
        try:
            yield from call
        except self.grpc.RpcError as exc:
            if exc.code() != self.grpc.StatusCode.CANCELLED:
                raise self.error(what, exc) from None
        finally:
            call.cancel()

    def close(self):
        self.channel.close()
