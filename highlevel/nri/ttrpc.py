"""ttrpc, containerd's small RPC over a byte stream: frames and envelopes, without I/O.

Every message is a frame::

    +---------------------+---------------------+--------+--------+------------------+
    | length (u32, BE)    | stream id (u32, BE) | type   | flags  | payload (length) |
    +---------------------+---------------------+--------+--------+------------------+
      bytes 0-3             bytes 4-7             byte 8   byte 9

A unary call is one stream: the client sends a REQUEST frame (payload: a
``ttrpc.Request`` naming service and method, with the encoded argument) on a
new odd stream id (1, 3, 5...), the server answers with one RESPONSE frame on
the same id (payload: a ``ttrpc.Response``, whose ``status`` is absent or code
0 on success).  DATA frames belong to streaming calls, which NRI does not use:
they are decoded and refused.  A payload is at most 4 MiB.
"""
import struct
from dataclasses import dataclass

from gantry.api import ttrpc_pb2

HEADER = struct.Struct(">IIBB")
HEADER_LEN = HEADER.size            # 10
MAX_PAYLOAD = 4 << 20

REQUEST, RESPONSE, DATA = 1, 2, 3
FLAG_REMOTE_CLOSED, FLAG_REMOTE_OPEN, FLAG_NO_DATA = 0x1, 0x2, 0x4

# gRPC status codes used here (ttrpc reuses them)
OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND = 0, 1, 2, 3, 4, 5
RESOURCE_EXHAUSTED, FAILED_PRECONDITION, UNIMPLEMENTED, INTERNAL, UNAVAILABLE = 8, 9, 12, 13, 14


class ProtocolError(Exception):
    """The peer sent something that is not ttrpc (the connection cannot go on)."""


@dataclass(frozen=True)
class Frame:
    stream_id: int
    type: int
    flags: int
    payload: bytes


def encode_frame(stream_id, type_, payload, flags=0):
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("ttrpc frame of stream %d: payload of %d bytes is over %d" % (stream_id, len(payload),
                                                                                       MAX_PAYLOAD))
    return HEADER.pack(len(payload), stream_id, type_, flags) + payload


class FrameDecoder:
    """Bytes in any pieces -> whole frames, in order."""

    def __init__(self):
        self._buf = bytearray()

    def feed(self, data):
        self._buf += data
        frames = []
        while len(self._buf) >= HEADER_LEN:
            length, stream_id, type_, flags = HEADER.unpack_from(self._buf)
            if length > MAX_PAYLOAD:
                raise ProtocolError("ttrpc frame of stream %d: length %d is over %d" % (stream_id, length,
                                                                                        MAX_PAYLOAD))
            if type_ not in (REQUEST, RESPONSE, DATA):
                raise ProtocolError("ttrpc frame of stream %d: unknown type %d" % (stream_id, type_))
            if len(self._buf) < HEADER_LEN + length:
                break
            payload = bytes(self._buf[HEADER_LEN:HEADER_LEN + length])
            del self._buf[:HEADER_LEN + length]
            frames.append(Frame(stream_id, type_, flags, payload))
        return frames

    @property
    def pending(self):
        return len(self._buf)


class StreamIds:
    """Client stream ids: odd, increasing (1, 3, 5, ...)."""

    def __init__(self):
        self._next = 1

    def next(self):
        sid = self._next
        self._next += 2
        return sid


# -- envelopes -------------------------------------------------------------------------------
def request(stream_id, service, method, payload, timeout_ns=0):
    """A call's REQUEST frame."""
    req = ttrpc_pb2.Request(service=service, method=method, payload=payload, timeout_nano=int(timeout_ns))
    return encode_frame(stream_id, REQUEST, req.SerializeToString())


def response(stream_id, payload=b"", code=OK, message=""):
    """A call's RESPONSE frame: the result, or (code != OK) an error status."""
    resp = ttrpc_pb2.Response()
    if code != OK:
        resp.status.code, resp.status.message = code, message
    else:
        resp.payload = payload
    return encode_frame(stream_id, RESPONSE, resp.SerializeToString())


def parse_request(frame):
    """A REQUEST frame -> ttrpc_pb2.Request (ProtocolError if it is none)."""
    if frame.type != REQUEST:
        raise ProtocolError("ttrpc stream %d: expected a request, got frame type %d" % (frame.stream_id, frame.type))
    if frame.stream_id % 2 == 0:
        raise ProtocolError("ttrpc stream %d: a client's stream id must be odd" % frame.stream_id)
    try:
        return ttrpc_pb2.Request.FromString(frame.payload)
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise ProtocolError("ttrpc stream %d: bad request: %s" % (frame.stream_id, exc)) from exc


def parse_response(frame):
    """A RESPONSE frame -> (code, message, payload)."""
    if frame.type != RESPONSE:
        raise ProtocolError("ttrpc stream %d: expected a response, got frame type %d" % (frame.stream_id,
                                                                                        frame.type))
    try:
        resp = ttrpc_pb2.Response.FromString(frame.payload)
    except Exception as exc:  # noqa: BLE001
        raise ProtocolError("ttrpc stream %d: bad response: %s" % (frame.stream_id, exc)) from exc
    if resp.HasField("status") and resp.status.code != OK:
        return resp.status.code, resp.status.message, b""
    return OK, "", resp.payload
