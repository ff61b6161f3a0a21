"""highlevel/streaming/spdy.py and spdysession.py: a SPDY/3.1 server fed a client's bytes.

The input is a little program of client frames (built with the client codec so
header blocks decompress, or raw hostile bytes) interleaved with server actions,
fed to the core in input-chosen pieces.  receive_data never raises; a
ConnectionFailed is the last event of its call, a GOAWAY is queued and nothing
more is read; a server action raises LocalProtocolError exactly when the
stream's state table forbids it; everything the server sends decodes with the
client codec (complete frames, header blocks, data == what was sent); a stream
opened by a codec-built SYN_STREAM carries exactly its headers; the input
buffer never holds more than a frame.  The same bytes then go through
SpdySession's reader loop on a fake transport: it ends, every stream's buffer
is closed and what it wrote decodes."""
import struct

from gantry.highlevel.streaming import spdy, spdysession

from .harness import Target

EVENTS = (spdy.StreamOpened, spdy.DataReceived, spdy.HeadersReceived, spdy.StreamReset, spdy.PingReceived,
          spdy.SettingsReceived, spdy.WindowUpdated, spdy.GoAwayReceived, spdy.ConnectionFailed)
NAMES = (":method", ":path", "streamtype", "port", "requestid", "x-stream-protocol-version", "Upper", "a\x00b",
         "é", "İ")


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def byte(self):
        if self.pos >= len(self.data):
            raise EOFError
        self.pos += 1
        return self.data[self.pos - 1]

    def take(self, n):
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def u32(self):
        return int.from_bytes(self.take(4).ljust(4, b"\0"), "big")


def _headers(r):
    out = {}
    for _ in range(r.byte() % 4):
        name = NAMES[r.byte() % len(NAMES)]
        out[name] = r.take(r.byte() % 16).decode("utf-8", "replace")
    return out


def _client_program(r, codec, built, tainted):
    """Client bytes of the next op, or a server action as ("act", kind, stream byte, arg byte)."""
    op = r.byte() % 12
    if op == 0:
        sid, fin = r.byte() * 2 + 1, bool(r.byte() & 1)
        headers = _headers(r)
        built.setdefault(sid, {k.lower(): v for k, v in headers.items()})
        if len({k.lower() for k in headers}) != len(headers) or any("\0" in k for k in headers):
            tainted.add(sid)
        return codec.syn_stream(sid, headers, fin)
    if op == 1:
        sid = r.byte() * 2 + 1
        return spdy.data_frame(sid, r.take(r.byte() * 4), bool(r.byte() & 1))
    if op == 2:
        return spdy.control_frame(spdy.RST_STREAM, 0, struct.pack(">II", r.byte() * 2 + 1, r.byte() % 12))
    if op == 3:
        n = r.byte() % 3
        return spdy.control_frame(spdy.SETTINGS, 0, struct.pack(">I", n) +
                                  b"".join(struct.pack(">II", r.byte() % 9, r.u32()) for _ in range(n)))
    if op == 4:
        return spdy.control_frame(spdy.PING, 0, struct.pack(">I", r.u32()))
    if op == 5:
        return spdy.control_frame(spdy.WINDOW_UPDATE, 0, struct.pack(">II", r.byte() * 2 + 1, r.u32()))
    if op == 6:
        sid = r.byte() * 2 + 1
        return spdy.control_frame(spdy.HEADERS, r.byte() & 1, struct.pack(">I", sid) +
                                  codec.compress(spdy.encode_header_block(_headers(r))))
    if op == 7:
        return spdy.control_frame(spdy.GOAWAY, 0, struct.pack(">II", r.u32(), r.byte()))
    if op == 8:   # a raw header block in a valid zlib stream (hostile counts and lengths)
        sid = r.byte() * 2 + 1
        tainted.add(sid)
        return spdy.control_frame(spdy.SYN_STREAM, 0, struct.pack(">IIBB", sid, 0, 0, 0) +
                                  codec.compress(r.take(r.byte())))
    if op == 9:   # raw bytes: anything at all
        tainted.update(range(1, 512, 2))
        return r.take(r.byte())
    return ("act", r.byte() % 6, r.byte() * 2 + 1, r.byte())


def _server_act(conn, kind, sid, arg, sent):
    """One server action, checked against the state table; returns the bytes it produced."""
    state = conn.stream_state(sid)
    event = {0: "send_reply_fin" if arg & 1 else "send_reply", 1: "send_data" if arg or not arg & 1 else "send_fin",
             2: "send_fin"}.get(kind)
    allowed = sid in conn.streams and (event is None or spdy.transition(state, event) is not None)
    try:
        if kind == 0:
            out = conn.reply(sid, {"x": "%d" % arg}, fin=bool(arg & 1))
        elif kind == 1:
            data = bytes([arg]) * (arg * 300)
            out = conn.send_data(sid, data, fin=bool(arg & 1))
            sent.setdefault(sid, bytearray()).extend(data)
        elif kind == 2:
            out = conn.send_data(sid, b"", fin=True)
        elif kind == 3:
            out = conn.consumed(sid, arg * 1024)
        elif kind == 4:
            out = conn.reset(sid)
        else:
            out = conn.ping()[1]
    except spdy.LocalProtocolError:
        if conn.strict and kind == 1 and allowed:
            return b""   # the send window is short
        assert not allowed, "LocalProtocolError for %s on stream %d in state %s" % (event, sid, state)
        return b""
    if kind in (0, 1, 2):
        assert allowed, "%s on stream %d in state %s was accepted" % (event, sid, state)
    return out


def check(data):
    if len(data) < 2:
        return
    flags, step = data[0], data[1] + 1
    r = _Reader(data[2:])
    conn = spdy.Connection(strict_flow_control=bool(flags & 1), max_frame_payload=8192, max_streams=4)
    codec = spdy.ClientCodec()
    built, tainted, sent = {}, set(), {}
    wire, out = bytearray(), bytearray()
    failed = False
    while True:
        try:
            item = _client_program(r, codec, built, tainted)
        except EOFError:
            break
        if isinstance(item, tuple):
            if not failed:
                out += _server_act(conn, *item[1:], sent)
            continue
        wire += item
        for i in range(0, len(item), step):
            events = conn.receive_data(item[i:i + step])
            assert len(conn.buffer) < 8 + conn.max_frame_payload
            for j, ev in enumerate(events):
                assert isinstance(ev, EVENTS), ev
                if isinstance(ev, spdy.ConnectionFailed):
                    assert j == len(events) - 1 and conn.failed and not failed
                    failed = True
                if isinstance(ev, spdy.StreamOpened) and ev.stream_id not in tainted and ev.stream_id in built:
                    assert ev.headers == built[ev.stream_id], (ev.headers, built[ev.stream_id])
            if failed:
                assert conn.receive_data(b"x" * 9) == []
            out += conn.data_to_send()
    events = conn.receive_data(b"")
    out += conn.data_to_send()
    received = {}
    dec = spdy.ClientCodec()
    frames = dec.feed(bytes(out))
    assert not dec.buffer, "the server sent a partial frame"
    for frame in frames:
        if frame[0] == "data":
            received.setdefault(frame[1], bytearray()).extend(frame[2])
    for sid, data_ in received.items():
        assert bytes(data_) == bytes(sent.get(sid, b"")), "stream %d: sent data differs" % sid
    if failed or any(isinstance(e, spdy.ConnectionFailed) for e in events):
        assert any(f[0] == "control" and f[1] == spdy.GOAWAY for f in frames), "failed without a GOAWAY"
    if flags & 2:
        _session(bytes(wire), step)


class _Transport:
    def __init__(self, data, step):
        self.pieces = [data[i:i + step] for i in range(0, len(data), step)]
        self.out = bytearray()
        self.closed = False

    def recv(self):
        return self.pieces.pop(0) if self.pieces else b""

    def sendall(self, data):
        if self.closed:
            raise BrokenPipeError("closed")
        self.out += data

    def close(self):
        self.closed = True

    def abort(self):
        self.closed = True


def _session(wire, step):
    transport = _Transport(wire, step)
    session = spdysession.SpdySession(transport, max_streams=4)
    session._read_loop()   # in this thread: it returns at the end of the input, a failure or a GOAWAY
    assert session.closed.is_set()
    streams = []
    while True:
        s = session.accept(timeout=0)
        if s is None:
            break
        streams.append(s)
    for s in streams:
        assert s.inbound.eof
        while s.read(timeout=0):
            pass
        try:
            s.write(b"x")
            raise AssertionError("write after the connection closed succeeded")
        except BrokenPipeError:
            pass
        s.close()
    dec = spdy.ClientCodec()
    dec.feed(bytes(transport.out))
    assert not dec.buffer


TARGET = Target("spdy", check, ("gantry.highlevel.streaming.spdy", "gantry.highlevel.streaming.spdysession"),
                notes="flags byte (strict flow control, also through SpdySession), piece size, program")
