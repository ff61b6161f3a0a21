"""SPDY/3.1, sans-I/O: bytes in, events out; calls that return bytes to send.

What kubelet's clients (client-go over moby/spdystream) exchange with a
streaming server, after the HTTP/1.1 upgrade to ``SPDY/3.1``::

    client                                   server (us)
    SYN_STREAM id=1 {streamtype: error, ...}  ─▶
                                            ◀─ SYN_REPLY id=1 {}
    SYN_STREAM id=3 {streamtype: stdout}      ─▶
                                            ◀─ SYN_REPLY id=3 {}
    DATA id=5 (stdin bytes) [FIN at EOF]      ─▶
                                            ◀─ DATA id=3 (stdout bytes) ... FIN
    PING id=odd                               ─▶
                                            ◀─ PING id (echoed)
    RST_STREAM id (client gave up on a stream) ─▶
                                            ◀─ GOAWAY (we close; also on malformed input)

Clients open the streams (odd ids, increasing); the server only replies,
sends data and closes its half.  SETTINGS and WINDOW_UPDATE are parsed and
applied; a server never needs to send SETTINGS.

Frames (all integers big-endian)::

    control: 1 | version(15)=3 | type(16) | flags(8) | length(24) | payload
    data:    0 | stream id(31)             | flags(8) | length(24) | payload

Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are zlib streams primed with
the SPDY/3 dictionary (spdydict.py); one compression context per direction
for the whole connection, each block ends with a sync flush.  Decompressed:
count(32), then count × (name length(32), name, value length(32), value);
names lowercase and unique, several values of one name joined by NUL.

Flow control.  Windows start at 64 KiB per stream (SETTINGS
INITIAL_WINDOW_SIZE changes that); DATA spends them, WINDOW_UPDATE refills.
We send WINDOW_UPDATE as the application consumes data (``consumed``), so a
conforming peer never stalls.  moby/spdystream, which every kubelet client
uses, neither sends WINDOW_UPDATE nor waits for one, so windows are enforced
only with ``strict_flow_control=True``; otherwise back-pressure is TCP's
(the adapter stops reading the socket while a stream's buffer is full).

Errors.  Anything malformed, oversized or truncated ends the connection:
``receive_data`` returns a ``ConnectionFailed`` event and queues a GOAWAY in
``data_to_send``; it never raises for the peer's faults.  A fault confined to
one stream (data on a closed stream, a reply from the client) queues a
RST_STREAM for that stream only.  Misusing this object (data on a stream not
replied to) raises ``LocalProtocolError``.
"""
import struct
import zlib
from dataclasses import dataclass, field

from .spdydict import DICTIONARY

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02

# RST_STREAM status codes
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, UNSUPPORTED_VERSION, CANCEL = 1, 2, 3, 4, 5
INTERNAL_ERROR, FLOW_CONTROL_ERROR, STREAM_IN_USE, STREAM_ALREADY_CLOSED, FRAME_TOO_LARGE = 6, 7, 8, 9, 11
# GOAWAY status codes
GOAWAY_OK, GOAWAY_PROTOCOL_ERROR, GOAWAY_INTERNAL_ERROR = 0, 1, 2

SETTINGS_INITIAL_WINDOW_SIZE = 7
DEFAULT_WINDOW = 65536
MAX_WINDOW = 0x7FFFFFFF
MAX_FRAME_PAYLOAD = 1 << 20         # larger frames end the connection (the wire allows 16 MiB)
MAX_HEADER_BLOCK = 64 << 10         # decompressed header block limit
MAX_DATA_CHUNK = 32 << 10           # send_data splits larger writes into frames of this size


class LocalProtocolError(Exception):
    """We (the application) used the connection wrongly."""


class _PeerError(Exception):
    """Internal: the peer broke the protocol; ``stream_id`` set for a stream-only error."""

    def __init__(self, message, stream_id=None, status=PROTOCOL_ERROR):
        super().__init__(message)
        self.stream_id = stream_id
        self.status = status


# -- events -------------------------------------------------------------------
@dataclass
class StreamOpened:
    stream_id: int
    headers: dict          # lowercase name -> value (several values joined by "\0")
    fin: bool              # the peer will send nothing more on it
    associated_id: int = 0
    priority: int = 0


@dataclass
class DataReceived:
    stream_id: int
    data: bytes
    fin: bool


@dataclass
class HeadersReceived:
    stream_id: int
    headers: dict
    fin: bool


@dataclass
class StreamReset:
    stream_id: int
    status: int
    by_peer: bool = True


@dataclass
class PingReceived:
    ping_id: int           # a peer ping was answered (queued); our own ping's echo has mine=True
    mine: bool = False


@dataclass
class SettingsReceived:
    settings: dict = field(default_factory=dict)  # id -> value


@dataclass
class WindowUpdated:
    stream_id: int
    delta: int


@dataclass
class GoAwayReceived:
    last_good_stream_id: int
    status: int


@dataclass
class ConnectionFailed:
    """The peer broke the protocol or the input ended mid-frame; a GOAWAY is queued, nothing more is read."""

    message: str


# -- stream states: one table ---------------------------------------------------
# Peer-opened streams only (the server never opens one).  "unreplied": SYN_STREAM
# received, our SYN_REPLY not sent yet; "remote_closed": the peer sent FIN;
# "local_closed": we sent FIN.
STREAM_TRANSITIONS = {
    "idle": {"recv_syn": "open_unreplied", "recv_syn_fin": "remote_closed_unreplied"},
    "open_unreplied": {"send_reply": "open", "send_reply_fin": "local_closed", "recv_data": "open_unreplied",
                       "recv_fin": "remote_closed_unreplied", "recv_rst": "closed", "send_rst": "closed"},
    "remote_closed_unreplied": {"send_reply": "remote_closed", "send_reply_fin": "closed",
                                "recv_rst": "closed", "send_rst": "closed"},
    "open": {"send_data": "open", "send_fin": "local_closed", "recv_data": "open", "recv_fin": "remote_closed",
             "recv_rst": "closed", "send_rst": "closed"},
    "remote_closed": {"send_data": "remote_closed", "send_fin": "closed", "recv_rst": "closed", "send_rst": "closed"},
    "local_closed": {"recv_data": "local_closed", "recv_fin": "closed", "recv_rst": "closed", "send_rst": "closed"},
    "closed": {"recv_rst": "closed", "send_rst": "closed"},
}


def transition(state, event):
    """The next stream state, or None when event is not allowed in state."""
    return STREAM_TRANSITIONS[state].get(event)


class _Stream:
    __slots__ = ("id", "state", "send_window", "recv_window", "unacked")

    def __init__(self, stream_id, send_window, recv_window):
        self.id = stream_id
        self.state = "idle"
        self.send_window = send_window
        self.recv_window = recv_window
        self.unacked = 0  # consumed bytes not yet returned with WINDOW_UPDATE


# -- header blocks ----------------------------------------------------------------
def encode_header_block(headers):
    """The uncompressed block for {name: value} (value str or list of str)."""
    out = [struct.pack(">I", len(headers))]
    for name, value in headers.items():
        if isinstance(value, (list, tuple)):
            value = "\0".join(value)
        n, v = name.lower().encode("utf-8"), value.encode("utf-8")
        out.append(struct.pack(">I", len(n)) + n + struct.pack(">I", len(v)) + v)
    return b"".join(out)


def decode_header_block(block, stream_id=None):
    """{name: value} from an uncompressed block; _PeerError when malformed."""
    def take(pos, n, what):
        if pos + n > len(block):
            raise _PeerError("header block: %s runs past the end of the block" % what, stream_id)
        return block[pos:pos + n], pos + n

    raw, pos = take(0, 4, "pair count")
    count = struct.unpack(">I", raw)[0]
    if count > len(block) // 8:
        raise _PeerError("header block: %d pairs cannot fit in %d bytes" % (count, len(block)), stream_id)
    headers = {}
    for _ in range(count):
        raw, pos = take(pos, 4, "name length")
        name, pos = take(pos, struct.unpack(">I", raw)[0], "name")
        raw, pos = take(pos, 4, "value length")
        value, pos = take(pos, struct.unpack(">I", raw)[0], "value")
        if not name:
            raise _PeerError("header block: empty header name", stream_id)
        if name != name.lower():
            raise _PeerError("header block: header name %r is not lowercase" % name[:64], stream_id)
        key = name.decode("utf-8", "replace")
        if key in headers:
            raise _PeerError("header block: duplicate header %r" % key, stream_id)
        headers[key] = value.decode("utf-8", "replace")
    if pos != len(block):
        raise _PeerError("header block: %d bytes after the last pair" % (len(block) - pos), stream_id)
    return headers


# -- frames -----------------------------------------------------------------------
def control_frame(frame_type, flags, payload):
    return struct.pack(">HHI", 0x8000 | VERSION, frame_type, (flags << 24) | len(payload)) + payload


def data_frame(stream_id, data, fin=False):
    return struct.pack(">II", stream_id & MAX_WINDOW, ((FLAG_FIN if fin else 0) << 24) | len(data)) + data


class Connection:
    """One SPDY/3.1 connection, server side."""

    def __init__(self, strict_flow_control=False, max_frame_payload=MAX_FRAME_PAYLOAD,
                 max_header_block=MAX_HEADER_BLOCK, max_streams=1000):
        self.strict = strict_flow_control
        self.max_frame_payload = max_frame_payload
        self.max_header_block = max_header_block
        self.max_streams = max_streams
        self.streams = {}
        self.last_peer_stream_id = 0
        self.initial_send_window = DEFAULT_WINDOW
        self.recv_window_size = DEFAULT_WINDOW
        self.buffer = bytearray()
        self.outbox = bytearray()
        self.failed = None          # message once the connection is dead
        self.goaway_sent = False
        self.goaway_received = False
        self.next_ping_id = 2       # the server's pings are even
        self.compressor = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        self.decompressor = zlib.decompressobj(15, DICTIONARY)

    # -- input ----------------------------------------------------------------
    def receive_data(self, data):
        """Feed bytes read from the socket (b"" = the peer closed); returns a list of events."""
        if self.failed is not None:
            return []
        events = []
        if not data:
            if self.buffer:
                events.append(self._fail("connection ended inside a frame (%d bytes of it read)" % len(self.buffer)))
            return events
        self.buffer += data
        while self.failed is None and len(self.buffer) >= 8:
            length = int.from_bytes(self.buffer[5:8], "big")
            if length > self.max_frame_payload:
                events.append(self._fail("frame of %d bytes exceeds the limit of %d" % (length, self.max_frame_payload)))
                break
            if len(self.buffer) < 8 + length:
                break
            frame = bytes(self.buffer[:8 + length])
            del self.buffer[:8 + length]
            try:
                events.extend(self._frame(frame))
            except _PeerError as e:
                if e.stream_id is None:
                    events.append(self._fail(str(e)))
                else:
                    events.append(self._reset_by_us(e.stream_id, e.status))
        return events

    def _frame(self, frame):
        word, flags_len = struct.unpack(">II", frame[:8])
        flags, payload = flags_len >> 24, frame[8:]
        if not word & 0x80000000:
            return self._data(word & MAX_WINDOW, flags, payload)
        version, frame_type = (word >> 16) & 0x7FFF, word & 0xFFFF
        if version != VERSION:
            raise _PeerError("control frame of SPDY version %d (only %d is spoken)" % (version, VERSION))
        handler = self._CONTROL.get(frame_type)
        if handler is None:
            return []  # unknown control frames are ignored (SPDY/3 2.2.1)
        return handler(self, flags, payload)

    def _need(self, payload, n, what, exact=True):
        if len(payload) < n or (exact and len(payload) != n):
            raise _PeerError("%s frame with a %d-byte payload (%s %d)" % (what, len(payload), "needs" if exact else
                                                                           "needs at least", n))

    def _headers(self, block, stream_id):
        try:
            raw = self.decompressor.decompress(block, self.max_header_block + 1)
        except zlib.error as e:
            raise _PeerError("header block of stream %d does not decompress: %s" % (stream_id, e)) from None
        if len(raw) > self.max_header_block or self.decompressor.unconsumed_tail:
            raise _PeerError("header block of stream %d exceeds %d bytes" % (stream_id, self.max_header_block))
        try:
            return decode_header_block(raw)
        except _PeerError as e:
            raise _PeerError("stream %d: %s" % (stream_id, e)) from None  # the zlib state is shared: fatal

    def _syn_stream(self, flags, payload):
        self._need(payload, 10, "SYN_STREAM", exact=False)
        stream_id, assoc, pri = struct.unpack(">IIB", payload[:9])
        stream_id, assoc = stream_id & MAX_WINDOW, assoc & MAX_WINDOW
        headers = self._headers(payload[10:], stream_id)
        if stream_id == 0 or stream_id % 2 == 0:
            raise _PeerError("SYN_STREAM with stream id %d (a client's ids are odd)" % stream_id)
        if stream_id <= self.last_peer_stream_id:
            raise _PeerError("SYN_STREAM id %d not above the last one (%d)" % (stream_id, self.last_peer_stream_id))
        self.last_peer_stream_id = stream_id
        if self.goaway_sent:
            return []  # after GOAWAY new streams are ignored
        if len(self.streams) >= self.max_streams:
            return [self._reset_by_us(stream_id, REFUSED_STREAM)]
        stream = _Stream(stream_id, self.initial_send_window, self.recv_window_size)
        self.streams[stream_id] = stream
        fin = bool(flags & FLAG_FIN)
        stream.state = transition("idle", "recv_syn_fin" if fin else "recv_syn")
        return [StreamOpened(stream_id, headers, fin, assoc, pri >> 5)]

    def _syn_reply(self, flags, payload):
        self._need(payload, 4, "SYN_REPLY", exact=False)
        stream_id = struct.unpack(">I", payload[:4])[0] & MAX_WINDOW
        self._headers(payload[4:], stream_id)  # keep the zlib context in step
        raise _PeerError("SYN_REPLY for stream %d: the server opens no streams" % stream_id, stream_id,
                         INVALID_STREAM)

    def _headers_frame(self, flags, payload):
        self._need(payload, 4, "HEADERS", exact=False)
        stream_id = struct.unpack(">I", payload[:4])[0] & MAX_WINDOW
        headers = self._headers(payload[4:], stream_id)
        stream = self._peer_stream(stream_id, "HEADERS")
        fin = bool(flags & FLAG_FIN)
        if fin:
            self._advance(stream, "recv_fin")
        elif stream.state not in ("open", "open_unreplied", "local_closed"):
            raise _PeerError("HEADERS on stream %d after the peer's FIN" % stream_id, stream_id, STREAM_ALREADY_CLOSED)
        return [HeadersReceived(stream_id, headers, fin)]

    def _rst_stream(self, flags, payload):
        self._need(payload, 8, "RST_STREAM")
        stream_id, status = struct.unpack(">II", payload)
        stream_id &= MAX_WINDOW
        if stream_id == 0:
            raise _PeerError("RST_STREAM for stream 0")
        stream = self.streams.pop(stream_id, None)
        if stream is None:
            return []  # already gone: never answer a reset with a reset
        stream.state = "closed"
        return [StreamReset(stream_id, status)]

    def _settings(self, flags, payload):
        self._need(payload, 4, "SETTINGS", exact=False)
        count = struct.unpack(">I", payload[:4])[0]
        if len(payload) != 4 + 8 * count:
            raise _PeerError("SETTINGS frame announces %d entries in %d bytes" % (count, len(payload)))
        settings = {}
        for i in range(count):
            word, value = struct.unpack(">II", payload[4 + 8 * i:12 + 8 * i])
            settings[word & 0xFFFFFF] = value
        if SETTINGS_INITIAL_WINDOW_SIZE in settings:
            new = settings[SETTINGS_INITIAL_WINDOW_SIZE]
            if new > MAX_WINDOW:
                raise _PeerError("SETTINGS INITIAL_WINDOW_SIZE %d exceeds 2^31-1" % new)
            for stream in self.streams.values():
                stream.send_window += new - self.initial_send_window
            self.initial_send_window = new
        return [SettingsReceived(settings)]

    def _ping(self, flags, payload):
        self._need(payload, 4, "PING")
        ping_id = struct.unpack(">I", payload)[0]
        if ping_id % 2 == 0:
            return [PingReceived(ping_id, mine=True)]  # the echo of one of ours
        self.outbox += control_frame(PING, 0, payload)
        return [PingReceived(ping_id)]

    def _goaway(self, flags, payload):
        self._need(payload, 8, "GOAWAY")
        last, status = struct.unpack(">II", payload)
        self.goaway_received = True
        return [GoAwayReceived(last & MAX_WINDOW, status)]

    def _window_update(self, flags, payload):
        self._need(payload, 8, "WINDOW_UPDATE")
        stream_id, delta = struct.unpack(">II", payload)
        stream_id, delta = stream_id & MAX_WINDOW, delta & MAX_WINDOW
        if delta == 0:
            raise _PeerError("WINDOW_UPDATE with a delta of 0", stream_id or None)
        stream = self.streams.get(stream_id)
        if stream is None:
            return []  # stream 0 (SPDY/3.1 session window) or a closed stream: nothing to do
        if stream.send_window + delta > MAX_WINDOW:
            raise _PeerError("WINDOW_UPDATE makes stream %d's window exceed 2^31-1" % stream_id, stream_id,
                             FLOW_CONTROL_ERROR)
        stream.send_window += delta
        return [WindowUpdated(stream_id, delta)]

    def _data(self, stream_id, flags, payload):
        if stream_id == 0:
            raise _PeerError("DATA frame on stream 0")
        stream = self.streams.get(stream_id)
        if stream is None:
            raise _PeerError("DATA on stream %d, which is not open" % stream_id, stream_id, INVALID_STREAM)
        stream.recv_window -= len(payload)
        if stream.recv_window < 0 and self.strict:
            raise _PeerError("stream %d: DATA beyond the flow-control window" % stream_id, stream_id,
                             FLOW_CONTROL_ERROR)
        fin = bool(flags & FLAG_FIN)
        if payload:
            self._advance(stream, "recv_data")
        if fin:
            self._advance(stream, "recv_fin")
        return [DataReceived(stream_id, payload, fin)]

    def _peer_stream(self, stream_id, what):
        stream = self.streams.get(stream_id)
        if stream is None:
            raise _PeerError("%s on stream %d, which is not open" % (what, stream_id), stream_id, INVALID_STREAM)
        return stream

    def _advance(self, stream, event):
        nxt = transition(stream.state, event)
        if nxt is None:
            raise _PeerError("stream %d: %s not allowed in state %s" % (stream.id, event, stream.state),
                             stream.id, STREAM_ALREADY_CLOSED)
        stream.state = nxt
        if nxt == "closed":
            self.streams.pop(stream.id, None)

    _CONTROL = {SYN_STREAM: _syn_stream, SYN_REPLY: _syn_reply, RST_STREAM: _rst_stream, SETTINGS: _settings,
                PING: _ping, GOAWAY: _goaway, HEADERS: _headers_frame, WINDOW_UPDATE: _window_update}

    def _fail(self, message):
        self.failed = message
        self.buffer.clear()
        if not self.goaway_sent:
            self.outbox += self.goaway(GOAWAY_PROTOCOL_ERROR)
        return ConnectionFailed(message)

    def _reset_by_us(self, stream_id, status):
        stream = self.streams.pop(stream_id, None)
        if stream is not None:
            stream.state = "closed"
        self.outbox += control_frame(RST_STREAM, 0, struct.pack(">II", stream_id, status))
        return StreamReset(stream_id, status, by_peer=False)

    # -- output -----------------------------------------------------------------
    def data_to_send(self):
        """Bytes the connection generated by itself (PING echoes, RST_STREAM, GOAWAY); drains them."""
        out = bytes(self.outbox)
        self.outbox.clear()
        return out

    def _local(self, stream_id, event):
        stream = self.streams.get(stream_id)
        if stream is None:
            raise LocalProtocolError("%s on stream %d, which is not open" % (event, stream_id))
        nxt = transition(stream.state, event)
        if nxt is None:
            raise LocalProtocolError("stream %d: %s not allowed in state %s" % (stream_id, event, stream.state))
        return stream, nxt

    def _set(self, stream, nxt):
        stream.state = nxt
        if nxt == "closed":
            self.streams.pop(stream.id, None)

    def _compress(self, headers):
        return self.compressor.compress(encode_header_block(headers)) + self.compressor.flush(zlib.Z_SYNC_FLUSH)

    def reply(self, stream_id, headers=None, fin=False):
        """SYN_REPLY for a stream the peer opened."""
        stream, nxt = self._local(stream_id, "send_reply_fin" if fin else "send_reply")
        self._set(stream, nxt)
        block = self._compress(headers or {})
        return control_frame(SYN_REPLY, FLAG_FIN if fin else 0, struct.pack(">I", stream_id) + block)

    def send_data(self, stream_id, data, fin=False):
        """DATA frames (at most MAX_DATA_CHUNK each) for data; fin closes our half."""
        stream, _ = self._local(stream_id, "send_data" if data or not fin else "send_fin")
        if self.strict and len(data) > stream.send_window:
            raise LocalProtocolError("stream %d: %d bytes exceed the send window of %d" %
                                     (stream_id, len(data), stream.send_window))
        stream.send_window -= len(data)
        out = []
        view = memoryview(data)
        for start in range(0, len(data), MAX_DATA_CHUNK):
            chunk = view[start:start + MAX_DATA_CHUNK]
            last = start + MAX_DATA_CHUNK >= len(data)
            out.append(data_frame(stream_id, bytes(chunk), fin and last))
        if fin:
            if not data:
                out.append(data_frame(stream_id, b"", True))
            self._set(stream, transition(stream.state, "send_fin"))
        return b"".join(out)

    def send_window(self, stream_id):
        stream = self.streams.get(stream_id)
        return stream.send_window if stream is not None else 0

    def consumed(self, stream_id, n):
        """The application used n bytes of the stream's data: a WINDOW_UPDATE once half the window is used."""
        stream = self.streams.get(stream_id)
        if stream is None or n <= 0:
            return b""
        stream.unacked += n
        if stream.unacked < self.recv_window_size // 2 or stream.state in ("remote_closed", "remote_closed_unreplied"):
            return b""
        delta, stream.unacked = stream.unacked, 0
        stream.recv_window += delta
        return control_frame(WINDOW_UPDATE, 0, struct.pack(">II", stream_id, delta))

    def reset(self, stream_id, status=CANCEL):
        """RST_STREAM: we abandon the stream (a no-op for a stream already gone)."""
        stream = self.streams.pop(stream_id, None)
        if stream is None:
            return b""
        stream.state = "closed"
        return control_frame(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def ping(self):
        """A PING of ours (even id); returns (id, bytes)."""
        ping_id = self.next_ping_id
        self.next_ping_id = (self.next_ping_id + 2) & 0xFFFFFFFF or 2
        return ping_id, control_frame(PING, 0, struct.pack(">I", ping_id))

    def goaway(self, status=GOAWAY_OK):
        """GOAWAY naming the last stream the peer opened; new streams are ignored afterwards."""
        self.goaway_sent = True
        return control_frame(GOAWAY, 0, struct.pack(">II", self.last_peer_stream_id, status))

    def stream_state(self, stream_id):
        stream = self.streams.get(stream_id)
        return stream.state if stream is not None else "closed"


class ClientCodec:
    """The client half, for tests and tools: frames a client sends, and decoding of what a server sends."""

    def __init__(self):
        self.compressor = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        self.decompressor = zlib.decompressobj(15, DICTIONARY)
        self.buffer = bytearray()

    def compress(self, raw_block):
        """A raw (uncompressed) header block, compressed in this client's context."""
        return self.compressor.compress(raw_block) + self.compressor.flush(zlib.Z_SYNC_FLUSH)

    def syn_stream(self, stream_id, headers, fin=False):
        block = self.compress(encode_header_block(headers))
        return control_frame(SYN_STREAM, FLAG_FIN if fin else 0, struct.pack(">IIBB", stream_id, 0, 0, 0) + block)

    def headers_block(self, block):
        return decode_header_block(self.decompressor.decompress(block))

    def feed(self, data):
        """Complete frames as tuples: ("data", id, bytes, fin) or ("control", type, flags, payload, headers|None)."""
        self.buffer += data
        out = []
        while len(self.buffer) >= 8:
            word, flags_len = struct.unpack(">II", self.buffer[:8])
            length = flags_len & 0xFFFFFF
            if len(self.buffer) < 8 + length:
                break
            payload = bytes(self.buffer[8:8 + length])
            del self.buffer[:8 + length]
            flags = flags_len >> 24
            if not word & 0x80000000:
                out.append(("data", word & MAX_WINDOW, payload, bool(flags & FLAG_FIN)))
                continue
            frame_type = word & 0xFFFF
            headers = self.headers_block(payload[4:]) if frame_type in (SYN_REPLY, HEADERS) else None
            out.append(("control", frame_type, flags, payload, headers))
        return out
