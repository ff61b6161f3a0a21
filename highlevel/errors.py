"""Domain errors of gantryd, and their one translation to gRPC status codes.

Domain code raises these (each message names the operation and the object,
e.g. ``pull docker.io/library/busybox:1.36: manifest unknown``); the gRPC
layer maps them to status codes in exactly one place (``grpc_code``), so no
service method formats a status by hand.
"""


class GantryError(Exception):
    """Base class; ``code_name`` is the grpc.StatusCode member name."""

    code_name = "UNKNOWN"


class NotFound(GantryError):
    code_name = "NOT_FOUND"


class AlreadyExists(GantryError):
    code_name = "ALREADY_EXISTS"


class InvalidArgument(GantryError):
    code_name = "INVALID_ARGUMENT"


class FailedPrecondition(GantryError):
    code_name = "FAILED_PRECONDITION"


class Unimplemented(GantryError):
    code_name = "UNIMPLEMENTED"


class Unavailable(GantryError):
    """A peer (registry, shim) could not be reached; retrying may help."""

    code_name = "UNAVAILABLE"


class DeadlineExceeded(GantryError):
    """An operation made no progress in time (a stalled pull, a shim that does not answer)."""

    code_name = "DEADLINE_EXCEEDED"


class PermissionDenied(GantryError):
    code_name = "PERMISSION_DENIED"


class Unauthenticated(GantryError):
    code_name = "UNAUTHENTICATED"


class ResourceExhausted(GantryError):
    """Disk full, too many objects."""

    code_name = "RESOURCE_EXHAUSTED"


class DataLoss(GantryError):
    """Stored or received data does not match its digest."""

    code_name = "DATA_LOSS"


class Internal(GantryError):
    code_name = "INTERNAL"


def grpc_code(exc):
    """The grpc.StatusCode for an exception (imports grpc lazily: domain code stays grpc-free)."""
    import grpc

    name = exc.code_name if isinstance(exc, GantryError) else "INTERNAL"
    return getattr(grpc.StatusCode, name)
