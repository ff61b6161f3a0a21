"""Framing of the shim task API: length-prefixed frames over one unix socket.

Sans-I/O: ``encode`` turns a frame into bytes, ``Decoder.feed`` turns bytes
into frames; the shim (``gantry.shim.server``), gantryd's client
(``gantry.highlevel.shimclient``) and ``gantry-shim call`` all use this one
codec around their own sockets.  The payloads are the protobuf messages of
``shim.proto`` (this module never looks inside them).

A frame::

    0        4      5      6          10     11           11+m
    +--------+------+------+----------+------+------------+-----------+
    | length | kind | code | id       | m    | method     | payload   |
    | u32 BE | u8   | u8   | u32 BE   | u8   | m bytes    | the rest  |
    +--------+------+------+----------+------+------------+-----------+

``length`` counts every byte after itself (at most MAX_FRAME).  ``id`` is
chosen by the client, unique among its calls in flight on the connection;
``method`` is only set on REQUEST; ``code`` only on ERROR (gRPC numbering,
below) where the payload is the UTF-8 error message.

The exchange (C = client, S = shim; calls on one connection interleave by id)::

    unary call                        C -> S  REQUEST(id, "State", StateRequest)
                                      S -> C  RESPONSE(id, StateResponse)
                                           or ERROR(id, code, "message")

    Wait (a unary call whose answer   C -> S  REQUEST(id, "Wait", WaitRequest)
    may come much later; other calls  ...     (other ids go back and forth)
    go on meanwhile)                  S -> C  RESPONSE(id, WaitResponse)

    Attach (both ways)                C -> S  REQUEST(id, "Attach", AttachRequest: exec_id, streams)
                                      S -> C  RESPONSE(id, empty)   attached: output from now on
                                           or ERROR(id, code, msg)  refused, the call is over
                                      S -> C  DATA(id, AttachResponse)*   output
                                      C -> S  DATA(id, AttachRequest)*    stdin, close_stdin
                                      S -> C  END(id)                     the output has ended
                                      C -> S  CANCEL(id)                  detach (or just hang up)

    Attach, direct (an exec without   C -> S  REQUEST(id, "Attach", AttachRequest: direct)
    terminal or log, before Start)    S -> C  RESPONSE(id) + SCM_RIGHTS: stdout, stderr[, stdin]
                                      S -> C  END(id)                     the process has exited

Closing the connection cancels every call in flight on it; it never affects
the container.
"""
import struct

REQUEST, RESPONSE, ERROR, DATA, END, CANCEL = 1, 2, 3, 4, 5, 6
KIND_NAMES = {REQUEST: "REQUEST", RESPONSE: "RESPONSE", ERROR: "ERROR", DATA: "DATA", END: "END", CANCEL: "CANCEL"}

# Status codes, numbered as gRPC numbers them so a daemon can pass them on.
OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
FAILED_PRECONDITION = 9
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
CODE_NAMES = {
    OK: "OK", CANCELLED: "CANCELLED", UNKNOWN: "UNKNOWN", INVALID_ARGUMENT: "INVALID_ARGUMENT",
    DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED", NOT_FOUND: "NOT_FOUND", ALREADY_EXISTS: "ALREADY_EXISTS",
    FAILED_PRECONDITION: "FAILED_PRECONDITION", UNIMPLEMENTED: "UNIMPLEMENTED", INTERNAL: "INTERNAL",
    UNAVAILABLE: "UNAVAILABLE",
}

MAX_FRAME = 16 << 20
# What a reader of a framed connection asks recv() for.  Python allocates the full size for each
# recv() before it shrinks the result, and glibc serves an allocation above its mmap threshold
# (128 KiB unless tuned) with mmap, mremap and munmap: a 256 KiB recv cost ~20 us here against
# ~2.5 us for 64 KiB, twice per 1-byte echo through the shim (once in it, once in gantryd).
RECV_SIZE = 64 << 10
_LEN = struct.Struct(">I")
_HEAD = struct.Struct(">BBIB")  # kind, code, id, method length
HEADER_SIZE = _LEN.size + _HEAD.size


class FramingError(Exception):
    """The peer sent bytes that are not a valid frame; the connection is unusable."""


class Frame(tuple):
    """One frame: (kind, id, method, code, payload), immutable."""

    __slots__ = ()

    def __new__(cls, kind, id, method="", code=0, payload=b""):
        return tuple.__new__(cls, (kind, id, method, code, payload))

    kind = property(lambda self: self[0])
    id = property(lambda self: self[1])
    method = property(lambda self: self[2])
    code = property(lambda self: self[3])
    payload = property(lambda self: self[4])

    def __repr__(self):
        return "Frame(%s, id=%d, method=%r, code=%d, %d bytes)" % (
            KIND_NAMES.get(self.kind, self.kind), self.id, self.method, self.code, len(self.payload))


def encode(frame):
    """The bytes of one frame.  Raises ValueError for a frame we must not send."""
    kind, fid, method, code, payload = frame
    if kind not in KIND_NAMES:
        raise ValueError("frame kind %r unknown" % (kind,))
    m = method.encode("ascii")
    if len(m) > 255:
        raise ValueError("method name too long: %r" % method)
    if not 0 <= fid <= 0xFFFFFFFF or not 0 <= code <= 255:
        raise ValueError("frame id or code out of range")
    length = _HEAD.size + len(m) + len(payload)
    if length > MAX_FRAME:
        raise ValueError("frame of %d bytes exceeds %d" % (length, MAX_FRAME))
    return b"".join((_LEN.pack(length), _HEAD.pack(kind, code, fid, len(m)), m, payload))


def request(fid, method, payload=b""):
    return encode(Frame(REQUEST, fid, method, 0, payload))


def response(fid, payload=b""):
    return encode(Frame(RESPONSE, fid, "", 0, payload))


def error(fid, code, message):
    return encode(Frame(ERROR, fid, "", code, message.encode("utf-8", "replace")[:65536]))


def data(fid, payload):
    return encode(Frame(DATA, fid, "", 0, payload))


def end(fid):
    return encode(Frame(END, fid))


def cancel(fid):
    return encode(Frame(CANCEL, fid))


class Decoder:
    """Accumulates bytes; ``feed`` returns the complete frames they finish."""

    def __init__(self, max_frame=MAX_FRAME):
        self._buf = bytearray()
        self._max = max_frame

    def feed(self, data):
        self._buf += data
        frames = []
        buf = self._buf
        pos = 0
        while len(buf) - pos >= _LEN.size:
            (length,) = _LEN.unpack_from(buf, pos)
            if length > self._max or length < _HEAD.size:
                raise FramingError("frame length %d out of range [%d, %d]" % (length, _HEAD.size, self._max))
            if len(buf) - pos - _LEN.size < length:
                break
            start = pos + _LEN.size
            kind, code, fid, mlen = _HEAD.unpack_from(buf, start)
            if kind not in KIND_NAMES:
                raise FramingError("frame kind %d unknown" % kind)
            body = start + _HEAD.size
            if mlen > length - _HEAD.size:
                raise FramingError("method length %d exceeds the frame" % mlen)
            try:
                method = bytes(buf[body:body + mlen]).decode("ascii")
            except UnicodeDecodeError as e:
                raise FramingError("method name is not ASCII") from e
            frames.append(Frame(kind, fid, method, code, bytes(buf[body + mlen:start + length])))
            pos = start + length
        if pos:
            del buf[:pos]
        return frames

    @property
    def pending(self):
        """Bytes held that do not yet form a frame (0 at a clean frame boundary)."""
        return len(self._buf)
