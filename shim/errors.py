"""The few kinds of error the shim answers with, each carrying its wire code.

Domain code raises these with a message naming the operation and the object
(``start exec "e1": process is STOPPED``); the server turns them into ERROR
frames in one place.
"""
from gantry.api import framing


class ShimError(Exception):
    code = framing.UNKNOWN


class InvalidArgument(ShimError):
    code = framing.INVALID_ARGUMENT


class NotFound(ShimError):
    code = framing.NOT_FOUND


class AlreadyExists(ShimError):
    code = framing.ALREADY_EXISTS


class FailedPrecondition(ShimError):
    code = framing.FAILED_PRECONDITION


class Unimplemented(ShimError):
    code = framing.UNIMPLEMENTED


class Internal(ShimError):
    """The OCI runtime or the kernel failed."""

    code = framing.INTERNAL


class Unavailable(ShimError):
    code = framing.UNAVAILABLE
