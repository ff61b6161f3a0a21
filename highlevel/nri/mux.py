"""NRI's multiplexing: several logical connections over one unix socket, without I/O.

Each chunk on the socket is::

    +----------------------+----------------------+-------------------+
    | conn id (u32, BE)    | length (u32, BE)     | bytes (length)    |
    +----------------------+----------------------+-------------------+

Conn id 0 is reserved.  NRI uses two: conn 1 carries the *plugin* service (the
plugin serves ttrpc on it, the runtime calls), conn 2 the *runtime* service
(the runtime serves, the plugin calls RegisterPlugin and UpdateContainers).
A chunk for a conn nobody opened is dropped, as NRI's own mux does.

The Go reader hands each chunk whole to a read of its caller, and fails one
bigger than that caller's buffer (4 KiB for ttrpc's buffered reader), so
``encode`` cuts what it sends into chunks of at most ``MAX_CHUNK`` bytes.
"""
import struct

HEADER = struct.Struct(">II")
HEADER_LEN = HEADER.size            # 8
PLUGIN_SERVICE_CONN = 1
RUNTIME_SERVICE_CONN = 2
MAX_CHUNK = 4096
MAX_LENGTH = (4 << 20) + 10         # a ttrpc frame, header included


class MuxError(Exception):
    """The socket carries something that is not NRI multiplexing."""


def encode(conn_id, data, max_chunk=MAX_CHUNK):
    if conn_id == 0:
        raise ValueError("mux: conn id 0 is reserved")
    out = bytearray()
    for i in range(0, len(data), max_chunk):
        piece = data[i:i + max_chunk]
        out += HEADER.pack(conn_id, len(piece)) + piece
    return bytes(out)


class Demux:
    """Socket bytes in any pieces -> [(conn id, bytes)], in order."""

    def __init__(self):
        self._buf = bytearray()

    def feed(self, data):
        self._buf += data
        out = []
        while len(self._buf) >= HEADER_LEN:
            conn_id, length = HEADER.unpack_from(self._buf)
            if length > MAX_LENGTH:
                raise MuxError("mux: chunk of %d bytes for conn %d is over %d" % (length, conn_id, MAX_LENGTH))
            if len(self._buf) < HEADER_LEN + length:
                break
            out.append((conn_id, bytes(self._buf[HEADER_LEN:HEADER_LEN + length])))
            del self._buf[:HEADER_LEN + length]
        return out
